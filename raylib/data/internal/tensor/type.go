package tensor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ExtensionName is the canonical Arrow extension name of fixed shape tensors.
const ExtensionName = "arrow.fixed_shape_tensor"

// FixedShapeType is the canonical Arrow extension type
// "arrow.fixed_shape_tensor": every row is a tensor of the same shape whose
// elements are stored, in row-major (C) order of the physical layout, in a
// fixed_size_list<item: value_type>[prod(shape)].
//
// The serialized metadata is JSON with the key "shape" and the optional keys
// "dim_names" and "permutation", which are kept as read. A FixedShapeType is
// immutable; its accessors return copies.
type FixedShapeType struct {
	arrow.ExtensionBase
	shape       []int
	dimNames    []string
	permutation []int
}

// Options holds the optional parameters of a fixed shape tensor type.
type Options struct {
	// DimNames are the names of the logical dimensions (len == len(shape)).
	DimNames []string
	// Permutation maps logical dimensions to physical ones: it must be a
	// permutation of 0..len(shape)-1. Nil means the identity.
	Permutation []int
}

// NewFixedShapeType returns the fixed shape tensor type of the given element
// type and shape, with storage fixed_size_list<item: value>[prod(shape)].
func NewFixedShapeType(value arrow.DataType, shape []int) (*FixedShapeType, error) {
	return NewFixedShapeTypeOpts(value, shape, Options{})
}

// NewFixedShapeTypeOpts is [NewFixedShapeType] with dimension names and a
// permutation.
func NewFixedShapeTypeOpts(value arrow.DataType, shape []int, opts Options) (*FixedShapeType, error) {
	if value == nil {
		return nil, errors.New("tensor: nil value type")
	}
	n, err := checkShape(shape, opts)
	if err != nil {
		return nil, err
	}
	return newType(arrow.FixedSizeListOf(n, value), shape, opts), nil
}

func newType(storage *arrow.FixedSizeListType, shape []int, opts Options) *FixedShapeType {
	t := &FixedShapeType{
		ExtensionBase: arrow.ExtensionBase{Storage: storage},
		shape:         slices.Clone(shape),
	}
	if t.shape == nil {
		t.shape = []int{}
	}
	if opts.DimNames != nil {
		t.dimNames = slices.Clone(opts.DimNames)
	}
	if opts.Permutation != nil {
		t.permutation = slices.Clone(opts.Permutation)
	}
	return t
}

// checkShape validates shape and options and returns prod(shape).
func checkShape(shape []int, opts Options) (int32, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: shape %v: dimension %d is negative", shape, i)
		}
		n *= int64(d)
		if n > math.MaxInt32 {
			return 0, fmt.Errorf("tensor: shape %v: more than %d elements per tensor", shape, math.MaxInt32)
		}
	}
	if opts.DimNames != nil && len(opts.DimNames) != len(shape) {
		return 0, fmt.Errorf("tensor: %d dim_names for %d dimensions", len(opts.DimNames), len(shape))
	}
	if opts.Permutation != nil {
		if len(opts.Permutation) != len(shape) {
			return 0, fmt.Errorf("tensor: permutation %v for %d dimensions", opts.Permutation, len(shape))
		}
		seen := make([]bool, len(shape))
		for _, p := range opts.Permutation {
			if p < 0 || p >= len(shape) || seen[p] {
				return 0, fmt.Errorf("tensor: permutation %v is not a permutation of 0..%d", opts.Permutation, len(shape)-1)
			}
			seen[p] = true
		}
	}
	return int32(n), nil
}

// Shape returns a copy of the tensor shape.
func (t *FixedShapeType) Shape() []int { return slices.Clone(t.shape) }

// NDim returns the number of dimensions.
func (t *FixedShapeType) NDim() int { return len(t.shape) }

// Size returns the number of elements of one tensor, prod(shape).
func (t *FixedShapeType) Size() int { return int(t.StorageList().Len()) }

// ValueType returns the element type.
func (t *FixedShapeType) ValueType() arrow.DataType { return t.StorageList().Elem() }

// DimNames returns a copy of the dimension names, nil when absent.
func (t *FixedShapeType) DimNames() []string { return slices.Clone(t.dimNames) }

// Permutation returns a copy of the permutation, nil when absent.
func (t *FixedShapeType) Permutation() []int { return slices.Clone(t.permutation) }

// StorageList returns the storage type.
func (t *FixedShapeType) StorageList() *arrow.FixedSizeListType {
	return t.Storage.(*arrow.FixedSizeListType)
}

// identityLayout reports whether the physical layout is the logical one.
func (t *FixedShapeType) identityLayout() bool {
	for i, p := range t.permutation {
		if p != i {
			return false
		}
	}
	return true
}

// ExtensionName implements arrow.ExtensionType.
func (*FixedShapeType) ExtensionName() string { return ExtensionName }

// ArrayType implements arrow.ExtensionType.
func (*FixedShapeType) ArrayType() reflect.Type { return reflect.TypeOf(Array{}) }

// String prints the type the way pyarrow does, e.g.
// extension<arrow.fixed_shape_tensor[value_type=uint8, shape=[2,2,3]]>
// (float32 is "float" and float64 "double" there, as in pyarrow).
func (t *FixedShapeType) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "extension<%s[value_type=%s, shape=%s", ExtensionName, pyTypeName(t.ValueType()), intList(t.shape))
	if t.permutation != nil {
		fmt.Fprintf(&b, ", permutation=%s", intList(t.permutation))
	}
	if t.dimNames != nil {
		fmt.Fprintf(&b, ", dim_names=[%s]", strings.Join(t.dimNames, ","))
	}
	b.WriteString("]>")
	return b.String()
}

// pyTypeName names dt as pyarrow (Arrow C++) does where Go differs.
func pyTypeName(dt arrow.DataType) string {
	switch dt.ID() {
	case arrow.FLOAT16:
		return "halffloat"
	case arrow.FLOAT32:
		return "float"
	case arrow.FLOAT64:
		return "double"
	}
	return dt.String()
}

func intList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// Fingerprint includes the serialized parameters, so that types with the
// same storage but different shapes differ.
func (t *FixedShapeType) Fingerprint() string {
	return t.ExtensionBase.Fingerprint() + "<" + ExtensionName + t.Serialize() + ">"
}

type metadataJSON struct {
	Shape       []int    `json:"shape"`
	DimNames    []string `json:"dim_names,omitempty"`
	Permutation []int    `json:"permutation,omitempty"`
}

// Serialize implements arrow.ExtensionType: {"shape":[...]} plus
// "dim_names" and "permutation" when set.
func (t *FixedShapeType) Serialize() string {
	b, err := json.Marshal(metadataJSON{Shape: t.shape, DimNames: t.dimNames, Permutation: t.permutation})
	if err != nil { // cannot happen for ints and strings
		panic(err)
	}
	return string(b)
}

// Deserialize implements arrow.ExtensionType. The storage must be a
// fixed_size_list whose size is prod(shape); it is kept as given (element
// field name and nullability included).
func (*FixedShapeType) Deserialize(storage arrow.DataType, data string) (arrow.ExtensionType, error) {
	return deserialize(storage, data)
}

func deserialize(storage arrow.DataType, data string) (*FixedShapeType, error) {
	fsl, ok := storage.(*arrow.FixedSizeListType)
	if !ok {
		return nil, fmt.Errorf("tensor: %s storage must be a fixed_size_list, got %s", ExtensionName, storage)
	}
	var md metadataJSON
	if err := json.Unmarshal([]byte(data), &md); err != nil {
		return nil, fmt.Errorf("tensor: %s metadata %q: %w", ExtensionName, data, err)
	}
	if md.Shape == nil {
		return nil, fmt.Errorf("tensor: %s metadata %q has no shape", ExtensionName, data)
	}
	opts := Options{DimNames: md.DimNames, Permutation: md.Permutation}
	n, err := checkShape(md.Shape, opts)
	if err != nil {
		return nil, err
	}
	if n != fsl.Len() {
		return nil, fmt.Errorf("tensor: %s shape %v has %d elements but storage is %s", ExtensionName, md.Shape, n, fsl)
	}
	return newType(fsl, md.Shape, opts), nil
}

// ExtensionEquals implements arrow.ExtensionType: same storage, shape,
// dim_names and permutation.
func (t *FixedShapeType) ExtensionEquals(other arrow.ExtensionType) bool {
	o, ok := other.(*FixedShapeType)
	if !ok {
		return false
	}
	return arrow.TypeEqual(t.Storage, o.Storage) &&
		slices.Equal(t.shape, o.shape) &&
		slices.Equal(t.dimNames, o.dimNames) &&
		slices.Equal(t.permutation, o.permutation)
}

// MarshalJSON describes the type as {"name":...,"metadata":...}.
func (t *FixedShapeType) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"name":%q,"metadata":%s}`, ExtensionName, t.Serialize())), nil
}

// Array is the array of a [FixedShapeType] column: each row is one tensor.
type Array struct {
	array.ExtensionArrayBase
}

// TensorType returns the array's type.
func (a *Array) TensorType() *FixedShapeType { return a.ExtensionType().(*FixedShapeType) }

// List returns the storage array.
func (a *Array) List() *array.FixedSizeList { return a.Storage().(*array.FixedSizeList) }

var (
	_ arrow.ExtensionType  = (*FixedShapeType)(nil)
	_ array.ExtensionArray = (*Array)(nil)
)

var (
	registerOnce sync.Once
	registerErr  error
)

// Register registers [FixedShapeType] with arrow.RegisterExtensionType, so
// that Arrow IPC readers (and pqarrow, through the ARROW:schema metadata)
// produce tensor columns. It does the work once and may be called any number
// of times from any goroutine; the package's init calls it. It reports an
// error only when another implementation already holds the name
// "arrow.fixed_shape_tensor" in the registry; the functions of this package
// work regardless.
func Register() error {
	registerOnce.Do(func() {
		proto := newType(arrow.FixedSizeListOf(1, arrow.PrimitiveTypes.Uint8), []int{1}, Options{})
		err := arrow.RegisterExtensionType(proto)
		if err == nil {
			return
		}
		if _, ours := arrow.GetExtensionType(ExtensionName).(*FixedShapeType); ours {
			return
		}
		registerErr = fmt.Errorf("tensor: another implementation of %s is registered: %w", ExtensionName, err)
	})
	return registerErr
}

func init() { _ = Register() }

// AsType returns the fixed shape tensor type of dt, or nil when dt is not one.
// It also recognises a foreign registered implementation of the extension
// name by re-reading its serialized metadata.
func AsType(dt arrow.DataType) *FixedShapeType {
	switch t := dt.(type) {
	case *FixedShapeType:
		return t
	case arrow.ExtensionType:
		if t.ExtensionName() != ExtensionName {
			return nil
		}
		ft, err := deserialize(t.StorageType(), t.Serialize())
		if err != nil {
			return nil
		}
		return ft
	}
	return nil
}
