package tensor

import (
	"bytes"
	"encoding/json"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// pyScript describes the tensor columns of a Parquet file as pyarrow sees
// them ("read PATH"), or writes such a file with pyarrow and describes what
// it wrote ("write PATH").
const pyScript = `
import json, sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

def describe(table):
    out = {}
    for f in table.schema:
        col = table.column(f.name).combine_chunks()
        info = {"type": str(f.type), "rows": len(col), "nulls": col.null_count}
        if isinstance(f.type, pa.FixedShapeTensorType):
            n = 1
            for d in f.type.shape:
                n *= d
            s = 0.0
            for i in range(len(col)):
                if col[i].is_valid:
                    vals = col.storage[i].values.to_pylist()
                    s += sum((i * n + j + 1) * float(v) for j, v in enumerate(vals))
            info.update(shape=list(f.type.shape), value_type=str(f.type.value_type),
                        dim_names=f.type.dim_names, permutation=f.type.permutation,
                        checksum=s)
        out[f.name] = info
    return out

mode, path = sys.argv[1], sys.argv[2]
if mode == "read":
    print(json.dumps(describe(pq.read_table(path))))
else:
    imgs = (np.arange(3 * 4 * 5 * 3) % 251).astype(np.uint8).reshape(3, 4, 5, 3)
    image = pa.FixedShapeTensorArray.from_numpy_ndarray(imgs)
    f = pa.FixedShapeTensorArray.from_numpy_ndarray(
        np.linspace(-1, 1, 3 * 2 * 3, dtype=np.float32).reshape(3, 2, 3))
    typ = pa.fixed_shape_tensor(pa.int16(), [2, 3], dim_names=["a", "b"], permutation=[1, 0])
    storage = pa.FixedSizeListArray.from_arrays(
        pa.array(np.arange(18, dtype=np.int16)), 6, mask=pa.array([False, True, False]))
    named = pa.ExtensionArray.from_storage(typ, storage)
    table = pa.table({"image": image, "f": f, "n": named, "id": pa.array([1, 2, 3], pa.int64())})
    pq.write_table(table, path)
    print(json.dumps(describe(table)))
`

type colInfo struct {
	Type        string   `json:"type"`
	Rows        int      `json:"rows"`
	Nulls       int      `json:"nulls"`
	Shape       []int    `json:"shape,omitempty"`
	ValueType   string   `json:"value_type,omitempty"`
	DimNames    []string `json:"dim_names,omitempty"`
	Permutation []int    `json:"permutation,omitempty"`
	Checksum    float64  `json:"checksum,omitempty"`
}

// describe is the Go side of pyScript's describe, for tensor columns.
func describe(t *testing.T, rec arrow.RecordBatch) map[string]colInfo {
	t.Helper()
	out := map[string]colInfo{}
	for i, col := range rec.Columns() {
		typ := AsType(col.DataType())
		if typ == nil {
			continue
		}
		info := colInfo{
			Type: typ.String(), Rows: col.Len(), Nulls: col.NullN(), Shape: typ.Shape(),
			ValueType: pyTypeName(typ.ValueType()), DimNames: typ.DimNames(), Permutation: typ.Permutation(),
		}
		n := typ.Size()
		for r := range col.Len() {
			if col.IsNull(r) {
				continue
			}
			for j, v := range rowFloats(t, col, r) {
				info.Checksum += float64(r*n+j+1) * v
			}
		}
		out[rec.ColumnName(i)] = info
	}
	return out
}

func rowFloats(t *testing.T, col arrow.Array, r int) []float64 {
	conv := func(v any) []float64 {
		rv := reflect.ValueOf(v)
		out := make([]float64, rv.Len())
		for i := range out {
			switch e := rv.Index(i); e.Kind() {
			case reflect.Float32, reflect.Float64:
				out[i] = e.Float()
			case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				out[i] = float64(e.Uint())
			default:
				out[i] = float64(e.Int())
			}
		}
		return out
	}
	switch AsType(col.DataType()).ValueType().ID() {
	case arrow.UINT8:
		return conv(Row[uint8](col, r))
	case arrow.INT16:
		return conv(Row[int16](col, r))
	case arrow.INT32:
		return conv(Row[int32](col, r))
	case arrow.FLOAT32:
		return conv(Row[float32](col, r))
	case arrow.FLOAT64:
		return conv(Row[float64](col, r))
	}
	t.Fatalf("unexpected element type %s", col.DataType())
	return nil
}

// pythonWithPyarrow returns a Python interpreter that imports pyarrow and
// numpy: the repository's .venv first, then python3; it skips the test
// when there is none.
func pythonWithPyarrow(t *testing.T) string {
	t.Helper()
	var tried []string
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				tried = append(tried, filepath.Join(dir, ".venv", "bin", "python"))
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	tried = append(tried, "python3")
	for _, py := range tried {
		if err := exec.Command(py, "-c", "import pyarrow, numpy").Run(); err == nil {
			return py
		}
	}
	t.Skipf("pyarrow cross-check skipped: none of %v can `import pyarrow, numpy` (install them into <repo>/.venv to run it)", tried)
	return ""
}

func runPy(t *testing.T, py, mode, path string) map[string]colInfo {
	t.Helper()
	cmd := exec.Command(py, "-c", pyScript, mode, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %s %s: %v\n%s", mode, path, err, stderr.String())
	}
	var got map[string]colInfo
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	return got
}

func compareInfo(t *testing.T, from string, py, goSide map[string]colInfo) {
	t.Helper()
	for name, g := range goSide {
		p, ok := py[name]
		if !ok {
			t.Errorf("%s: pyarrow has no column %q", from, name)
			continue
		}
		if p.Type != g.Type || p.Rows != g.Rows || p.Nulls != g.Nulls || p.ValueType != g.ValueType ||
			!reflect.DeepEqual(p.Shape, g.Shape) || !reflect.DeepEqual(p.DimNames, g.DimNames) ||
			!reflect.DeepEqual(p.Permutation, g.Permutation) ||
			math.Abs(p.Checksum-g.Checksum) > 1e-9*math.Max(1, math.Abs(g.Checksum)) {
			t.Errorf("%s: column %q:\npyarrow %+v\n     go %+v", from, name, p, g)
		}
	}
}

func TestPyarrowReadsGoParquet(t *testing.T) {
	py := pythonWithPyarrow(t)
	mem := checkedMem(t)
	dir := t.TempDir()

	// an image column with a null, a float tensor with dim_names and a
	// permutation, an id column
	imgs := []image.Image{testImage(5, 4), nil, testImage(5, 4)}
	img, err := FromImages(mem, imgs, ModeRGB)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Release()
	f, err := FromSlices(mem, []int{2, 3}, [][]float32{{1, 2, 3, 4, 5, 6.5}, {-1, 0, 1, 0, -1, 0}, nil})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	named, _ := NewFixedShapeTypeOpts(arrow.PrimitiveTypes.Float32, []int{2, 3}, Options{DimNames: []string{"h", "w"}, Permutation: []int{1, 0}})
	fn := array.NewExtensionArrayWithStorage(named, f.(*Array).Storage())
	defer fn.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.AppendValues([]int64{1, 2, 3}, nil)
	ids := ib.NewArray()
	defer ids.Release()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "image", Type: img.DataType(), Nullable: true},
		{Name: "f", Type: named, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{img, fn, ids}, 3)
	defer rec.Release()
	want := describe(t, rec)
	if got := want["image"].Type; got != "extension<arrow.fixed_shape_tensor[value_type=uint8, shape=[4,5,3]]>" {
		t.Fatalf("Go type string %s", got)
	}

	// 1. through ParquetWriter (nulls allowed)
	path := filepath.Join(dir, "go.parquet")
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, schema, nil, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runPy(t, py, "read", path)
	t.Logf("pyarrow: image %s; f %s", got["image"].Type, got["f"].Type)
	compareInfo(t, "ParquetWriter", got, want)

	// 2. by hand with pqarrow (no nulls there: pqarrow cannot write null
	// fixed_size_list rows)
	sl := rec.NewSlice(0, 1)
	defer sl.Release()
	handPath := filepath.Join(dir, "hand.parquet")
	if err := os.WriteFile(handPath, writeByHand(t, sl, true), 0o644); err != nil {
		t.Fatal(err)
	}
	compareInfo(t, "pqarrow by hand", runPy(t, py, "read", handPath), describe(t, sl))
}

func TestGoReadsPyarrowParquet(t *testing.T) {
	py := pythonWithPyarrow(t)
	mem := checkedMem(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "py.parquet")
	want := runPy(t, py, "write", path)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadParquet(bytes.NewReader(data), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rec := concatRecords(t, mem, recs)
	defer rec.Release()
	got := describe(t, rec)
	if len(got) != 3 {
		t.Fatalf("Go found tensor columns %v in %s", got, rec.Schema())
	}
	compareInfo(t, "pyarrow-written", want, got)
	imgs, err := ToImages(rec.Column(0))
	if err != nil {
		t.Fatal(err)
	}
	if px := imgs[1].(*image.RGBA).RGBAAt(1, 0); px.R != uint8((60+3)%251) {
		t.Errorf("image 1 pixel (1,0) = %v", px)
	}

	// and by hand: pqarrow storage + FromParquetMetadata + Restore
	got2, kv := readStorage(t, data, mem)
	defer got2.Release()
	ws, err := FromParquetMetadata(kv)
	if err != nil {
		t.Fatal(err)
	}
	bare := StorageRecord(got2)
	defer bare.Release()
	restored, err := Restore(bare, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Release()
	compareInfo(t, "pyarrow-written, restored by hand", want, describe(t, restored))

	// Go writes it again; pyarrow sees the same columns
	out := filepath.Join(dir, "again.parquet")
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, rec.Schema(), nil, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	compareInfo(t, "pyarrow-written, rewritten by Go", runPy(t, py, "read", out), got)
}
