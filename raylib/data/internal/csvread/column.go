package csvread

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

type kind uint8

const (
	kNull kind = iota
	kInt64
	kInt32
	kInt16
	kInt8
	kUint64
	kUint32
	kUint16
	kUint8
	kFloat64
	kFloat32
	kBool
	kString
	kLargeString
	kBinary
	kLargeBinary
	kDate32
	kDate64
	kTime32
	kTime64
	kTimestamp
)

// column accumulates the values of one output column for the current batch
// directly into Go slices that become the Arrow buffers (no builders).
type column struct {
	name  string
	typ   arrow.DataType
	kind  kind
	unit  int  // time unit for time/timestamp kinds
	zoned bool // timestamp type has a time zone
	lo    int64
	hi    int64  // range for narrow signed kinds
	uhi   uint64 // range for narrow unsigned kinds

	nulls     *nullSet // nil: values are never null
	checkUTF8 bool     // string kinds
	validate  bool     // checkUTF8 and the current window is not pure ASCII

	// per-batch state
	ints   []int64 // integer, date, time, timestamp kinds
	floats []float64
	bits   []byte // bool values
	offs   []int32
	loffs  []int64
	data   []byte
	valid  []byte // nil while the batch has no null
	nnull  int

	dataPerRow float64 // string bytes per row in the last batch (0: none yet)
}

func kindOf(t arrow.DataType) (kind, error) {
	switch t.ID() {
	case arrow.NULL:
		return kNull, nil
	case arrow.INT64:
		return kInt64, nil
	case arrow.INT32:
		return kInt32, nil
	case arrow.INT16:
		return kInt16, nil
	case arrow.INT8:
		return kInt8, nil
	case arrow.UINT64:
		return kUint64, nil
	case arrow.UINT32:
		return kUint32, nil
	case arrow.UINT16:
		return kUint16, nil
	case arrow.UINT8:
		return kUint8, nil
	case arrow.FLOAT64:
		return kFloat64, nil
	case arrow.FLOAT32:
		return kFloat32, nil
	case arrow.BOOL:
		return kBool, nil
	case arrow.STRING:
		return kString, nil
	case arrow.LARGE_STRING:
		return kLargeString, nil
	case arrow.BINARY:
		return kBinary, nil
	case arrow.LARGE_BINARY:
		return kLargeBinary, nil
	case arrow.DATE32:
		return kDate32, nil
	case arrow.DATE64:
		return kDate64, nil
	case arrow.TIME32:
		return kTime32, nil
	case arrow.TIME64:
		return kTime64, nil
	case arrow.TIMESTAMP:
		return kTimestamp, nil
	}
	return 0, fmt.Errorf("%w %s", ErrUnsupportedType, t)
}

func newColumn(name string, t arrow.DataType, nulls *nullSet, stringsCanBeNull bool) (*column, error) {
	k, err := kindOf(t)
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", name, err)
	}
	c := &column{name: name, typ: t, kind: k, nulls: nulls}
	switch k {
	case kInt32:
		c.lo, c.hi = math.MinInt32, math.MaxInt32
	case kInt16:
		c.lo, c.hi = math.MinInt16, math.MaxInt16
	case kInt8:
		c.lo, c.hi = math.MinInt8, math.MaxInt8
	case kUint64:
		c.uhi = math.MaxUint64
	case kUint32:
		c.uhi = math.MaxUint32
	case kUint16:
		c.uhi = math.MaxUint16
	case kUint8:
		c.uhi = math.MaxUint8
	case kString, kLargeString, kBinary, kLargeBinary:
		c.checkUTF8 = k == kString || k == kLargeString
		if !stringsCanBeNull {
			c.nulls = nil
		}
	case kTime32:
		c.unit = int(t.(*arrow.Time32Type).Unit)
	case kTime64:
		c.unit = int(t.(*arrow.Time64Type).Unit)
	case kTimestamp:
		tt := t.(*arrow.TimestampType)
		c.unit = int(tt.Unit)
		c.zoned = tt.TimeZone != ""
	}
	return c, nil
}

// reset prepares the column for a new batch of about rows rows;
// rowBytes bounds the string bytes of one row before a batch has been seen.
func (c *column) reset(rows, rowBytes int) {
	dataBytes := rows*rowBytes + 64
	if c.dataPerRow > 0 {
		dataBytes = int(float64(rows)*c.dataPerRow*1.1) + 64
	}
	c.valid = nil
	c.nnull = 0
	switch c.kind {
	case kNull:
	case kFloat64, kFloat32:
		c.floats = make([]float64, 0, rows)
	case kBool:
		c.bits = make([]byte, 0, (rows+7)/8)
	case kString, kBinary:
		c.offs = make([]int32, 1, rows+1)
		c.data = make([]byte, 0, dataBytes)
	case kLargeString, kLargeBinary:
		c.loffs = make([]int64, 1, rows+1)
		c.data = make([]byte, 0, dataBytes)
	default:
		c.ints = make([]int64, 0, rows)
	}
}

func setBit(bm []byte, i int) []byte {
	j := i >> 3
	for j >= len(bm) {
		bm = append(bm, 0)
	}
	bm[j] |= 1 << uint(i&7)
	return bm
}

// null records a null at row (the batch's row index).
func (c *column) null(row int) {
	if c.valid == nil {
		n := (row + 8) / 8
		c.valid = make([]byte, n, max(n, cap(c.offs)/8+1, cap(c.ints)/8+1, cap(c.floats)/8+1, cap(c.loffs)/8+1))
		for i := 0; i < row; i++ {
			c.valid[i>>3] |= 1 << uint(i&7)
		}
	}
	for row>>3 >= len(c.valid) {
		c.valid = append(c.valid, 0)
	}
	c.nnull++
	switch c.kind {
	case kNull:
	case kFloat64, kFloat32:
		c.floats = append(c.floats, 0)
	case kBool:
		if row&7 == 0 {
			c.bits = append(c.bits, 0)
		}
	case kString, kBinary:
		c.offs = append(c.offs, int32(len(c.data)))
	case kLargeString, kLargeBinary:
		c.loffs = append(c.loffs, int64(len(c.data)))
	default:
		c.ints = append(c.ints, 0)
	}
}

const maxInt32Data = math.MaxInt32

func (c *column) addOther(f []byte) string {
	var v int64
	var ok bool
	switch c.kind {
	case kNull:
		return c.cannot(f)
	case kInt32, kInt16, kInt8:
		v, ok = parseInt64(f)
		ok = ok && v >= c.lo && v <= c.hi
	case kUint64, kUint32, kUint16, kUint8:
		var u uint64
		u, ok = parseUint64(f)
		ok = ok && u <= c.uhi
		v = int64(u)
	case kDate32, kDate64:
		v, ok = parseDate(trimSpace(f))
		if ok && c.kind == kDate64 {
			v *= 86400000
		}
	case kTime32, kTime64:
		var secs, nanos int64
		var fd int
		secs, nanos, fd, ok = parseTime(f)
		if ok {
			v, ok = toUnit(secs, nanos, fd, c.unit)
		}
	case kTimestamp:
		var ts timestamp
		ts, ok = parseTimestamp(f)
		if ok && ts.zoned != c.zoned {
			if c.zoned {
				return fmt.Sprintf("expected a zone offset in %q (type %s)", f, c.typ)
			}
			return fmt.Sprintf("expected no zone offset in %q (type %s)", f, c.typ)
		}
		if ok {
			v, ok = toUnit(ts.secs, ts.nanos, ts.fracDigits, c.unit)
		}
	}
	if !ok {
		return c.cannot(f)
	}
	c.ints = append(c.ints, v)
	return ""
}

func (c *column) cannot(f []byte) string {
	return fmt.Sprintf("cannot parse %q as %s", f, c.typ)
}

// finish turns the accumulated values of n rows into an Arrow array. The
// slices are handed over to the array; the next reset allocates new ones.
func (c *column) finish(n int) arrow.Array {
	var validBuf *memory.Buffer
	nnull := c.nnull
	if c.kind == kNull {
		return array.NewNull(n)
	}
	if nnull > 0 {
		validBuf = memory.NewBufferBytes(c.valid)
	}
	var bufs []*memory.Buffer
	switch c.kind {
	case kInt64, kUint64, kDate64, kTime64, kTimestamp:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(c.ints))}
	case kInt32, kUint32, kDate32, kTime32:
		out := make([]int32, len(c.ints))
		for i, v := range c.ints {
			out[i] = int32(v)
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(out))}
	case kInt16, kUint16:
		out := make([]int16, len(c.ints))
		for i, v := range c.ints {
			out[i] = int16(v)
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int16Traits.CastToBytes(out))}
	case kInt8, kUint8:
		out := make([]byte, len(c.ints))
		for i, v := range c.ints {
			out[i] = byte(v)
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(out)}
	case kFloat64:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(c.floats))}
	case kFloat32:
		out := make([]float32, len(c.floats))
		for i, v := range c.floats {
			out[i] = float32(v)
		}
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(out))}
	case kBool:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(c.bits)}
	case kString, kBinary:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offs)), memory.NewBufferBytes(c.data)}
	case kLargeString, kLargeBinary:
		bufs = []*memory.Buffer{validBuf, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(c.loffs)), memory.NewBufferBytes(c.data)}
	}
	if n > 0 {
		c.dataPerRow = float64(len(c.data)) / float64(n)
	}
	d := array.NewData(c.typ, n, bufs, nil, nnull, 0)
	a := array.MakeFromData(d)
	d.Release()
	c.ints, c.floats, c.bits, c.offs, c.loffs, c.data, c.valid = nil, nil, nil, nil, nil, nil, nil
	return a
}
