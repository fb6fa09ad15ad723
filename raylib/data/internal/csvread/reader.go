package csvread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Range is a byte range [Start, End) of a CSV file that begins and ends at
// line boundaries. First marks the range that begins at the start of the
// file: only it skips the UTF-8 BOM and the header line. End <= 0 means the
// end of the file.
type Range struct {
	Path       string
	Start, End int64
	First      bool
}

// WholeFile is the single range covering path.
func WholeFile(path string) Range { return Range{Path: path, First: true} }

// Buffer sizes; variables so that tests can shrink them to exercise the
// boundary handling.
var (
	bufSize       = 1 << 20   // initial read buffer
	initialWindow = 128 << 10 // bytes indexed per pass
)

const bufPad = 16

// Reader reads the record batches of one Range.
type Reader struct {
	path  string
	f     *os.File
	delim byte
	opts  Options

	schema   *arrow.Schema // output schema (projected)
	nfields  int
	cols     []*column // output columns
	colField []int     // by output column: its field in the file
	strCols  []*column // output columns that check UTF-8

	buf     []byte // read buffer, len(buf) = capacity + bufPad
	valid   int    // bytes of buf holding data
	pos     int    // start of the next unconsumed row
	fileOff int64  // file offset of buf[0]
	readOff int64  // next file offset to read
	end     int64  // end of the range
	eof     bool   // the whole range has been read into buf
	started bool

	seps    []uint32 // structural index of buf[pos:idxEnd]
	winRows int      // rows (and empty lines) in the index
	regular bool     // every row of the index has nfields fields
	nsep    int
	sepCur  int
	idxEnd  int
	window  int

	needHeader bool
	maxRows    int
	avgRow     int
	rows       int
	scratch    []byte

	err  error
	done bool
}

// NewReader opens r.Path and prepares to read range r with the given full
// schema of the file (one field per CSV column, in file order; from Infer
// or built by hand). opts.ColumnTypes overrides field types and
// opts.Columns projects the output. The caller must Close the reader.
func NewReader(r Range, schema *arrow.Schema, opts Options) (*Reader, error) {
	delim, err := opts.delimiter()
	if err != nil {
		return nil, err
	}
	if schema == nil || schema.NumFields() == 0 {
		return nil, fmt.Errorf("csvread: %s: empty schema", r.Path)
	}
	schema, err = applyColumnTypes(schema, opts.ColumnTypes)
	if err != nil {
		return nil, fmt.Errorf("csvread: %s: %w", r.Path, err)
	}
	rd := &Reader{path: r.Path, delim: delim, opts: opts, nfields: schema.NumFields(), window: initialWindow}
	var outIdx []int
	if opts.Columns == nil {
		for i := 0; i < rd.nfields; i++ {
			outIdx = append(outIdx, i)
		}
	} else {
		seen := make([]bool, rd.nfields)
		for _, name := range opts.Columns {
			idx := schema.FieldIndices(name)
			if len(idx) == 0 {
				return nil, fmt.Errorf("csvread: %s: projected column %q not in schema %v", r.Path, name, fieldNames(schema))
			}
			if seen[idx[0]] {
				return nil, fmt.Errorf("csvread: %s: column %q projected twice", r.Path, name)
			}
			seen[idx[0]] = true
			outIdx = append(outIdx, idx[0])
		}
	}
	nulls := newNullSet(opts.NullValues)
	var outFields []arrow.Field
	for _, fi := range outIdx {
		fld := schema.Field(fi)
		c, err := newColumn(fld.Name, fld.Type, nulls, opts.StringsCanBeNull)
		if err != nil {
			return nil, fmt.Errorf("csvread: %s: %w", r.Path, err)
		}
		rd.cols = append(rd.cols, c)
		rd.colField = append(rd.colField, fi)
		if c.checkUTF8 {
			rd.strCols = append(rd.strCols, c)
		}
		fld.Nullable = true
		outFields = append(outFields, fld)
	}
	rd.schema = arrow.NewSchema(outFields, nil)

	f, err := os.Open(r.Path)
	if err != nil {
		return nil, fmt.Errorf("csvread: %w", err)
	}
	rd.f = f
	rd.end = r.End
	if rd.end <= 0 {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("csvread: %w", err)
		}
		rd.end = st.Size()
	}
	rd.readOff = r.Start
	rd.fileOff = r.Start
	rd.needHeader = r.First && !opts.NoHeader
	rd.started = !(r.First && r.Start == 0) // BOM check pending when false
	rd.buf = make([]byte, min(int64(bufSize), max(rd.end-r.Start, 8))+bufPad)
	return rd, nil
}

func fieldNames(s *arrow.Schema) []string {
	names := make([]string, s.NumFields())
	for i := range names {
		names[i] = s.Field(i).Name
	}
	return names
}

func applyColumnTypes(s *arrow.Schema, types map[string]arrow.DataType) (*arrow.Schema, error) {
	if len(types) == 0 {
		return s, nil
	}
	fields := append([]arrow.Field(nil), s.Fields()...)
	for name, t := range types {
		idx := s.FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("ColumnTypes names column %q, not in %v", name, fieldNames(s))
		}
		if _, err := kindOf(t); err != nil {
			return nil, fmt.Errorf("column %q: %w", name, err)
		}
		for _, i := range idx {
			fields[i].Type = t
		}
	}
	md := s.Metadata()
	return arrow.NewSchema(fields, &md), nil
}

// Schema is the schema of the batches Next returns (projected).
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Close closes the file.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// Next returns the next record batch, or io.EOF after the last one. The
// caller must Release the batch. After an error, Next keeps returning it.
func (r *Reader) Next() (arrow.RecordBatch, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	if r.f == nil {
		return nil, errors.New("csvread: Next on closed reader")
	}
	if err := r.fillRows(); err != nil {
		r.err = err
		return nil, err
	}
	if r.rows == 0 {
		r.done = true
		return nil, io.EOF
	}
	n := r.rows
	arrs := make([]arrow.Array, len(r.cols))
	for i, c := range r.cols {
		arrs[i] = c.finish(n)
	}
	rec := array.NewRecordBatch(r.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec, nil
}

// fillRows parses up to maxRows rows into the columns.
func (r *Reader) fillRows() error {
	r.rows = 0
	first := true
	for {
		if !first && r.rows >= r.maxRows {
			return nil
		}
		if r.sepCur >= r.nsep {
			r.pos = max(r.pos, r.idxEnd)
			ok, err := r.index()
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
		}
		if r.needHeader {
			if err := r.skipHeader(); err != nil {
				return err
			}
			continue
		}
		if first {
			if r.maxRows == 0 {
				r.estimateRows()
			}
			r.resetColumns(r.maxRows)
			first = false
		}
		if err := r.walk(); err != nil {
			return err
		}
	}
}

// estimateRows sets maxRows (and avgRow) from the rows of the first window.
func (r *Reader) estimateRows() {
	rows := r.winRows
	r.pos = int(r.seps[r.sepCur-1] >> sepShift)
	bytes := r.idxEnd - r.pos
	r.avgRow = max(1, bytes/max(rows, 1))
	if r.opts.BlockRows > 0 {
		r.maxRows = r.opts.BlockRows
	} else {
		r.maxRows = max(64, BlockBytes/r.avgRow)
	}
}

func (r *Reader) resetColumns(maxRows int) {
	// Size the buffers for the rows this batch will likely get.
	left := r.end - (r.fileOff + int64(r.pos))
	rows := maxRows
	if r.avgRow > 0 {
		rows = int(min(int64(rows), left/int64(r.avgRow)+64))
	}
	rows = min(rows, 1<<20)
	for _, c := range r.cols {
		c.reset(rows, r.avgRow)
	}
}

// index builds the structural index of the next window of complete rows
// starting at r.pos, reading more of the file as needed. It returns false
// at the end of the range.
func (r *Reader) index() (bool, error) {
	for {
		avail := r.valid - r.pos
		if avail > 0 {
			w := min(r.window, avail)
			to := r.pos + w
			if len(r.seps) < w+10 {
				r.seps = make([]uint32, w+10)
			}
			r.seps[0] = uint32(r.pos) << sepShift // sentinel
			if bytes.IndexByte(r.buf[r.pos:to], '"') < 0 {
				lastNL := bytes.LastIndexByte(r.buf[r.pos:to], '\n')
				if lastNL >= 0 {
					n, nl, ascii := fastIndex(r.buf, r.pos, r.pos+lastNL+1, r.delim, r.seps[1:], len(r.strCols) > 0)
					r.setIndex(n+1, nl, ascii)
					return true, nil
				}
				if w < avail {
					r.window *= 2
					continue
				}
			} else {
				seps, openQuote := slowIndex(r.buf, r.pos, to, r.valid, r.delim, r.seps[:1])
				if cap(seps) > cap(r.seps) {
					r.seps = seps[:cap(seps)]
				}
				if n := len(seps); n > 1 {
					nl := 0
					for _, e := range seps[1:] {
						nl += int(e & sepNewline)
					}
					r.setIndex(n, nl, len(r.strCols) > 0 && isASCII(r.buf[r.pos:seps[n-1]>>sepShift]))
					return true, nil
				}
				if openQuote >= 0 && r.eof {
					return false, r.errorAt(r.fileOff+int64(openQuote), "", "unterminated quoted field")
				}
			}
		}
		if r.eof {
			return false, nil
		}
		if err := r.fill(); err != nil {
			return false, err
		}
	}
}

// setIndex records an index of n entries (with the sentinel) covering nl
// rows (counting empty lines) of ASCII text or not, and checks whether all
// its rows are regular.
func (r *Reader) setIndex(n, nl int, ascii bool) {
	r.nsep = n
	r.sepCur = 1
	r.winRows = nl
	r.idxEnd = int(r.seps[n-1] >> sepShift)
	// With exactly nl*nf entries and a newline at every nf-th one, those
	// are all the newlines, so every row has nf fields and none is empty.
	nf := r.nfields
	r.regular = nf > 1 && n-1 == nl*nf
	for i := nf; r.regular && i < n; i += nf {
		r.regular = r.buf[r.seps[i]>>sepShift-1] == '\n'
	}
	for _, c := range r.strCols {
		c.validate = !ascii
	}
}

// fill moves the unconsumed tail of the buffer to its front and reads more
// of the range after it.
func (r *Reader) fill() error {
	if r.pos > 0 {
		n := copy(r.buf, r.buf[r.pos:r.valid])
		r.fileOff += int64(r.pos)
		r.idxEnd -= r.pos
		r.valid = n
		r.pos = 0
	}
	capData := len(r.buf) - bufPad
	if r.valid == capData {
		if capData >= maxBuffer {
			return r.errorAt(r.fileOff, "", fmt.Sprintf("row longer than %d bytes", maxBuffer))
		}
		nb := make([]byte, min(2*capData, maxBuffer)+bufPad)
		copy(nb, r.buf[:r.valid])
		r.buf = nb
		capData = len(nb) - bufPad
	}
	want := max(0, min(int64(capData-r.valid), r.end-r.readOff))
	n, err := r.f.ReadAt(r.buf[r.valid:r.valid+int(want)], r.readOff)
	r.valid += n
	r.readOff += int64(n)
	if err != nil && err != io.EOF {
		return fmt.Errorf("csvread: %w", err)
	}
	if r.readOff >= r.end || (err == io.EOF && n < int(want)) {
		r.eof = true
	}
	if !r.started {
		r.started = true
		if bytes.HasPrefix(r.buf[:r.valid], []byte("\xef\xbb\xbf")) {
			r.pos = 3
		}
	}
	if r.eof && r.valid > r.pos && r.buf[r.valid-1] != '\n' {
		r.buf[r.valid] = '\n' // a missing trailing newline
		r.valid++
	}
	return nil
}

// skipHeader consumes the header row (the first non-empty line).
func (r *Reader) skipHeader() error {
	seps := r.seps[:r.nsep]
	k := r.sepCur
	start := int(seps[k-1] >> sepShift)
	for i := k; i < len(seps); i++ {
		e := seps[i]
		if r.buf[e>>sepShift-1] != '\n' {
			continue
		}
		end := int(e>>sepShift) - 1
		if i == k && e&sepQuoted == 0 && (end == start || (end == start+1 && r.buf[start] == '\r')) {
			r.sepCur++ // empty line before the header
			r.pos = end + 1
			return nil
		}
		if got := i - k + 1; got != r.nfields {
			return r.errorAt(r.fileOff+int64(start), "", fmt.Sprintf("header has %d fields, schema has %d", got, r.nfields))
		}
		r.sepCur = i + 1
		r.pos = end + 1
		r.needHeader = false
		return nil
	}
	panic("csvread: index window without a row end")
}

// walk converts the rows of the current index window until the window is
// consumed or the batch is full. Runs of regular rows are converted column
// by column; an irregular row is an empty line (skipped, as pyarrow does)
// or an error.
func (r *Reader) walk() error {
	seps := r.seps[:r.nsep]
	nf := r.nfields
	k := r.sepCur
	defer func() {
		r.sepCur = k
		r.pos = int(seps[k-1] >> sepShift)
	}()
	for k < len(seps) && r.rows < r.maxRows {
		var n int
		if r.regular {
			n = min((len(seps)-k)/nf, r.maxRows-r.rows)
		} else {
			n = uniformRows(r.buf, seps, k, nf, r.maxRows-r.rows)
		}
		if n > 0 {
			if err := r.convert(k, n); err != nil {
				return err
			}
			k += n * nf
			r.rows += n
			continue
		}
		start := int(seps[k-1] >> sepShift)
		if e := seps[k]; r.buf[e>>sepShift-1] == '\n' && e&sepQuoted == 0 {
			if end := int(e>>sepShift) - 1; end == start || (end == start+1 && r.buf[start] == '\r') {
				k++
				continue
			}
		}
		got := 1
		for r.buf[seps[k]>>sepShift-1] != '\n' {
			k++
			got++
		}
		return r.errorAt(r.fileOff+int64(start), "", fmt.Sprintf("expected %d fields, got %d", nf, got))
	}
	return nil
}

// convert converts n regular rows starting at index entry k into every
// projected column. When values fail, the error names the first failing
// field in file order.
func (r *Reader) convert(k, n int) error {
	badRow, badCol := -1, -1
	var badMsg string
	for ci, c := range r.cols {
		fi := r.colField[ci]
		row, msg := c.convertRows(r.buf, r.seps, k+fi, r.nfields, n, r.rows, fi == r.nfields-1, &r.scratch)
		if msg != "" && (badRow < 0 || row < badRow || (row == badRow && fi < r.colField[badCol])) {
			badRow, badCol, badMsg = row, ci, msg
		}
	}
	if badRow < 0 {
		return nil
	}
	i := k + badRow*r.nfields + r.colField[badCol]
	start := int(r.seps[i-1] >> sepShift)
	return r.errorAt(r.fileOff+int64(start), r.cols[badCol].name, badMsg)
}

// errorAt builds a ParseError for the byte at file offset off, counting the
// lines before it only now.
func (r *Reader) errorAt(off int64, column, msg string) error {
	line, err := countLines(r.f, off)
	if err != nil {
		return fmt.Errorf("csvread: %s: at byte %d: %s (counting lines: %v)", r.path, off, msg, err)
	}
	return &ParseError{Path: r.path, Line: line, Column: column, Msg: msg}
}

// countLines returns the 1-based line number of file offset off.
func countLines(f io.ReaderAt, off int64) (int64, error) {
	buf := make([]byte, 1<<20)
	line := int64(1)
	for pos := int64(0); pos < off; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), off-pos)], pos)
		line += int64(bytes.Count(buf[:n], []byte{'\n'}))
		pos += int64(n)
		if err != nil {
			if err == io.EOF {
				break
			}
			return 0, err
		}
	}
	return line, nil
}
