package pqfast

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pqa "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
)

// ---------------------------------------------------------------------------
// Data.

// allTypes are the Arrow types of the test tables, each written once
// REQUIRED (r_) and once OPTIONAL (n_).
var allTypes = []struct {
	name string
	dt   arrow.DataType
}{
	{"b", arrow.FixedWidthTypes.Boolean},
	{"i8", arrow.PrimitiveTypes.Int8},
	{"u8", arrow.PrimitiveTypes.Uint8},
	{"i16", arrow.PrimitiveTypes.Int16},
	{"u16", arrow.PrimitiveTypes.Uint16},
	{"i32", arrow.PrimitiveTypes.Int32},
	{"u32", arrow.PrimitiveTypes.Uint32},
	{"i64", arrow.PrimitiveTypes.Int64},
	{"u64", arrow.PrimitiveTypes.Uint64},
	{"f32", arrow.PrimitiveTypes.Float32},
	{"f64", arrow.PrimitiveTypes.Float64},
	{"d32", arrow.FixedWidthTypes.Date32},
	{"t32", arrow.FixedWidthTypes.Time32ms},
	{"t64", arrow.FixedWidthTypes.Time64us},
	{"ts_ms", &arrow.TimestampType{Unit: arrow.Millisecond}},
	{"ts_us_utc", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{"ts_ns_ny", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "America/New_York"}},
	{"s", arrow.BinaryTypes.String},
	{"bin", arrow.BinaryTypes.Binary},
}

func testSchema() *arrow.Schema {
	var fields []arrow.Field
	for _, nullable := range []bool{false, true} {
		for _, t := range allTypes {
			p := "r_"
			if nullable {
				p = "n_"
			}
			fields = append(fields, arrow.Field{Name: p + t.name, Type: t.dt, Nullable: nullable})
		}
	}
	fields = append(fields,
		arrow.Field{Name: "n_allnull", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "n_nonull", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "n_lowcard", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	return arrow.NewSchema(fields, nil)
}

var words = []string{"", "a", "RAN", "OF", "héllo wörld", "quick brown fox", "z"}

func randString(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return words[r.IntN(len(words))]
	}
	b := make([]byte, r.IntN(40))
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// genRecord makes n random rows of schema (about nullFrac nulls in
// nullable columns, except n_nonull; n_allnull is all null).
func genRecord(schema *arrow.Schema, n int, seed uint64, nullFrac float64) arrow.RecordBatch {
	r := rand.New(rand.NewPCG(seed, 7))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, f := range schema.Fields() {
		fb := b.Field(i)
		for range n {
			isNull := f.Nullable && r.Float64() < nullFrac
			switch f.Name {
			case "n_allnull":
				isNull = true
			case "n_nonull":
				isNull = false
			}
			if isNull {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.BooleanBuilder:
				fb.Append(r.IntN(2) == 0)
			case *array.Int8Builder:
				fb.Append(int8(r.Int32()))
			case *array.Uint8Builder:
				fb.Append(uint8(r.Uint32()))
			case *array.Int16Builder:
				fb.Append(int16(r.Int32()))
			case *array.Uint16Builder:
				fb.Append(uint16(r.Uint32()))
			case *array.Int32Builder:
				fb.Append(int32(r.Uint32()))
			case *array.Uint32Builder:
				fb.Append(r.Uint32())
			case *array.Int64Builder:
				fb.Append(int64(r.Uint64()))
			case *array.Uint64Builder:
				fb.Append(r.Uint64())
			case *array.Float32Builder:
				fb.Append(float32(r.NormFloat64()))
			case *array.Float64Builder:
				fb.Append(r.NormFloat64() * 1e6)
			case *array.Date32Builder:
				fb.Append(arrow.Date32(r.IntN(40000) - 10000))
			case *array.Time32Builder:
				fb.Append(arrow.Time32(r.IntN(86400000)))
			case *array.Time64Builder:
				fb.Append(arrow.Time64(r.Int64N(86400000000)))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(r.Int64N(1 << 50)))
			case *array.StringBuilder:
				if f.Name == "n_lowcard" {
					fb.Append(words[r.IntN(3)])
				} else {
					fb.Append(randString(r))
				}
			case *array.BinaryBuilder:
				v := []byte(randString(r))
				if len(v) > 0 && r.IntN(4) == 0 {
					v[0] = 0xff // not UTF-8
				}
				fb.Append(v)
			default:
				panic(fmt.Sprintf("no generator for %T", fb))
			}
		}
	}
	return b.NewRecordBatch()
}

// ---------------------------------------------------------------------------
// Writing.

func writePqarrow(t testing.TB, path string, recs []arrow.RecordBatch, props *pqa.WriterProperties, aprops pqarrow.ArrowWriterProperties) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	fw, err := pqarrow.NewFileWriter(recs[0].Schema(), bw, props, aprops)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// pgRow is the parquet-go test table: every supported type, plain,
// dictionary, delta and byte-stream-split encoded, required and optional.
type pgRow struct {
	B      bool       `parquet:"b"`
	NB     *bool      `parquet:"nb"`
	I8     int8       `parquet:"i8"`
	NI8    *int8      `parquet:"ni8"`
	U8     uint8      `parquet:"u8"`
	I16    int16      `parquet:"i16"`
	NU16   *uint16    `parquet:"nu16"`
	I32    int32      `parquet:"i32"`
	NI32   *int32     `parquet:"ni32,dict"`
	U32    uint32     `parquet:"u32"`
	I64    int64      `parquet:"i64"`
	NI64   int64      `parquet:"ni64,optional,delta"`
	I64D   int64      `parquet:"i64d,dict"`
	U64    uint64     `parquet:"u64"`
	F32    float32    `parquet:"f32,split"`
	NF32   *float32   `parquet:"nf32"`
	F64    float64    `parquet:"f64"`
	NF64   *float64   `parquet:"nf64,dict"`
	F64S   float64    `parquet:"f64s,split"`
	D      int32      `parquet:"d,date"`
	ND     *int32     `parquet:"nd,date"`
	TS     time.Time  `parquet:"ts,timestamp(millisecond)"`
	NTS    *time.Time `parquet:"nts,timestamp(microsecond)"`
	TSL    int64      `parquet:"tsl,timestamp(nanosecond:local)"`
	S      string     `parquet:"s"`
	NS     *string    `parquet:"ns"`
	SP     string     `parquet:"sp,plain"`
	SD     string     `parquet:"sd,dict"`
	NSD    *string    `parquet:"nsd,dict"`
	SDelta string     `parquet:"sdelta,delta"`
	Bin    []byte     `parquet:"bin"`
	NBin   []byte     `parquet:"nbin,optional"`
	BinD   []byte     `parquet:"bind,dict"`
}

func ptr[T any](v T, null bool) *T {
	if null {
		return nil
	}
	return &v
}

func genPgRows(n int, seed uint64) []pgRow {
	r := rand.New(rand.NewPCG(seed, 11))
	rows := make([]pgRow, n)
	null := func() bool { return r.IntN(5) == 0 }
	for i := range rows {
		var nbin []byte
		if !null() {
			nbin = []byte(randString(r))
			if nbin == nil {
				nbin = []byte{}
			}
		}
		rows[i] = pgRow{
			B: r.IntN(2) == 0, NB: ptr(r.IntN(2) == 0, null()),
			I8: int8(r.Int32()), NI8: ptr(int8(r.Int32()), null()),
			U8: uint8(r.Uint32()), I16: int16(r.Int32()), NU16: ptr(uint16(r.Uint32()), null()),
			I32: int32(r.Uint32()), NI32: ptr(int32(r.IntN(50)), null()), U32: r.Uint32(),
			I64: int64(r.Uint64()), NI64: int64(i)*3 + r.Int64N(5), I64D: r.Int64N(20), U64: r.Uint64(),
			F32: float32(r.NormFloat64()), NF32: ptr(float32(r.NormFloat64()), null()),
			F64: r.NormFloat64(), NF64: ptr(float64(r.IntN(10))/4, null()), F64S: r.NormFloat64(),
			D: int32(r.IntN(30000)), ND: ptr(int32(r.IntN(30000)), null()),
			TS:  time.UnixMilli(r.Int64N(1 << 42)).UTC(),
			NTS: ptr(time.UnixMicro(r.Int64N(1<<50)).UTC(), null()),
			TSL: r.Int64N(1 << 60),
			S:   randString(r), NS: ptr(randString(r), null()), SP: randString(r),
			SD: words[r.IntN(len(words))], NSD: ptr(words[r.IntN(3)], null()), SDelta: randString(r),
			Bin: []byte(randString(r)), NBin: nbin, BinD: []byte(words[r.IntN(4)]),
		}
	}
	return rows
}

func writeParquetGo(t testing.TB, path string, rows []pgRow, opts ...parquet.WriterOption) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[pgRow](f, opts...)
	for off := 0; off < len(rows); off += 1000 {
		if _, err := w.Write(rows[off:min(off+1000, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------
// Reading and comparing.

// readArrow reads with pqarrow (the reference), one array per column.
func readArrow(t testing.TB, path string, rowGroups []int, columns []string) (*arrow.Schema, []arrow.Array) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	full, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if columns == nil {
		for _, f := range full.Fields() {
			columns = append(columns, f.Name)
		}
	}
	var leaves []int
	for _, c := range columns {
		leaves = append(leaves, pf.MetaData().Schema.ColumnIndexByName(c))
	}
	slices.Sort(leaves)
	rr, err := fr.GetRecordReader(context.Background(), leaves, rowGroups)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var recs []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	// In the order of columns.
	fields := make([]arrow.Field, len(columns))
	arrs := make([]arrow.Array, len(columns))
	for j, c := range columns {
		i := rr.Schema().FieldIndices(c)[0]
		fields[j] = rr.Schema().Field(i)
		if full.Field(full.FieldIndices(c)[0]).Equal(fields[j]) == false {
			t.Fatalf("%s: pqarrow's record field %v differs from its schema's %v", c, fields[j], full.Field(full.FieldIndices(c)[0]))
		}
		var chunks []arrow.Array
		for _, rec := range recs {
			chunks = append(chunks, rec.Column(i))
		}
		arrs[j] = concat(t, fields[j].Type, chunks)
	}
	for _, rec := range recs {
		rec.Release()
	}
	return arrow.NewSchema(fields, nil), arrs
}

func concat(t testing.TB, dt arrow.DataType, chunks []arrow.Array) arrow.Array {
	if len(chunks) == 0 {
		return array.MakeArrayOfNull(memory.DefaultAllocator, dt, 0)
	}
	a, err := array.Concatenate(chunks, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// readFast reads with Read and checks the batches' shape.
func readFast(t testing.TB, path string, rowGroups []int, columns []string, batchRows int) (*arrow.Schema, []arrow.Array, int) {
	t.Helper()
	pf, fh, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if ok, why := Supported(pf, columns); !ok {
		t.Fatalf("Supported: %s", why)
	}
	sc, err := Schema(pf, columns)
	if err != nil {
		t.Fatal(err)
	}
	// Batches hold at most batchRows rows and never span row groups.
	var want []int64
	groups := rowGroups
	if groups == nil {
		for g := range pf.Metadata().RowGroups {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		n := pf.Metadata().RowGroups[g].NumRows
		for n > 0 {
			k := n
			if batchRows > 0 {
				k = min(n, int64(batchRows))
			}
			want = append(want, k)
			n -= k
		}
	}
	var recs []arrow.RecordBatch
	err = Read(context.Background(), path, rowGroups, columns, batchRows, func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(sc) {
			return fmt.Errorf("batch schema %v, Schema says %v", rec.Schema(), sc)
		}
		for i, c := range rec.Columns() {
			if c.Len() != int(rec.NumRows()) {
				return fmt.Errorf("column %d has %d rows, batch %d", i, c.Len(), rec.NumRows())
			}
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range recs {
		got = append(got, r.NumRows())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("batch lengths %v, want %v", got, want)
	}
	arrs := make([]arrow.Array, sc.NumFields())
	for i := range arrs {
		var chunks []arrow.Array
		for _, rec := range recs {
			chunks = append(chunks, rec.Column(i))
		}
		arrs[i] = concat(t, sc.Field(i).Type, chunks)
	}
	for _, rec := range recs {
		rec.Release()
	}
	return sc, arrs, len(recs)
}

// compare reads path both ways and checks schema and values are equal.
func compare(t *testing.T, path string, rowGroups []int, columns []string, batchRows int) {
	t.Helper()
	wantSc, want := readArrow(t, path, rowGroups, columns)
	gotSc, got, _ := readFast(t, path, rowGroups, columns, batchRows)
	if !gotSc.Equal(wantSc) {
		t.Fatalf("schema:\n got %v\nwant %v", gotSc, wantSc)
	}
	for i := range want {
		name := wantSc.Field(i).Name
		if want[i].Len() != got[i].Len() || want[i].NullN() != got[i].NullN() {
			t.Fatalf("%s: %d rows %d nulls, want %d rows %d nulls", name, got[i].Len(), got[i].NullN(), want[i].Len(), want[i].NullN())
		}
		if !array.Equal(want[i], got[i]) {
			for j := range want[i].Len() {
				if want[i].IsNull(j) != got[i].IsNull(j) || want[i].ValueStr(j) != got[i].ValueStr(j) {
					t.Fatalf("%s: row %d: got %s, want %s", name, j, got[i].ValueStr(j), want[i].ValueStr(j))
				}
			}
			t.Fatalf("%s: arrays differ", name)
		}
		if err := checkLayout(got[i]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// checkLayout checks the binary offsets of an array.
func checkLayout(a arrow.Array) error {
	if b, ok := a.(array.BinaryLike); ok {
		offs := a.Data().Buffers()[1]
		if offs == nil && a.Len() > 0 {
			return errors.New("no offsets")
		}
		prev := int64(-1)
		for i := range a.Len() + 1 {
			o := int64(arrow.Int32Traits.CastFromBytes(offs.Bytes())[a.Data().Offset()+i])
			if o < prev {
				return fmt.Errorf("offset %d decreases", i)
			}
			prev = o
		}
		if prev > int64(b.ValueLen(0))+int64(len(a.Data().Buffers()[2].Bytes())) {
			return errors.New("offsets beyond data")
		}
	}
	return nil
}

func fieldNames(sc *arrow.Schema) []string {
	var out []string
	for _, f := range sc.Fields() {
		out = append(out, f.Name)
	}
	return out
}

// ---------------------------------------------------------------------------
// Tests.

const testRows = 10_007

// pqarrowVariants are the writer settings the pqarrow files are written with.
var pqarrowVariants = []struct {
	name   string
	props  []pqa.WriterProperty
	aprops pqarrow.ArrowWriterProperties
}{
	{"dict-snappy-v1-smallpages", []pqa.WriterProperty{
		pqa.WithCompression(compress.Codecs.Snappy), pqa.WithDataPageSize(2 << 10),
		pqa.WithDictionaryPageSizeLimit(4 << 10), // falls back to PLAIN mid-chunk
		pqa.WithDataPageVersion(pqa.DataPageV1),
	}, pqarrow.DefaultWriterProps()},
	{"plain-zstd-v2-delta", []pqa.WriterProperty{
		pqa.WithCompression(compress.Codecs.Zstd), pqa.WithDictionaryDefault(false),
		pqa.WithDataPageVersion(pqa.DataPageV2),
		pqa.WithEncodingFor("r_s", pqa.Encodings.DeltaLengthByteArray),
		pqa.WithEncodingFor("n_s", pqa.Encodings.DeltaLengthByteArray),
		pqa.WithEncodingFor("r_bin", pqa.Encodings.DeltaByteArray),
		pqa.WithEncodingFor("n_bin", pqa.Encodings.DeltaByteArray),
		pqa.WithEncodingFor("r_i64", pqa.Encodings.DeltaBinaryPacked),
		pqa.WithEncodingFor("n_i32", pqa.Encodings.DeltaBinaryPacked),
		pqa.WithEncodingFor("r_f64", pqa.Encodings.ByteStreamSplit),
		pqa.WithEncodingFor("n_f32", pqa.Encodings.ByteStreamSplit),
	}, pqarrow.DefaultWriterProps()},
	{"dict-uncompressed-storeschema", []pqa.WriterProperty{
		pqa.WithCompression(compress.Codecs.Uncompressed),
	}, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())},
	{"goray-like", []pqa.WriterProperty{
		pqa.WithCompression(compress.Codecs.Snappy), pqa.WithStats(true), pqa.WithDictionaryDefault(false),
		pqa.WithDictionaryFor("n_lowcard", true),
	}, pqarrow.DefaultWriterProps()},
}

func TestPqarrowFiles(t *testing.T) {
	dir := t.TempDir()
	sc := testSchema()
	// Several row groups: 3000-row groups, the last one short; the
	// records are written in two pieces.
	recs := []arrow.RecordBatch{genRecord(sc, 6000, 1, 0.2), genRecord(sc, testRows-6000, 2, 0.2)}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for _, v := range pqarrowVariants {
		t.Run(v.name, func(t *testing.T) {
			path := filepath.Join(dir, v.name+".parquet")
			props := append([]pqa.WriterProperty{pqa.WithMaxRowGroupLength(3000)}, v.props...)
			writePqarrow(t, path, recs, pqa.NewWriterProperties(props...), v.aprops)
			names := fieldNames(sc)
			rev := slices.Clone(names)
			slices.Reverse(rev)
			for _, tc := range []struct {
				name      string
				rowGroups []int
				columns   []string
				batch     int
			}{
				{"all", nil, nil, 1000},
				{"all-batch-rowgroup", nil, nil, 0},
				{"all-batch-odd", nil, nil, 777},
				{"reversed-subset-groups", []int{3, 1}, rev, 4096},
				{"one-float", nil, []string{"n_f64"}, 1 << 17},
				{"one-string", []int{2}, []string{"r_s"}, 100},
				{"strings", nil, []string{"n_s", "r_bin", "n_lowcard", "n_allnull"}, 1000},
			} {
				t.Run(tc.name, func(t *testing.T) { compare(t, path, tc.rowGroups, tc.columns, tc.batch) })
			}
		})
	}
}

func TestParquetGoFiles(t *testing.T) {
	dir := t.TempDir()
	rows := genPgRows(testRows, 3)
	for _, v := range []struct {
		name string
		opts []parquet.WriterOption
	}{
		{"snappy-v2", []parquet.WriterOption{parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(3000)}},
		{"zstd-v1-smallpages", []parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(4000),
			parquet.DataPageVersion(1), parquet.PageBufferSize(2 << 10)}},
		{"uncompressed-one-group", []parquet.WriterOption{parquet.Compression(&parquet.Uncompressed)}},
	} {
		t.Run(v.name, func(t *testing.T) {
			path := filepath.Join(dir, v.name+".parquet")
			writeParquetGo(t, path, rows, v.opts...)
			compare(t, path, nil, nil, 1000)
			compare(t, path, nil, nil, 0)
			compare(t, path, []int{0}, []string{"nsd", "f64", "ns", "nb"}, 333)
		})
	}
}

// TestUnsupported checks that columns Read cannot read are refused with a
// reason, and that the others of the same file still are supported.
func TestUnsupported(t *testing.T) {
	dir := t.TempDir()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "ok", Type: arrow.PrimitiveTypes.Int64},
		{Name: "list", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "struct", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int32}), Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
		{Name: "fsb", Type: &arrow.FixedSizeBinaryType{ByteWidth: 4}},
		{Name: "f16", Type: arrow.FixedWidthTypes.Float16},
		{Name: "large", Type: arrow.BinaryTypes.LargeString},
		{Name: "dict", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "ts96", Type: arrow.FixedWidthTypes.Timestamp_ns},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int32Builder).Append(5)
	stb := b.Field(2).(*array.StructBuilder)
	stb.Append(true)
	stb.FieldBuilder(0).(*array.Int32Builder).Append(3)
	b.Field(3).(*array.Decimal128Builder).Append(decimal128.FromI64(12345))
	b.Field(4).(*array.FixedSizeBinaryBuilder).Append([]byte("abcd"))
	b.Field(5).AppendEmptyValue()
	b.Field(6).(*array.LargeStringBuilder).Append("x")
	b.Field(7).(*array.BinaryDictionaryBuilder).AppendString("y")
	b.Field(8).(*array.TimestampBuilder).Append(7)
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(dir, "unsupported.parquet")
	writePqarrow(t, path, []arrow.RecordBatch{rec}, pqa.NewWriterProperties(),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithDeprecatedInt96Timestamps(true)))

	pf, fh, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if ok, why := Supported(pf, []string{"ok"}); !ok {
		t.Fatalf("ok: %s", why)
	}
	for _, c := range []string{"list", "struct", "dec", "fsb", "f16", "large", "dict", "ts96", "nosuch"} {
		ok, why := Supported(pf, []string{"ok", c})
		if ok || !strings.Contains(why, c) {
			t.Errorf("%s: Supported = %v, %q", c, ok, why)
		} else {
			t.Logf("%s: %s", c, why)
		}
	}
	if ok, _ := Supported(pf, nil); ok {
		t.Error("Supported(nil) = true")
	}
	if ok, _ := Supported(pf, []string{"ok", "ok"}); ok {
		t.Error("duplicate column accepted")
	}
	err = Read(context.Background(), path, nil, []string{"list"}, 0, func(rec arrow.RecordBatch) error { rec.Release(); return nil })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "list") {
		t.Errorf("Read(list) error = %v", err)
	}
	compare(t, path, nil, []string{"ok"}, 0)
}

func TestEmptyColumnsAndGroups(t *testing.T) {
	dir := t.TempDir()
	sc := testSchema()
	rec := genRecord(sc, 2500, 5, 0.3)
	defer rec.Release()
	path := filepath.Join(dir, "t.parquet")
	writePqarrow(t, path, []arrow.RecordBatch{rec}, pqa.NewWriterProperties(pqa.WithMaxRowGroupLength(1000)), pqarrow.DefaultWriterProps())
	// No columns: batches of the right lengths and no columns.
	var rows []int64
	err := Read(context.Background(), path, []int{2, 0}, []string{}, 600, func(rec arrow.RecordBatch) error {
		defer rec.Release()
		if rec.NumCols() != 0 {
			return fmt.Errorf("%d columns", rec.NumCols())
		}
		rows = append(rows, rec.NumRows())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows, []int64{500, 600, 400}) {
		t.Fatalf("rows %v", rows)
	}
	// Empty row group list: nothing.
	n := 0
	if err := Read(context.Background(), path, []int{}, nil, 0, func(rec arrow.RecordBatch) error { n++; rec.Release(); return nil }); err != nil || n != 0 {
		t.Fatalf("no row groups: %d batches, %v", n, err)
	}
	if err := Read(context.Background(), path, []int{3}, nil, 0, func(rec arrow.RecordBatch) error { rec.Release(); return nil }); err == nil ||
		!strings.Contains(err.Error(), "row group 3") {
		t.Fatalf("row group out of range: %v", err)
	}
}

func TestCancelAndEmitError(t *testing.T) {
	dir := t.TempDir()
	sc := testSchema()
	rec := genRecord(sc, 20000, 9, 0.1)
	defer rec.Release()
	path := filepath.Join(dir, "t.parquet")
	writePqarrow(t, path, []arrow.RecordBatch{rec}, pqa.NewWriterProperties(pqa.WithMaxRowGroupLength(5000)), pqarrow.DefaultWriterProps())

	// All columns: a goroutine per column; one column: a goroutine per
	// (row group, column), several row groups ahead.
	for _, columns := range [][]string{nil, {"n_s"}} {
		t.Run(fmt.Sprint(len(columns)), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := Read(ctx, path, nil, columns, 100, func(rec arrow.RecordBatch) error { rec.Release(); return nil }); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled before: %v", err)
			}
			ctx, cancel = context.WithCancel(context.Background())
			defer cancel()
			n := 0
			err := Read(ctx, path, nil, columns, 100, func(rec arrow.RecordBatch) error {
				rec.Release()
				n++
				if n == 3 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled during: %v (after %d batches)", err, n)
			}
			if n > 5 {
				t.Errorf("%d batches after cancel", n)
			}
			errStop := errors.New("stop")
			for _, at := range []int{2, 50, 51, 150} {
				n = 0
				err = Read(context.Background(), path, nil, columns, 100, func(rec arrow.RecordBatch) error {
					rec.Release()
					n++
					if n == at {
						return errStop
					}
					return nil
				})
				if err != errStop || n != at {
					t.Fatalf("emit error: %v after %d batches, want after %d", err, n, at)
				}
			}
		})
	}
}

// TestProcs reads with one and with many procs: the two ways of splitting
// the work (per column, per row group and column).
func TestProcs(t *testing.T) {
	dir := t.TempDir()
	sc := testSchema()
	rec := genRecord(sc, 7000, 12, 0.25)
	defer rec.Release()
	path := filepath.Join(dir, "t.parquet")
	writePqarrow(t, path, []arrow.RecordBatch{rec}, pqa.NewWriterProperties(pqa.WithMaxRowGroupLength(1000),
		pqa.WithDataPageSize(1<<10)), pqarrow.DefaultWriterProps())
	for _, procs := range []int{1, 3, 16} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			compare(t, path, nil, nil, 300)
			compare(t, path, []int{6, 2, 4, 0}, []string{"n_s"}, 300)
			compare(t, path, nil, []string{"r_f64", "n_b"}, 0)
			compare(t, path, nil, []string{"n_u16", "r_s", "n_ts_ns_ny", "n_i8"}, 512)
		})
	}
}

// TestCorruptPage checks that a damaged page gives an error naming the file
// and the column (and not a crash).
func TestCorruptPage(t *testing.T) {
	dir := t.TempDir()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64},
		{Name: "victim", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rec := genRecord(sc, 5000, 4, 0.1)
	defer rec.Release()
	path := filepath.Join(dir, "t.parquet")
	writePqarrow(t, path, []arrow.RecordBatch{rec}, pqa.NewWriterProperties(pqa.WithCompression(compress.Codecs.Snappy),
		pqa.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	pf, fh, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cm := pf.Metadata().RowGroups[0].Columns[1].MetaData
	fh.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the middle of the chunk (past the first page header).
	start := cm.DataPageOffset + 40
	end := cm.DataPageOffset + cm.TotalCompressedSize - 8
	for i := start; i < end; i++ {
		data[i] = byte(i * 7)
	}
	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = Read(context.Background(), bad, nil, nil, 0, func(rec arrow.RecordBatch) error { rec.Release(); return nil })
	if err == nil {
		t.Fatal("no error for a corrupt page")
	}
	if !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `"victim"`) {
		t.Fatalf("error does not name file and column: %v", err)
	}
	t.Log(err)
	// A file that is not Parquet.
	if err := os.WriteFile(bad, []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Read(context.Background(), bad, nil, nil, 0, func(rec arrow.RecordBatch) error { rec.Release(); return nil })
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("not parquet: %v", err)
	}
}
