package tensor

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func checkedMem(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func TestFixedShapeType(t *testing.T) {
	typ, err := NewFixedShapeType(arrow.PrimitiveTypes.Uint8, []int{2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := typ.Serialize(), `{"shape":[2,3,4]}`; got != want {
		t.Errorf("Serialize = %s, want %s", got, want)
	}
	if got, want := typ.String(), "extension<arrow.fixed_shape_tensor[value_type=uint8, shape=[2,3,4]]>"; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	if got, want := typ.StorageType().String(), "fixed_size_list<item: uint8, nullable>[24]"; got != want {
		t.Errorf("storage = %s, want %s", got, want)
	}
	if typ.ExtensionName() != "arrow.fixed_shape_tensor" || typ.Size() != 24 || typ.NDim() != 3 ||
		!arrow.TypeEqual(typ.ValueType(), arrow.PrimitiveTypes.Uint8) {
		t.Errorf("accessors: %s %d %d %s", typ.ExtensionName(), typ.Size(), typ.NDim(), typ.ValueType())
	}
	shape := typ.Shape()
	shape[0] = 99 // a copy
	if typ.Shape()[0] != 2 {
		t.Error("Shape is not a copy")
	}

	// dim_names and permutation round trip through the metadata.
	full, err := NewFixedShapeTypeOpts(arrow.PrimitiveTypes.Float32, []int{3, 4},
		Options{DimNames: []string{"h", "w"}, Permutation: []int{1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := full.Serialize(), `{"shape":[3,4],"dim_names":["h","w"],"permutation":[1,0]}`; got != want {
		t.Errorf("Serialize = %s, want %s", got, want)
	}
	back, err := full.Deserialize(full.StorageType(), full.Serialize())
	if err != nil {
		t.Fatal(err)
	}
	if !arrow.TypeEqual(back, full) || back.(*FixedShapeType).DimNames()[1] != "w" || back.(*FixedShapeType).Permutation()[0] != 1 {
		t.Errorf("Deserialize = %s, want %s", back, full)
	}
	// pyarrow writes extra spaces and key order freely.
	if _, err := full.Deserialize(full.StorageType(), ` { "permutation": [1, 0], "shape": [3, 4] } `); err != nil {
		t.Error(err)
	}

	other, _ := NewFixedShapeType(arrow.PrimitiveTypes.Uint8, []int{4, 3, 2})
	if arrow.TypeEqual(typ, other) || typ.Fingerprint() == other.Fingerprint() {
		t.Error("types of different shapes compare equal")
	}
	same, _ := NewFixedShapeType(arrow.PrimitiveTypes.Uint8, []int{2, 3, 4})
	if !arrow.TypeEqual(typ, same) || typ.Fingerprint() != same.Fingerprint() {
		t.Error("equal types compare different")
	}

	for _, tc := range []struct {
		name    string
		storage arrow.DataType
		meta    string
		want    string
	}{
		{"not a list", arrow.PrimitiveTypes.Int32, `{"shape":[1]}`, "fixed_size_list"},
		{"bad json", arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32), `{"shape":`, "metadata"},
		{"no shape", arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32), `{}`, "no shape"},
		{"size mismatch", arrow.FixedSizeListOf(5, arrow.PrimitiveTypes.Int32), `{"shape":[2,3]}`, "6 elements"},
		{"bad permutation", arrow.FixedSizeListOf(6, arrow.PrimitiveTypes.Int32), `{"shape":[2,3],"permutation":[0,0]}`, "permutation"},
		{"bad dim_names", arrow.FixedSizeListOf(6, arrow.PrimitiveTypes.Int32), `{"shape":[2,3],"dim_names":["a"]}`, "dim_names"},
	} {
		if _, err := typ.Deserialize(tc.storage, tc.meta); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewFixedShapeType(arrow.PrimitiveTypes.Uint8, []int{2, -1}); err == nil {
		t.Error("negative dimension accepted")
	}
	if _, err := NewFixedShapeType(nil, []int{2}); err == nil {
		t.Error("nil value type accepted")
	}
}

func TestRegister(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Register(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, ok := arrow.GetExtensionType(ExtensionName).(*FixedShapeType); !ok {
		t.Fatalf("registered type is %T", arrow.GetExtensionType(ExtensionName))
	}
}

func TestIPCRoundTrip(t *testing.T) {
	mem := checkedMem(t)
	f32, err := FromSlices(mem, []int{2, 2}, [][]float32{{1, 2, 3, 4}, nil, {5, 6, 7, 8.5}})
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Release()
	i64, err := FromSlices(mem, []int{3}, [][]int64{{-1, 0, 1}, {1 << 40, 2, 3}, {7, 8, 9}})
	if err != nil {
		t.Fatal(err)
	}
	defer i64.Release()
	// a type with dim_names/permutation over the same storage
	named, _ := NewFixedShapeTypeOpts(arrow.PrimitiveTypes.Int64, []int{3}, Options{DimNames: []string{"x"}})
	i64n := array.NewExtensionArrayWithStorage(named, i64.(*Array).Storage())
	defer i64n.Release()

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: f32.DataType(), Nullable: true},
		{Name: "i", Type: i64.DataType(), Nullable: true},
		{Name: "n", Type: named, Nullable: true},
	}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{f32, i64, i64n}, 3)
	defer rec.Release()

	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := ipc.NewReader(&buf, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	got := r.RecordBatch()
	for i := range 3 {
		col := got.Column(i)
		if _, ok := col.(*Array); !ok {
			t.Fatalf("column %d is %T (%s)", i, col, col.DataType())
		}
		if !arrow.TypeEqual(col.DataType(), rec.Column(i).DataType()) {
			t.Errorf("column %d type %s, want %s", i, col.DataType(), rec.Column(i).DataType())
		}
		if !array.Equal(col, rec.Column(i)) {
			t.Errorf("column %d = %s, want %s", i, col, rec.Column(i))
		}
	}
	if g := Row[float32](got.Column(0), 2); g[3] != 8.5 {
		t.Errorf("Row = %v", g)
	}
	if g := Row[float32](got.Column(0), 1); g != nil {
		t.Errorf("null Row = %v", g)
	}
	if dn := got.Column(2).(*Array).TensorType().DimNames(); len(dn) != 1 || dn[0] != "x" {
		t.Errorf("dim_names = %v", dn)
	}
}

func TestFromSlicesErrors(t *testing.T) {
	_, err := FromSlices(nil, []int{2, 2}, [][]uint8{{1, 2, 3, 4}, {1, 2, 3}})
	if err == nil || !strings.Contains(err.Error(), "row 1 has 3 elements, want 4") {
		t.Errorf("err = %v", err)
	}
	if _, err := FromSlices(nil, []int{-2}, [][]uint8{}); err == nil {
		t.Error("negative shape accepted")
	}
	// no rows is fine
	mem := checkedMem(t)
	arr, err := FromSlices(mem, []int{2}, [][]uint16{})
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Release()
	if arr.Len() != 0 {
		t.Errorf("len = %d", arr.Len())
	}
}

type myByte uint8

func TestRowAndValues(t *testing.T) {
	mem := checkedMem(t)
	rows := [][]int16{{1, 2, 3}, {4, 5, 6}, nil, {10, 11, 12}}
	arr, err := FromSlices(mem, []int{3}, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Release()
	if arr.NullN() != 1 || !arr.IsNull(2) {
		t.Errorf("nulls: %d", arr.NullN())
	}
	for i, want := range rows {
		if got := Row[int16](arr, i); !equalSlices(got, want) {
			t.Errorf("Row %d = %v, want %v", i, got, want)
		}
	}
	// a slice of the column, and its storage, give the same views
	sl := array.NewSlice(arr, 1, 4)
	defer sl.Release()
	if got := Row[int16](sl, 2); !equalSlices(got, []int16{10, 11, 12}) {
		t.Errorf("sliced Row = %v", got)
	}
	if got := Row[int16](sl.(*Array).Storage(), 0); !equalSlices(got, []int16{4, 5, 6}) {
		t.Errorf("storage Row = %v", got)
	}
	vals, err := Values[int16](sl)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 9 || vals[0] != 4 || vals[8] != 12 {
		t.Errorf("Values = %v", vals)
	}
	// zero copy: the view aliases the buffer
	if &Row[int16](arr, 1)[0] != &vals[0] {
		t.Error("Row and Values are not views of one buffer")
	}
	if _, err := Values[float32](arr); err == nil {
		t.Error("Values of the wrong type succeeded")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Row of the wrong type did not panic")
			}
		}()
		Row[uint16](arr, 0)
	}()

	// defined types map to their underlying kind
	b, err := FromSlices(mem, []int{2}, [][]myByte{{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if !arrow.TypeEqual(b.(*Array).TensorType().ValueType(), arrow.PrimitiveTypes.Uint8) || Row[uint8](b, 0)[1] != 2 {
		t.Errorf("myByte column: %s", b)
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
