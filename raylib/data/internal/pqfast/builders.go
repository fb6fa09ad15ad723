package pqfast

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// A builder fills one Arrow array of a known length (a batch) from the
// values of pages. For each page, load sets the page's dense values (the
// non-null ones, in order: a view of the page for PLAIN-like encodings,
// looked up in the dictionary for dictionary pages); put then moves rows of
// the page into the array, from the page's definition levels (nil for a
// REQUIRED column) and dense values.
type builder interface {
	// reset starts a new array of n rows.
	reset(n int)
	// newChunk drops what was cached for the previous column chunk (its
	// dictionary).
	newChunk()
	// load makes p the current page; it holds dense non-null values.
	load(p parquet.Page, dense int) error
	// put appends rows rows of the current page, whose definition levels
	// are levels (nil: all rows non-null), starting at dense value from. It
	// returns the number of dense values used.
	put(levels []byte, maxDef byte, rows, from int) (int, error)
	// finish returns the array (of the n rows given to reset).
	finish() arrow.Array
}

func newBuilder(c *column) builder {
	dt := c.field.Type
	switch c.conv {
	case convBool:
		return &boolBuilder{dt: dt}
	case convI32:
		return &fixedBuilder[int32]{dt: dt, src: func(v encoding.Values, _ []int32) []int32 { return v.Int32() }}
	case convI64:
		return &fixedBuilder[int64]{dt: dt, src: func(v encoding.Values, _ []int64) []int64 { return v.Int64() }}
	case convF32:
		return &fixedBuilder[float32]{dt: dt, src: func(v encoding.Values, _ []float32) []float32 { return v.Float() }}
	case convF64:
		return &fixedBuilder[float64]{dt: dt, src: func(v encoding.Values, _ []float64) []float64 { return v.Double() }}
	case convI8:
		return &fixedBuilder[int8]{dt: dt, src: narrow[int8], copies: true}
	case convU8:
		return &fixedBuilder[uint8]{dt: dt, src: narrow[uint8], copies: true}
	case convI16:
		return &fixedBuilder[int16]{dt: dt, src: narrow[int16], copies: true}
	case convU16:
		return &fixedBuilder[uint16]{dt: dt, src: narrow[uint16], copies: true}
	default:
		return &bytesBuilder{dt: dt}
	}
}

// narrow converts INT32 values to a narrower integer type the way pqarrow
// does (a Go conversion), into scratch.
func narrow[T int8 | uint8 | int16 | uint16](v encoding.Values, scratch []T) []T {
	in := v.Int32()
	out := grow(scratch, len(in))
	for i, x := range in {
		out[i] = T(x)
	}
	return out
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func sliceBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}

var errDictIndex = errors.New("dictionary index out of range")

// checkIndexes reports whether every index is within [0, n).
func checkIndexes(idx []int32, n int) error {
	var bad uint32
	lim := uint32(n)
	for _, k := range idx {
		if uint32(k) >= lim {
			bad++
		}
	}
	if bad != 0 {
		return errDictIndex
	}
	return nil
}

// validity is the null bookkeeping shared by the builders: the bitmap is
// allocated at the first null only.
type validity struct {
	n     int
	bits  []byte
	nulls int
}

func (v *validity) reset(n int) { v.n, v.bits, v.nulls = n, nil, 0 }

func (v *validity) setNull(i int) {
	if v.bits == nil {
		v.bits = make([]byte, bitutil.BytesForBits(int64(v.n)))
		for j := range v.bits {
			v.bits[j] = 0xff
		}
	}
	bitutil.ClearBit(v.bits, i)
	v.nulls++
}

func (v *validity) buffer() *memory.Buffer {
	if v.nulls == 0 {
		return nil
	}
	return memory.NewBufferBytes(v.bits)
}

// noNulls reports whether levels are all maxDef.
func noNulls(levels []byte, maxDef byte) bool {
	if maxDef == 1 {
		return bytes.IndexByte(levels, 0) < 0
	}
	for _, l := range levels {
		if l != maxDef {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Fixed-width values.

type fixedBuilder[T int8 | uint8 | int16 | uint16 | int32 | int64 | float32 | float64] struct {
	dt  arrow.DataType
	src func(v encoding.Values, scratch []T) []T // a page's (or dictionary's) values as []T
	// copies is true when src converts into scratch; else it returns a
	// view of the page, which must not be kept as scratch.
	copies bool

	vals  []T
	pos   int
	valid validity

	dense   []T
	scratch []T

	dict     parquet.Dictionary
	dictVals []T
	dictBuf  []T
}

func (b *fixedBuilder[T]) reset(n int) {
	b.vals = make([]T, n)
	b.pos = 0
	b.valid.reset(n)
}

func (b *fixedBuilder[T]) newChunk() { b.dict, b.dictVals = nil, nil }

func (b *fixedBuilder[T]) load(p parquet.Page, dense int) error {
	v := p.Data()
	if d := p.Dictionary(); d != nil {
		if d != b.dict {
			vals := b.src(d.Page().Data(), b.dictBuf)
			if b.copies {
				b.dictBuf = vals
			}
			b.dict, b.dictVals = d, vals
		}
		idx := v.Int32()
		if len(idx) < dense {
			return fmt.Errorf("page has %d dictionary indexes, want %d", len(idx), dense)
		}
		idx = idx[:dense]
		if err := checkIndexes(idx, len(b.dictVals)); err != nil {
			return err
		}
		out := grow(b.scratch, dense)
		dv := b.dictVals
		for i, k := range idx {
			out[i] = dv[k]
		}
		b.scratch, b.dense = out, out
		return nil
	}
	vals := b.src(v, b.scratch)
	if len(vals) < dense {
		return fmt.Errorf("page has %d values, want %d", len(vals), dense)
	}
	if b.copies {
		b.scratch = vals
	}
	b.dense = vals[:dense]
	return nil
}

func (b *fixedBuilder[T]) put(levels []byte, maxDef byte, rows, from int) (int, error) {
	dst := b.vals[b.pos : b.pos+rows]
	if levels == nil || noNulls(levels, maxDef) {
		copy(dst, b.dense[from:from+rows])
		b.pos += rows
		return rows, nil
	}
	src := b.dense[from:]
	j := 0
	for i, l := range levels {
		if l == maxDef {
			dst[i] = src[j]
			j++
		} else {
			b.valid.setNull(b.pos + i)
		}
	}
	b.pos += rows
	return j, nil
}

func (b *fixedBuilder[T]) finish() arrow.Array {
	d := array.NewData(b.dt, len(b.vals), []*memory.Buffer{b.valid.buffer(), memory.NewBufferBytes(sliceBytes(b.vals))},
		nil, b.valid.nulls, 0)
	defer d.Release()
	b.vals = nil
	b.valid.reset(0)
	return array.MakeFromData(d)
}

// ---------------------------------------------------------------------------
// Booleans: bit-packed in Parquet PLAIN pages and in Arrow.

type boolBuilder struct {
	dt    arrow.DataType
	bits  []byte
	n     int
	pos   int
	valid validity

	dense   []byte // bit-packed, from bit 0
	scratch []byte

	dict     parquet.Dictionary
	dictBits []byte
	dictN    int
}

func (b *boolBuilder) reset(n int) {
	b.bits = make([]byte, bitutil.BytesForBits(int64(n)))
	b.n, b.pos = n, 0
	b.valid.reset(n)
}

func (b *boolBuilder) newChunk() { b.dict, b.dictBits = nil, nil }

func (b *boolBuilder) load(p parquet.Page, dense int) error {
	v := p.Data()
	if d := p.Dictionary(); d != nil {
		if d != b.dict {
			dv := d.Page().Data()
			b.dict, b.dictBits, b.dictN = d, dv.Boolean(), d.Len()
			if int64(len(b.dictBits))*8 < int64(b.dictN) {
				return errors.New("short boolean dictionary")
			}
		}
		idx := v.Int32()
		if len(idx) < dense {
			return fmt.Errorf("page has %d dictionary indexes, want %d", len(idx), dense)
		}
		idx = idx[:dense]
		if err := checkIndexes(idx, b.dictN); err != nil {
			return err
		}
		out := grow(b.scratch, int(bitutil.BytesForBits(int64(dense))))
		clear(out)
		for i, k := range idx {
			if bitutil.BitIsSet(b.dictBits, int(k)) {
				bitutil.SetBit(out, i)
			}
		}
		b.scratch, b.dense = out, out
		return nil
	}
	bits := v.Boolean()
	if int64(len(bits))*8 < int64(dense) {
		return fmt.Errorf("page has %d bytes of booleans, want %d values", len(bits), dense)
	}
	b.dense = bits
	return nil
}

func (b *boolBuilder) put(levels []byte, maxDef byte, rows, from int) (int, error) {
	if levels == nil || noNulls(levels, maxDef) {
		bitutil.CopyBitmap(b.dense, from, rows, b.bits, b.pos)
		b.pos += rows
		return rows, nil
	}
	j := from
	for i, l := range levels {
		if l == maxDef {
			if bitutil.BitIsSet(b.dense, j) {
				bitutil.SetBit(b.bits, b.pos+i)
			}
			j++
		} else {
			b.valid.setNull(b.pos + i)
		}
	}
	b.pos += rows
	return j - from, nil
}

func (b *boolBuilder) finish() arrow.Array {
	d := array.NewData(b.dt, b.n, []*memory.Buffer{b.valid.buffer(), memory.NewBufferBytes(b.bits)}, nil, b.valid.nulls, 0)
	defer d.Release()
	b.bits = nil
	b.valid.reset(0)
	return array.MakeFromData(d)
}

// ---------------------------------------------------------------------------
// Byte arrays: string and binary, 32-bit offsets.

var errTooLarge = errors.New("more than 2 GiB of string data in one batch (use fewer rows per batch)")

type bytesBuilder struct {
	dt    arrow.DataType
	offs  []int32 // n+1
	data  []byte
	pos   int
	valid validity
	hint  int // bytes to reserve for the next array

	// current page: values data[offs[i]:offs[i+1]], through idx for
	// dictionary pages
	sdata []byte
	soffs []uint32
	sidx  []int32

	dict parquet.Dictionary
}

func (b *bytesBuilder) reset(n int) {
	b.offs = make([]int32, n+1)
	b.data = make([]byte, 0, max(b.hint, 64))
	b.pos = 0
	b.valid.reset(n)
}

// reserve sets how many data bytes reset reserves.
func (b *bytesBuilder) reserve(n int) { b.hint = n }

func (b *bytesBuilder) newChunk() { b.dict = nil }

func (b *bytesBuilder) load(p parquet.Page, dense int) error {
	v := p.Data()
	if d := p.Dictionary(); d != nil {
		if d != b.dict {
			b.dict = d
			dv := d.Page().Data()
			b.sdata, b.soffs = dv.ByteArray()
			if err := checkOffsets(b.sdata, b.soffs); err != nil {
				return fmt.Errorf("dictionary: %w", err)
			}
		}
		idx := v.Int32()
		if len(idx) < dense {
			return fmt.Errorf("page has %d dictionary indexes, want %d", len(idx), dense)
		}
		idx = idx[:dense]
		if err := checkIndexes(idx, len(b.soffs)-1); err != nil {
			return err
		}
		b.sidx = idx
		return nil
	}
	b.dict = nil // the page's values replace the dictionary's in sdata
	b.sidx = nil
	b.sdata, b.soffs = v.ByteArray()
	if len(b.soffs) < dense+1 {
		return fmt.Errorf("page has %d values, want %d", max(len(b.soffs)-1, 0), dense)
	}
	b.soffs = b.soffs[:dense+1]
	return checkOffsets(b.sdata, b.soffs)
}

// checkOffsets reports whether offs are non-decreasing and within data.
func checkOffsets(data []byte, offs []uint32) error {
	if len(offs) == 0 {
		return errors.New("no offsets")
	}
	prev := offs[0]
	for _, o := range offs[1:] {
		if o < prev {
			return errors.New("decreasing offsets")
		}
		prev = o
	}
	if int64(prev) > int64(len(data)) {
		return errors.New("offsets beyond the data")
	}
	return nil
}

func (b *bytesBuilder) put(levels []byte, maxDef byte, rows, from int) (int, error) {
	offs := b.offs[b.pos+1 : b.pos+1+rows]
	var used int
	switch {
	case b.sidx == nil && (levels == nil || noNulls(levels, maxDef)):
		// Contiguous values: one copy of the data, offsets rebased.
		so := b.soffs[from : from+rows+1]
		if int64(len(b.data))+int64(so[rows]-so[0]) > math.MaxInt32 {
			return 0, errTooLarge
		}
		base := int32(len(b.data)) - int32(so[0])
		b.data = append(b.data, b.sdata[so[0]:so[rows]]...)
		for i, o := range so[1:] {
			offs[i] = int32(o) + base
		}
		used = rows
	default:
		data := b.data
		end := int32(len(data))
		j := from
		for i := range rows {
			if levels == nil || levels[i] == maxDef {
				k := j
				if b.sidx != nil {
					k = int(b.sidx[j])
				}
				v := b.sdata[b.soffs[k]:b.soffs[k+1]]
				if int64(end)+int64(len(v)) > math.MaxInt32 {
					return 0, errTooLarge
				}
				data = append(data, v...)
				end += int32(len(v))
				j++
			} else {
				b.valid.setNull(b.pos + i)
			}
			offs[i] = end
		}
		b.data = data
		used = j - from
	}
	b.pos += rows
	return used, nil
}

func (b *bytesBuilder) finish() arrow.Array {
	d := array.NewData(b.dt, len(b.offs)-1, []*memory.Buffer{b.valid.buffer(), memory.NewBufferBytes(sliceBytes(b.offs)),
		memory.NewBufferBytes(b.data)}, nil, b.valid.nulls, 0)
	defer d.Release()
	b.offs, b.data = nil, nil
	b.valid.reset(0)
	return array.MakeFromData(d)
}
