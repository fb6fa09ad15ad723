package data

import (
	"fmt"
	"image"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/goray-dev/goray/raylib/data/internal/tensor"
)

// Images returns an image column (a uint8 tensor column of shape
// [height, width, channels]) as images; nulls are nil.
func (b *Batch) Images(name string) []image.Image {
	imgs, err := tensor.ToImages(b.Column(name))
	if err != nil {
		panic(fmt.Errorf("column %q: %w", name, err))
	}
	return imgs
}

// Tensors returns a float32 tensor column as one slice per row
// (zero-copy views).
func (b *Batch) Tensors(name string) [][]float32 {
	c := b.Column(name)
	if tensor.AsType(c.DataType()) == nil {
		panic(fmt.Errorf("column %q is %s, not a tensor", name, typeName(c.DataType())))
	}
	out := make([][]float32, c.Len())
	for i := range out {
		out[i] = tensor.Row[float32](c, i)
	}
	return out
}

func imagesToArray(imgs []image.Image) (arrow.Array, error) {
	mode := "RGB"
	for _, im := range imgs {
		if im == nil {
			continue
		}
		switch im.(type) {
		case *image.Gray:
			mode = "L"
		case *image.NRGBA, *image.RGBA:
			if !opaque(im) {
				mode = "RGBA"
			}
		}
		break
	}
	return tensor.FromImages(mem, imgs, mode)
}

func opaque(im image.Image) bool {
	if o, ok := im.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return true
}

// tensorsToArray makes a tensor column from [][]float32, [][]uint8, ...
// (one flat slice per row, all of one length).
func tensorsToArray(values any) (arrow.Array, error) {
	switch v := values.(type) {
	case [][]float32:
		return tensor.FromSlices(mem, []int{rowLen(v)}, v)
	case [][]float64:
		return tensor.FromSlices(mem, []int{rowLen(v)}, v)
	case [][]int64:
		return tensor.FromSlices(mem, []int{rowLen(v)}, v)
	case [][]int32:
		return tensor.FromSlices(mem, []int{rowLen(v)}, v)
	case [][]uint8:
		return tensor.FromSlices(mem, []int{rowLen(v)}, v)
	}
	return nil, fmt.Errorf("unsupported column values %T", values)
}

func rowLen[T any](rows [][]T) int {
	if len(rows) == 0 {
		return 0
	}
	return len(rows[0])
}

// tensorsFromAny handles rows whose values are slices (from Map).
func tensorsFromAny(vs []any) (arrow.Array, error) {
	if len(vs) == 0 {
		return nil, fmt.Errorf("no values")
	}
	var first any
	for _, v := range vs {
		if v != nil {
			first = v
			break
		}
	}
	t := reflect.TypeOf(first)
	if t.Kind() != reflect.Slice {
		return nil, fmt.Errorf("unsupported value type %T", first)
	}
	if t.Elem().Kind() == reflect.Interface {
		// []any: a list; store as a list column via Arrow's builder.
		return listFromAny(vs)
	}
	rows := reflect.MakeSlice(reflect.SliceOf(t), len(vs), len(vs))
	for i, v := range vs {
		if v != nil {
			rows.Index(i).Set(reflect.ValueOf(v))
		}
	}
	return tensorsToArray(rows.Interface())
}

func listFromAny(vs []any) (arrow.Array, error) {
	var flat []any
	offsets := make([]int32, 1, len(vs)+1)
	valid := make([]bool, len(vs))
	nulls := 0
	for i, v := range vs {
		if v != nil {
			valid[i] = true
			flat = append(flat, v.([]any)...)
		} else {
			nulls++
		}
		offsets = append(offsets, int32(len(flat)))
	}
	vals, err := anysToArray(flat)
	if err != nil {
		return nil, err
	}
	data := array.NewData(arrow.ListOf(vals.DataType()), len(vs),
		[]*memory.Buffer{validityBuffer(valid, nulls), memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))},
		[]arrow.ArrayData{vals.Data()}, nulls, 0)
	return array.NewListData(data), nil
}

// extensionValueAt gives a Row's value for an extension column: an image
// for uint8 tensors shaped like one, else the row's values as a slice.
func extensionValueAt(a array.ExtensionArray, i int) (any, bool) {
	t := tensor.AsType(a.DataType())
	if t == nil {
		return nil, false
	}
	shape := t.Shape()
	if t.ValueType().ID() == arrow.UINT8 && len(shape) == 3 && (shape[2] == 1 || shape[2] == 3 || shape[2] == 4) {
		imgs, err := tensor.ToImages(array.NewSlice(a, int64(i), int64(i+1)))
		if err == nil && len(imgs) == 1 {
			return imgs[0], true
		}
	}
	switch t.ValueType().ID() {
	case arrow.FLOAT32:
		return tensor.Row[float32](a, i), true
	case arrow.FLOAT64:
		return tensor.Row[float64](a, i), true
	case arrow.UINT8:
		return tensor.Row[uint8](a, i), true
	case arrow.INT64:
		return tensor.Row[int64](a, i), true
	case arrow.INT32:
		return tensor.Row[int32](a, i), true
	}
	return nil, false
}

func imageSummary(v any) string {
	if im, ok := v.(image.Image); ok {
		b := im.Bounds()
		return fmt.Sprintf("<image %dx%d>", b.Dx(), b.Dy())
	}
	return ""
}

// tensorTypeName prints a tensor type as pyarrow does.
func tensorTypeName(e arrow.ExtensionType) string {
	t := tensor.AsType(e)
	if t == nil {
		return ""
	}
	dims := make([]string, len(t.Shape()))
	for i, d := range t.Shape() {
		dims[i] = strconv.Itoa(d)
	}
	return fmt.Sprintf("extension<arrow.fixed_shape_tensor[value_type=%s, shape=[%s]]>", typeName(t.ValueType()),
		strings.Join(dims, ","))
}

// restoreExtensions returns a Parquet file's Arrow schema with extension
// types (tensors) restored from its ARROW:schema metadata.
func restoreExtensions(s *arrow.Schema, md *metadata.FileMetaData) *arrow.Schema {
	full, err := tensor.FromParquetMetadata(md.KeyValueMetadata())
	if err != nil || full.NumFields() != s.NumFields() {
		return s
	}
	for i, f := range full.Fields() {
		if f.Name != s.Field(i).Name {
			return s
		}
	}
	return arrow.NewSchema(full.Fields(), metadataOf(s))
}

// restoreRecord wraps tensor storage columns of a record read from
// Parquet back into tensor columns.
func restoreRecord(rec arrow.RecordBatch, fileSchema *arrow.Schema) arrow.RecordBatch {
	want := make([]arrow.Field, 0, rec.NumCols())
	changed := false
	for _, f := range rec.Schema().Fields() {
		idx := fileSchema.FieldIndices(f.Name)
		if len(idx) > 0 && tensor.AsType(fileSchema.Field(idx[0]).Type) != nil && tensor.AsType(f.Type) == nil {
			f.Type = fileSchema.Field(idx[0]).Type
			changed = true
		}
		want = append(want, f)
	}
	if !changed {
		return rec
	}
	out, err := tensor.Restore(rec, arrow.NewSchema(want, nil))
	if err != nil {
		return rec
	}
	return out
}

// imageConfig holds ReadImages' options.
type imageConfig struct {
	mode          string
	width, height int
}

// ImageMode converts images on read: "RGB", "RGBA" or "L".
func ImageMode(mode string) ReadOption {
	return func(c *readConfig) error {
		switch mode {
		case "RGB", "RGBA", "L":
			c.images.mode = mode
			return nil
		}
		return fmt.Errorf("ImageMode(%q): want RGB, RGBA or L", mode)
	}
}

// ImageSize resizes images on read to width x height.
func ImageSize(width, height int) ReadOption {
	return func(c *readConfig) error {
		if width < 1 || height < 1 {
			return fmt.Errorf("ImageSize(%d, %d): sizes must be positive", width, height)
		}
		c.images.width, c.images.height = width, height
		return nil
	}
}

// ReadImages reads PNG and JPEG files into an "image" column of uint8
// tensors [height, width, channels] (and "path" with IncludePaths). Images
// of different sizes need ImageSize, since a tensor column has one shape.
func ReadImages(path string, opts ...ReadOption) *Dataset {
	opts = append([]ReadOption{FileExtensions("png", "jpg", "jpeg")}, opts...)
	return fileRead("ReadImages", path, opts, func(f sourceFile, cfg readConfig, emit emitFn) error {
		raw, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		mode := cfg.images.mode
		if mode == "" {
			mode = "RGB"
		}
		img, err := tensor.Decode(raw, mode, cfg.images.width, cfg.images.height)
		if err != nil {
			return err
		}
		arr, err := tensor.FromImages(mem, []image.Image{img}, mode)
		if err != nil {
			return err
		}
		schema := arrow.NewSchema([]arrow.Field{{Name: "image", Type: arr.DataType(), Nullable: true}}, nil)
		return emit(array.NewRecordBatch(schema, []arrow.Array{arr}, 1))
	})
}
