package data

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/goray-dev/goray/raylib/data/internal/tensor"
)

// WriteMode says what a write does when its folder already holds files.
type WriteMode int

const (
	// ErrorIfExists refuses to write into a folder that holds files.
	ErrorIfExists WriteMode = iota
	// Overwrite replaces the folder's contents once the write succeeded.
	Overwrite
	// Append adds the new files beside the old ones.
	Append
)

// WriteOption configures a write.
type WriteOption func(*writeConfig) error

type writeConfig struct {
	mode        WriteMode
	compression compress.Compression
	partitions  []string
	rowsPerFile int64
	imageFormat string
	nameColumn  string
}

// Mode sets what happens when the folder already holds files.
func Mode(m WriteMode) WriteOption { return func(c *writeConfig) error { c.mode = m; return nil } }

// Compression sets the Parquet codec: "snappy" (default), "zstd", "gzip",
// "lz4" or "none".
func Compression(codec string) WriteOption {
	return func(c *writeConfig) error {
		switch strings.ToLower(codec) {
		case "snappy":
			c.compression = compress.Codecs.Snappy
		case "zstd":
			c.compression = compress.Codecs.Zstd
		case "gzip":
			c.compression = compress.Codecs.Gzip
		case "lz4":
			c.compression = compress.Codecs.Lz4Raw
		case "none", "uncompressed", "":
			c.compression = compress.Codecs.Uncompressed
		default:
			return fmt.Errorf("Compression(%q): want snappy, zstd, gzip, lz4 or none", codec)
		}
		return nil
	}
}

// PartitionBy writes hive-style folders (col=value/...) by these columns;
// the columns are stored in the folder names, not in the files.
func PartitionBy(cols ...string) WriteOption {
	return func(c *writeConfig) error { c.partitions = cols; return nil }
}

// MaxRowsPerFile starts a new file after this many rows.
func MaxRowsPerFile(n int64) WriteOption {
	return func(c *writeConfig) error {
		if n < 1 {
			return fmt.Errorf("MaxRowsPerFile(%d): must be at least 1", n)
		}
		c.rowsPerFile = n
		return nil
	}
}

// ImageFormat sets WriteImages' file format: "png" (default) or "jpeg".
func ImageFormat(format string) WriteOption {
	return func(c *writeConfig) error {
		switch strings.ToLower(format) {
		case "png", "jpeg", "jpg":
			c.imageFormat = strings.ToLower(format)
			return nil
		}
		return fmt.Errorf("ImageFormat(%q): want png or jpeg", format)
	}
}

// FileNameColumn names each image file after a column's value (WriteImages).
func FileNameColumn(col string) WriteOption {
	return func(c *writeConfig) error { c.nameColumn = col; return nil }
}

// WriteParquet writes the dataset as Parquet files in a folder (one or
// more files per task). The write is atomic: files appear in the folder
// only when every task succeeded; a failure or cancellation leaves the
// folder as it was.
func (d *Dataset) WriteParquet(dir string, opts ...WriteOption) error {
	return d.write("WriteParquet", dir, "parquet", opts, func(path string, s *arrow.Schema, cfg writeConfig) (fileWriter, error) {
		return newParquetFile(path, s, cfg)
	})
}

// WriteCSV writes the dataset as CSV files with a header line.
func (d *Dataset) WriteCSV(dir string, opts ...WriteOption) error {
	return d.write("WriteCSV", dir, "csv", opts, func(path string, s *arrow.Schema, _ writeConfig) (fileWriter, error) {
		return newCSVFile(path, s)
	})
}

// WriteJSON writes the dataset as JSON-lines files.
func (d *Dataset) WriteJSON(dir string, opts ...WriteOption) error {
	return d.write("WriteJSON", dir, "json", opts, func(path string, s *arrow.Schema, _ writeConfig) (fileWriter, error) {
		return newJSONFile(path)
	})
}

// WriteImages writes an image column as one file per row.
func (d *Dataset) WriteImages(dir, column string, opts ...WriteOption) error {
	opts = append([]WriteOption{ImageFormat("png")}, opts...)
	return d.write("WriteImages", dir, "", opts, func(path string, s *arrow.Schema, cfg writeConfig) (fileWriter, error) {
		if len(s.FieldIndices(column)) == 0 {
			return nil, &ColumnError{Column: column, Available: schemaNames(s)}
		}
		return &imageFiles{base: path, column: column, cfg: cfg}, nil
	})
}

// fileWriter writes the records of one task to a file.
type fileWriter interface {
	write(rec arrow.RecordBatch) error
	close() error
}

type newFileWriter func(path string, s *arrow.Schema, cfg writeConfig) (fileWriter, error)

func (d *Dataset) write(op, dir, ext string, opts []WriteOption, open newFileWriter) error {
	if d.err != nil {
		return d.err
	}
	cfg := writeConfig{compression: compress.Codecs.Snappy}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	dir = filepath.Clean(dir)
	existing, err := folderFiles(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(existing) > 0 && cfg.mode == ErrorIfExists {
		return fmt.Errorf("%s: folder %q already holds %d files (%s); pass data.Mode(data.Overwrite) or data.Mode(data.Append)",
			op, dir, len(existing), existing[0])
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".writing-")
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	committed := false
	defer func() {
		if !committed {
			removeStaging(staging)
		}
	}()
	prefix := randomPrefix()
	var seq atomic.Int64
	x := &node{kind: nodeMap, label: "Write"}
	x.newStage = func(any) (stage, error) {
		return &writeStage{dir: staging, prefix: prefix, ext: ext, seq: &seq, cfg: cfg, open: open}, nil
	}
	plan := x
	plan.input = d.n
	_, err = d.execute(plan, func(r BlockRef) (bool, error) {
		releaseRefs([]BlockRef{r})
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, dir, err)
	}
	if err := commit(staging, dir, cfg.mode); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	committed = true
	return nil
}

// removeStaging deletes a failed write's staging folder. A task abandoned
// after a cancellation may still be finishing a file there; it cannot
// recreate the folder (writers never create the staging root), so a few
// retries see it gone.
func removeStaging(staging string) {
	for range 5 {
		if err := os.RemoveAll(staging); err == nil {
			if _, err := os.Stat(staging); os.IsNotExist(err) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mkdirUnder creates rel's folders inside root, but never root itself.
func mkdirUnder(root, rel string) (string, error) {
	dir := root
	if rel == "" {
		return dir, nil
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			return "", err
		}
	}
	return dir, nil
}

func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// folderFiles lists the files under dir (none if it does not exist).
func folderFiles(dir string) ([]string, error) {
	fi, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%q exists and is not a folder", dir)
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files = append(files, p)
		}
		return err
	})
	sort.Strings(files)
	return files, err
}

// commit moves the staged files into place: a rename of the folder when
// the target is new, else file by file (append) or a swap (overwrite).
func commit(staging, dir string, mode WriteMode) error {
	existing, err := folderFiles(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return os.Rename(staging, dir)
	}
	if mode == ErrorIfExists && len(existing) > 0 {
		// Files appeared while the dataset was being written.
		return fmt.Errorf("folder %q now holds %d files (%s); nothing was written", dir, len(existing), existing[0])
	}
	if mode == Overwrite && len(existing) > 0 {
		old := staging + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		if err := os.Rename(staging, dir); err != nil {
			_ = os.Rename(old, dir)
			return err
		}
		return os.RemoveAll(old)
	}
	// Append (or an empty folder): move each staged file in.
	var moved []string
	err = filepath.WalkDir(staging, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(staging, p)
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, dst); err != nil {
			return err
		}
		moved = append(moved, dst)
		return nil
	})
	if err != nil {
		for _, m := range moved {
			os.Remove(m)
		}
		return err
	}
	return os.RemoveAll(staging)
}

// writeStage is the Write operator fused at the end of the last tasks:
// each task writes its own files into the staging folder.
type writeStage struct {
	dir, prefix, ext string
	seq              *atomic.Int64
	cfg              writeConfig
	open             newFileWriter
	files            map[string]*openFile // by partition folder
}

type openFile struct {
	w      fileWriter
	rows   int64
	schema *arrow.Schema
}

func (s *writeStage) process(ctx context.Context, rec arrow.RecordBatch, emit emitFn) error {
	if rec.NumRows() == 0 {
		return nil
	}
	if s.files == nil {
		s.files = map[string]*openFile{}
	}
	if len(s.cfg.partitions) == 0 {
		if err := s.writeTo(ctx, "", rec); err != nil {
			return err
		}
	} else {
		parts, err := splitByPartition(ctx, rec, s.cfg.partitions)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := s.writeTo(ctx, p.folder, p.rec); err != nil {
				return err
			}
		}
	}
	// A column-less record of the rows written: progress and stats count
	// the Write operator's rows like any other's, at no memory cost.
	return emit(array.NewRecordBatch(writtenSchema, nil, rec.NumRows()))
}

var writtenSchema = arrow.NewSchema(nil, nil)

func (s *writeStage) writeTo(ctx context.Context, folder string, rec arrow.RecordBatch) error {
	for rec.NumRows() > 0 {
		f := s.files[folder]
		if f != nil && !f.schema.Equal(rec.Schema()) {
			// A UDF changed its output's schema: one file holds one schema.
			if err := f.w.close(); err != nil {
				return err
			}
			delete(s.files, folder)
			f = nil
		}
		if f == nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			dir, err := mkdirUnder(s.dir, folder)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("%s_%06d", s.prefix, s.seq.Add(1)-1)
			if s.ext != "" {
				name += "." + s.ext
			}
			w, err := s.open(filepath.Join(dir, name), rec.Schema(), s.cfg)
			if err != nil {
				return err
			}
			f = &openFile{w: w, schema: rec.Schema()}
			s.files[folder] = f
		}
		part := rec
		if s.cfg.rowsPerFile > 0 && f.rows+rec.NumRows() > s.cfg.rowsPerFile {
			part = rec.NewSlice(0, s.cfg.rowsPerFile-f.rows)
		}
		if err := f.w.write(part); err != nil {
			return err
		}
		f.rows += part.NumRows()
		rec = rec.NewSlice(part.NumRows(), rec.NumRows())
		if s.cfg.rowsPerFile > 0 && f.rows >= s.cfg.rowsPerFile {
			if err := f.w.close(); err != nil {
				return err
			}
			delete(s.files, folder)
		}
	}
	return nil
}

// abort closes the task's files after a failure; the staging folder
// they are in is removed by the write.
func (s *writeStage) abort() {
	for _, f := range s.files {
		_ = f.w.close()
	}
	s.files = nil
}

func (s *writeStage) flush(context.Context, emitFn) error {
	var errs []error
	keys := make([]string, 0, len(s.files))
	for k := range s.files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		errs = append(errs, s.files[k].w.close())
	}
	s.files = nil
	return errors.Join(errs...)
}

type partitionPart struct {
	folder string
	rec    arrow.RecordBatch
}

// splitByPartition groups a record's rows by the values of the partition
// columns, dropping those columns.
func splitByPartition(ctx context.Context, rec arrow.RecordBatch, cols []string) ([]partitionPart, error) {
	idx := make([]int, len(cols))
	for i, c := range cols {
		f := rec.Schema().FieldIndices(c)
		if len(f) == 0 {
			return nil, &ColumnError{Column: c, Available: schemaNames(rec.Schema())}
		}
		idx[i] = f[0]
	}
	groups := map[string][]int64{}
	var order []string
	for r := 0; r < int(rec.NumRows()); r++ {
		parts := make([]string, len(cols))
		for i, c := range idx {
			v := hiveNull
			if col := rec.Column(c); !col.IsNull(r) {
				v = escapePartition(col.ValueStr(r))
			}
			parts[i] = cols[i] + "=" + v
		}
		key := filepath.Join(parts...)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], int64(r))
	}
	keep := make([]string, 0, rec.NumCols())
	for _, n := range schemaNames(rec.Schema()) {
		if !slices.Contains(cols, n) {
			keep = append(keep, n)
		}
	}
	base, err := selectRecord(rec, keep)
	if err != nil {
		return nil, err
	}
	out := make([]partitionPart, 0, len(order))
	for _, k := range order {
		b := array.NewInt64Builder(mem)
		b.AppendValues(groups[k], nil)
		take := b.NewArray()
		cols := make([]arrow.Array, base.NumCols())
		for i, c := range base.Columns() {
			if cols[i], err = compute.TakeArray(ctx, c, take); err != nil {
				return nil, fmt.Errorf("partition %s: %w", k, err)
			}
		}
		out = append(out, partitionPart{folder: k, rec: array.NewRecordBatch(base.Schema(), cols, int64(take.Len()))})
	}
	return out, nil
}

func escapePartition(v string) string {
	r := strings.NewReplacer("%", "%25", "/", "%2F", "\\", "%5C", "=", "%3D", "\n", "%0A", "#", "%23", "?", "%3F")
	return r.Replace(v)
}

// parquetFile writes one Parquet file (tensor columns keep their type for
// pyarrow through the ARROW:schema metadata).
type parquetFile struct {
	f *os.File
	w *tensor.ParquetWriter
}

func newParquetFile(path string, s *arrow.Schema, cfg writeConfig) (fileWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	// Dictionary encoding pays off for strings with repeats; on numeric
	// columns of distinct values it only costs hashing time (most of a
	// write of random floats), so it is on for string columns only.
	popts := []parquet.WriterProperty{parquet.WithCompression(cfg.compression), parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(1 << 20), parquet.WithAllocator(mem), parquet.WithDictionaryDefault(false)}
	for _, f := range s.Fields() {
		if isStringy(f.Type) {
			popts = append(popts, parquet.WithDictionaryFor(f.Name, true))
		}
	}
	props := parquet.NewWriterProperties(popts...)
	w, err := tensor.NewParquetWriter(f, s, props, mem)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &parquetFile{f: f, w: w}, nil
}

func (p *parquetFile) write(rec arrow.RecordBatch) error { return p.w.Write(rec) }
func (p *parquetFile) close() error {
	err := p.w.Close()
	if cerr := p.f.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

// csvFile writes CSV as pyarrow and DuckDB read it back: a header, null
// as an empty field, the empty string as "", floats as Go's shortest
// round-trip form with nan/inf/-inf, timestamps in ISO 8601.
type csvFile struct {
	f   *os.File
	bw  *bufio.Writer
	buf []byte
}

func newCSVFile(path string, s *arrow.Schema) (fileWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	c := &csvFile{f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	for i, fld := range s.Fields() {
		if i > 0 {
			c.bw.WriteByte(',')
		}
		c.bw.Write(csvQuote(nil, fld.Name, true))
	}
	c.bw.WriteByte('\n')
	return c, nil
}

func (c *csvFile) write(rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for r := 0; r < int(rec.NumRows()); r++ {
		c.buf = c.buf[:0]
		for i, col := range cols {
			if i > 0 {
				c.buf = append(c.buf, ',')
			}
			if col.IsNull(r) {
				continue
			}
			c.buf = appendCSVValue(c.buf, col, r)
		}
		c.buf = append(c.buf, '\n')
		if _, err := c.bw.Write(c.buf); err != nil {
			return err
		}
	}
	return nil
}

func appendCSVValue(b []byte, col arrow.Array, i int) []byte {
	switch a := col.(type) {
	case *array.String:
		return csvQuote(b, a.Value(i), false)
	case *array.LargeString:
		return csvQuote(b, a.Value(i), false)
	case *array.Float64:
		return appendFloat(b, a.Value(i), 64)
	case *array.Float32:
		return appendFloat(b, float64(a.Value(i)), 32)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i))
	case *array.Timestamp:
		return append(b, formatTimestamp(a, i)...)
	case *array.Date32:
		return a.Value(i).ToTime().AppendFormat(b, "2006-01-02")
	case *array.Dictionary:
		return appendCSVValue(b, a.Dictionary(), a.GetValueIndex(i))
	}
	return csvQuote(b, col.ValueStr(i), false)
}

func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// formatTimestamp writes a timestamp in ISO 8601, with Z only when the
// column has a time zone, so readers keep naive timestamps naive.
func formatTimestamp(a *array.Timestamp, i int) string {
	typ := a.DataType().(*arrow.TimestampType)
	t := a.Value(i).ToTime(typ.Unit).UTC()
	s := t.Format("2006-01-02 15:04:05.999999999")
	if typ.TimeZone != "" {
		s += "Z"
	}
	return s
}

// csvQuote appends s, quoted when it is empty (so it differs from null),
// or holds a delimiter, quote, line break or edge spaces.
func csvQuote(b []byte, s string, header bool) []byte {
	need := (s == "" && !header) || strings.ContainsAny(s, ",\"\r\n") ||
		(s != "" && (s[0] == ' ' || s[len(s)-1] == ' ' || s[0] == '\t'))
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func (c *csvFile) close() error {
	err := c.bw.Flush()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type jsonFile struct {
	f  *os.File
	bw *bufio.Writer
}

func newJSONFile(path string) (fileWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &jsonFile{f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (j *jsonFile) write(rec arrow.RecordBatch) error {
	names := schemaNames(rec.Schema())
	keys := make([][]byte, len(names))
	for i, n := range names {
		keys[i], _ = json.Marshal(n)
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		j.bw.WriteByte('{')
		for c := range names {
			if c > 0 {
				j.bw.WriteByte(',')
			}
			j.bw.Write(keys[c])
			j.bw.WriteByte(':')
			v, err := json.Marshal(jsonValueAt(rec.Column(c), r))
			if err != nil {
				return fmt.Errorf("column %q row %d: %w", names[c], r, err)
			}
			j.bw.Write(v)
		}
		j.bw.WriteString("}\n")
	}
	return nil
}

// jsonValueAt is a cell as JSON: dates as 2006-01-02, naive timestamps
// without a zone, bytes as base64, NaN and infinities as null (JSON has
// none), tensors as nested arrays of their shape.
func jsonValueAt(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Timestamp:
		return strings.Replace(formatTimestamp(a, i), " ", "T", 1)
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.Float64:
		if f := a.Value(i); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
	case *array.Float32:
		if f := float64(a.Value(i)); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
	case array.ExtensionArray:
		if t := tensor.AsType(a.DataType()); t != nil {
			return nestedTensor(a, i, t.Shape())
		}
	}
	v := valueAt(col, i)
	if b, ok := v.([]byte); ok {
		return base64.StdEncoding.EncodeToString(b)
	}
	return v
}

// nestedTensor returns row i of a tensor column as nested slices.
func nestedTensor(a arrow.Array, i int, shape []int) any {
	var flat []float64
	switch tensor.AsType(a.DataType()).ValueType().ID() {
	case arrow.UINT8:
		for _, v := range tensor.Row[uint8](a, i) {
			flat = append(flat, float64(v))
		}
	case arrow.FLOAT32:
		for _, v := range tensor.Row[float32](a, i) {
			flat = append(flat, float64(v))
		}
	case arrow.FLOAT64:
		flat = tensor.Row[float64](a, i)
	case arrow.INT64:
		for _, v := range tensor.Row[int64](a, i) {
			flat = append(flat, float64(v))
		}
	case arrow.INT32:
		for _, v := range tensor.Row[int32](a, i) {
			flat = append(flat, float64(v))
		}
	default:
		return nil
	}
	var nest func(vals []float64, dims []int) any
	nest = func(vals []float64, dims []int) any {
		if len(dims) <= 1 {
			return vals
		}
		step := len(vals) / max(dims[0], 1)
		out := make([]any, dims[0])
		for k := range out {
			out[k] = nest(vals[k*step:(k+1)*step], dims[1:])
		}
		return out
	}
	return nest(flat, shape)
}

func (j *jsonFile) close() error {
	err := j.bw.Flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// imageFiles writes one image file per row.
type imageFiles struct {
	base   string
	column string
	cfg    writeConfig
	n      int
	mu     sync.Mutex
}

func (w *imageFiles) write(rec arrow.RecordBatch) error {
	b := batchOf(rec)
	imgs := b.Images(w.column)
	var names []string
	if w.cfg.nameColumn != "" {
		names = b.Strings(w.cfg.nameColumn)
	}
	ext := w.cfg.imageFormat
	for i, img := range imgs {
		if img == nil {
			continue
		}
		name := fmt.Sprintf("%s_%06d.%s", w.base, w.n, ext)
		if names != nil {
			name = filepath.Join(filepath.Dir(w.base), sanitizeName(names[i])+"."+ext)
		}
		w.n++
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		err = tensor.Encode(f, img, ext)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (w *imageFiles) close() error { return nil }

func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}
