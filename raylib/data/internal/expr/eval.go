package expr

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// bitvec is a boolean column under evaluation: padded bitmaps starting at
// bit 0, always freshly allocated, so operators may update them in place.
type bitvec struct {
	vals  []byte
	valid []byte // nil when every row is valid
	n     int
}

// value is an evaluated subexpression: exactly one field is set.
type value struct {
	lit  *literal
	bits *bitvec
	arr  arrow.Array // a non-bool column: numeric, string, temporal or a dictionary of those
	own  bool        // arr was built here (not borrowed from the record)
}

type evaluator struct {
	ctx    context.Context
	rec    arrow.RecordBatch
	schema *arrow.Schema
	n      int
}

// Filter evaluates a boolean expression over rec and returns the selection
// mask: true where the row matches, false where it does not or the result
// is null (SQL WHERE semantics). The mask has no nulls; the caller releases it.
func (e *Expr) Filter(ctx context.Context, rec arrow.RecordBatch) (*array.Boolean, error) {
	t, err := e.typeOf(rec.Schema())
	if err != nil {
		return nil, err
	}
	if t.cls != clsBool && t.cls != clsNull {
		return nil, fmt.Errorf("expr %q: %w: a filter must be boolean, got %s", e.src, ErrType, t.cls)
	}
	ev := &evaluator{ctx: ctx, rec: rec, schema: rec.Schema(), n: int(rec.NumRows())}
	v, err := ev.eval(e.root)
	if err != nil {
		return nil, fmt.Errorf("expr %q: %w", e.src, err)
	}
	b := ev.toBits(v)
	if b.valid != nil {
		for i := 0; i < len(b.vals); i += 8 {
			putWord(b.vals, i, word(b.vals, i)&word(b.valid, i))
		}
	}
	clearTail(b.vals, b.n)
	return array.NewBoolean(b.n, memory.NewBufferBytes(b.vals), nil, 0), nil
}

// Eval evaluates the expression over rec and returns its value, one entry
// per row: a non-bool column reference returns the column itself,
// predicates a Boolean array with nulls, integer arithmetic Int64, other
// arithmetic Float64, and a constant is broadcast. The caller releases the
// result.
func (e *Expr) Eval(ctx context.Context, rec arrow.RecordBatch) (arrow.Array, error) {
	t, err := e.typeOf(rec.Schema())
	if err != nil {
		return nil, err
	}
	ev := &evaluator{ctx: ctx, rec: rec, schema: rec.Schema(), n: int(rec.NumRows())}
	v, err := ev.eval(e.root)
	if err != nil {
		return nil, fmt.Errorf("expr %q: %w", e.src, err)
	}
	switch {
	case v.arr != nil:
		if !v.own {
			v.arr.Retain()
		}
		return v.arr, nil
	case v.bits != nil:
		return boolArray(v.bits), nil
	}
	return broadcast(*v.lit, t.cls, ev.n), nil
}

func (ev *evaluator) eval(n node) (value, error) {
	if err := ev.ctx.Err(); err != nil {
		return value{}, err
	}
	switch n := n.(type) {
	case *litNode:
		l := n.v
		return value{lit: &l}, nil
	case *colNode:
		return ev.column(n.name)
	case *unaryNode:
		x, err := ev.eval(n.x)
		if err != nil {
			return value{}, err
		}
		if n.op == opNot {
			return ev.not(x), nil
		}
		// -x as -1 * x keeps the sign of zero right for floats.
		return ev.arith(opMul, value{lit: &literal{kind: litInt, i: -1}}, x)
	case *binaryNode:
		l, err := ev.eval(n.l)
		if err != nil {
			return value{}, err
		}
		r, err := ev.eval(n.r)
		if err != nil {
			return value{}, err
		}
		switch {
		case n.op == opAnd || n.op == opOr:
			return ev.logic(n.op, l, r), nil
		case n.op.isCmp():
			return ev.compare(n.op, l, r)
		}
		return ev.arith(n.op, l, r)
	case *inNode:
		x, err := ev.eval(n.x)
		if err != nil {
			return value{}, err
		}
		v, err := ev.in(x, n.list)
		if err != nil || !n.neg {
			return v, err
		}
		return ev.not(v), nil
	case *isNullNode:
		x, err := ev.eval(n.x)
		if err != nil {
			return value{}, err
		}
		return ev.isNull(x, n.neg), nil
	}
	return value{}, fmt.Errorf("internal error: unknown node %T", n)
}

func (ev *evaluator) column(name string) (value, error) {
	i, err := resolve(ev.schema, name)
	if err != nil {
		return value{}, err
	}
	col := ev.rec.Column(i)
	switch col.DataType().ID() {
	case arrow.BOOL:
		return value{bits: boolBits(col.(*array.Boolean))}, nil
	case arrow.NULL:
		return value{lit: &literal{}}, nil
	case arrow.DICTIONARY:
		d := col.(*array.Dictionary)
		if d.DataType().(*arrow.DictionaryType).ValueType.ID() == arrow.BOOL {
			b, err := dictMap(d, func(a arrow.Array) (*bitvec, error) {
				return boolBits(a.(*array.Boolean)), nil
			})
			return value{bits: b}, err
		}
	}
	return value{arr: col}, nil
}

// toBits broadcasts a literal to a bitvec; bool columns pass through.
func (ev *evaluator) toBits(v value) *bitvec {
	if v.bits != nil {
		return v.bits
	}
	if v.lit != nil && v.lit.kind == litBool {
		return &bitvec{vals: fillBitmap(ev.n, v.lit.b), n: ev.n}
	}
	return &bitvec{vals: newBitmap(ev.n), valid: newBitmap(ev.n), n: ev.n} // null
}

func (ev *evaluator) not(x value) value {
	if x.lit != nil {
		l := foldNot(*x.lit)
		return value{lit: &l}
	}
	b := x.bits
	for i := 0; i < len(b.vals); i += 8 {
		putWord(b.vals, i, ^word(b.vals, i))
	}
	return x
}

// logic applies Kleene and/or: false and null = false, true or null = true.
func (ev *evaluator) logic(o op, l, r value) value {
	if l.lit != nil && r.lit != nil {
		v := foldLogic(o, *l.lit, *r.lit)
		return value{lit: &v}
	}
	a, b := ev.toBits(l), ev.toBits(r)
	if a.valid == nil && b.valid == nil {
		for i := 0; i < len(a.vals); i += 8 {
			x, y := word(a.vals, i), word(b.vals, i)
			if o == opAnd {
				putWord(a.vals, i, x&y)
			} else {
				putWord(a.vals, i, x|y)
			}
		}
		return value{bits: a}
	}
	valid := a.valid
	if valid == nil {
		valid = newBitmap(a.n)
	}
	for i := 0; i < len(a.vals); i += 8 {
		x, y := word(a.vals, i), word(b.vals, i)
		vx, vy := uint64(math.MaxUint64), uint64(math.MaxUint64)
		if a.valid != nil {
			vx = word(a.valid, i)
		}
		if b.valid != nil {
			vy = word(b.valid, i)
		}
		// A side that is valid and dominant decides the row on its own.
		if o == opAnd {
			putWord(valid, i, vx&vy|vx&^x|vy&^y)
			putWord(a.vals, i, x&y)
		} else {
			putWord(valid, i, vx&vy|vx&x|vy&y)
			putWord(a.vals, i, x|y)
		}
	}
	a.valid = valid
	return value{bits: a}
}

func (ev *evaluator) isNull(x value, neg bool) value {
	var notNull []byte // nil: all valid
	switch {
	case x.lit != nil:
		l := boolLit((x.lit.kind == litNull) != neg)
		return value{lit: &l}
	case x.bits != nil:
		notNull = x.bits.valid
	default:
		if d, ok := x.arr.(*array.Dictionary); ok {
			// A row is null when its index or its dictionary entry is.
			b, _ := dictMap(d, func(a arrow.Array) (*bitvec, error) {
				v := validity(a)
				if v == nil {
					v = fillBitmap(a.Len(), true)
				}
				return &bitvec{vals: v, n: a.Len()}, nil
			})
			notNull = b.vals
			if b.valid != nil {
				for i := 0; i < len(notNull); i += 8 {
					putWord(notNull, i, word(notNull, i)&word(b.valid, i))
				}
			}
		} else {
			notNull = validity(x.arr)
		}
	}
	var out []byte
	switch {
	case notNull == nil:
		out = fillBitmap(ev.n, neg)
	case neg:
		out = notNull
	default:
		out = newBitmap(ev.n)
		for i := 0; i < len(out); i += 8 {
			putWord(out, i, ^word(notNull, i))
		}
	}
	return value{bits: &bitvec{vals: out, n: ev.n}}
}

// compare evaluates l o r.
func (ev *evaluator) compare(o op, l, r value) (value, error) {
	switch {
	case l.lit != nil && r.lit != nil:
		v := foldCmp(o, *l.lit, *r.lit)
		return value{lit: &v}, nil
	case l.lit != nil && l.lit.kind == litNull, r.lit != nil && r.lit.kind == litNull:
		return value{lit: &literal{}}, nil
	case l.lit != nil:
		l, r, o = r, l, o.flip()
	}
	if l.bits != nil {
		return ev.compareBools(o, l.bits, r)
	}
	var (
		b   *bitvec
		err error
	)
	if r.lit != nil {
		b, err = cmpArrLit(l.arr, o, *r.lit)
	} else {
		b, err = cmpArrArr(l.arr, o, r.arr)
	}
	return value{bits: b}, err
}

// compareBools handles == and != between bools (Check rejects ordering).
func (ev *evaluator) compareBools(o op, a *bitvec, r value) (value, error) {
	var y []byte
	var vy []byte
	switch {
	case r.lit != nil && r.lit.kind == litBool:
		y = fillBitmap(ev.n, r.lit.b)
	case r.bits != nil:
		y, vy = r.bits.vals, r.bits.valid
	default:
		return value{}, fmt.Errorf("%w: cannot compare bool with %s", ErrType, describeValue(r))
	}
	for i := 0; i < len(a.vals); i += 8 {
		x := word(a.vals, i) ^ word(y, i)
		if o == opEq {
			x = ^x
		}
		putWord(a.vals, i, x)
	}
	a.valid = andValidity(a.valid, vy)
	return value{bits: a}, nil
}

func describeValue(v value) string {
	switch {
	case v.lit != nil:
		return v.lit.typeName()
	case v.bits != nil:
		return "bool"
	}
	return v.arr.DataType().String()
}

// andValidity intersects two validity bitmaps, either of which may be nil;
// a may be overwritten.
func andValidity(a, b []byte) []byte {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	for i := 0; i < len(a); i += 8 {
		putWord(a, i, word(a, i)&word(b, i))
	}
	return a
}

// validity returns a padded copy of arr's validity bitmap, nil if no nulls.
// It avoids arr.NullN(), which caches an unknown count (as in slices)
// without a lock and so races when goroutines share a batch.
func validity(arr arrow.Array) []byte {
	d := arr.Data()
	if d.NullN() == 0 {
		return nil
	}
	bm := arr.NullBitmapBytes()
	if bm == nil {
		if arr.DataType().ID() == arrow.NULL {
			return newBitmap(arr.Len())
		}
		return nil
	}
	out := newBitmap(arr.Len())
	bitutil.CopyBitmap(bm, d.Offset(), arr.Len(), out, 0)
	return out
}

func boolBits(a *array.Boolean) *bitvec {
	n := a.Len()
	vals := newBitmap(n)
	if bufs := a.Data().Buffers(); n > 0 && bufs[1] != nil {
		bitutil.CopyBitmap(bufs[1].Bytes(), a.Data().Offset(), n, vals, 0)
	}
	return &bitvec{vals: vals, valid: validity(a), n: n}
}

// boolArray finishes a bitvec as an Arrow array; null slots read false.
func boolArray(b *bitvec) *array.Boolean {
	clearTail(b.vals, b.n)
	var validBuf *memory.Buffer
	nulls := 0
	if b.valid != nil {
		clearTail(b.valid, b.n)
		nulls = b.n - bitutil.CountSetBits(b.valid, 0, b.n)
		if nulls > 0 {
			for i := 0; i < len(b.vals); i += 8 {
				putWord(b.vals, i, word(b.vals, i)&word(b.valid, i))
			}
			validBuf = memory.NewBufferBytes(b.valid)
		}
	}
	return array.NewBoolean(b.n, memory.NewBufferBytes(b.vals), validBuf, nulls)
}

// dictValues returns the dictionary of d; the caller releases it. Unlike
// d.Dictionary(), which caches lazily without a lock, it is safe while other
// goroutines read the same record batch.
func dictValues(d *array.Dictionary) arrow.Array {
	return array.MakeFromData(d.Data().Dictionary())
}

// dictMap evaluates a per-value predicate once per dictionary entry and
// spreads the results to the rows through the indices.
func dictMap(d *array.Dictionary, f func(arrow.Array) (*bitvec, error)) (*bitvec, error) {
	dict := dictValues(d)
	defer dict.Release()
	db, err := f(dict)
	if err != nil {
		return nil, err
	}
	n := d.Len()
	vals, valid := newBitmap(n), newBitmap(n)
	switch idx := d.Indices().(type) {
	case *array.Int8:
		gatherBits(idx.Int8Values(), db, vals, valid)
	case *array.Uint8:
		gatherBits(idx.Uint8Values(), db, vals, valid)
	case *array.Int16:
		gatherBits(idx.Int16Values(), db, vals, valid)
	case *array.Uint16:
		gatherBits(idx.Uint16Values(), db, vals, valid)
	case *array.Int32:
		gatherBits(idx.Int32Values(), db, vals, valid)
	case *array.Uint32:
		gatherBits(idx.Uint32Values(), db, vals, valid)
	case *array.Int64:
		gatherBits(idx.Int64Values(), db, vals, valid)
	case *array.Uint64:
		gatherBits(idx.Uint64Values(), db, vals, valid)
	default:
		return nil, fmt.Errorf("%w: unsupported dictionary index type %s", ErrType, idx.DataType())
	}
	if rv := validity(d); rv != nil {
		andValidity(valid, rv)
	}
	return &bitvec{vals: vals, valid: valid, n: n}, nil
}

// strParts exposes a string column's offsets (absolute into data) and bytes.
func strParts(arr arrow.Array) (o32 []int32, o64 []int64, data []byte, ok bool) {
	switch a := arr.(type) {
	case *array.String:
		if b := a.Data().Buffers()[2]; b != nil {
			data = b.Bytes()
		}
		return a.ValueOffsets(), nil, data, true
	case *array.LargeString:
		if b := a.Data().Buffers()[2]; b != nil {
			data = b.Bytes()
		}
		return nil, a.ValueOffsets(), data, true
	}
	return nil, nil, nil, false
}

// cmpArrLit compares a column with a non-null literal.
func cmpArrLit(arr arrow.Array, o op, l literal) (*bitvec, error) {
	if d, ok := arr.(*array.Dictionary); ok {
		return dictMap(d, func(a arrow.Array) (*bitvec, error) { return cmpArrLit(a, o, l) })
	}
	n := arr.Len()
	out := newBitmap(n)
	var ok bool
	switch a := arr.(type) {
	case *array.Int8:
		ok = cmpIntLit(a.Int8Values(), l, o, out)
	case *array.Int16:
		ok = cmpIntLit(a.Int16Values(), l, o, out)
	case *array.Int32:
		ok = cmpIntLit(a.Int32Values(), l, o, out)
	case *array.Int64:
		ok = cmpIntLit(a.Int64Values(), l, o, out)
	case *array.Uint8:
		ok = cmpIntLit(a.Uint8Values(), l, o, out)
	case *array.Uint16:
		ok = cmpIntLit(a.Uint16Values(), l, o, out)
	case *array.Uint32:
		ok = cmpIntLit(a.Uint32Values(), l, o, out)
	case *array.Uint64:
		ok = cmpIntLit(a.Uint64Values(), l, o, out)
	case *array.Float32:
		ok = cmpFloatLit(a.Float32Values(), l, o, out)
	case *array.Float64:
		ok = cmpFloatLit(a.Float64Values(), l, o, out)
	case *array.Date32, *array.Date64, *array.Timestamp:
		if l.kind != litString {
			break
		}
		t, err := parseTemporal(l.s, arr.DataType())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrType, err)
		}
		tl := literal{kind: litInt, i: t}
		switch a := arr.(type) {
		case *array.Date32:
			ok = cmpIntLit(a.Date32Values(), tl, o, out)
		case *array.Date64:
			ok = cmpIntLit(a.Date64Values(), tl, o, out)
		case *array.Timestamp:
			ok = cmpIntLit(a.TimestampValues(), tl, o, out)
		}
	default:
		if o32, o64, data, isStr := strParts(arr); isStr && l.kind == litString {
			if o32 != nil {
				cmpStrLit(o32, data, l.s, o, out)
			} else {
				cmpStrLit(o64, data, l.s, o, out)
			}
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: cannot compare %s %s %s", ErrType, arr.DataType(), o, l)
	}
	return &bitvec{vals: out, valid: validity(arr), n: n}, nil
}

// cmpArrArr compares two columns row by row.
func cmpArrArr(a arrow.Array, o op, b arrow.Array) (*bitvec, error) {
	var err error
	if a, err = decode(a); err != nil {
		return nil, err
	}
	if b, err = decode(b); err != nil {
		return nil, err
	}
	n := a.Len()
	out := newBitmap(n)
	valid := andValidity(validity(a), validity(b))
	ta, tb := a.DataType(), b.DataType()
	ca, _ := classify(ta)
	cb, _ := classify(tb)
	switch {
	case ca.cls == clsString && cb.cls == clsString:
		a32, a64, ad, _ := strParts(a)
		b32, b64, bd, _ := strParts(b)
		switch {
		case a32 != nil && b32 != nil:
			cmpStrStr(a32, ad, b32, bd, o, out)
		case a32 != nil:
			cmpStrStr(a32, ad, b64, bd, o, out)
		case b32 != nil:
			cmpStrStr(a64, ad, b32, bd, o, out)
		default:
			cmpStrStr(a64, ad, b64, bd, o, out)
		}
	case arrow.TypeEqual(ta, tb) && (ca.cls.numeric() || ca.cls == clsTemporal):
		if !cmpSameType(a, b, o, out) {
			return nil, fmt.Errorf("%w: cannot compare %s columns", ErrType, ta)
		}
	case ca.cls == clsFloat || cb.cls == clsFloat:
		x, err := widenArr[float64](a)
		if err != nil {
			return nil, err
		}
		y, err := widenArr[float64](b)
		if err != nil {
			return nil, err
		}
		cmpColKernel(x, y, o, out)
	case ca.cls == clsInt && cb.cls == clsInt:
		x, err := widenArr[int64](a)
		if err != nil {
			return nil, err
		}
		y, err := widenArr[int64](b)
		if err != nil {
			return nil, err
		}
		cmpColKernel(x, y, o, out)
	default:
		return nil, fmt.Errorf("%w: cannot compare %s %s %s", ErrType, ta, o, tb)
	}
	return &bitvec{vals: out, valid: valid, n: n}, nil
}

func cmpSameType(a, b arrow.Array, o op, out []byte) bool {
	switch a := a.(type) {
	case *array.Int8:
		cmpColKernel(a.Int8Values(), b.(*array.Int8).Int8Values(), o, out)
	case *array.Int16:
		cmpColKernel(a.Int16Values(), b.(*array.Int16).Int16Values(), o, out)
	case *array.Int32:
		cmpColKernel(a.Int32Values(), b.(*array.Int32).Int32Values(), o, out)
	case *array.Int64:
		cmpColKernel(a.Int64Values(), b.(*array.Int64).Int64Values(), o, out)
	case *array.Uint8:
		cmpColKernel(a.Uint8Values(), b.(*array.Uint8).Uint8Values(), o, out)
	case *array.Uint16:
		cmpColKernel(a.Uint16Values(), b.(*array.Uint16).Uint16Values(), o, out)
	case *array.Uint32:
		cmpColKernel(a.Uint32Values(), b.(*array.Uint32).Uint32Values(), o, out)
	case *array.Uint64:
		cmpColKernel(a.Uint64Values(), b.(*array.Uint64).Uint64Values(), o, out)
	case *array.Float32:
		cmpColKernel(a.Float32Values(), b.(*array.Float32).Float32Values(), o, out)
	case *array.Float64:
		cmpColKernel(a.Float64Values(), b.(*array.Float64).Float64Values(), o, out)
	case *array.Date32:
		cmpColKernel(a.Date32Values(), b.(*array.Date32).Date32Values(), o, out)
	case *array.Date64:
		cmpColKernel(a.Date64Values(), b.(*array.Date64).Date64Values(), o, out)
	case *array.Timestamp:
		cmpColKernel(a.TimestampValues(), b.(*array.Timestamp).TimestampValues(), o, out)
	default:
		return false
	}
	return true
}

// widenArr returns a numeric column's values as int64 or float64, without
// copying when they already are.
func widenArr[R int64 | float64](arr arrow.Array) ([]R, error) {
	var v any
	switch a := arr.(type) {
	case *array.Int64:
		v = a.Int64Values()
	case *array.Float64:
		v = a.Float64Values()
	}
	if r, ok := v.([]R); ok {
		return r, nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		return widen[int8, R](a.Int8Values()), nil
	case *array.Int16:
		return widen[int16, R](a.Int16Values()), nil
	case *array.Int32:
		return widen[int32, R](a.Int32Values()), nil
	case *array.Int64:
		return widen[int64, R](a.Int64Values()), nil
	case *array.Uint8:
		return widen[uint8, R](a.Uint8Values()), nil
	case *array.Uint16:
		return widen[uint16, R](a.Uint16Values()), nil
	case *array.Uint32:
		return widen[uint32, R](a.Uint32Values()), nil
	case *array.Uint64:
		return widen[uint64, R](a.Uint64Values()), nil
	case *array.Float32:
		return widen[float32, R](a.Float32Values()), nil
	case *array.Float64:
		return widen[float64, R](a.Float64Values()), nil
	}
	return nil, fmt.Errorf("%w: %s is not numeric", ErrType, arr.DataType())
}

// decode materialises a dictionary column as a plain one (for the rare
// operations that cannot work per dictionary entry).
func decode(arr arrow.Array) (arrow.Array, error) {
	d, ok := arr.(*array.Dictionary)
	if !ok {
		return arr, nil
	}
	dict := dictValues(d)
	defer dict.Release()
	var pos []int
	switch idx := d.Indices().(type) {
	case *array.Int8:
		pos = toInts(idx.Int8Values(), dict.Len())
	case *array.Uint8:
		pos = toInts(idx.Uint8Values(), dict.Len())
	case *array.Int16:
		pos = toInts(idx.Int16Values(), dict.Len())
	case *array.Uint16:
		pos = toInts(idx.Uint16Values(), dict.Len())
	case *array.Int32:
		pos = toInts(idx.Int32Values(), dict.Len())
	case *array.Uint32:
		pos = toInts(idx.Uint32Values(), dict.Len())
	case *array.Int64:
		pos = toInts(idx.Int64Values(), dict.Len())
	case *array.Uint64:
		pos = toInts(idx.Uint64Values(), dict.Len())
	default:
		return nil, fmt.Errorf("%w: unsupported dictionary index type %s", ErrType, idx.DataType())
	}
	for i := range pos {
		if d.IsNull(i) {
			pos[i] = -1
		}
	}
	b := array.NewBuilder(memory.DefaultAllocator, dict.DataType())
	defer b.Release()
	b.Reserve(len(pos))
	for _, p := range pos {
		if p < 0 || dict.IsNull(p) {
			b.AppendNull()
			continue
		}
		if err := appendFrom(b, dict, p); err != nil {
			return nil, err
		}
	}
	return b.NewArray(), nil
}

// appendFrom appends dict[i] to b; both have dict's type.
func appendFrom(b array.Builder, dict arrow.Array, i int) error {
	switch d := dict.(type) {
	case *array.String:
		b.(*array.StringBuilder).Append(d.Value(i))
	case *array.LargeString:
		b.(*array.LargeStringBuilder).Append(d.Value(i))
	case *array.Int8:
		b.(*array.Int8Builder).Append(d.Value(i))
	case *array.Int16:
		b.(*array.Int16Builder).Append(d.Value(i))
	case *array.Int32:
		b.(*array.Int32Builder).Append(d.Value(i))
	case *array.Int64:
		b.(*array.Int64Builder).Append(d.Value(i))
	case *array.Uint8:
		b.(*array.Uint8Builder).Append(d.Value(i))
	case *array.Uint16:
		b.(*array.Uint16Builder).Append(d.Value(i))
	case *array.Uint32:
		b.(*array.Uint32Builder).Append(d.Value(i))
	case *array.Uint64:
		b.(*array.Uint64Builder).Append(d.Value(i))
	case *array.Float32:
		b.(*array.Float32Builder).Append(d.Value(i))
	case *array.Float64:
		b.(*array.Float64Builder).Append(d.Value(i))
	case *array.Date32:
		b.(*array.Date32Builder).Append(d.Value(i))
	case *array.Date64:
		b.(*array.Date64Builder).Append(d.Value(i))
	case *array.Timestamp:
		b.(*array.TimestampBuilder).Append(d.Value(i))
	default:
		return fmt.Errorf("%w: cannot decode dictionary of %s", ErrType, dict.DataType())
	}
	return nil
}

// in evaluates x in (list...); null elements match nothing.
func (ev *evaluator) in(x value, list []literal) (value, error) {
	switch {
	case x.lit != nil:
		v := foldIn(*x.lit, list, false)
		return value{lit: &v}, nil
	case x.bits != nil:
		var hasT, hasF bool
		for _, l := range list {
			if l.kind == litBool {
				hasT, hasF = hasT || l.b, hasF || !l.b
			}
		}
		b := x.bits
		for i := 0; i < len(b.vals); i += 8 {
			w, r := word(b.vals, i), uint64(0)
			if hasT {
				r |= w
			}
			if hasF {
				r |= ^w
			}
			putWord(b.vals, i, r)
		}
		return x, nil
	}
	b, err := inArr(x.arr, list)
	return value{bits: b}, err
}

func inArr(arr arrow.Array, list []literal) (*bitvec, error) {
	if d, ok := arr.(*array.Dictionary); ok {
		return dictMap(d, func(a arrow.Array) (*bitvec, error) { return inArr(a, list) })
	}
	n := arr.Len()
	out := newBitmap(n)
	switch a := arr.(type) {
	case *array.Int8:
		inKernel(a.Int8Values(), intSet[int8](list), out)
	case *array.Int16:
		inKernel(a.Int16Values(), intSet[int16](list), out)
	case *array.Int32:
		inKernel(a.Int32Values(), intSet[int32](list), out)
	case *array.Int64:
		inKernel(a.Int64Values(), intSet[int64](list), out)
	case *array.Uint8:
		inKernel(a.Uint8Values(), intSet[uint8](list), out)
	case *array.Uint16:
		inKernel(a.Uint16Values(), intSet[uint16](list), out)
	case *array.Uint32:
		inKernel(a.Uint32Values(), intSet[uint32](list), out)
	case *array.Uint64:
		inKernel(a.Uint64Values(), intSet[uint64](list), out)
	case *array.Float32:
		inKernel(a.Float32Values(), floatSet[float32](list), out)
	case *array.Float64:
		inKernel(a.Float64Values(), floatSet[float64](list), out)
	case *array.Date32, *array.Date64, *array.Timestamp:
		var ts []literal
		for _, l := range list {
			if l.kind != litString {
				continue
			}
			t, err := parseTemporal(l.s, arr.DataType())
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrType, err)
			}
			ts = append(ts, literal{kind: litInt, i: t})
		}
		switch a := arr.(type) {
		case *array.Date32:
			inKernel(a.Date32Values(), intSet[arrow.Date32](ts), out)
		case *array.Date64:
			inKernel(a.Date64Values(), intSet[arrow.Date64](ts), out)
		case *array.Timestamp:
			inKernel(a.TimestampValues(), intSet[arrow.Timestamp](ts), out)
		}
	default:
		o32, o64, data, ok := strParts(arr)
		if !ok {
			return nil, fmt.Errorf("%w: in is not supported for %s", ErrType, arr.DataType())
		}
		var set []string
		for _, l := range list {
			if l.kind == litString {
				set = append(set, l.s)
			}
		}
		if o32 != nil {
			inStrKernel(o32, data, set, out)
		} else {
			inStrKernel(o64, data, set, out)
		}
	}
	return &bitvec{vals: out, valid: validity(arr), n: n}, nil
}

// arith evaluates l o r for numbers.
func (ev *evaluator) arith(o op, l, r value) (value, error) {
	if l.lit != nil && r.lit != nil {
		v := foldArith(o, *l.lit, *r.lit)
		return value{lit: &v}, nil
	}
	if l.lit != nil && l.lit.kind == litNull || r.lit != nil && r.lit.kind == litNull {
		return value{lit: &literal{}}, nil
	}
	isInt := func(v value) bool {
		if v.lit != nil {
			return v.lit.kind == litInt
		}
		t, _ := classify(v.arr.DataType())
		return t.cls == clsInt
	}
	for _, v := range []value{l, r} {
		if v.arr == nil && (v.lit == nil || (v.lit.kind != litInt && v.lit.kind != litFloat)) {
			return value{}, fmt.Errorf("%w: cannot apply %s to %s", ErrType, o, describeValue(v))
		}
	}
	var err error
	var valid []byte
	for _, v := range []*value{&l, &r} {
		if v.arr != nil {
			if v.arr, err = decode(v.arr); err != nil {
				return value{}, err
			}
			valid = andValidity(valid, validity(v.arr))
		}
	}
	n := ev.n
	if isInt(l) && isInt(r) && o != opDiv {
		a, err := operand[int64](l)
		if err != nil {
			return value{}, err
		}
		b, err := operand[int64](r)
		if err != nil {
			return value{}, err
		}
		if (o == opFloorDiv || o == opMod) && valid == nil {
			valid = fillBitmap(n, true)
		}
		res := arithInt(o, a, b, n, valid)
		return value{arr: numArray(arrow.PrimitiveTypes.Int64, arrow.Int64Traits.CastToBytes(res), valid, n), own: true}, nil
	}
	a, err := operand[float64](l)
	if err != nil {
		return value{}, err
	}
	b, err := operand[float64](r)
	if err != nil {
		return value{}, err
	}
	res := arithFloat(o, a, b, n)
	return value{arr: numArray(arrow.PrimitiveTypes.Float64, arrow.Float64Traits.CastToBytes(res), valid, n), own: true}, nil
}

// operand returns a column's values widened, or a literal as a 1-slice.
func operand[R int64 | float64](v value) ([]R, error) {
	if v.lit != nil {
		if v.lit.kind == litInt {
			return []R{R(v.lit.i)}, nil
		}
		return []R{R(v.lit.f)}, nil
	}
	return widenArr[R](v.arr)
}

func numArray(dt arrow.DataType, data, valid []byte, n int) arrow.Array {
	var vb *memory.Buffer
	nulls := 0
	if valid != nil {
		clearTail(valid, n)
		if nulls = n - bitutil.CountSetBits(valid, 0, n); nulls > 0 {
			vb = memory.NewBufferBytes(valid)
		}
	}
	d := array.NewData(dt, n, []*memory.Buffer{vb, memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// broadcast turns a literal into a column of n equal values; a null takes
// the expression's static type cls.
func broadcast(l literal, cls class, n int) arrow.Array {
	mem := memory.DefaultAllocator
	switch l.kind {
	case litNull:
		switch cls {
		case clsBool:
			return boolArray(&bitvec{vals: newBitmap(n), valid: newBitmap(n), n: n})
		case clsInt:
			return numArray(arrow.PrimitiveTypes.Int64, make([]byte, 8*n), newBitmap(n), n)
		case clsFloat:
			return numArray(arrow.PrimitiveTypes.Float64, make([]byte, 8*n), newBitmap(n), n)
		}
	case litBool:
		return boolArray(&bitvec{vals: fillBitmap(n, l.b), n: n})
	case litInt:
		v := make([]int64, n)
		for i := range v {
			v[i] = l.i
		}
		return numArray(arrow.PrimitiveTypes.Int64, arrow.Int64Traits.CastToBytes(v), nil, n)
	case litFloat:
		v := make([]float64, n)
		for i := range v {
			v[i] = l.f
		}
		return numArray(arrow.PrimitiveTypes.Float64, arrow.Float64Traits.CastToBytes(v), nil, n)
	case litString:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		for range n {
			b.Append(l.s)
		}
		return b.NewArray()
	}
	return array.NewNull(n)
}
