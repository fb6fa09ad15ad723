package data

import (
	"fmt"
	"image"
	"reflect"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var mem = memory.DefaultAllocator

// Row is one row of a dataset as Map, Filter and FlatMap see it, and as
// Take returns it: column name to Go value (int64, float64, string, bool,
// []byte, time.Time, image.Image, a slice for tensors and lists, or nil).
type Row map[string]any

// toArray turns a Go slice (or an Arrow array) into an Arrow array.
func toArray(values any) (arrow.Array, error) {
	switch v := values.(type) {
	case arrow.Array:
		return v, nil
	case []float64:
		return array.NewFloat64Data(array.NewData(arrow.PrimitiveTypes.Float64, len(v),
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(v))}, nil, 0, 0)), nil
	case []int64:
		return array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, len(v),
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(v))}, nil, 0, 0)), nil
	case []int:
		b := array.NewInt64Builder(mem)
		b.Reserve(len(v))
		for _, x := range v {
			b.UnsafeAppend(int64(x))
		}
		return b.NewArray(), nil
	case []int32:
		b := array.NewInt32Builder(mem)
		b.AppendValues(v, nil)
		return b.NewArray(), nil
	case []float32:
		b := array.NewFloat32Builder(mem)
		b.AppendValues(v, nil)
		return b.NewArray(), nil
	case []string:
		b := array.NewStringBuilder(mem)
		b.AppendValues(v, nil)
		return b.NewArray(), nil
	case []bool:
		b := array.NewBooleanBuilder(mem)
		b.AppendValues(v, nil)
		return b.NewArray(), nil
	case [][]byte:
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		for _, x := range v {
			if x == nil {
				b.AppendNull()
			} else {
				b.Append(x)
			}
		}
		return b.NewArray(), nil
	case []time.Time:
		typ := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		b := array.NewTimestampBuilder(mem, typ)
		for _, t := range v {
			b.Append(arrow.Timestamp(t.UnixMicro()))
		}
		return b.NewArray(), nil
	case []image.Image:
		return imagesToArray(v)
	case []any:
		return anysToArray(v)
	}
	rv := reflect.ValueOf(values)
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Slice {
		return tensorsToArray(values)
	}
	return nil, fmt.Errorf("unsupported column values %T", values)
}

// anysToArray infers a column type from Go values: the first non-nil value
// decides, ints widen to floats when both appear, and nil is null.
func anysToArray(vs []any) (arrow.Array, error) {
	kind := ""
	for _, v := range vs {
		k := goKind(v)
		switch {
		case k == "" || k == kind:
		case kind == "":
			kind = k
		case (kind == "int" && k == "float") || (kind == "float" && k == "int"):
			kind = "float"
		default:
			return nil, fmt.Errorf("values of different types in one column: %s and %T", kind, v)
		}
	}
	switch kind {
	case "":
		return array.MakeArrayOfNull(mem, arrow.Null, len(vs)), nil
	case "int":
		b := array.NewInt64Builder(mem)
		for _, v := range vs {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(toInt64(v))
			}
		}
		return b.NewArray(), nil
	case "object":
		return structFromAny(vs)
	case "float":
		b := array.NewFloat64Builder(mem)
		for _, v := range vs {
			if x, ok := toFloat(v); ok {
				b.Append(x)
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	case "string":
		b := array.NewStringBuilder(mem)
		for _, v := range vs {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(v.(string))
			}
		}
		return b.NewArray(), nil
	case "bool":
		b := array.NewBooleanBuilder(mem)
		for _, v := range vs {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(v.(bool))
			}
		}
		return b.NewArray(), nil
	case "bytes":
		xs := make([][]byte, len(vs))
		for i, v := range vs {
			if v != nil {
				xs[i] = v.([]byte)
			}
		}
		return toArray(xs)
	case "time":
		typ := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		b := array.NewTimestampBuilder(mem, typ)
		for _, v := range vs {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
			}
		}
		return b.NewArray(), nil
	case "image":
		imgs := make([]image.Image, len(vs))
		for i, v := range vs {
			if v != nil {
				imgs[i] = v.(image.Image)
			}
		}
		return imagesToArray(imgs)
	default: // slices: tensors
		return tensorsFromAny(vs)
	}
}

func goKind(v any) string {
	switch v.(type) {
	case nil:
		return ""
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "int"
	case float32, float64:
		return "float"
	case string:
		return "string"
	case bool:
		return "bool"
	case []byte:
		return "bytes"
	case time.Time:
		return "time"
	case image.Image:
		return "image"
	case *jsonObject, map[string]any, Row:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// toInt64 converts an integer of any Go type exactly (uint64 above the
// int64 range wraps, as a cast does).
func toInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}

// jsonObject is a JSON object with its keys in file order.
type jsonObject struct {
	keys []string
	vals map[string]any
}

// objectFields returns an object value's keys (in order) and values.
func objectFields(v any) ([]string, map[string]any) {
	switch x := v.(type) {
	case *jsonObject:
		return x.keys, x.vals
	case map[string]any:
		return sortedKeys(x), x
	case Row:
		return sortedKeys(x), x
	}
	return nil, nil
}

func sortedKeys[M ~map[string]any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// structFromAny builds a struct column from objects; fields are ordered
// as first seen, and a field an object lacks is null in its row.
func structFromAny(vs []any) (arrow.Array, error) {
	var names []string
	seen := map[string]bool{}
	for _, v := range vs {
		keys, _ := objectFields(v)
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	fields := make([]arrow.Field, len(names))
	children := make([]arrow.ArrayData, len(names))
	for i, n := range names {
		col := make([]any, len(vs))
		for j, v := range vs {
			if _, m := objectFields(v); m != nil {
				col[j] = m[n]
			}
		}
		arr, err := anysToArray(col)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", n, err)
		}
		fields[i] = arrow.Field{Name: n, Type: arr.DataType(), Nullable: true}
		children[i] = arr.Data()
	}
	valid := make([]bool, len(vs))
	nulls := 0
	for j, v := range vs {
		valid[j] = v != nil
		if v == nil {
			nulls++
		}
	}
	data := array.NewData(arrow.StructOf(fields...), len(vs), []*memory.Buffer{validityBuffer(valid, nulls)},
		children, nulls, 0)
	return array.NewStructData(data), nil
}

// validityBuffer is an Arrow validity bitmap, or nil when nothing is null.
func validityBuffer(valid []bool, nulls int) *memory.Buffer {
	if nulls == 0 {
		return nil
	}
	bits := make([]byte, (len(valid)+7)/8)
	for i, ok := range valid {
		if ok {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return memory.NewBufferBytes(bits)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// numberAt reads element i of a numeric array as float64.
func numberAt(c arrow.Array, i int) (float64, bool) {
	switch a := c.(type) {
	case *array.Int64:
		return float64(a.Value(i)), true
	case *array.Int32:
		return float64(a.Value(i)), true
	case *array.Int16:
		return float64(a.Value(i)), true
	case *array.Int8:
		return float64(a.Value(i)), true
	case *array.Uint64:
		return float64(a.Value(i)), true
	case *array.Uint32:
		return float64(a.Value(i)), true
	case *array.Uint16:
		return float64(a.Value(i)), true
	case *array.Uint8:
		return float64(a.Value(i)), true
	case *array.Float64:
		return a.Value(i), true
	case *array.Float32:
		return float64(a.Value(i)), true
	}
	return 0, false
}

// valueAt reads element i of any array as the Go value a Row holds.
func valueAt(c arrow.Array, i int) any {
	if c.DataType().ID() == arrow.NULL || c.IsNull(i) {
		return nil
	}
	switch a := c.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Binary:
		return a.Value(i)
	case *array.LargeBinary:
		return a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Dictionary:
		return valueAt(a.Dictionary(), a.GetValueIndex(i))
	case array.ExtensionArray:
		if v, ok := extensionValueAt(a, i); ok {
			return v
		}
		return valueAt(a.Storage(), i)
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		vals := list(a)
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, valueAt(vals, int(j)))
		}
		return out
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		m := map[string]any{}
		for f := 0; f < a.NumField(); f++ {
			m[st.Field(f).Name] = valueAt(a.Field(f), i)
		}
		return m
	}
	return c.ValueStr(i)
}

func list(a array.ListLike) arrow.Array {
	switch l := a.(type) {
	case *array.List:
		return l.ListValues()
	case *array.LargeList:
		return l.ListValues()
	case *array.FixedSizeList:
		return l.ListValues()
	}
	return nil
}

// rowsToRecord builds a record from rows; columns are ordered as in the
// first row that has them, in sorted key order within a row (Go maps have
// no order), unless order names them.
func rowsToRecord(rows []Row, order []string) (arrow.RecordBatch, error) {
	present := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			present[k] = true
		}
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range order {
		if present[n] && !seen[n] {
			names = append(names, n)
			seen[n] = true
		}
	}
	for _, r := range rows {
		keys := make([]string, 0, len(r))
		for k := range r {
			if !seen[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			seen[k] = true
			names = append(names, k)
		}
	}
	fields := make([]arrow.Field, len(names))
	cols := make([]arrow.Array, len(names))
	for i, n := range names {
		vs := make([]any, len(rows))
		for j, r := range rows {
			vs[j] = r[n]
		}
		arr, err := anysToArray(vs)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", n, err)
		}
		fields[i] = arrow.Field{Name: n, Type: arr.DataType(), Nullable: true}
		cols[i] = arr
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(rows))), nil
}

// recordRows returns rows [from, to) of a record as Rows.
func recordRows(rec arrow.RecordBatch, from, to int) []Row {
	out := make([]Row, 0, to-from)
	for i := from; i < to; i++ {
		r := make(Row, rec.NumCols())
		for c, f := range rec.Schema().Fields() {
			r[f.Name] = valueAt(rec.Column(c), i)
		}
		out = append(out, r)
	}
	return out
}
