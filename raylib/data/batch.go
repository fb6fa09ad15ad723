package data

import (
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Batch is what a MapBatches function receives and returns: a set of named
// columns of equal length, Arrow arrays underneath. The typed accessors
// (Strings, Int64s, Float64s, ...) read a column as a Go slice, zero-copy
// when the column already has that type and no nulls; SetColumn adds or
// replaces a column from a Go slice or an Arrow array.
//
// An accessor given a column the batch lacks panics with a message naming
// the column; the executor turns the panic into an error that names the
// operator and the input block, so a UDF reads like Ray's batch["col"].
type Batch struct {
	fields []arrow.Field
	cols   []arrow.Array
	rows   int
	err    error // the first SetColumn failure, reported when the UDF returns
}

// NewBatch returns an empty batch that columns are added to with SetColumn.
func NewBatch() *Batch { return &Batch{rows: -1} }

func batchOf(rec arrow.RecordBatch) *Batch {
	return &Batch{fields: slices.Clone(rec.Schema().Fields()), cols: slices.Clone(rec.Columns()), rows: int(rec.NumRows())}
}

// NumRows is the number of rows; for a batch built column by column it is
// the length of the first column set.
func (b *Batch) NumRows() int { return max(b.rows, 0) }

// Columns lists the column names in order.
func (b *Batch) Columns() []string {
	names := make([]string, len(b.fields))
	for i, f := range b.fields {
		names[i] = f.Name
	}
	return names
}

// Has reports whether the batch has the column.
func (b *Batch) Has(name string) bool { return b.index(name) >= 0 }

func (b *Batch) index(name string) int {
	for i, f := range b.fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Column returns a column as an Arrow array.
func (b *Batch) Column(name string) arrow.Array { return b.cols[b.mustIndex(name)] }

func (b *Batch) mustIndex(name string) int {
	i := b.index(name)
	if i < 0 {
		panic(&ColumnError{Column: name, Available: b.Columns()})
	}
	return i
}

// Type returns a column's Arrow type.
func (b *Batch) Type(name string) arrow.DataType { return b.fields[b.mustIndex(name)].Type }

// Float64s returns a numeric column as float64s; nulls read as NaN.
func (b *Batch) Float64s(name string) []float64 {
	c := b.Column(name)
	if f, ok := c.(*array.Float64); ok && f.NullN() == 0 {
		return f.Float64Values()
	}
	out := make([]float64, c.Len())
	for i := range out {
		if c.IsNull(i) {
			out[i] = math.NaN()
			continue
		}
		v, ok := numberAt(c, i)
		if !ok {
			panic(fmt.Errorf("column %q is %s, not a number", name, c.DataType()))
		}
		out[i] = v
	}
	return out
}

// Int64s returns an integer column as int64s; nulls read as 0.
func (b *Batch) Int64s(name string) []int64 {
	c := b.Column(name)
	if f, ok := c.(*array.Int64); ok && f.NullN() == 0 {
		return f.Int64Values()
	}
	out := make([]int64, c.Len())
	for i := range out {
		if c.IsNull(i) {
			continue
		}
		v, ok := numberAt(c, i)
		if !ok || !arrow.IsInteger(c.DataType().ID()) {
			panic(fmt.Errorf("column %q is %s, not an integer", name, c.DataType()))
		}
		out[i] = int64(v)
	}
	return out
}

// Strings returns a column as strings; nulls read as "". Non-string
// columns are formatted as Arrow prints their values.
func (b *Batch) Strings(name string) []string {
	c := b.Column(name)
	out := make([]string, c.Len())
	switch s := c.(type) {
	case *array.String:
		for i := range out {
			out[i] = s.Value(i)
		}
	case *array.LargeString:
		for i := range out {
			out[i] = s.Value(i)
		}
	default:
		for i := range out {
			if !c.IsNull(i) {
				out[i] = c.ValueStr(i)
			}
		}
	}
	return out
}

// Bools returns a boolean column; nulls read as false.
func (b *Batch) Bools(name string) []bool {
	c, ok := b.Column(name).(*array.Boolean)
	if !ok {
		panic(fmt.Errorf("column %q is %s, not bool", name, b.Type(name)))
	}
	out := make([]bool, c.Len())
	for i := range out {
		out[i] = c.Value(i)
	}
	return out
}

// Values returns any column as Go values, one per row (nil for null), the
// way Map sees them in a Row.
func (b *Batch) Values(name string) []any {
	c := b.Column(name)
	out := make([]any, c.Len())
	for i := range out {
		out[i] = valueAt(c, i)
	}
	return out
}

// SetColumn adds a column, or replaces one of the same name, from a Go
// slice ([]string, []int64, []int, []float64, []float32, []bool, [][]byte,
// []time.Time, []image.Image, [][]float32, []any) or an arrow.Array. Its
// length must equal the batch's rows; a mismatch is reported when the UDF
// returns.
func (b *Batch) SetColumn(name string, values any) *Batch {
	arr, err := toArray(values)
	if err != nil {
		b.fail(fmt.Errorf("SetColumn(%q): %w", name, err))
		return b
	}
	if b.rows < 0 {
		b.rows = arr.Len()
	}
	f := arrow.Field{Name: name, Type: arr.DataType(), Nullable: true}
	if i := b.index(name); i >= 0 {
		b.fields[i], b.cols[i] = f, arr
	} else {
		b.fields, b.cols = append(b.fields, f), append(b.cols, arr)
	}
	return b
}

func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Drop removes columns; unknown names panic like the accessors.
func (b *Batch) Drop(names ...string) *Batch {
	for _, n := range names {
		i := b.mustIndex(n)
		b.fields = slices.Delete(b.fields, i, i+1)
		b.cols = slices.Delete(b.cols, i, i+1)
	}
	return b
}

// Rename renames a column.
func (b *Batch) Rename(from, to string) *Batch {
	b.fields[b.mustIndex(from)].Name = to
	return b
}

// Record checks the batch (all columns as long as the batch) and returns it
// as an Arrow record batch.
func (b *Batch) Record() (arrow.RecordBatch, error) {
	if b.err != nil {
		return nil, b.err
	}
	rows := b.NumRows()
	if len(b.cols) > 0 {
		rows = b.cols[0].Len()
	}
	for i, c := range b.cols {
		if c.Len() != rows {
			return nil, fmt.Errorf("batch columns differ in length: %q has %d values, %q has %d",
				b.fields[0].Name, rows, b.fields[i].Name, c.Len())
		}
	}
	return array.NewRecordBatch(arrow.NewSchema(b.fields, nil), b.cols, int64(rows)), nil
}

// ColumnError reports a column that a dataset or batch does not have.
type ColumnError struct {
	Column    string
	Available []string
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("no column %q (columns: %v)", e.Column, e.Available)
}
