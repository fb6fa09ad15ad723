package data

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

// Dataset is a lazy, immutable pipeline: transforms return a new Dataset
// and nothing runs until a consumer (Take, Count, IterBatches,
// Materialize, Write*) asks for rows. Building a pipeline never fails
// loudly: a mistake (a missing file, a bad option) is kept and returned by
// the first consumer, and by Err.
type Dataset struct {
	n   *node
	err error
	ctx context.Context
	dc  *DataContext
	id  string
	box *statsBox // the stats of this dataset's last execution
}

func newDataset(n *node) *Dataset { return &Dataset{n: n, id: newDatasetID(), box: &statsBox{}} }

func failed(err error) *Dataset { return &Dataset{err: err, id: newDatasetID(), box: &statsBox{}} }

// Err returns the first error made while building the pipeline.
func (d *Dataset) Err() error { return d.err }

// WithContext returns the dataset bound to ctx: cancelling it stops any
// execution of the dataset and of datasets derived from it.
func (d *Dataset) WithContext(ctx context.Context) *Dataset {
	cp := *d
	cp.box = &statsBox{}
	cp.ctx = ctx
	return &cp
}

// WithDataContext returns the dataset with its own settings instead of
// Current().
func (d *Dataset) WithDataContext(dc *DataContext) *Dataset {
	cp := *d
	cp.box = &statsBox{}
	cp.dc = dc
	return &cp
}

func (d *Dataset) context() context.Context {
	if d.ctx != nil {
		return d.ctx
	}
	return context.Background()
}

func (d *Dataset) dataContext() *DataContext {
	if d.dc != nil {
		return d.dc
	}
	return Current()
}

// internal is a dataset a consumer derives to run (Take runs a Limit): its
// stats are the receiver's.
func (d *Dataset) internal(x *Dataset) *Dataset {
	x.box = d.box
	x.id = d.id
	return x
}

// then appends a logical operator.
func (d *Dataset) then(x *node) *Dataset {
	if d.err != nil {
		return d
	}
	x.input = d.n
	return &Dataset{n: x, ctx: d.ctx, dc: d.dc, id: newDatasetID(), box: &statsBox{}}
}

func (d *Dataset) fail(err error) *Dataset {
	if d.err != nil {
		return d
	}
	return &Dataset{err: err, ctx: d.ctx, dc: d.dc, id: newDatasetID(), box: &statsBox{}}
}

// MapOption configures a map-like operator: batch size, resources,
// concurrency.
type MapOption func(*mapConfig) error

// BatchSize sets the rows per batch a MapBatches function receives,
// independently of block sizes (batches may span the blocks of a task).
// Without it a batch is a whole block.
func BatchSize(n int) MapOption {
	return func(c *mapConfig) error {
		if n < 1 {
			return fmt.Errorf("BatchSize(%d): must be at least 1", n)
		}
		c.batchSize = n
		return nil
	}
}

// NumCPUs sets the CPUs each task or actor of the operator holds
// (default 1 for tasks).
func NumCPUs(n float64) MapOption {
	return func(c *mapConfig) error {
		if n < 0 {
			return fmt.Errorf("NumCPUs(%g): must not be negative", n)
		}
		c.numCPUs = n
		return nil
	}
}

// NumGPUs sets the GPUs, possibly a fraction, each task or actor holds.
func NumGPUs(n float64) MapOption {
	return func(c *mapConfig) error {
		if n < 0 {
			return fmt.Errorf("NumGPUs(%g): must not be negative", n)
		}
		c.numGPUs = n
		return nil
	}
}

// Resources sets custom resources each task or actor holds.
func Resources(r map[string]float64) MapOption {
	return func(c *mapConfig) error {
		c.resources = r
		return nil
	}
}

// Concurrency caps the tasks of a task-pool operator running at once.
func Concurrency(n int) MapOption {
	return func(c *mapConfig) error {
		if n < 1 {
			return fmt.Errorf("Concurrency(%d): must be at least 1", n)
		}
		c.concurrency = n
		return nil
	}
}

func (d *Dataset) mapNode(label string, opts []MapOption, x *node) *Dataset {
	for _, o := range opts {
		if err := o(&x.cfg); err != nil {
			return d.fail(fmt.Errorf("%s: %w", label, err))
		}
	}
	x.kind, x.label = nodeMap, label
	return d.then(x)
}

// MapBatches applies fn to batches of rows. fn is one of
//
//	func(*data.Batch) (*data.Batch, error)
//	func(context.Context, *data.Batch) (*data.Batch, error)
//	func(*data.Batch) *data.Batch
//
// run as tasks, or an *ActorPoolUDF (from ActorPool) run on a pool of
// actors that each construct the UDF once. The function may return a new
// batch or the one it was given, changed.
func (d *Dataset) MapBatches(fn any, opts ...MapOption) *Dataset {
	var call func(ctx context.Context, udf any, b *Batch) (*Batch, error)
	label := ""
	x := &node{}
	switch f := fn.(type) {
	case func(*Batch) (*Batch, error):
		call = func(_ context.Context, _ any, b *Batch) (*Batch, error) { return f(b) }
		label = funcName(f)
	case func(context.Context, *Batch) (*Batch, error):
		call = func(ctx context.Context, _ any, b *Batch) (*Batch, error) { return f(ctx, b) }
		label = funcName(f)
	case func(*Batch) *Batch:
		call = func(_ context.Context, _ any, b *Batch) (*Batch, error) { return f(b), nil }
		label = funcName(f)
	case *ActorPoolUDF:
		if f == nil || f.size < 1 || f.min < 1 || f.max < f.min {
			return d.fail(fmt.Errorf("MapBatches: actor pool needs at least 1 actor (min %d, max %d)", f.min, f.max))
		}
		call = func(ctx context.Context, udf any, b *Batch) (*Batch, error) { return udf.(BatchCaller).Call(ctx, b) }
		label = f.name
		x.cfg.pool = &actorPool{udf: f}
		x.cfg.minActors, x.cfg.maxActors = f.min, f.max
	default:
		return d.fail(fmt.Errorf("MapBatches: fn is %T; want func(*data.Batch) (*data.Batch, error), "+
			"func(context.Context, *data.Batch) (*data.Batch, error) or data.ActorPool(...)", fn))
	}
	x.newStage = func(udf any) (stage, error) {
		bs := x.cfg.batchSize
		return &batchStage{batchSize: bs, fn: func(ctx context.Context, b *Batch) (*Batch, error) {
			return call(ctx, udf, b)
		}}, nil
	}
	return d.mapNode("MapBatches("+label+")", opts, x)
}

// Map applies fn to every row (Ray's map). Returning a Row with new keys
// adds columns.
func (d *Dataset) Map(fn func(Row) (Row, error), opts ...MapOption) *Dataset {
	x := &node{rowPreserving: true}
	x.newStage = func(any) (stage, error) {
		return &rowStage{fn: func(r Row) ([]Row, error) {
			out, err := fn(r)
			if err != nil {
				return nil, err
			}
			return []Row{out}, nil
		}}, nil
	}
	return d.mapNode("Map("+funcName(fn)+")", opts, x)
}

// FlatMap applies fn to every row; each returns zero or more rows.
func (d *Dataset) FlatMap(fn func(Row) ([]Row, error), opts ...MapOption) *Dataset {
	x := &node{}
	x.newStage = func(any) (stage, error) { return &rowStage{fn: fn}, nil }
	return d.mapNode("FlatMap("+funcName(fn)+")", opts, x)
}

// Filter keeps the rows for which pred is true.
func (d *Dataset) Filter(pred func(Row) bool, opts ...MapOption) *Dataset {
	x := &node{}
	x.newStage = func(any) (stage, error) {
		return recordStage(func(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
			rows := recordRows(rec, 0, int(rec.NumRows()))
			b := array.NewBooleanBuilder(mem)
			for _, r := range rows {
				b.Append(pred(r))
			}
			mask := b.NewBooleanArray()
			return compute.FilterRecordBatch(ctx, rec, mask, compute.DefaultFilterOptions())
		}), nil
	}
	return d.mapNode("Filter("+funcName(pred)+")", opts, x)
}

// FilterExpr keeps the rows where a string expression is true, evaluated
// over whole Arrow columns, e.g.
//
//	ds.FilterExpr("order_year >= 1995 and o_totalprice > 100000 and is_urgent")
//
// Comparisons, and/or/not, arithmetic, `in (...)` and `is null` are
// supported. Right after a Parquet read it is pushed into the read, which
// skips row groups whose statistics rule every row out.
func (d *Dataset) FilterExpr(src string) *Dataset {
	e, err := expr.Parse(src)
	if err != nil {
		return d.fail(fmt.Errorf("FilterExpr: %w", err))
	}
	x := &node{filter: e}
	x.newStage = func(any) (stage, error) {
		return recordStage(func(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
			if err := e.Check(rec.Schema()); err != nil {
				return nil, err
			}
			return filterRecord(ctx, e, rec)
		}), nil
	}
	return d.mapNode("Filter("+e.String()+")", nil, x)
}

// SelectColumns keeps the named columns, in that order.
func (d *Dataset) SelectColumns(cols ...string) *Dataset {
	if len(cols) == 0 {
		return d.fail(fmt.Errorf("SelectColumns: no columns given"))
	}
	x := &node{rowPreserving: true, selectCols: cols}
	x.newStage = func(any) (stage, error) {
		return recordStage(func(_ context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
			return selectRecord(rec, cols)
		}), nil
	}
	return d.mapNode("Project", nil, x)
}

// DropColumns removes the named columns.
func (d *Dataset) DropColumns(cols ...string) *Dataset {
	x := &node{rowPreserving: true, dropCols: cols}
	x.newStage = func(any) (stage, error) {
		return recordStage(func(_ context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
			names := schemaNames(rec.Schema())
			for _, c := range cols {
				if !slices.Contains(names, c) {
					return nil, &ColumnError{Column: c, Available: names}
				}
			}
			keep := make([]string, 0, len(names))
			for _, n := range names {
				if !slices.Contains(cols, n) {
					keep = append(keep, n)
				}
			}
			return selectRecord(rec, keep)
		}), nil
	}
	return d.mapNode("MapBatches(drop_columns)", nil, x)
}

// RenameColumns renames columns: names maps old names to new ones.
func (d *Dataset) RenameColumns(names map[string]string) *Dataset {
	x := &node{rowPreserving: true}
	x.newStage = func(any) (stage, error) {
		return recordStage(func(_ context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
			fields := append([]arrow.Field(nil), rec.Schema().Fields()...)
			for old := range names {
				if len(rec.Schema().FieldIndices(old)) == 0 {
					return nil, &ColumnError{Column: old, Available: schemaNames(rec.Schema())}
				}
			}
			for i, f := range fields {
				if n, ok := names[f.Name]; ok {
					fields[i].Name = n
				}
			}
			return array.NewRecordBatch(arrow.NewSchema(fields, nil), rec.Columns(), rec.NumRows()), nil
		}), nil
	}
	return d.mapNode("Project", nil, x)
}

// RenameAllColumns gives every column a new name, in order (Ray's list
// form of rename_columns); the count must match.
func (d *Dataset) RenameAllColumns(names ...string) *Dataset {
	x := &node{rowPreserving: true}
	x.newStage = func(any) (stage, error) {
		return recordStage(func(_ context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
			if len(names) != int(rec.NumCols()) {
				return nil, fmt.Errorf("RenameAllColumns: %d names for %d columns %v", len(names), rec.NumCols(),
					schemaNames(rec.Schema()))
			}
			fields := append([]arrow.Field(nil), rec.Schema().Fields()...)
			for i := range fields {
				fields[i].Name = names[i]
			}
			return array.NewRecordBatch(arrow.NewSchema(fields, nil), rec.Columns(), rec.NumRows()), nil
		}), nil
	}
	if d.err != nil {
		return d
	}
	if s := d.n.knownSchema(); s != nil && s.NumFields() != len(names) {
		return d.fail(fmt.Errorf("RenameAllColumns: %d names for %d columns %v", len(names), s.NumFields(), schemaNames(s)))
	}
	return d.mapNode("Project", nil, x)
}

// AddColumn adds (or replaces) a column computed from each batch; fn
// returns the values as SetColumn accepts them.
func (d *Dataset) AddColumn(name string, fn func(*Batch) (any, error), opts ...MapOption) *Dataset {
	x := &node{rowPreserving: true}
	x.newStage = func(any) (stage, error) {
		return &batchStage{fn: func(_ context.Context, b *Batch) (*Batch, error) {
			v, err := fn(b)
			if err != nil {
				return nil, err
			}
			return b.SetColumn(name, v), nil
		}}, nil
	}
	return d.mapNode("MapBatches(add_column)", opts, x)
}

// Limit keeps the first n rows; upstream stops as soon as it has them.
func (d *Dataset) Limit(n int64) *Dataset {
	if n < 0 {
		return d.fail(fmt.Errorf("Limit(%d): must not be negative", n))
	}
	return d.then(&node{kind: nodeLimit, limit: n, label: limitLabel(n)})
}

func limitLabel(n int64) string { return fmt.Sprintf("LimitOperator[limit=%d]", n) }

// Repartition splits the dataset into n blocks of nearly equal rows (Ray's
// repartition without shuffle); it waits for all its input.
func (d *Dataset) Repartition(n int) *Dataset {
	if n < 1 {
		return d.fail(fmt.Errorf("Repartition(%d): must be at least 1", n))
	}
	return d.then(&node{kind: nodeRepartition, parts: n, label: "Repartition"})
}

// funcName is a function's name as Ray shows it in operator names: the
// bare name, or <lambda> for a function literal.
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return "<nil>"
	}
	f := runtime.FuncForPC(v.Pointer())
	if f == nil {
		return "<lambda>"
	}
	name := f.Name()
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	parts := strings.Split(name, ".")
	last := parts[len(parts)-1]
	if strings.HasPrefix(last, "func") || strings.HasPrefix(last, "gowrap") {
		return "<lambda>"
	}
	return strings.TrimSuffix(last, "-fm")
}

func typeNameOf[T any]() string { return reflect.TypeFor[T]().Name() }
