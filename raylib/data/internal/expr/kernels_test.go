package expr

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The vectorised kernels are checked row by row against the scalar
// folding code on random data long enough to run the unrolled loops, over
// slices at unaligned offsets.

var randTypes = []arrow.DataType{
	arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
	arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
	arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
	arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString,
	&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint8, ValueType: arrow.BinaryTypes.String},
	&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.PrimitiveTypes.Int16},
	arrow.FixedWidthTypes.Boolean,
}

var words = []string{"", "a", "ab", "b", "ba", "bb", "c", "zz"}

func randRecord(t testing.TB, r *rand.Rand, n int) arrow.RecordBatch {
	fields := make([]arrow.Field, len(randTypes))
	for i, dt := range randTypes {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: dt, Nullable: true}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := range randTypes {
		fb := b.Field(i)
		for range n {
			if r.IntN(5) == 0 {
				fb.AppendNull()
				continue
			}
			v := r.IntN(21) - 10
			switch fb := fb.(type) {
			case *array.Int8Builder:
				fb.Append(int8(v))
			case *array.Int16Builder:
				fb.Append(int16(v))
			case *array.Int32Builder:
				fb.Append(int32(v))
			case *array.Int64Builder:
				fb.Append(int64(v))
			case *array.Uint8Builder:
				fb.Append(uint8(v + 10))
			case *array.Uint16Builder:
				fb.Append(uint16(v + 10))
			case *array.Uint32Builder:
				fb.Append(uint32(v + 10))
			case *array.Uint64Builder:
				fb.Append(uint64(v + 10))
			case *array.Float32Builder:
				if r.IntN(20) == 0 {
					fb.Append(float32(math.NaN()))
				} else {
					fb.Append(float32(v) / 2)
				}
			case *array.Float64Builder:
				if r.IntN(20) == 0 {
					fb.Append(math.NaN())
				} else {
					fb.Append(float64(v) / 2)
				}
			case *array.StringBuilder:
				fb.Append(words[r.IntN(len(words))])
			case *array.LargeStringBuilder:
				fb.Append(words[r.IntN(len(words))])
			case *array.BinaryDictionaryBuilder:
				if err := fb.AppendString(words[r.IntN(len(words))]); err != nil {
					t.Fatal(err)
				}
			case *array.Int16DictionaryBuilder:
				if err := fb.Append(int16(v)); err != nil {
					t.Fatal(err)
				}
			case *array.BooleanBuilder:
				fb.Append(v > 0)
			default:
				t.Fatalf("no generator for %T", fb)
			}
		}
	}
	return b.NewRecordBatch()
}

// rowLit reads row i of arr as a literal.
func rowLit(arr arrow.Array, i int) literal {
	if arr.IsNull(i) {
		return literal{}
	}
	switch a := arr.(type) {
	case *array.Dictionary:
		return rowLit(a.Dictionary(), a.GetValueIndex(i))
	case *array.Boolean:
		return boolLit(a.Value(i))
	case *array.String:
		return literal{kind: litString, s: a.Value(i)}
	case *array.LargeString:
		return literal{kind: litString, s: a.Value(i)}
	case *array.Float32:
		return literal{kind: litFloat, f: float64(a.Value(i))}
	case *array.Float64:
		return literal{kind: litFloat, f: a.Value(i)}
	case *array.Int8:
		return literal{kind: litInt, i: int64(a.Value(i))}
	case *array.Int16:
		return literal{kind: litInt, i: int64(a.Value(i))}
	case *array.Int32:
		return literal{kind: litInt, i: int64(a.Value(i))}
	case *array.Int64:
		return literal{kind: litInt, i: a.Value(i)}
	case *array.Uint8:
		return literal{kind: litInt, i: int64(a.Value(i))}
	case *array.Uint16:
		return literal{kind: litInt, i: int64(a.Value(i))}
	case *array.Uint32:
		return literal{kind: litInt, i: int64(a.Value(i))}
	case *array.Uint64:
		return literal{kind: litInt, i: int64(a.Value(i))}
	}
	panic("rowLit: " + arr.DataType().String())
}

func sameLit(a, b literal) bool {
	if a.kind == litFloat && b.kind == litFloat && math.IsNaN(a.f) && math.IsNaN(b.f) {
		return true
	}
	return a == b
}

func TestKernelsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rec := randRecord(t, r, 200)
	defer rec.Release()
	ctx := context.Background()
	ncol := len(randTypes)
	col := func(i int) string { return fmt.Sprintf("c%d", i) }
	lits := []string{"-11", "-10", "-1", "0", "3", "10", "20", "300", "70000", "-3.5", "2.5", "4.0", "1e30",
		"'b'", "''", "'bb'", "'zzz'", "True", "False"}
	ops := []op{opEq, opNe, opLt, opLe, opGt, opGe}

	var exprs []string
	for i := range ncol {
		for _, o := range ops {
			for _, l := range lits {
				exprs = append(exprs, fmt.Sprintf("%s %s %s", col(i), o, l), fmt.Sprintf("%s %s %s", l, o, col(i)))
			}
			for j := range ncol {
				exprs = append(exprs, fmt.Sprintf("%s %s %s", col(i), o, col(j)))
			}
		}
		exprs = append(exprs,
			col(i)+" in (1, -3, 2.5, 'b', '', True, 5, 6, 7, 8, 9, 10)",
			col(i)+" in (0, 'ab')",
			col(i)+" not in (0, 'ab', None)",
			col(i)+" is null",
			col(i)+" is not null",
			"-"+col(i))
		for j := range ncol {
			for _, a := range []string{"+", "-", "*", "/", "//", "%"} {
				exprs = append(exprs, fmt.Sprintf("%s %s %s", col(i), a, col(j)))
			}
		}
		for _, a := range []string{"+ 3", "* -2", "/ 4", "// 3", "% -3", "% 0", "// 0.0"} {
			exprs = append(exprs, col(i)+" "+a)
		}
	}

	checked := 0
	for _, src := range exprs {
		e := MustParse(src)
		if e.Check(rec.Schema()) != nil {
			continue
		}
		checked++
		for _, off := range []int64{0, 13} {
			sub := rec.NewSlice(off, off+int64(r.IntN(int(rec.NumRows()-off))))
			got, err := e.Eval(ctx, sub)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			for i := 0; i < got.Len(); i++ {
				want := refEval(e.root, sub, i)
				if g := rowLit(got, i); !sameLit(g, want) {
					t.Fatalf("%s at offset %d row %d: got %v, want %v", src, off, i, g, want)
				}
			}
			got.Release()
			sub.Release()
		}
	}
	t.Logf("checked %d expressions", checked)
	if checked < 1000 {
		t.Fatalf("only %d expressions type checked", checked)
	}
}

// TestLogicRandom checks Kleene and/or/not on random boolean operands.
func TestLogicRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rec := randRecord(t, r, 700)
	defer rec.Release()
	preds := []string{"c14", "c0 > 0", "c9 < 1", "c10 == 'b'", "True", "False", "None", "c3 is null"}
	for _, a := range preds {
		for _, b := range preds {
			for _, f := range []string{"%s and %s", "%s or %s", "not (%s and %s)", "not %s or not %s", "(%s) == (%s)"} {
				src := fmt.Sprintf(f, a, b)
				e := MustParse(src)
				for _, off := range []int64{0, 5} {
					sub := rec.NewSlice(off, rec.NumRows()-off/2)
					got, err := e.Eval(context.Background(), sub)
					if err != nil {
						t.Fatalf("%s: %v", src, err)
					}
					mask, err := e.Filter(context.Background(), sub)
					if err != nil {
						t.Fatalf("%s: %v", src, err)
					}
					for i := 0; i < got.Len(); i++ {
						want := refEval(e.root, sub, i)
						if g := rowLit(got, i); !sameLit(g, want) {
							t.Fatalf("%s row %d: got %v, want %v", src, i, g, want)
						}
						if mask.Value(i) != (want.kind == litBool && want.b) {
							t.Fatalf("%s row %d: mask %v, want %v", src, i, mask.Value(i), want)
						}
					}
					got.Release()
					mask.Release()
					sub.Release()
				}
			}
		}
	}
}

// refEval evaluates n for row i with the scalar folding functions.
func refEval(n node, rec arrow.RecordBatch, i int) literal {
	switch n := n.(type) {
	case *litNode:
		return n.v
	case *colNode:
		idx, err := resolve(rec.Schema(), n.name)
		if err != nil {
			panic(err)
		}
		c := rec.Column(idx)
		if c.DataType().ID() == arrow.NULL {
			return literal{}
		}
		return rowLit(c, i)
	case *unaryNode:
		x := refEval(n.x, rec, i)
		if n.op == opNot {
			return foldNot(x)
		}
		return foldArith(opMul, literal{kind: litInt, i: -1}, x)
	case *binaryNode:
		l, r := refEval(n.l, rec, i), refEval(n.r, rec, i)
		switch {
		case n.op == opAnd || n.op == opOr:
			return foldLogic(n.op, l, r)
		case n.op.isCmp():
			return foldCmp(n.op, l, r)
		}
		return foldArith(n.op, l, r)
	case *inNode:
		return foldIn(refEval(n.x, rec, i), n.list, n.neg)
	case *isNullNode:
		return boolLit((refEval(n.x, rec, i).kind == litNull) != n.neg)
	}
	panic("refEval")
}

func TestClearTail(t *testing.T) {
	for n := 0; n < 80; n++ {
		b := newBitmap(n)
		for i := range b {
			b[i] = 0xff
		}
		clearTail(b, n)
		for i := 0; i < len(b)*8; i++ {
			if getBit(b, i) != (i < n) {
				t.Fatalf("n=%d: bit %d = %v", n, i, getBit(b, i))
			}
		}
	}
}

func TestFloorDivMod(t *testing.T) {
	for _, c := range [][4]int64{{7, 2, 3, 1}, {-7, 2, -4, 1}, {7, -2, -4, -1}, {-7, -2, 3, -1}, {6, 3, 2, 0}, {math.MinInt64, -1, math.MinInt64, 0}} {
		q, m := floorDivMod(c[0], c[1])
		if q != c[2] || m != c[3] {
			t.Errorf("divmod(%d, %d) = %d, %d; want %d, %d", c[0], c[1], q, m, c[2], c[3])
		}
	}
	if got := floatMod(-7, 2); got != 1 {
		t.Errorf("floatMod(-7, 2) = %v", got)
	}
}

func TestCmpIntFloat(t *testing.T) {
	tests := []struct {
		i    int64
		f    float64
		want int
	}{
		{1, 1.5, -1}, {2, 1.5, 1}, {1, 1, 0}, {-1, -1.5, 1}, {-2, -1.5, -1},
		{math.MaxInt64, 0x1p63, -1}, {math.MinInt64, -0x1p63, 0}, {math.MinInt64, -0x1p64, 1},
		{1<<53 + 1, 0x1p53, 1},
	}
	for _, tt := range tests {
		if got := cmpIntFloat(tt.i, tt.f); got != tt.want {
			t.Errorf("cmpIntFloat(%d, %v) = %d, want %d", tt.i, tt.f, got, tt.want)
		}
	}
}
