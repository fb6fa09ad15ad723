package data_test

// The canonical form of tests/interop/README.md ("Canonical types",
// "Canonical values") for Arrow data read or written by goray, and the
// comparison of two canonical documents. canon.py is the reference; this is
// an independent Go implementation of it, so a bug in our readers or writers
// cannot hide behind a shared conversion.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// interopDoc is an X.expected.json document or one line of peer_read.py's
// output: the schema as [name, canonical type] pairs and the rows as
// canonical JSON values (decoded with UseNumber).
type interopDoc struct {
	Path         string              `json:"path"`
	Writer       string              `json:"writer"`
	Reader       string              `json:"reader"`
	Format       string              `json:"format"`
	Schema       [][2]string         `json:"schema"`
	RawSchema    [][2]string         `json:"raw_schema"`
	NumRows      int                 `json:"num_rows"`
	Key          string              `json:"key"`
	AcceptTypes  map[string][]string `json:"accept_types"`
	RowGroups    int                 `json:"row_groups"`
	Partitioning string              `json:"partitioning"`
	Expected     string              `json:"expected"`
	Rows         [][]any             `json:"rows"`
}

func (d *interopDoc) names() []string {
	out := make([]string, len(d.Schema))
	for i, f := range d.Schema {
		out[i] = f[0]
	}
	return out
}

func (d *interopDoc) col(name string) int {
	for i, f := range d.Schema {
		if f[0] == name {
			return i
		}
	}
	return -1
}

// readInteropDoc decodes one JSON document with json.Number for numbers.
func readInteropDoc(path string) (*interopDoc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeInteropDoc(raw)
}

func decodeInteropDoc(raw []byte) (*interopDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var d interopDoc
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ---------------------------------------------------------------- types

var interopUTCNames = map[string]bool{"UTC": true, "Etc/UTC": true, "Etc/Universal": true, "Universal": true,
	"Zulu": true, "Z": true, "+00:00": true, "+0000": true, "+00": true, "GMT": true, "Etc/GMT": true}

func interopCanonTZ(tz string) string {
	if interopUTCNames[tz] {
		return "UTC"
	}
	return tz
}

const interopTensorExtName = "arrow.fixed_shape_tensor"

type interopTensorMeta struct {
	Shape       []int `json:"shape"`
	Permutation []int `json:"permutation"`
}

func interopTensorMetaOf(t arrow.ExtensionType) interopTensorMeta {
	var md interopTensorMeta
	_ = json.Unmarshal([]byte(t.Serialize()), &md)
	return md
}

func interopJoinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// interopCanonType is the canonical name of an Arrow type (README "Canonical types").
func interopCanonType(t arrow.DataType) string {
	switch tt := t.(type) {
	case arrow.ExtensionType:
		if tt.ExtensionName() == interopTensorExtName {
			md := interopTensorMetaOf(tt)
			elem := arrow.DataType(arrow.Null)
			if fsl, ok := tt.StorageType().(*arrow.FixedSizeListType); ok {
				elem = fsl.Elem()
			}
			name := fmt.Sprintf("fixed_shape_tensor<%s>[%s]", interopCanonType(elem), interopJoinInts(md.Shape))
			for i, p := range md.Permutation {
				if p != i {
					name += "{permutation=[" + interopJoinInts(md.Permutation) + "]}"
					break
				}
			}
			return name
		}
		return "extension<" + tt.ExtensionName() + ">"
	case *arrow.DictionaryType:
		return "dictionary<" + interopCanonType(tt.ValueType) + ">"
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType:
		return "binary"
	case *arrow.BooleanType:
		return "bool"
	case *arrow.Float16Type:
		return "halffloat"
	case *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.TimestampType:
		if tt.TimeZone == "" {
			return "timestamp[" + tt.Unit.String() + "]"
		}
		return "timestamp[" + tt.Unit.String() + ", tz=" + interopCanonTZ(tt.TimeZone) + "]"
	case *arrow.Date32Type:
		return "date32"
	case *arrow.Date64Type:
		return "date64"
	case *arrow.Decimal32Type:
		return fmt.Sprintf("decimal32(%d, %d)", tt.Precision, tt.Scale)
	case *arrow.Decimal64Type:
		return fmt.Sprintf("decimal64(%d, %d)", tt.Precision, tt.Scale)
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal128(%d, %d)", tt.Precision, tt.Scale)
	case *arrow.Decimal256Type:
		return fmt.Sprintf("decimal256(%d, %d)", tt.Precision, tt.Scale)
	case *arrow.MapType:
		return "map<" + interopCanonType(tt.KeyType()) + ", " + interopCanonType(tt.ItemType()) + ">"
	case *arrow.ListType:
		return "list<" + interopCanonType(tt.Elem()) + ">"
	case *arrow.LargeListType:
		return "list<" + interopCanonType(tt.Elem()) + ">"
	case *arrow.ListViewType:
		return "list<" + interopCanonType(tt.Elem()) + ">"
	case *arrow.LargeListViewType:
		return "list<" + interopCanonType(tt.Elem()) + ">"
	case *arrow.FixedSizeListType:
		return fmt.Sprintf("fixed_size_list<%s>[%d]", interopCanonType(tt.Elem()), tt.Len())
	case *arrow.StructType:
		parts := make([]string, tt.NumFields())
		for i, f := range tt.Fields() {
			parts[i] = f.Name + ": " + interopCanonType(f.Type)
		}
		return "struct<" + strings.Join(parts, ", ") + ">"
	case *arrow.NullType:
		return "null"
	}
	// Integers and everything else: Arrow's own name, which for integers
	// is pyarrow's too.
	return t.String()
}

func interopCanonSchema(s *arrow.Schema) [][2]string {
	out := make([][2]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = [2]string{f.Name, interopCanonType(f.Type)}
	}
	return out
}

// --------------------------------------------------------------- values

func interopCanonFloat(x float64) any {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "Infinity"
	case math.IsInf(x, -1):
		return "-Infinity"
	}
	return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
}

var interopUnitsPerSecond = map[arrow.TimeUnit]int64{arrow.Second: 1, arrow.Millisecond: 1_000,
	arrow.Microsecond: 1_000_000, arrow.Nanosecond: 1_000_000_000}

// interopCanonTimestamp formats ticks since the epoch as canon.fmt_timestamp does.
func interopCanonTimestamp(v int64, unit arrow.TimeUnit, zoned bool) string {
	per := interopUnitsPerSecond[unit]
	secs, frac := v/per, v%per
	if frac < 0 {
		secs, frac = secs-1, frac+per
	}
	t := time.Unix(secs, 0).UTC()
	text := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second())
	if unit == arrow.Nanosecond && frac%1000 != 0 {
		text += fmt.Sprintf(".%09d", frac)
	} else {
		text += fmt.Sprintf(".%06d", frac*1_000_000/per)
	}
	if zoned {
		text += "Z"
	}
	return text
}

// interopCanonDecimal prints an unscaled integer with exactly scale digits after
// the point (Python's format(Decimal, "f")).
func interopCanonDecimal(n *big.Int, scale int32) string {
	neg := n.Sign() < 0
	digits := new(big.Int).Abs(n).String()
	if scale > 0 {
		for len(digits) <= int(scale) {
			digits = "0" + digits
		}
		digits = digits[:len(digits)-int(scale)] + "." + digits[len(digits)-int(scale):]
	} else if scale < 0 {
		digits += strings.Repeat("0", int(-scale))
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// interopCanonColumn returns the canonical JSON values of every element of arr,
// in the domain a JSON decoder with UseNumber produces (json.Number,
// string, bool, nil, []any, map[string]any).
func interopCanonColumn(arr arrow.Array) []any {
	n := arr.Len()
	out := make([]any, n)
	if ext, ok := arr.(array.ExtensionArray); ok {
		et := arr.DataType().(arrow.ExtensionType)
		if et.ExtensionName() == interopTensorExtName {
			return interopCanonTensor(ext, interopTensorMetaOf(et).Shape)
		}
		return interopCanonColumn(ext.Storage())
	}
	if d, ok := arr.(*array.Dictionary); ok {
		dict := interopCanonColumn(d.Dictionary())
		for i := range n {
			if d.IsValid(i) {
				out[i] = dict[d.GetValueIndex(i)]
			}
		}
		return out
	}
	if l, ok := arr.(array.ListLike); ok && arr.DataType().ID() != arrow.MAP {
		child := interopCanonColumn(l.ListValues())
		for i := range n {
			if l.IsValid(i) {
				lo, hi := l.ValueOffsets(i)
				if lo < 0 || hi < lo || hi > int64(len(child)) {
					// A malformed array: say so instead of panicking.
					out[i] = fmt.Sprintf("<invalid list offsets [%d, %d) of %d values>", lo, hi, len(child))
					continue
				}
				out[i] = append([]any{}, child[lo:hi]...)
			}
		}
		return out
	}
	switch a := arr.(type) {
	case *array.Map:
		keys, items := interopCanonColumn(a.Keys()), interopCanonColumn(a.Items())
		for i := range n {
			if a.IsValid(i) {
				lo, hi := a.ValueOffsets(i)
				pairs := []any{}
				for j := lo; j < hi; j++ {
					pairs = append(pairs, []any{keys[j], items[j]})
				}
				out[i] = pairs
			}
		}
		return out
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		fields := make([][]any, a.NumField())
		for f := range fields {
			fields[f] = interopCanonColumn(a.Field(f))
		}
		for i := range n {
			if a.IsValid(i) {
				m := map[string]any{}
				for f, fld := range st.Fields() {
					m[fld.Name] = fields[f][i]
				}
				out[i] = m
			}
		}
		return out
	}
	for i := range n {
		if arr.IsNull(i) {
			continue
		}
		out[i] = interopCanonScalar(arr, i)
	}
	return out
}

func interopCanonScalar(arr arrow.Array, i int) any {
	num := func(v int64) any { return json.Number(strconv.FormatInt(v, 10)) }
	unum := func(v uint64) any { return json.Number(strconv.FormatUint(v, 10)) }
	switch a := arr.(type) {
	case *array.Int8:
		return num(int64(a.Value(i)))
	case *array.Int16:
		return num(int64(a.Value(i)))
	case *array.Int32:
		return num(int64(a.Value(i)))
	case *array.Int64:
		return num(a.Value(i))
	case *array.Uint8:
		return unum(uint64(a.Value(i)))
	case *array.Uint16:
		return unum(uint64(a.Value(i)))
	case *array.Uint32:
		return unum(uint64(a.Value(i)))
	case *array.Uint64:
		return unum(a.Value(i))
	case *array.Float16:
		return interopCanonFloat(float64(a.Value(i).Float32()))
	case *array.Float32:
		return interopCanonFloat(float64(a.Value(i)))
	case *array.Float64:
		return interopCanonFloat(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i))
	case *array.LargeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i))
	case *array.BinaryView:
		return base64.StdEncoding.EncodeToString(a.Value(i))
	case *array.FixedSizeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		t := a.DataType().(*arrow.TimestampType)
		return interopCanonTimestamp(int64(a.Value(i)), t.Unit, t.TimeZone != "")
	case *array.Date32:
		return time.Unix(int64(a.Value(i))*86400, 0).UTC().Format("2006-01-02")
	case *array.Date64:
		return time.UnixMilli(int64(a.Value(i))).UTC().Format("2006-01-02")
	case *array.Decimal128:
		return interopCanonDecimal(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return interopCanonDecimal(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal256Type).Scale)
	}
	// Types the fixtures do not hold (time, duration, ...): Arrow's text,
	// which a comparison then reports if it ever meets one.
	return "<" + arr.DataType().String() + ": " + arr.ValueStr(i) + ">"
}

// interopCanonTensor nests each row's flat (row-major) values in the shape.
func interopCanonTensor(ext array.ExtensionArray, shape []int) []any {
	st := ext.Storage().(*array.FixedSizeList)
	size := int(st.DataType().(*arrow.FixedSizeListType).Len())
	flat := interopCanonColumn(st.ListValues())
	out := make([]any, ext.Len())
	var nest func(vals []any, dims []int) []any
	nest = func(vals []any, dims []int) []any {
		if len(dims) <= 1 {
			return append([]any{}, vals...)
		}
		step := len(vals) / dims[0]
		res := make([]any, dims[0])
		for k := range dims[0] {
			res[k] = nest(vals[k*step:(k+1)*step], dims[1:])
		}
		return res
	}
	for i := range out {
		if ext.IsValid(i) {
			lo := (st.Offset() + i) * size
			out[i] = nest(flat[lo:lo+size], shape)
		}
	}
	return out
}

// interopCanonRecord turns a record into a document (schema and rows).
func interopCanonRecord(rec arrow.RecordBatch) *interopDoc {
	d := &interopDoc{Schema: interopCanonSchema(rec.Schema()), NumRows: int(rec.NumRows())}
	cols := make([][]any, rec.NumCols())
	for c := range cols {
		cols[c] = interopCanonColumn(rec.Column(c))
	}
	d.Rows = make([][]any, rec.NumRows())
	for r := range d.Rows {
		row := make([]any, len(cols))
		for c := range cols {
			row[c] = cols[c][r]
		}
		d.Rows[r] = row
	}
	return d
}

// ----------------------------------------------------------- comparison

// interopIsIntText says whether a JSON number is written as an integer.
func interopIsIntText(s string) bool { return !strings.ContainsAny(s, ".eE") }

// interopCanonEqual compares canonical JSON values: numbers by value (integers
// exactly with arbitrary precision, doubles bit for bit), everything else
// exactly, lists and objects element by element.
func interopCanonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if interopIsIntText(string(x)) && interopIsIntText(string(y)) {
			bx, ok1 := new(big.Int).SetString(string(x), 10)
			by, ok2 := new(big.Int).SetString(string(y), 10)
			return ok1 && ok2 && bx.Cmp(by) == 0
		}
		fx, err1 := strconv.ParseFloat(string(x), 64)
		fy, err2 := strconv.ParseFloat(string(y), 64)
		return err1 == nil && err2 == nil && math.Float64bits(fx) == math.Float64bits(fy)
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !interopCanonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !interopCanonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// interopFlattenCanon flattens nested lists (a tensor read as a flat list).
func interopFlattenCanon(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	var out []any
	var walk func(x any)
	walk = func(x any) {
		if xs, ok := x.([]any); ok {
			for _, e := range xs {
				walk(e)
			}
			return
		}
		out = append(out, x)
	}
	walk(l)
	if out == nil {
		out = []any{}
	}
	return out
}

// interopDecimalsToNumbers turns decimal strings into JSON numbers (a reader
// that types integers as decimal128(38, 0)).
func interopDecimalsToNumbers(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = interopDecimalsToNumbers(e)
		}
		return out
	case string:
		return json.Number(x)
	}
	return v
}

func interopShowCanon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// interopKeySort orders rows by the integer key column.
func interopKeySort(rows [][]any, k int) [][]any {
	out := append([][]any(nil), rows...)
	key := func(r []any) *big.Int {
		if n, ok := r[k].(json.Number); ok {
			if b, ok := new(big.Int).SetString(string(n), 10); ok {
				return b
			}
		}
		return big.NewInt(math.MinInt64)
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]).Cmp(key(out[j])) < 0 })
	return out
}
