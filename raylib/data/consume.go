package data

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/goray-dev/goray/raylib/ray"
)

// execute runs the dataset's plan (or plan, when a consumer rewrote it)
// and calls each for every output block in turn; each returning false
// stops the execution early.
func (d *Dataset) execute(plan *node, each func(BlockRef) (bool, error)) (*Stats, error) {
	if d.err != nil {
		return nil, d.err
	}
	if plan == nil {
		plan = d.n
	}
	ex, err := startExecution(d.context(), d.dataContext(), plan, d.id)
	if err != nil {
		return nil, err
	}
	// Even a consumer that panics stops the execution and frees its blocks.
	defer ex.Close()
	for ref := range ex.out {
		more, err := each(ref)
		if err != nil || !more {
			ex.Close()
			if err != nil {
				return ex.stats, err
			}
			break
		}
	}
	if err := ex.Err(); err != nil {
		return ex.stats, err
	}
	d.box.set(ex.stats)
	return ex.stats, nil
}

// blocks fetches output blocks one by one, freeing each from the store
// once the caller has it (it stays alive in the caller's hands).
func (d *Dataset) blocks(plan *node, each func(*Block) (bool, error)) error {
	_, err := d.execute(plan, func(r BlockRef) (bool, error) {
		b, err := r.Get()
		if err != nil {
			return false, err
		}
		releaseRefs([]BlockRef{r}) // the caller holds the block itself now
		return each(b)
	})
	return err
}

// Take returns the first n rows (fewer if the dataset is smaller); only
// as much of the input as needed is read.
func (d *Dataset) Take(n int) ([]Row, error) {
	if n < 0 {
		return nil, fmt.Errorf("Take(%d): must not be negative", n)
	}
	var rows []Row
	err := d.internal(d.Limit(int64(n))).blocks(nil, func(b *Block) (bool, error) {
		take := min(int(b.NumRows()), n-len(rows))
		rows = append(rows, recordRows(b.rec, 0, take)...)
		return len(rows) < n, nil
	})
	return rows, err
}

// TakeAll returns every row.
func (d *Dataset) TakeAll() ([]Row, error) {
	var rows []Row
	err := d.blocks(nil, func(b *Block) (bool, error) {
		rows = append(rows, recordRows(b.rec, 0, int(b.NumRows()))...)
		return true, nil
	})
	return rows, err
}

// TakeBatch returns the first n rows as one batch; in a notebook it shows
// as a table (images as thumbnails).
func (d *Dataset) TakeBatch(n int) (*Batch, error) {
	if n < 1 {
		return nil, fmt.Errorf("TakeBatch(%d): must be at least 1", n)
	}
	rec, err := d.internal(d.Limit(int64(n))).ToArrow()
	if err != nil {
		return nil, err
	}
	return batchOf(rec), nil
}

// Show prints up to n rows, one per line (Ray's show; n ≤ 0 means 20).
func (d *Dataset) Show(n int) error { return d.ShowTo(os.Stdout, n) }

// ShowTo is Show writing to w.
func (d *Dataset) ShowTo(w io.Writer, n int) error {
	if n <= 0 {
		n = 20
	}
	rows, err := d.Take(n)
	if err != nil {
		return err
	}
	var cols []string
	if len(rows) > 0 {
		if s := d.n.knownSchema(); s != nil {
			cols = schemaNames(s)
		}
	}
	for _, r := range rows {
		fmt.Fprintln(w, formatRow(r, cols))
	}
	return nil
}

func formatRow(r Row, order []string) string {
	keys := make([]string, 0, len(r))
	for _, k := range order {
		if _, ok := r[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) != len(r) {
		keys = keys[:0]
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %s", k, formatValue(r[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []byte:
		if len(x) > 16 {
			return fmt.Sprintf("<%d bytes>", len(x))
		}
		return fmt.Sprintf("%q", x)
	}
	if s := imageSummary(v); s != "" {
		return s
	}
	return fmt.Sprint(v)
}

// Count returns the number of rows: from metadata when the plan allows
// (a Parquet read, a materialized dataset), else by running the plan with
// only the columns its filters need.
func (d *Dataset) Count() (int64, error) {
	if d.err != nil {
		return 0, d.err
	}
	if n := d.n.knownRows(); n >= 0 {
		return n, nil
	}
	var rows int64
	_, err := d.execute(countPlan(d.n), func(r BlockRef) (bool, error) {
		rows += r.Meta.NumRows
		releaseRefs([]BlockRef{r})
		return true, nil
	})
	return rows, err
}

// Schema returns the dataset's schema, from metadata when it is known,
// else from the first block (Ray does the same).
func (d *Dataset) Schema() (*Schema, error) {
	if d.err != nil {
		return nil, d.err
	}
	if s := d.n.knownSchema(); s != nil {
		return &Schema{s}, nil
	}
	var s *arrow.Schema
	_, err := d.internal(d.Limit(1)).execute(nil, func(r BlockRef) (bool, error) {
		s = r.Meta.Schema
		releaseRefs([]BlockRef{r})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, nil
	}
	return &Schema{s}, nil
}

// Columns returns the column names.
func (d *Dataset) Columns() ([]string, error) {
	s, err := d.Schema()
	if err != nil || s == nil {
		return nil, err
	}
	return schemaNames(s.Schema), nil
}

// Schema is a dataset's schema; it prints as Ray's does.
type Schema struct{ *arrow.Schema }

// Arrow returns the Arrow schema.
func (s *Schema) Arrow() *arrow.Schema { return s.Schema }

// String formats the schema as a two-column table of names and types.
func (s *Schema) String() string {
	names, types := []string{"Column"}, []string{"Type"}
	for _, f := range s.Fields() {
		names = append(names, f.Name)
		types = append(types, typeName(f.Type))
	}
	w := 0
	for _, n := range names {
		w = max(w, len(n))
	}
	var b strings.Builder
	if len(names) == 1 {
		return "Column  Type\n------  ----"
	}
	for i := range names {
		if i == 1 {
			fmt.Fprintf(&b, "%-*s  %s\n", w, strings.Repeat("-", len(names[0])), strings.Repeat("-", len(types[0])))
		}
		fmt.Fprintf(&b, "%-*s  %s", w, names[i], types[i])
		if i < len(names)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// IterRows yields every row; breaking out of the loop stops the execution.
func (d *Dataset) IterRows() iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		stopped := false
		err := d.blocks(nil, func(b *Block) (bool, error) {
			for _, r := range recordRows(b.rec, 0, int(b.NumRows())) {
				if !yield(r, nil) {
					stopped = true
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

// IterOption configures IterBatches.
type IterOption func(*iterConfig)

type iterConfig struct {
	batchSize int
	prefetch  int
	dropLast  bool
}

// IterBatchSize sets the rows per batch (default 256, as Ray's iterator).
func IterBatchSize(n int) IterOption { return func(c *iterConfig) { c.batchSize = n } }

// Prefetch sets how many blocks are fetched ahead of the consumer.
func Prefetch(n int) IterOption { return func(c *iterConfig) { c.prefetch = n } }

// DropLast drops a last batch smaller than the batch size.
func DropLast() IterOption { return func(c *iterConfig) { c.dropLast = true } }

// IterBatches yields batches of a fixed number of rows (the last may be
// smaller), spanning blocks; breaking out of the loop stops the execution.
func (d *Dataset) IterBatches(opts ...IterOption) iter.Seq2[*Batch, error] {
	cfg := iterConfig{batchSize: 256, prefetch: 1}
	for _, o := range opts {
		o(&cfg)
	}
	return func(yield func(*Batch, error) bool) {
		if cfg.batchSize < 1 {
			yield(nil, fmt.Errorf("IterBatches: batch size %d must be at least 1", cfg.batchSize))
			return
		}
		ctx, cancel := context.WithCancel(d.context())
		defer cancel()
		blocks := make(chan *Block, max(cfg.prefetch, 0))
		var execErr error
		go func() {
			defer close(blocks)
			execErr = d.internal(d.WithContext(ctx)).blocks(nil, func(b *Block) (bool, error) {
				select {
				case blocks <- b:
					return true, nil
				case <-ctx.Done():
					// The caller's own cancellation is an error; the
					// loop breaking early (our cancel) is not.
					return false, context.Cause(d.context())
				}
			})
		}()
		st := &batchStage{batchSize: cfg.batchSize}
		stopped := false
		st.fn = func(_ context.Context, b *Batch) (*Batch, error) {
			if stopped {
				return nil, nil
			}
			if cfg.dropLast && b.NumRows() < cfg.batchSize {
				return nil, nil
			}
			if !yield(b, nil) {
				stopped = true
				cancel()
			}
			return nil, nil
		}
		discard := func(arrow.RecordBatch) error { return nil }
		for b := range blocks {
			if stopped {
				continue
			}
			if err := st.process(ctx, b.rec, discard); err != nil {
				yield(nil, err)
				stopped = true
				cancel()
			}
		}
		if stopped {
			return
		}
		if execErr == nil {
			execErr = context.Cause(d.context())
		}
		if execErr != nil {
			yield(nil, execErr)
			return
		}
		if err := st.flush(ctx, discard); err != nil {
			yield(nil, err)
		}
	}
}

// ToArrow runs the dataset and returns all of it as one Arrow record
// batch (schemas of different blocks are unified where Arrow can).
func (d *Dataset) ToArrow() (arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	var where []string
	_, err := d.execute(nil, func(r BlockRef) (bool, error) {
		b, err := r.Get()
		if err != nil {
			return false, err
		}
		releaseRefs([]BlockRef{r})
		recs = append(recs, b.rec)
		where = append(where, blockWhere(len(where), r.Meta))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		s := d.n.knownSchema()
		if s == nil {
			s = arrow.NewSchema(nil, nil)
		}
		return emptyRecord(s), nil
	}
	var nonEmpty []arrow.RecordBatch
	var nonEmptyWhere []string
	for i, r := range recs {
		if r.NumRows() > 0 {
			nonEmpty, nonEmptyWhere = append(nonEmpty, r), append(nonEmptyWhere, where[i])
		}
	}
	if len(nonEmpty) == 0 {
		return recs[0], nil
	}
	return concatUnified(d.context(), nonEmpty, nonEmptyWhere)
}

// ToArrowTable returns the dataset as an Arrow table of its blocks.
func (d *Dataset) ToArrowTable() (arrow.Table, error) {
	rec, err := d.ToArrow()
	if err != nil {
		return nil, err
	}
	return array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec}), nil
}

// Materialize runs the dataset and keeps its blocks in the object store;
// the result is a Dataset whose reads come from those blocks.
func (d *Dataset) Materialize() (*MaterializedDataset, error) {
	var refs []BlockRef
	_, err := d.execute(nil, func(r BlockRef) (bool, error) {
		refs = append(refs, r)
		return true, nil
	})
	if err != nil {
		releaseRefs(refs)
		return nil, err
	}
	var schema *arrow.Schema
	if len(refs) > 0 {
		schemas := make([]*arrow.Schema, 0, len(refs))
		where := make([]string, 0, len(refs))
		for i, r := range refs {
			schemas = append(schemas, r.Meta.Schema)
			where = append(where, blockWhere(i, r.Meta))
		}
		if schema, err = unifySchemas(schemas, where); err != nil {
			releaseRefs(refs)
			return nil, err
		}
	} else {
		schema = d.n.knownSchema()
	}
	var created []BlockRef
	for i := range refs {
		if refs[i].owned {
			created = append(created, refs[i])
		}
		refs[i].owned = false // the materialized dataset's now, until Release
	}
	n := &node{kind: nodeBlocks, blocks: refs, schema: schema, label: "FromBlocks"}
	md := &MaterializedDataset{Dataset: &Dataset{n: n, ctx: d.ctx, dc: d.dc, id: newDatasetID()}, created: created}
	md.box = d.box
	return md, nil
}

// MaterializedDataset is a dataset whose blocks are in the object store.
type MaterializedDataset struct {
	*Dataset
	created []BlockRef // the blocks its execution made; others belong to its source
}

// NumBlocks is the number of blocks.
func (m *MaterializedDataset) NumBlocks() int { return len(m.n.blocks) }

// SizeBytes is the bytes of all blocks.
func (m *MaterializedDataset) SizeBytes() int64 {
	var n int64
	for _, b := range m.n.blocks {
		n += b.Meta.SizeBytes
	}
	return n
}

// Blocks returns the references to the blocks with their metadata; get a
// block with ray.Get(ref.Ref) or ref.Get().
func (m *MaterializedDataset) Blocks() []BlockRef { return append([]BlockRef(nil), m.n.blocks...) }

// Release frees the blocks this materialization made from the object
// store (blocks it shares with its source stay); the dataset must not be
// used afterwards.
func (m *MaterializedDataset) Release() {
	for _, b := range m.created {
		ray.Release(b.Ref)
	}
}

// String is the dataset as Ray prints it:
// MaterializedDataset(num_blocks=1, num_rows=4500000, schema={...}).
func (m *MaterializedDataset) String() string {
	return fmt.Sprintf("MaterializedDataset(num_blocks=%d, num_rows=%d, schema=%s)", m.NumBlocks(),
		m.n.knownRows(), schemaString(m.n.knownSchema()))
}

// blockWhere names a block in an error: its index and the files it came
// from.
func blockWhere(i int, m BlockMetadata) string {
	if len(m.InputFiles) == 0 {
		return fmt.Sprintf("block %d", i)
	}
	return fmt.Sprintf("block %d (from %s)", i, strings.Join(m.InputFiles, ", "))
}
