package pqfast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// readBufferSize is parquet-go's read buffer per column chunk reader.
const readBufferSize = 256 << 10

// Read reads the given row groups (indices, in that order; nil: all) and
// columns (nil: all, in file order) of the Parquet file at path into Arrow
// record batches, one or more per row group (at most batchRows rows each;
// batchRows <= 0: one per row group), calling emit for each. Columns keep
// the file's order unless columns gives an order. Batches never span row
// groups; empty row groups give no batch.
//
// emit takes ownership of the batch (one reference: Release it when done).
// An error from emit stops the read and is returned as is.
//
// The columns must be ones Supported accepts (else Read returns an error
// saying why, naming the file). Columns are decoded in parallel, ahead of
// emit (see readBatches); emit is called from Read's goroutine only. ctx is
// checked between pages and before each emit; a cancelled read returns
// ctx.Err(). The batches' memory is Go memory (not from an arrow
// allocator). Other errors name the file and, where one is at fault, the
// column and row group.
func Read(ctx context.Context, path string, rowGroups []int, columns []string, batchRows int,
	emit func(arrow.RecordBatch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pf, fh, err := Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	cols, sc, err := plan(pf, columns)
	if err != nil {
		return fmt.Errorf("pqfast: %s: %w", path, err)
	}
	md := pf.Metadata()
	if rowGroups == nil {
		rowGroups = make([]int, len(md.RowGroups))
		for i := range rowGroups {
			rowGroups[i] = i
		}
	}
	for _, g := range rowGroups {
		if g < 0 || g >= len(md.RowGroups) {
			return fmt.Errorf("pqfast: %s: row group %d out of range (file has %d)", path, g, len(md.RowGroups))
		}
	}
	// The batch lengths, in order, for every row group.
	var batches []batch
	for _, g := range rowGroups {
		rows := md.RowGroups[g].NumRows
		if rows < 0 {
			return fmt.Errorf("pqfast: %s: row group %d: negative row count", path, g)
		}
		step := rows
		if batchRows > 0 {
			step = int64(batchRows)
		}
		for off := int64(0); off < rows; off += step {
			batches = append(batches, batch{group: g, rows: int(min(step, rows-off))})
		}
	}
	if len(batches) == 0 {
		return nil
	}
	if len(cols) == 0 {
		for _, b := range batches {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(array.NewRecordBatch(sc, nil, int64(b.rows))); err != nil {
				return err
			}
		}
		return nil
	}

	return readBatches(ctx, path, pf, cols, sc, batches, emit)
}

// A unit decodes one column for a span of batches, sending one array per
// batch to ch (closed at the end; err is set before).
type unit struct {
	ch  chan arrow.Array
	err error
}

// readBatches decodes the columns of the batches and emits the batches.
//
// With at least as many columns as GOMAXPROCS (or one row group), each
// column has one goroutine for all the batches, a batch ahead of emit. With
// fewer columns, the work is split by row group too: each (row group,
// column) is a unit of its own goroutine, and the units of the next row
// groups run ahead while the current one is emitted, so that a projection
// of one or two columns still uses every core. A unit's channel holds all
// of its row group's batches, so a unit never waits for emit and at most
// about GOMAXPROCS row groups of the projected columns are decoded ahead.
func readBatches(ctx context.Context, path string, pf *parquet.File, cols []column, sc *arrow.Schema, batches []batch,
	emit func(arrow.RecordBatch) error) error {
	procs := runtime.GOMAXPROCS(0)
	var spans [][]batch
	ahead := 0 // spans started beyond the one being emitted
	if len(cols) < procs && batches[0].group != batches[len(batches)-1].group {
		for i := 0; i < len(batches); {
			j := i + 1
			for j < len(batches) && batches[j].group == batches[i].group {
				j++
			}
			spans = append(spans, batches[i:j])
			i = j
		}
		ahead = max(1, procs/len(cols)-1)
	} else {
		spans = [][]batch{batches}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &reader{path: path, pf: pf}
	units := make([][]*unit, len(spans))
	var wg sync.WaitGroup
	start := func(s int) {
		units[s] = make([]*unit, len(cols))
		capacity := 1
		if len(spans) > 1 {
			capacity = len(spans[s])
		}
		for i := range cols {
			u := &unit{ch: make(chan arrow.Array, capacity)}
			units[s][i] = u
			wg.Go(func() {
				defer close(u.ch)
				u.err = r.column(ctx, &cols[i], spans[s], u.ch)
			})
		}
	}
	// stop ends the units and releases what they already sent.
	stop := func() {
		cancel()
		for _, us := range units {
			for _, u := range us {
				for a := range u.ch {
					a.Release()
				}
			}
		}
		wg.Wait()
	}
	started := 0
	arrs := make([]arrow.Array, len(cols))
	for s, span := range spans {
		for ; started < len(spans) && started <= s+ahead; started++ {
			start(started)
		}
		for _, b := range span {
			if err := ctx.Err(); err != nil {
				stop()
				return err
			}
			for i, u := range units[s] {
				a, ok := <-u.ch
				if !ok {
					for _, a := range arrs[:i] {
						a.Release()
					}
					stop()
					if u.err == nil { // cannot happen: a unit ends early only on error
						u.err = fmt.Errorf("pqfast: %s: column %q: reader ended early", path, cols[i].name)
					}
					return u.err
				}
				arrs[i] = a
			}
			rec := array.NewRecordBatch(sc, arrs, int64(b.rows))
			for _, a := range arrs {
				a.Release()
			}
			if err := emit(rec); err != nil {
				stop()
				return err
			}
		}
		// The units of span s are done: a unit sends its last array before
		// its final check of the chunk, so wait for that check.
		for _, u := range units[s] {
			for a := range u.ch { // nothing more is sent; this waits for close
				a.Release()
			}
			if u.err != nil {
				stop()
				return u.err
			}
		}
		units[s] = nil
	}
	wg.Wait()
	return nil
}

// batch is one output batch: rows rows of row group group.
type batch struct {
	group int
	rows  int
}

// reader reads the columns of one file.
type reader struct {
	path string
	pf   *parquet.File
}

// column reads column c of the batches, in order, sending one array per
// batch to out.
func (r *reader) column(ctx context.Context, c *column, batches []batch, out chan<- arrow.Array) (err error) {
	group := -1
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pqfast: %s: column %q: row group %d: corrupt data (%v)", r.path, c.name, group, p)
		}
	}()
	b := newBuilder(c)
	bb, _ := b.(*bytesBuilder)
	md := r.pf.Metadata()
	rgs := r.pf.RowGroups()
	wrap := func(err error) error {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("pqfast: %s: column %q: row group %d: %w", r.path, c.name, group, err)
	}

	var (
		pages     parquet.Pages
		page      parquet.Page
		levels    []byte // current page's definition levels (nil: REQUIRED)
		pageRows  int    // rows of the current page
		pageRow   int    // rows of the current page used
		pageDense int    // dense values of the current page used
	)
	closePages := func() {
		if page != nil {
			parquet.Release(page)
			page = nil
		}
		if pages != nil {
			pages.Close()
			pages = nil
		}
	}
	defer closePages()

	for _, bt := range batches {
		if bt.group != group {
			// A new row group: the previous one must be used up.
			if group >= 0 {
				if err := drained(ctx, pages, pageRow, pageRows); err != nil {
					return wrap(err)
				}
			}
			closePages()
			group = bt.group
			b.newChunk()
			pages = rgs[group].ColumnChunks()[c.leaf].Pages()
			pageRows, pageRow, pageDense = 0, 0, 0
		}
		if bb != nil {
			bb.reserve(reserve(&md.RowGroups[group].Columns[c.leaf].MetaData, md.RowGroups[group].NumRows, bt.rows))
		}
		b.reset(bt.rows)
		need := bt.rows
		for need > 0 {
			if pageRow == pageRows {
				if page != nil {
					parquet.Release(page)
					page = nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				p, err := pages.ReadPage()
				if err == io.EOF {
					return wrap(fmt.Errorf("column chunk ends %d rows early", need))
				}
				if err != nil {
					return wrap(err)
				}
				page = p
				dense := 0
				if c.optional {
					levels = p.DefinitionLevels()
					pageRows = len(levels)
					if int64(pageRows) != p.NumValues() {
						return wrap(fmt.Errorf("page has %d definition levels for %d values", pageRows, p.NumValues()))
					}
					dense = countDefined(levels, c.maxDef)
				} else {
					levels = nil
					pageRows = int(p.NumValues())
					dense = pageRows
				}
				if err := b.load(p, dense); err != nil {
					return wrap(err)
				}
				pageRow, pageDense = 0, 0
				continue
			}
			k := min(need, pageRows-pageRow)
			var lv []byte
			if levels != nil {
				lv = levels[pageRow : pageRow+k]
			}
			used, err := b.put(lv, c.maxDef, k, pageDense)
			if err != nil {
				return wrap(err)
			}
			pageRow += k
			pageDense += used
			need -= k
		}
		a := b.finish()
		select {
		case out <- a:
		case <-ctx.Done():
			a.Release()
			return ctx.Err()
		}
	}
	if err := drained(ctx, pages, pageRow, pageRows); err != nil {
		return wrap(err)
	}
	return nil
}

// drained checks that a column chunk has no rows left beyond those read.
func drained(ctx context.Context, pages parquet.Pages, pageRow, pageRows int) error {
	if pageRow < pageRows {
		return fmt.Errorf("column chunk has more rows than its row group (%d left in a page)", pageRows-pageRow)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := pages.ReadPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := p.NumValues()
		parquet.Release(p)
		if n > 0 {
			return fmt.Errorf("column chunk has more rows than its row group")
		}
	}
}

// reserve estimates the string bytes of a batch of rows rows of a row
// group of total rows from the column chunk's uncompressed size, less the
// 4-byte lengths where the chunk has PLAIN pages: about right for PLAIN and
// DELTA_LENGTH_BYTE_ARRAY pages, short for dictionary and DELTA_BYTE_ARRAY
// pages (the builder then grows the buffer).
func reserve(cm *format.ColumnMetaData, total int64, rows int) int {
	if total <= 0 {
		return 0
	}
	est := cm.TotalUncompressedSize * int64(rows) / total
	if slices.Contains(cm.Encoding, format.Plain) && !slices.Contains(cm.Encoding, format.DeltaLengthByteArray) {
		est -= 4 * int64(rows)
	}
	return int(max(est, int64(rows)))
}

// countDefined counts the levels equal to maxDef.
func countDefined(levels []byte, maxDef byte) int {
	if maxDef == 1 {
		return len(levels) - bytes.Count(levels, []byte{0})
	}
	n := 0
	for _, l := range levels {
		if l == maxDef {
			n++
		}
	}
	return n
}
