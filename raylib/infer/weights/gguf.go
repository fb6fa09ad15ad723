package weights

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
)

var le = binary.LittleEndian

const (
	ggufMagic            = 0x46554747 // "GGUF" read as a little-endian uint32
	ggufDefaultAlignment = 32
	ggufMaxDims          = 8 // ggml uses 4; a little slack costs nothing
)

// ValueType is a GGUF metadata value type (enum gguf_type).
type ValueType uint32

// GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("GGUF_TYPE_%d", uint32(t))
}

// size of one scalar value; 0 for STRING and ARRAY.
func (t ValueType) scalarSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// GGUF is an opened GGUF file (version 2 or 3, little-endian). Metadata is
// embedded, so g.Uint32("llama.block_count") and g.Metadata["..."] both
// work. It implements Source.
//
// Metadata values have these Go types: uint8, int8, uint16, int16, uint32,
// int32, float32, bool, string, uint64, int64, float64; arrays are typed
// slices ([]uint32, []string, ...); arrays of arrays are []any holding the
// inner slices.
type GGUF struct {
	Metadata
	Path       string
	Version    uint32
	Alignment  int64 // general.alignment, default 32
	DataOffset int64 // absolute offset of the tensor data section

	keys      []string
	types     map[string]ValueType
	elemTypes map[string]ValueType
	set       *tensorSet
	back      *backing
}

// OpenGGUF opens and parses a GGUF file; tensor data is memory-mapped where
// possible and read on demand.
func OpenGGUF(path string) (*GGUF, error) {
	b, err := openBacking(path)
	if err != nil {
		return nil, err
	}
	g, err := parseGGUF(b)
	if err != nil {
		b.close()
		return nil, err
	}
	g.Path = path
	return g, nil
}

// ReadGGUF parses GGUF data from r (size bytes); name is used in errors and
// as Tensor.File. Tensor data is read with ReadAt on demand.
func ReadGGUF(name string, r io.ReaderAt, size int64) (*GGUF, error) {
	g, err := parseGGUF(newBacking(name, r, size))
	if err != nil {
		return nil, err
	}
	g.Path = name
	return g, nil
}

// Keys returns the metadata keys in file order.
func (g *GGUF) Keys() []string { return slices.Clone(g.keys) }

// ValueType returns the stored type of a metadata key and, for arrays, the
// element type.
func (g *GGUF) ValueType(key string) (t, elem ValueType, ok bool) {
	t, ok = g.types[key]
	if !ok {
		return 0, 0, false
	}
	if t == TypeArray {
		elem = g.elemTypes[key]
	}
	return t, elem, true
}

// Architecture returns general.architecture ("" if absent).
func (g *GGUF) Architecture() string {
	s, _ := g.String("general.architecture")
	return s
}

// Names lists the tensor names, sorted.
func (g *GGUF) Names() []string { return g.set.Names() }

// Tensors lists the tensors, sorted by name.
func (g *GGUF) Tensors() []*Tensor { return g.set.Tensors() }

// Tensor returns the named tensor or a *MissingTensorError.
func (g *GGUF) Tensor(name string) (*Tensor, error) { return g.set.Tensor(name) }

// Expect returns the named tensor if its row-major shape is shape (-1
// matches any size); otherwise a *MissingTensorError or *ShapeMismatchError.
func (g *GGUF) Expect(name string, shape ...int) (*Tensor, error) {
	return g.set.Expect(name, shape...)
}

// Close unmaps and closes the file. Tensors must not be read afterwards.
func (g *GGUF) Close() error { return g.back.close() }

var _ Source = (*GGUF)(nil)

// ggufReader reads the header sequentially, tracking the offset and the
// bytes left so that corrupt counts fail instead of allocating wildly.
type ggufReader struct {
	r    *bufio.Reader
	pos  int64
	size int64
	name string
	buf  [8]byte
}

func (r *ggufReader) fail(format string, args ...any) error {
	return fmt.Errorf("weights: %s is not a valid GGUF file: at byte %d: %s", r.name, r.pos, fmt.Sprintf(format, args...))
}

func (r *ggufReader) left() int64 { return r.size - r.pos }

func (r *ggufReader) read(n int) ([]byte, error) {
	if int64(n) > r.left() {
		return nil, r.fail("unexpected end of file (need %d bytes, %d left)", n, r.left())
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		return nil, r.fail("%v", err)
	}
	r.pos += int64(n)
	return b, nil
}

func (r *ggufReader) u8() (uint8, error) {
	b, err := r.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *ggufReader) u16() (uint16, error) {
	b, err := r.read(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (r *ggufReader) u32() (uint32, error) {
	b, err := r.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *ggufReader) u64() (uint64, error) {
	b, err := r.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *ggufReader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(r.left()) {
		return "", r.fail("string of %d bytes, only %d left", n, r.left())
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		return "", r.fail("%v", err)
	}
	r.pos += int64(n)
	return string(b), nil
}

// value reads one value of type t (not ARRAY).
func (r *ggufReader) scalar(t ValueType) (any, error) {
	switch t {
	case TypeUint8:
		return r.u8()
	case TypeInt8:
		v, err := r.u8()
		return int8(v), err
	case TypeUint16:
		return r.u16()
	case TypeInt16:
		v, err := r.u16()
		return int16(v), err
	case TypeUint32:
		return r.u32()
	case TypeInt32:
		v, err := r.u32()
		return int32(v), err
	case TypeFloat32:
		v, err := r.u32()
		return math.Float32frombits(v), err
	case TypeBool:
		v, err := r.u8()
		return v != 0, err
	case TypeString:
		return r.str()
	case TypeUint64:
		return r.u64()
	case TypeInt64:
		v, err := r.u64()
		return int64(v), err
	case TypeFloat64:
		v, err := r.u64()
		return math.Float64frombits(v), err
	}
	return nil, r.fail("unknown metadata value type %d", uint32(t))
}

// readArrayItems reads n values of a fixed-size type t into a typed slice,
// decoding from one bulk read.
func readArrayItems[T any](r *ggufReader, t ValueType, n int, dec func([]byte) T) ([]T, error) {
	sz := t.scalarSize()
	out := make([]T, n)
	var chunk [4096]byte
	for i := 0; i < n; {
		m := min(n-i, len(chunk)/sz)
		b := chunk[:m*sz]
		if int64(len(b)) > r.left() {
			return nil, r.fail("unexpected end of file in an array")
		}
		if _, err := io.ReadFull(r.r, b); err != nil {
			return nil, r.fail("%v", err)
		}
		r.pos += int64(len(b))
		for k := range m {
			out[i+k] = dec(b[k*sz:])
		}
		i += m
	}
	return out, nil
}

const maxArrayDepth = 8

func (r *ggufReader) array(depth int) (any, ValueType, error) {
	if depth > maxArrayDepth {
		return nil, 0, r.fail("arrays nested more than %d deep", maxArrayDepth)
	}
	et32, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	et := ValueType(et32)
	n64, err := r.u64()
	if err != nil {
		return nil, 0, err
	}
	minSize := int64(et.scalarSize())
	switch et {
	case TypeString:
		minSize = 8
	case TypeArray:
		minSize = 12
	}
	if minSize == 0 {
		return nil, 0, r.fail("unknown array element type %d", et32)
	}
	if n64 > uint64(r.left()/minSize) {
		return nil, 0, r.fail("array of %d %s values cannot fit in the %d bytes left", n64, et, r.left())
	}
	n := int(n64)
	var v any
	switch et {
	case TypeUint8:
		v, err = readArrayItems(r, et, n, func(b []byte) uint8 { return b[0] })
	case TypeInt8:
		v, err = readArrayItems(r, et, n, func(b []byte) int8 { return int8(b[0]) })
	case TypeUint16:
		v, err = readArrayItems(r, et, n, le.Uint16)
	case TypeInt16:
		v, err = readArrayItems(r, et, n, func(b []byte) int16 { return int16(le.Uint16(b)) })
	case TypeUint32:
		v, err = readArrayItems(r, et, n, le.Uint32)
	case TypeInt32:
		v, err = readArrayItems(r, et, n, func(b []byte) int32 { return int32(le.Uint32(b)) })
	case TypeFloat32:
		v, err = readArrayItems(r, et, n, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case TypeBool:
		v, err = readArrayItems(r, et, n, func(b []byte) bool { return b[0] != 0 })
	case TypeString:
		strs := make([]string, n)
		for i := range strs {
			if strs[i], err = r.str(); err != nil {
				break
			}
		}
		v = strs
	case TypeUint64:
		v, err = readArrayItems(r, et, n, le.Uint64)
	case TypeInt64:
		v, err = readArrayItems(r, et, n, func(b []byte) int64 { return int64(le.Uint64(b)) })
	case TypeFloat64:
		v, err = readArrayItems(r, et, n, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	case TypeArray:
		items := make([]any, n)
		for i := range items {
			if items[i], _, err = r.array(depth + 1); err != nil {
				break
			}
		}
		v = items
	}
	if err != nil {
		return nil, 0, err
	}
	return v, et, nil
}

func parseGGUF(b *backing) (*GGUF, error) {
	r := &ggufReader{r: bufio.NewReaderSize(io.NewSectionReader(b.ra, 0, b.size), 1<<16), size: b.size, name: b.name}
	magic, err := r.u32()
	if err != nil {
		return nil, err
	}
	if magic != ggufMagic {
		return nil, r.fail("bad magic %#08x, want \"GGUF\"", magic)
	}
	version, err := r.u32()
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3:
		return nil, fmt.Errorf("weights: %s is a big-endian GGUF file, which is not supported", b.name)
	default:
		return nil, fmt.Errorf("weights: %s: GGUF version %d is not supported (versions 2 and 3 are)", b.name, version)
	}
	nTensors, err := r.u64()
	if err != nil {
		return nil, err
	}
	nKV, err := r.u64()
	if err != nil {
		return nil, err
	}
	// Each key/value takes at least 8+4+1 bytes and each tensor info 8+4+4+8.
	if nKV > uint64(r.left()/13) || nTensors > uint64(r.left()/24) {
		return nil, r.fail("%d metadata entries and %d tensors cannot fit in %d bytes", nKV, nTensors, r.left())
	}
	g := &GGUF{Metadata: make(Metadata, min(nKV, 1024)), Version: version, types: make(map[string]ValueType, min(nKV, 1024)), elemTypes: map[string]ValueType{}, back: b}
	for range nKV {
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		if _, dup := g.Metadata[key]; dup {
			return nil, r.fail("duplicate metadata key %q", key)
		}
		t32, err := r.u32()
		if err != nil {
			return nil, err
		}
		t := ValueType(t32)
		var v any
		if t == TypeArray {
			var et ValueType
			v, et, err = r.array(0)
			g.elemTypes[key] = et
		} else {
			v, err = r.scalar(t)
		}
		if err != nil {
			return nil, fmt.Errorf("%w (metadata key %q)", err, key)
		}
		g.Metadata[key] = v
		g.types[key] = t
		g.keys = append(g.keys, key)
	}
	g.Alignment = ggufDefaultAlignment
	if _, ok := g.Metadata["general.alignment"]; ok {
		a, err := g.Uint32("general.alignment")
		if err != nil || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("weights: %s: general.alignment must be a power of two, got %v", b.name, g.Metadata["general.alignment"])
		}
		g.Alignment = int64(a)
	}

	type info struct {
		name  string
		ne    []uint64
		typ   uint32
		off   uint64
		where int64
	}
	infos := make([]info, 0, min(nTensors, 1<<16))
	for range nTensors {
		where := r.pos
		name, err := r.str()
		if err != nil {
			return nil, err
		}
		nd, err := r.u32()
		if err != nil {
			return nil, err
		}
		if nd > ggufMaxDims {
			return nil, r.fail("tensor %q has %d dimensions (at most %d)", name, nd, ggufMaxDims)
		}
		ne := make([]uint64, nd)
		for i := range ne {
			if ne[i], err = r.u64(); err != nil {
				return nil, err
			}
		}
		typ, err := r.u32()
		if err != nil {
			return nil, err
		}
		off, err := r.u64()
		if err != nil {
			return nil, err
		}
		infos = append(infos, info{name, ne, typ, off, where})
	}
	g.DataOffset = (r.pos + g.Alignment - 1) / g.Alignment * g.Alignment
	dataLen := b.size - g.DataOffset
	if dataLen < 0 {
		dataLen = 0
	}
	ts := make([]*Tensor, 0, len(infos))
	for _, in := range infos {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("weights: %s: tensor %q (info at byte %d): %s", b.name, in.name, in.where, fmt.Sprintf(format, args...))
		}
		dt := ggmlDType(in.typ)
		shape := make([]int, len(in.ne))
		numel := int64(1)
		for i, d := range in.ne {
			if d > math.MaxInt64 || int64(int(d)) != int64(d) {
				return nil, bad("dimension %d is too large", d)
			}
			if d != 0 && numel > math.MaxInt64/int64(d) {
				return nil, bad("shape %v overflows", in.ne)
			}
			numel *= int64(d)
			shape[len(in.ne)-1-i] = int(d) // row-major: reverse ggml's ne order
		}
		size := int64(-1)
		if t, ok := traits[dt]; ok {
			if len(in.ne) > 0 && in.ne[0]%uint64(t.blockElems) != 0 {
				return nil, bad("row length %d is not a multiple of the %s block size %d", in.ne[0], dt, t.blockElems)
			}
			if size, err = dt.ByteSize(numel); err != nil {
				return nil, bad("%v", err)
			}
		}
		if in.off%uint64(g.Alignment) != 0 {
			return nil, bad("data offset %d is not aligned to %d", in.off, g.Alignment)
		}
		if in.off > uint64(dataLen) || (size >= 0 && uint64(size) > uint64(dataLen)-in.off) {
			return nil, bad("data [%d, +%d) runs past the end of the file (%d data bytes)", in.off, size, dataLen)
		}
		ts = append(ts, &Tensor{Name: in.name, DType: dt, Shape: shape, File: b.name,
			Offset: g.DataOffset + int64(in.off), Size: size, src: b})
	}
	set, err := newTensorSet(b.name, ts)
	if err != nil {
		return nil, err
	}
	g.set = set
	return g, nil
}
