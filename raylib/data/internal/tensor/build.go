package tensor

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Number is the element types a tensor column can be built from and viewed
// as: fixed-width integers and floats (and types defined on them).
type Number interface {
	~int8 | ~int16 | ~int32 | ~int64 |
		~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64
}

// ArrowType returns the Arrow element type of T, e.g. uint8 for byte.
func ArrowType[T Number]() arrow.DataType {
	return arrowTypeOfKind(reflect.TypeFor[T]().Kind())
}

func arrowTypeOfKind(k reflect.Kind) arrow.DataType {
	switch k {
	case reflect.Int8:
		return arrow.PrimitiveTypes.Int8
	case reflect.Int16:
		return arrow.PrimitiveTypes.Int16
	case reflect.Int32:
		return arrow.PrimitiveTypes.Int32
	case reflect.Int64:
		return arrow.PrimitiveTypes.Int64
	case reflect.Uint8:
		return arrow.PrimitiveTypes.Uint8
	case reflect.Uint16:
		return arrow.PrimitiveTypes.Uint16
	case reflect.Uint32:
		return arrow.PrimitiveTypes.Uint32
	case reflect.Uint64:
		return arrow.PrimitiveTypes.Uint64
	case reflect.Float32:
		return arrow.PrimitiveTypes.Float32
	case reflect.Float64:
		return arrow.PrimitiveTypes.Float64
	}
	panic(fmt.Sprintf("tensor: unsupported element kind %s", k))
}

// FromSlices builds a tensor column of the given shape with one row per
// element of rows; each row holds prod(shape) elements in row-major order.
// A nil row is a null tensor. The element type is [ArrowType][T]. mem may be
// nil (memory.DefaultAllocator). The caller releases the result.
func FromSlices[T Number](mem memory.Allocator, shape []int, rows [][]T) (arrow.Array, error) {
	typ, err := NewFixedShapeType(ArrowType[T](), shape)
	if err != nil {
		return nil, err
	}
	n := typ.Size()
	for i, r := range rows {
		if r != nil && len(r) != n {
			return nil, fmt.Errorf("tensor: row %d has %d elements, want %d for shape %v", i, len(r), n, shape)
		}
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	return buildColumn(mem, typ, len(rows), size, func(i int, dst []byte) bool {
		r := rows[i]
		if r == nil {
			return false
		}
		if n > 0 {
			copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(&r[0])), n*size))
		}
		return true
	}), nil
}

// buildColumn allocates a column of typ with nrows rows of elemSize-byte
// elements and calls fill for each row with the row's zeroed bytes; fill
// reports whether the row is valid (non-null).
func buildColumn(mem memory.Allocator, typ *FixedShapeType, nrows, elemSize int, fill func(i int, dst []byte) bool) arrow.Array {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rowBytes := typ.Size() * elemSize
	values := memory.NewResizableBuffer(mem)
	defer values.Release()
	values.Resize(nrows * rowBytes)
	dst := values.Bytes()
	clear(dst)

	var validity *memory.Buffer
	nulls := 0
	for i := 0; i < nrows; i++ {
		if fill(i, dst[i*rowBytes:(i+1)*rowBytes:(i+1)*rowBytes]) {
			continue
		}
		if validity == nil {
			validity = memory.NewResizableBuffer(mem)
			defer validity.Release()
			validity.Resize(int(bitutil.BytesForBits(int64(nrows))))
			bitutil.SetBitsTo(validity.Bytes(), 0, int64(nrows), true)
		}
		bitutil.ClearBit(validity.Bytes(), i)
		nulls++
	}

	child := array.NewData(typ.ValueType(), nrows*typ.Size(), []*memory.Buffer{nil, values}, nil, 0, 0)
	defer child.Release()
	data := array.NewData(typ, nrows, []*memory.Buffer{validity}, []arrow.ArrayData{child}, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// listOf returns the fixed_size_list storage of a tensor column: arr may be
// an [Array], another extension array stored as a fixed_size_list, or the
// fixed_size_list itself.
func listOf(arr arrow.Array) (*array.FixedSizeList, error) {
	if ext, ok := arr.(array.ExtensionArray); ok {
		arr = ext.Storage()
	}
	fsl, ok := arr.(*array.FixedSizeList)
	if !ok {
		return nil, fmt.Errorf("tensor: %s is not a tensor column", arr.DataType())
	}
	return fsl, nil
}

// flatValues returns the whole element buffer of fsl's child as []T, indexed
// like fsl.ValueOffsets (the child's own offset already applied).
func flatValues[T Number](fsl *array.FixedSizeList) ([]T, error) {
	child := fsl.ListValues()
	want := ArrowType[T]()
	if !arrow.TypeEqual(child.DataType(), want) {
		return nil, fmt.Errorf("tensor: elements are %s, not %s", child.DataType(), want)
	}
	d := child.Data()
	if len(d.Buffers()) < 2 || d.Buffers()[1] == nil || d.Len() == 0 {
		return nil, nil
	}
	b := d.Buffers()[1].Bytes()
	var zero T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
	return all[d.Offset() : d.Offset()+d.Len()], nil
}

// Row returns the elements of tensor i of arr (an [Array] or its
// fixed_size_list storage) as a zero-copy view of the column's memory, in
// row-major order of the physical layout; nil when row i is null. The view is
// valid while arr is, and must not be modified. Row panics when i is out of
// range or when T is not the element type (see [ArrowType]).
func Row[T Number](arr arrow.Array, i int) []T {
	fsl, err := listOf(arr)
	if err != nil {
		panic(err)
	}
	if i < 0 || i >= fsl.Len() {
		panic(fmt.Sprintf("tensor: row %d out of range [0,%d)", i, fsl.Len()))
	}
	vals, err := flatValues[T](fsl)
	if err != nil {
		panic(err)
	}
	if fsl.IsNull(i) {
		return nil
	}
	start, end := fsl.ValueOffsets(i)
	return vals[start:end:end]
}

// Values returns the elements of all rows of arr, rows*prod(shape) of them,
// as one zero-copy view (null rows hold unspecified values). The view is
// valid while arr is, and must not be modified.
func Values[T Number](arr arrow.Array) ([]T, error) {
	fsl, err := listOf(arr)
	if err != nil {
		return nil, err
	}
	vals, err := flatValues[T](fsl)
	if err != nil {
		return nil, err
	}
	if fsl.Len() == 0 {
		return []T{}, nil
	}
	start, _ := fsl.ValueOffsets(0)
	_, end := fsl.ValueOffsets(fsl.Len() - 1)
	if int(end) > len(vals) {
		return nil, errors.New("tensor: element buffer shorter than the column")
	}
	return vals[start:end:end], nil
}
