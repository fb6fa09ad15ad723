package data

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

// emitFn passes a record to the next stage of a fused task.
type emitFn func(arrow.RecordBatch) error

// stage is one logical operator's work inside a task: records in, records
// out. A fused operator (A->B) runs its stages one after the other on each
// record, so no block is stored between them.
type stage interface {
	process(ctx context.Context, rec arrow.RecordBatch, emit emitFn) error
	// flush emits what the stage still holds at the end of the task's
	// input (a partial batch).
	flush(ctx context.Context, emit emitFn) error
}

// errLimitReached stops a task early: a limit downstream has its rows.
var errLimitReached = errors.New("limit reached")

// UDFError reports a user function that failed or panicked, naming the
// operator and the input block.
type UDFError struct {
	Operator string
	Block    string // which input: "block 3 (rows 0-999)" or the file it came from
	Err      error
	Stack    string // set for panics
}

func (e *UDFError) Error() string {
	s := fmt.Sprintf("%s: %s: %v", e.Operator, e.Block, e.Err)
	return s
}

func (e *UDFError) Unwrap() error { return e.Err }

// callUDF runs f, turning a panic into an error.
func callUDF(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = &panicError{err: e, stack: string(debug.Stack())}
			} else {
				err = &panicError{err: fmt.Errorf("%v", r), stack: string(debug.Stack())}
			}
		}
	}()
	return f()
}

type panicError struct {
	err   error
	stack string
}

func (p *panicError) Error() string { return "panic: " + p.err.Error() }
func (p *panicError) Unwrap() error { return p.err }

// batchStage runs a batch function, on whole records or on batches of
// batchSize rows that may span the records of one task's input.
type batchStage struct {
	fn        func(context.Context, *Batch) (*Batch, error)
	batchSize int
	pending   []arrow.RecordBatch
	rows      int
}

func (s *batchStage) process(ctx context.Context, rec arrow.RecordBatch, emit emitFn) error {
	if s.batchSize <= 0 {
		return s.call(ctx, rec, emit)
	}
	for rec.NumRows() > 0 {
		need := int64(s.batchSize - s.rows)
		if rec.NumRows() < need && len(s.pending) == 0 && s.rows == 0 {
			s.pending, s.rows = append(s.pending, rec), int(rec.NumRows())
			return nil
		}
		take := min(need, rec.NumRows())
		s.pending = append(s.pending, rec.NewSlice(0, take))
		s.rows += int(take)
		rec = rec.NewSlice(take, rec.NumRows())
		if s.rows == s.batchSize {
			if err := s.flush(ctx, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *batchStage) flush(ctx context.Context, emit emitFn) error {
	if len(s.pending) == 0 {
		return nil
	}
	rec, err := concatRecords(s.pending[0].Schema(), s.pending)
	s.pending, s.rows = s.pending[:0], 0
	if err != nil {
		return err
	}
	return s.call(ctx, rec, emit)
}

func (s *batchStage) call(ctx context.Context, rec arrow.RecordBatch, emit emitFn) error {
	var out *Batch
	err := callUDF(func() error {
		var err error
		out, err = s.fn(ctx, batchOf(rec))
		return err
	})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	r, err := out.Record()
	if err != nil {
		return err
	}
	return emit(r)
}

// rowStage runs a per-row function: map, flat_map and filter.
type rowStage struct {
	fn func(Row) ([]Row, error) // nil rows drop the input row
}

func (s *rowStage) process(ctx context.Context, rec arrow.RecordBatch, emit emitFn) error {
	in := recordRows(rec, 0, int(rec.NumRows()))
	out := make([]Row, 0, len(in))
	for i, r := range in {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var rows []Row
		err := callUDF(func() error {
			var err error
			rows, err = s.fn(r)
			return err
		})
		if err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		out = append(out, rows...)
	}
	if len(out) == 0 {
		return emit(emptyRecord(rec.Schema()))
	}
	res, err := rowsToRecord(out, schemaNames(rec.Schema()))
	if err != nil {
		return err
	}
	return emit(res)
}

func (s *rowStage) flush(context.Context, emitFn) error { return nil }

// recordStage is a vectorised stage that needs no buffering: filters by
// expression, projections, added columns.
type recordStage func(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error)

func (f recordStage) process(ctx context.Context, rec arrow.RecordBatch, emit emitFn) error {
	var out arrow.RecordBatch
	if err := callUDF(func() error {
		var err error
		out, err = f(ctx, rec)
		return err
	}); err != nil {
		return err
	}
	return emit(out)
}

func (recordStage) flush(context.Context, emitFn) error { return nil }

// filterRecord keeps the rows where e is true.
func filterRecord(ctx context.Context, e *expr.Expr, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	mask, err := e.Filter(ctx, rec)
	if err != nil {
		return nil, err
	}
	if mask.NullN() == 0 {
		all := true
		for i := 0; i < mask.Len(); i++ {
			if !mask.Value(i) {
				all = false
				break
			}
		}
		if all {
			return rec, nil
		}
	}
	return compute.FilterRecordBatch(ctx, rec, mask, compute.DefaultFilterOptions())
}

// selectRecord keeps the named columns, in that order.
func selectRecord(rec arrow.RecordBatch, cols []string) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		idx := rec.Schema().FieldIndices(c)
		if len(idx) == 0 {
			return nil, &ColumnError{Column: c, Available: schemaNames(rec.Schema())}
		}
		fields[i], arrs[i] = rec.Schema().Field(idx[0]), rec.Column(idx[0])
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows()), nil
}

// limitStage passes at most n rows, then stops the task.
type limitStage struct{ left int64 }

func (s *limitStage) process(_ context.Context, rec arrow.RecordBatch, emit emitFn) error {
	if s.left <= 0 {
		return errLimitReached
	}
	if rec.NumRows() > s.left {
		rec = rec.NewSlice(0, s.left)
	}
	s.left -= rec.NumRows()
	if err := emit(rec); err != nil {
		return err
	}
	if s.left <= 0 {
		return errLimitReached
	}
	return nil
}

func (s *limitStage) flush(context.Context, emitFn) error { return nil }
