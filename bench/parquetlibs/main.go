// Command parquetlibs compares two Go Parquet libraries, arrow-go's pqarrow
// (github.com/apache/arrow-go/v18/parquet/pqarrow) and
// github.com/parquet-go/parquet-go, on this machine.
//
// Tables: the lab's table (4.5M rows x 2 random float64) and a TPC-H-like
// lineitem table (2M rows, 12 columns incl. strings and a DATE), the latter
// twice: with l_comment PLAIN (arrow-go's default) and DELTA_LENGTH_BYTE_ARRAY
// (parquet-go's default), written so by both libraries. Both writers use
// Snappy, the same row-group length, dictionary encoding only for l_returnflag
// and l_linestatus, PLAIN elsewhere.
//
// Ops: write (from columnar memory), read of all columns into columnar
// memory (Arrow arrays for pqarrow; typed Go slices in Arrow layout for
// parquet-go, plus the cost of wrapping those as Arrow arrays), and
// one-column projection reads. On the lab table it also times two slower
// idioms for reference: arrow-go's default writer properties (dictionary on
// every column) and parquet-go's row-oriented GenericReader[T]. Each op runs
// once as warm-up and then -runs timed times, interleaved round-robin between
// the libraries; median, best and CPU time are printed. Files written by
// each library are read back by both and compared with the source data.
//
// Usage:
//
//	go run ./bench/parquetlibs -dir /tmp/pqbench
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

var (
	flagDir     = flag.String("dir", filepath.Join(os.TempDir(), "pqbench"), "directory for the temporary Parquet files (removed at the end unless -keep)")
	flagRuns    = flag.Int("runs", 5, "timed runs per measurement (after one warm-up)")
	flagLabRows = flag.Int("lab-rows", 4_500_000, "rows of the lab table")
	flagLIRows  = flag.Int("lineitem-rows", 2_000_000, "rows of the lineitem table")
	flagRGRows  = flag.Int64("rowgroup", 1<<20, "max rows per row group (both libraries)")
	flagKeep    = flag.Bool("keep", false, "keep the Parquet files")
)

const (
	libArrow = "pqarrow"
	libPG    = "parquet-go"
)

// ---------------------------------------------------------------------------
// Columnar in-memory data (plain Go slices, Arrow-compatible layout).

// kind is the physical type of a column.
type kind int

const (
	kInt32 kind = iota // int32 (also date32 days)
	kInt64
	kFloat64
	kString
)

// strCol is a string column in Arrow layout: offsets has n+1 entries.
type strCol struct {
	data    []byte
	offsets []int32
}

func (s *strCol) get(i int) []byte { return s.data[s.offsets[i]:s.offsets[i+1]] }
func (s *strCol) len() int         { return len(s.offsets) - 1 }

// column holds one column; exactly one of the slices is set according to k.
type column struct {
	name string
	k    kind
	i32  []int32
	i64  []int64
	f64  []float64
	str  *strCol
	date bool // i32 holds days since epoch (Parquet DATE / Arrow date32)
}

func (c *column) len() int {
	switch c.k {
	case kInt32:
		return len(c.i32)
	case kInt64:
		return len(c.i64)
	case kFloat64:
		return len(c.f64)
	default:
		return c.str.len()
	}
}

// bytes is the in-memory size of the column's values (strings: bytes +
// 4-byte offsets); it is the basis of the MB/s column.
func (c *column) bytes() int64 {
	switch c.k {
	case kInt32:
		return 4 * int64(len(c.i32))
	case kInt64:
		return 8 * int64(len(c.i64))
	case kFloat64:
		return 8 * int64(len(c.f64))
	default:
		return int64(len(c.str.data)) + 4*int64(len(c.str.offsets))
	}
}

// table is a named set of equal-length columns.
type table struct {
	name    string // label in the report
	schema  string // "lab" or "lineitem"
	dlba    bool   // l_comment written DELTA_LENGTH_BYTE_ARRAY by both libraries (else PLAIN)
	cols    []*column
	projCol string // column used for the projection read
}

func (t *table) rows() int { return t.cols[0].len() }

func (t *table) col(name string) *column {
	for _, c := range t.cols {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (t *table) bytes(names ...string) int64 {
	var n int64
	for _, c := range t.cols {
		if len(names) == 0 || slices.Contains(names, c.name) {
			n += c.bytes()
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Data generation.

func genLab(n int) *table {
	r := rand.New(rand.NewPCG(1, 2))
	c1 := make([]float64, n)
	c2 := make([]float64, n)
	for i := range n {
		c1[i] = r.Float64()
		c2[i] = r.NormFloat64()
	}
	return &table{
		name:   "lab",
		schema: "lab",
		cols: []*column{
			{name: "col1", k: kFloat64, f64: c1},
			{name: "col2", k: kFloat64, f64: c2},
		},
		projCol: "col1",
	}
}

func genLineitem(n int) *table {
	r := rand.New(rand.NewPCG(3, 4))
	var (
		orderkey   = make([]int64, n)
		partkey    = make([]int64, n)
		suppkey    = make([]int64, n)
		linenumber = make([]int32, n)
		quantity   = make([]float64, n)
		extprice   = make([]float64, n)
		discount   = make([]float64, n)
		tax        = make([]float64, n)
		retflag    = &strCol{data: make([]byte, 0, n), offsets: make([]int32, 1, n+1)}
		linestatus = &strCol{data: make([]byte, 0, n), offsets: make([]int32, 1, n+1)}
		shipdate   = make([]int32, n)
		comment    = &strCol{data: make([]byte, 0, n*25), offsets: make([]int32, 1, n+1)}
	)
	const alphabet = "abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz ,.-"
	ok, line, lines := int64(1), int32(0), int32(0)
	for i := range n {
		if line == lines { // new order with 1..7 lines
			ok += 1 + int64(r.IntN(4))
			line, lines = 0, 1+int32(r.IntN(7))
		}
		line++
		orderkey[i] = ok
		linenumber[i] = line
		partkey[i] = 1 + r.Int64N(200_000)
		suppkey[i] = 1 + r.Int64N(10_000)
		q := float64(1 + r.IntN(50))
		quantity[i] = q
		extprice[i] = math.Round(q*(900+r.Float64()*1100)*100) / 100
		discount[i] = float64(r.IntN(11)) / 100
		tax[i] = float64(r.IntN(9)) / 100
		retflag.data = append(retflag.data, "RAN"[r.IntN(3)])
		retflag.offsets = append(retflag.offsets, int32(len(retflag.data)))
		linestatus.data = append(linestatus.data, "OF"[r.IntN(2)])
		linestatus.offsets = append(linestatus.offsets, int32(len(linestatus.data)))
		shipdate[i] = 8036 + int32(r.IntN(2526)) // 1992-01-02 .. 1998-12-01
		for range 10 + r.IntN(31) {
			comment.data = append(comment.data, alphabet[r.IntN(len(alphabet))])
		}
		comment.offsets = append(comment.offsets, int32(len(comment.data)))
	}
	return &table{
		name:   "lineitem",
		schema: "lineitem",
		cols: []*column{
			{name: "l_orderkey", k: kInt64, i64: orderkey},
			{name: "l_partkey", k: kInt64, i64: partkey},
			{name: "l_suppkey", k: kInt64, i64: suppkey},
			{name: "l_linenumber", k: kInt32, i32: linenumber},
			{name: "l_quantity", k: kFloat64, f64: quantity},
			{name: "l_extendedprice", k: kFloat64, f64: extprice},
			{name: "l_discount", k: kFloat64, f64: discount},
			{name: "l_tax", k: kFloat64, f64: tax},
			{name: "l_returnflag", k: kString, str: retflag},
			{name: "l_linestatus", k: kString, str: linestatus},
			{name: "l_shipdate", k: kInt32, i32: shipdate, date: true},
			{name: "l_comment", k: kString, str: comment},
		},
		projCol: "l_extendedprice",
	}
}

// dictColumns are the low-cardinality columns that both writers
// dictionary-encode; all other columns are written PLAIN by both.
var dictColumns = []string{"l_returnflag", "l_linestatus"}

// ---------------------------------------------------------------------------
// Zero-copy Go slices <-> Arrow arrays.

func sliceBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}

func arrowType(c *column) arrow.DataType {
	switch c.k {
	case kInt32:
		if c.date {
			return arrow.FixedWidthTypes.Date32
		}
		return arrow.PrimitiveTypes.Int32
	case kInt64:
		return arrow.PrimitiveTypes.Int64
	case kFloat64:
		return arrow.PrimitiveTypes.Float64
	default:
		return arrow.BinaryTypes.String
	}
}

// toArrow wraps the column's Go memory as an Arrow array without copying.
func toArrow(c *column) arrow.Array {
	var bufs []*memory.Buffer
	switch c.k {
	case kInt32:
		bufs = []*memory.Buffer{nil, memory.NewBufferBytes(sliceBytes(c.i32))}
	case kInt64:
		bufs = []*memory.Buffer{nil, memory.NewBufferBytes(sliceBytes(c.i64))}
	case kFloat64:
		bufs = []*memory.Buffer{nil, memory.NewBufferBytes(sliceBytes(c.f64))}
	default:
		bufs = []*memory.Buffer{nil, memory.NewBufferBytes(sliceBytes(c.str.offsets)), memory.NewBufferBytes(c.str.data)}
	}
	d := array.NewData(arrowType(c), c.len(), bufs, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

func arrowSchema(t *table) *arrow.Schema {
	fields := make([]arrow.Field, len(t.cols))
	for i, c := range t.cols {
		fields[i] = arrow.Field{Name: c.name, Type: arrowType(c)} // non-nullable = REQUIRED
	}
	return arrow.NewSchema(fields, nil)
}

func toArrowRecord(t *table) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(t.cols))
	for i, c := range t.cols {
		arrs[i] = toArrow(c)
	}
	rec := array.NewRecordBatch(arrowSchema(t), arrs, int64(t.rows()))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// ---------------------------------------------------------------------------
// pqarrow.

func arrowWriterProps(t *table) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(*flagRGRows),
		parquet.WithDictionaryDefault(false),
	}
	for _, c := range t.cols {
		if slices.Contains(dictColumns, c.name) {
			opts = append(opts, parquet.WithDictionaryFor(c.name, true))
		}
	}
	if t.dlba {
		opts = append(opts, parquet.WithEncodingFor("l_comment", parquet.Encodings.DeltaLengthByteArray))
	}
	return parquet.NewWriterProperties(opts...)
}

func arrowWrite(path string, rec arrow.RecordBatch, props *parquet.WriterProperties) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	fw, err := pqarrow.NewFileWriter(rec.Schema(), bw, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return err
	}
	if err := fw.Write(rec); err != nil {
		f.Close()
		return err
	}
	if err := fw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// arrowRead reads the named columns (all if names is nil) with a
// RecordReader into retained record batches.
func arrowRead(path string, names []string) ([]arrow.RecordBatch, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	var idx []int
	if names != nil {
		sc := pf.MetaData().Schema
		for _, n := range names {
			i := sc.ColumnIndexByName(n)
			if i < 0 {
				return nil, fmt.Errorf("column %s not found", n)
			}
			idx = append(idx, i)
		}
	}
	rr, err := fr.GetRecordReader(context.Background(), idx, nil)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var recs []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		releaseAll(recs)
		return nil, err
	}
	return recs, nil
}

// arrowReadTable reads the named columns (all if names is nil) with
// FileReader.ReadTable / ReadRowGroups (one chunk per row group).
func arrowReadTable(path string, names []string) (arrow.Table, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	if names == nil {
		return fr.ReadTable(context.Background())
	}
	var idx []int
	sc := pf.MetaData().Schema
	for _, n := range names {
		idx = append(idx, sc.ColumnIndexByName(n))
	}
	return fr.ReadRowGroups(context.Background(), idx, nil)
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// ---------------------------------------------------------------------------
// parquet-go.

type labRow struct {
	Col1 float64 `parquet:"col1"`
	Col2 float64 `parquet:"col2"`
}

type lineitemRow struct {
	OrderKey      int64   `parquet:"l_orderkey"`
	PartKey       int64   `parquet:"l_partkey"`
	SuppKey       int64   `parquet:"l_suppkey"`
	LineNumber    int32   `parquet:"l_linenumber"`
	Quantity      float64 `parquet:"l_quantity"`
	ExtendedPrice float64 `parquet:"l_extendedprice"`
	Discount      float64 `parquet:"l_discount"`
	Tax           float64 `parquet:"l_tax"`
	ReturnFlag    string  `parquet:"l_returnflag,dict"`
	LineStatus    string  `parquet:"l_linestatus,dict"`
	ShipDate      int32   `parquet:"l_shipdate,date"`
	Comment       string  `parquet:"l_comment,plain"`
}

// lineitemRowDLBA is lineitemRow with parquet-go's default encoding for the
// string l_comment, DELTA_LENGTH_BYTE_ARRAY.
type lineitemRowDLBA struct {
	OrderKey      int64   `parquet:"l_orderkey"`
	PartKey       int64   `parquet:"l_partkey"`
	SuppKey       int64   `parquet:"l_suppkey"`
	LineNumber    int32   `parquet:"l_linenumber"`
	Quantity      float64 `parquet:"l_quantity"`
	ExtendedPrice float64 `parquet:"l_extendedprice"`
	Discount      float64 `parquet:"l_discount"`
	Tax           float64 `parquet:"l_tax"`
	ReturnFlag    string  `parquet:"l_returnflag,dict"`
	LineStatus    string  `parquet:"l_linestatus,dict"`
	ShipDate      int32   `parquet:"l_shipdate,date"`
	Comment       string  `parquet:"l_comment"`
}

// lineitemAt builds row j; strings alias the column memory (no copy).
func lineitemAt(c []*column, j int) lineitemRow {
	return lineitemRow{
		OrderKey:      c[0].i64[j],
		PartKey:       c[1].i64[j],
		SuppKey:       c[2].i64[j],
		LineNumber:    c[3].i32[j],
		Quantity:      c[4].f64[j],
		ExtendedPrice: c[5].f64[j],
		Discount:      c[6].f64[j],
		Tax:           c[7].f64[j],
		ReturnFlag:    unsafeString(c[8].str.get(j)),
		LineStatus:    unsafeString(c[9].str.get(j)),
		ShipDate:      c[10].i32[j],
		Comment:       unsafeString(c[11].str.get(j)),
	}
}

func pgWriterOptions() []pq.WriterOption {
	return []pq.WriterOption{
		pq.Compression(&pq.Snappy),
		pq.MaxRowsPerRowGroup(*flagRGRows),
		pq.PageBufferSize(1 << 20), // same target page size as arrow-go's default
	}
}

const (
	pgChunk   = 16 << 10  // rows transposed per GenericWriter.Write / GenericReader.Read call
	pgReadBuf = 256 << 10 // parquet-go ReadBufferSize (4 KiB..1 MiB measured within noise)
)

// pgWrite writes the columnar table with GenericWriter[T]: the columns are
// transposed chunk by chunk into a reused []T (that cost is included).
func pgWrite(path string, t *table) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	c := t.cols
	switch {
	case t.schema == "lab":
		err = pgWriteRows(bw, t.rows(), func(buf []labRow, off int) {
			c1, c2 := c[0].f64[off:], c[1].f64[off:]
			for i := range buf {
				buf[i] = labRow{c1[i], c2[i]}
			}
		})
	case t.dlba:
		err = pgWriteRows(bw, t.rows(), func(buf []lineitemRowDLBA, off int) {
			for i := range buf {
				buf[i] = lineitemRowDLBA(lineitemAt(c, off+i))
			}
		})
	default:
		err = pgWriteRows(bw, t.rows(), func(buf []lineitemRow, off int) {
			for i := range buf {
				buf[i] = lineitemAt(c, off+i)
			}
		})
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func pgWriteRows[T any](w io.Writer, n int, fill func(buf []T, off int)) error {
	pw := pq.NewGenericWriter[T](w, pgWriterOptions()...)
	buf := make([]T, pgChunk)
	for off := 0; off < n; off += pgChunk {
		b := buf[:min(pgChunk, n-off)]
		fill(b, off)
		if _, err := pw.Write(b); err != nil {
			return err
		}
	}
	return pw.Close()
}

// pgRead reads the named columns (all if names is nil) page by page into typed
// Go slices, one goroutine per column, at most GOMAXPROCS at a time.
func pgRead(path string, names []string, bufSize int) ([]*column, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := pq.OpenFile(f, st.Size(), pq.SkipPageIndex(true), pq.SkipBloomFilters(true), pq.ReadBufferSize(bufSize))
	if err != nil {
		return nil, err
	}
	leaves := pf.Schema().Columns()
	var want []int
	for i, p := range leaves {
		if names == nil || slices.Contains(names, p[0]) {
			want = append(want, i)
		}
	}
	out := make([]*column, len(want))
	errs := make([]error, len(want))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for j, ci := range want {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[j], errs[j] = pgReadColumn(pf, ci, leaves[ci][0])
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func pgReadColumn(pf *pq.File, ci int, name string) (*column, error) {
	n := int(pf.NumRows())
	leaf, _ := pf.Schema().Lookup(name)
	c := &column{name: name}
	switch leaf.Node.Type().Kind() {
	case pq.Int32:
		c.k = kInt32
		c.i32 = make([]int32, 0, n)
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			_, c.date = lt.Value.(*format.DateType)
		}
	case pq.Int64:
		c.k = kInt64
		c.i64 = make([]int64, 0, n)
	case pq.Double:
		c.k = kFloat64
		c.f64 = make([]float64, 0, n)
	case pq.ByteArray:
		// Reserve the chunks' uncompressed size: an upper bound of the
		// string bytes for PLAIN and DELTA_LENGTH_BYTE_ARRAY pages.
		var size int64
		for _, rg := range pf.Metadata().RowGroups {
			size += rg.Columns[ci].MetaData.TotalUncompressedSize
		}
		c.k = kString
		c.str = &strCol{data: make([]byte, 0, size), offsets: make([]int32, 1, n+1)}
	default:
		return nil, fmt.Errorf("column %s: unsupported type %v", name, leaf.Node.Type())
	}
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[ci].Pages()
		err := pgReadPages(pages, c)
		pages.Close()
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", name, err)
		}
	}
	return c, nil
}

func pgReadPages(pages pq.Pages, c *column) error {
	var (
		dict     pq.Dictionary
		dictVals encoding.Values
	)
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if p.NumNulls() != 0 {
			pq.Release(p)
			return errors.New("nulls are not handled")
		}
		v := p.Data()
		if d := p.Dictionary(); d != nil { // RLE_DICTIONARY page: v holds int32 indexes
			if d != dict {
				dict, dictVals = d, d.Page().Data()
			}
			idx := v.Int32()
			switch c.k {
			case kInt32:
				c.i32 = appendIndexed(c.i32, dictVals.Int32(), idx)
			case kInt64:
				c.i64 = appendIndexed(c.i64, dictVals.Int64(), idx)
			case kFloat64:
				c.f64 = appendIndexed(c.f64, dictVals.Double(), idx)
			case kString:
				data, offs := dictVals.ByteArray()
				s := c.str
				for _, k := range idx {
					s.data = append(s.data, data[offs[k]:offs[k+1]]...)
					s.offsets = append(s.offsets, int32(len(s.data)))
				}
			}
		} else {
			switch c.k {
			case kInt32:
				c.i32 = append(c.i32, v.Int32()...)
			case kInt64:
				c.i64 = append(c.i64, v.Int64()...)
			case kFloat64:
				c.f64 = append(c.f64, v.Double()...)
			case kString:
				data, offs := v.ByteArray()
				s := c.str
				base := int32(len(s.data)) - int32(offs[0])
				s.data = append(s.data, data[offs[0]:offs[len(offs)-1]]...)
				for _, o := range offs[1:] {
					s.offsets = append(s.offsets, int32(o)+base)
				}
			}
		}
		pq.Release(p)
	}
}

func appendIndexed[T any](dst, dict []T, idx []int32) []T {
	for _, k := range idx {
		dst = append(dst, dict[k])
	}
	return dst
}

// pgReadRows is the row-oriented alternative: GenericReader[T].Read into a
// reused []T chunk, transposed into Go column slices.
func pgReadRows(path string, t *table) ([]*column, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := t.rows()
	out := make([]*column, len(t.cols))
	for i, c := range t.cols {
		out[i] = &column{name: c.name, k: c.k, date: c.date}
		switch c.k {
		case kInt32:
			out[i].i32 = make([]int32, 0, n)
		case kInt64:
			out[i].i64 = make([]int64, 0, n)
		case kFloat64:
			out[i].f64 = make([]float64, 0, n)
		default:
			out[i].str = &strCol{offsets: make([]int32, 1, n+1)}
		}
	}
	appendStr := func(s *strCol, v string) {
		s.data = append(s.data, v...)
		s.offsets = append(s.offsets, int32(len(s.data)))
	}
	switch t.schema {
	case "lab":
		err = pgReadRowsT(f, func(rows []labRow) {
			for _, r := range rows {
				out[0].f64 = append(out[0].f64, r.Col1)
				out[1].f64 = append(out[1].f64, r.Col2)
			}
		})
	default:
		err = pgReadRowsT(f, func(rows []lineitemRow) {
			for _, r := range rows {
				out[0].i64 = append(out[0].i64, r.OrderKey)
				out[1].i64 = append(out[1].i64, r.PartKey)
				out[2].i64 = append(out[2].i64, r.SuppKey)
				out[3].i32 = append(out[3].i32, r.LineNumber)
				out[4].f64 = append(out[4].f64, r.Quantity)
				out[5].f64 = append(out[5].f64, r.ExtendedPrice)
				out[6].f64 = append(out[6].f64, r.Discount)
				out[7].f64 = append(out[7].f64, r.Tax)
				appendStr(out[8].str, r.ReturnFlag)
				appendStr(out[9].str, r.LineStatus)
				out[10].i32 = append(out[10].i32, r.ShipDate)
				appendStr(out[11].str, r.Comment)
			}
		})
	}
	return out, err
}

func pgReadRowsT[T any](f *os.File, sink func([]T)) error {
	r := pq.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, pgChunk)
	for {
		n, err := r.Read(buf)
		sink(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ---------------------------------------------------------------------------
// Verification.

func equalColumn(want, got *column) error {
	if want.k != got.k || want.len() != got.len() || want.date != got.date {
		return fmt.Errorf("%s: kind/len/date mismatch (%d/%d/%v vs %d/%d/%v)", want.name, want.k, want.len(), want.date, got.k, got.len(), got.date)
	}
	switch want.k {
	case kInt32:
		if !slices.Equal(want.i32, got.i32) {
			return fmt.Errorf("%s: values differ", want.name)
		}
	case kInt64:
		if !slices.Equal(want.i64, got.i64) {
			return fmt.Errorf("%s: values differ", want.name)
		}
	case kFloat64:
		if !slices.Equal(want.f64, got.f64) {
			return fmt.Errorf("%s: values differ", want.name)
		}
	default:
		if !slices.Equal(want.str.data, got.str.data) || !slices.Equal(want.str.offsets, got.str.offsets) {
			return fmt.Errorf("%s: values differ", want.name)
		}
	}
	return nil
}

func checkColumns(t *table, got []*column) error {
	if len(got) != len(t.cols) {
		return fmt.Errorf("got %d columns, want %d", len(got), len(t.cols))
	}
	for _, g := range got {
		w := t.col(g.name)
		if w == nil {
			return fmt.Errorf("unexpected column %s", g.name)
		}
		if err := equalColumn(w, g); err != nil {
			return err
		}
	}
	return nil
}

// fromArrow copies chunked Arrow columns (from record batches) into Go columns.
func fromArrow(t *table, recs []arrow.RecordBatch) ([]*column, error) {
	if len(recs) == 0 {
		return nil, errors.New("no record batches")
	}
	sc := recs[0].Schema()
	out := make([]*column, sc.NumFields())
	for i, fld := range sc.Fields() {
		w := t.col(fld.Name)
		if w == nil {
			return nil, fmt.Errorf("unexpected column %s", fld.Name)
		}
		if !arrow.TypeEqual(fld.Type, arrowType(w)) {
			return nil, fmt.Errorf("%s: arrow type %s, want %s", fld.Name, fld.Type, arrowType(w))
		}
		c := &column{name: fld.Name, k: w.k, date: w.date}
		if c.k == kString {
			c.str = &strCol{offsets: []int32{0}}
		}
		for _, rec := range recs {
			switch a := rec.Column(i).(type) {
			case *array.Int32:
				c.i32 = append(c.i32, a.Int32Values()...)
			case *array.Date32:
				for _, d := range a.Date32Values() {
					c.i32 = append(c.i32, int32(d))
				}
			case *array.Int64:
				c.i64 = append(c.i64, a.Int64Values()...)
			case *array.Float64:
				c.f64 = append(c.f64, a.Float64Values()...)
			case *array.String:
				for j := range a.Len() {
					c.str.data = append(c.str.data, a.Value(j)...)
					c.str.offsets = append(c.str.offsets, int32(len(c.str.data)))
				}
			default:
				return nil, fmt.Errorf("%s: unexpected array %T", fld.Name, a)
			}
			if a := rec.Column(i); a.NullN() != 0 {
				return nil, fmt.Errorf("%s: unexpected nulls", fld.Name)
			}
		}
		out[i] = c
	}
	return out, nil
}

// describe summarizes a file's layout from its footer: row groups and, per
// column, encodings and compressed size.
func describe(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	pf, err := pq.OpenFile(f, st.Size(), pq.SkipBloomFilters(true))
	if err != nil {
		return "", 0, err
	}
	md := pf.Metadata()
	var b strings.Builder
	fmt.Fprintf(&b, "layout %s: %.2f MB, %d row groups, created by %q\n", filepath.Base(path), float64(st.Size())/1e6, len(md.RowGroups), md.CreatedBy)
	for j := range md.RowGroups[0].Columns {
		var comp int64
		for _, rg := range md.RowGroups {
			comp += rg.Columns[j].MetaData.TotalCompressedSize
		}
		cm := md.RowGroups[0].Columns[j].MetaData
		encs := make([]string, len(cm.Encoding))
		for i, e := range cm.Encoding {
			encs[i] = e.String()
		}
		fmt.Fprintf(&b, "    %-16s %-34s %8.2f MB\n", strings.Join(cm.PathInSchema, "."), strings.Join(encs, ","), float64(comp)/1e6)
	}
	return b.String(), st.Size(), nil
}

// ---------------------------------------------------------------------------
// Timing and reporting.

type result struct {
	lib, table, op string
	median, best   time.Duration
	cpu            time.Duration // median process CPU time (user+sys) per run
	bytes          int64         // in-memory data bytes processed (for MB/s); 0 = n/a
	note           string
	family         string // winner lines compare each library's fastest op of a family; "" = informational
}

var results []result

// fatal reports err, removes the scratch directory (unless -keep) and exits.
func fatal(err error) {
	fmt.Fprintln(os.Stderr, err)
	if !*flagKeep {
		os.RemoveAll(*flagDir)
	}
	os.Exit(1)
}

// A pending measurement; see measure and runGroup.
type pendingRun struct {
	r  result
	fn func() (cleanup func(), err error)
}

var pending []pendingRun

// measure queues fn; runGroup runs the queued functions.
func measure(lib, tbl, op string, bytes int64, family, note string, fn func() (cleanup func(), err error)) {
	pending = append(pending, pendingRun{result{lib: lib, table: tbl, op: op, bytes: bytes, note: note, family: family}, fn})
}

// runGroup runs every queued function once as warm-up and then *flagRuns
// timed times, round-robin, so that both libraries see the same machine load
// (other processes share this machine). cleanup (not timed) runs after each
// call; the heap is collected before each call.
func runGroup() {
	times := make([][]time.Duration, len(pending))
	cpus := make([][]time.Duration, len(pending))
	for i := 0; i <= *flagRuns; i++ {
		for k, p := range pending {
			runtime.GC()
			cpu0 := cpuTime()
			start := time.Now()
			cleanup, err := p.fn()
			d := time.Since(start)
			c := cpuTime() - cpu0
			if cleanup != nil {
				cleanup()
			}
			if err != nil {
				fatal(fmt.Errorf("%s %s %s: %w", p.r.lib, p.r.table, p.r.op, err))
			}
			if i > 0 {
				times[k] = append(times[k], d)
				cpus[k] = append(cpus[k], c)
			}
		}
	}
	for k, p := range pending {
		slices.Sort(times[k])
		slices.Sort(cpus[k])
		p.r.median, p.r.best = times[k][len(times[k])/2], times[k][0]
		p.r.cpu = cpus[k][len(cpus[k])/2]
		results = append(results, p.r)
	}
	pending = nil
}

// cpuTime is the CPU time (user+sys) used so far by this process, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.3f", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f", float64(d)/1e6)
}

func printResults(sizes map[string]int64) {
	fmt.Printf("\n%-11s %-9s %-27s %10s %10s %8s %9s  %s\n", "library", "table", "op", "median_ms", "best_ms", "MB/s", "cpu_ms", "note")
	fmt.Println(strings.Repeat("-", 110))
	for _, r := range results {
		mbs := "-"
		if r.bytes > 0 && r.median > 0 {
			mbs = fmt.Sprintf("%.0f", float64(r.bytes)/1e6/r.median.Seconds())
		}
		fmt.Printf("%-11s %-9s %-27s %10s %10s %8s %9s  %s\n", r.lib, r.table, r.op, ms(r.median), ms(r.best), mbs, ms(r.cpu), r.note)
	}
	fmt.Println()
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("file size %-28s %8.2f MB\n", k, float64(sizes[k])/1e6)
	}

	fmt.Println("\nMB/s = in-memory column bytes (strings: bytes + 4-byte offsets) / median time; cpu_ms = median process CPU time per run.")
	fmt.Println("winners: each library's fastest variant per op, by median wall time; 'best' and 'cpu' give the same")
	fmt.Println("ratio (loser/winner) on best-of-runs wall time and on median CPU time:")
	type key struct{ table, family string }
	var order []key
	best := map[key]map[string]result{}
	for _, r := range results {
		if r.family == "" {
			continue
		}
		k := key{r.table, r.family}
		if best[k] == nil {
			best[k] = map[string]result{}
			order = append(order, k)
		}
		if b, ok := best[k][r.lib]; !ok || r.median < b.median {
			best[k][r.lib] = r
		}
	}
	for _, k := range order {
		a, okA := best[k][libArrow]
		p, okP := best[k][libPG]
		if !okA || !okP {
			continue
		}
		win, lose := a, p
		if p.median < a.median {
			win, lose = p, a
		}
		f := float64(lose.median) / float64(win.median)
		fb := float64(lose.best) / float64(win.best)
		fc := float64(lose.cpu) / float64(win.cpu)
		clear := "no"
		if f >= 1.5 {
			clear = "YES"
			if fb < 1.5 {
				clear += " (best-of-runs ratio below 1.5x: not robust)"
			}
		}
		fmt.Printf("%-8s %-26s winner %-10s by %.2fx (best %.2fx, cpu %.2fx)  >=1.5x: %s\n      [%s %s %s ms vs %s %s %s ms]\n",
			k.table, k.family, win.lib, f, fb, fc, clear, win.lib, win.op, ms(win.median), lose.lib, lose.op, ms(lose.median))
	}
}

// ---------------------------------------------------------------------------

func main() {
	flag.Parse()
	if err := os.MkdirAll(*flagDir, 0o755); err != nil {
		fatal(err)
	}
	if !*flagKeep {
		defer os.RemoveAll(*flagDir)
	}
	t0 := time.Now()
	fmt.Printf("go %s %s/%s GOMAXPROCS=%d NumCPU=%d runs=%d (+1 warm-up) rowgroup=%d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), *flagRuns, *flagRGRows)

	li := genLineitem(*flagLIRows)
	liDLBA := *li
	liDLBA.name, liDLBA.dlba = "li-dlba", true
	tables := []*table{genLab(*flagLabRows), li, &liDLBA}
	fmt.Printf("data generated in %.1fs\n", time.Since(t0).Seconds())
	sizes := map[string]int64{}
	allOK := true
	report := func(what string, err error) {
		status := "OK"
		if err != nil {
			status = "FAIL: " + err.Error()
			allOK = false
		}
		fmt.Printf("cross-check %-55s %s\n", what, status)
	}

	for _, t := range tables {
		pathA := filepath.Join(*flagDir, t.name+"-pqarrow.parquet")
		pathP := filepath.Join(*flagDir, t.name+"-parquetgo.parquet")
		pathX := filepath.Join(*flagDir, t.name+"-scratch.parquet")
		full := !t.dlba             // the DLBA variant repeats only the ops that involve l_comment
		extras := t.schema == "lab" // slow informational variants, on the small table only
		all := t.bytes()
		proj := t.bytes(t.projCol)
		projOp := "read-1col(" + t.projCol + ")"

		// Writes.
		rec := toArrowRecord(t)
		props := arrowWriterProps(t)
		measure(libArrow, t.name, "write", all, "write", "fw.Write(record), snappy", func() (func(), error) {
			return nil, arrowWrite(pathA, rec, props)
		})
		measure(libPG, t.name, "write", all, "write", "GenericWriter[T].Write, incl. column->row transposition", func() (func(), error) {
			return nil, pgWrite(pathP, t)
		})
		if extras {
			defProps := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(*flagRGRows))
			measure(libArrow, t.name, "write(default dict)", all, "", "arrow-go defaults: dictionary on for every column", func() (func(), error) {
				return nil, arrowWrite(pathX, rec, defProps)
			})
		}
		runGroup()
		rec.Release()
		for _, p := range []string{pathA, pathP} {
			desc, size, err := describe(p)
			if err != nil {
				fatal(err)
			}
			sizes[filepath.Base(p)] = size
			fmt.Print(desc)
		}

		// Cross-checks: each library reads both files; compare with the source.
		for _, p := range []string{pathA, pathP} {
			recs, err := arrowRead(p, nil)
			if err == nil {
				var cols []*column
				if cols, err = fromArrow(t, recs); err == nil {
					err = checkColumns(t, cols)
				}
				releaseAll(recs)
			}
			report(fmt.Sprintf("%s read by pqarrow", filepath.Base(p)), err)
			cols, err := pgRead(p, nil, pgReadBuf)
			if err == nil {
				err = checkColumns(t, cols)
			}
			report(fmt.Sprintf("%s read by parquet-go", filepath.Base(p)), err)
		}

		// Reads of all columns. Each library reads its own file.
		measure(libArrow, t.name, "read-all", all, "read-all", "GetRecordReader, 64K batches, Parallel", func() (func(), error) {
			recs, err := arrowRead(pathA, nil)
			return func() { releaseAll(recs) }, err
		})
		measure(libArrow, t.name, "read-all(ReadTable)", all, "read-all", "FileReader.ReadTable, Parallel", func() (func(), error) {
			tb, err := arrowReadTable(pathA, nil)
			return func() {
				if tb != nil {
					tb.Release()
				}
			}, err
		})
		measure(libPG, t.name, "read-all", all, "read-all", "column pages -> Go slices, goroutine/column", func() (func(), error) {
			_, err := pgRead(pathP, nil, pgReadBuf)
			return nil, err
		})
		if extras {
			measure(libPG, t.name, "read-all(GenericReader)", all, "read-all", "GenericReader[T].Read rows -> Go slices", func() (func(), error) {
				_, err := pgReadRows(pathP, t)
				return nil, err
			})
		}
		runGroup()
		if full {
			pgCols, err := pgRead(pathP, nil, pgReadBuf)
			if err != nil {
				fatal(err)
			}
			measure(libPG, t.name, "to-arrow(zero-copy)", 0, "", "wrap Go slices as arrow arrays", func() (func(), error) {
				arrs := make([]arrow.Array, len(pgCols))
				for i, c := range pgCols {
					arrs[i] = toArrow(c)
				}
				return func() {
					for _, a := range arrs {
						a.Release()
					}
				}, nil
			})
			runGroup()

			// Projection reads.
			measure(libArrow, t.name, projOp, proj, projOp, "GetRecordReader([col])", func() (func(), error) {
				recs, err := arrowRead(pathA, []string{t.projCol})
				return func() { releaseAll(recs) }, err
			})
			measure(libPG, t.name, projOp, proj, projOp, "column pages -> []float64", func() (func(), error) {
				_, err := pgRead(pathP, []string{t.projCol}, pgReadBuf)
				return nil, err
			})
			runGroup()
		}
		if t.schema == "lineitem" {
			strBytes := t.bytes("l_comment")
			measure(libArrow, t.name, "read-1col(l_comment)", strBytes, "read-1col(l_comment)", "string projection", func() (func(), error) {
				recs, err := arrowRead(pathA, []string{"l_comment"})
				return func() { releaseAll(recs) }, err
			})
			measure(libPG, t.name, "read-1col(l_comment)", strBytes, "read-1col(l_comment)", "string projection", func() (func(), error) {
				_, err := pgRead(pathP, []string{"l_comment"}, pgReadBuf)
				return nil, err
			})
			runGroup()
		}
		fmt.Printf("%s done at %.1fs\n", t.name, time.Since(t0).Seconds())
	}

	printResults(sizes)
	if allOK {
		fmt.Println("\ncross-check: ALL OK")
	} else {
		fmt.Println("\ncross-check: FAIL")
	}
	fmt.Printf("total runtime %.1fs\n", time.Since(t0).Seconds())
	if !allOK {
		fatal(errors.New("cross-check failed"))
	}
}
