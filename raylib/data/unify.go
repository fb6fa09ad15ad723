package data

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/goray-dev/goray/raylib/ray"
)

// SchemaMismatchError reports two parts of a dataset whose schemas cannot
// be unified.
type SchemaMismatchError struct {
	Column string
	A, B   arrow.DataType
	WhereA string
	WhereB string
}

func (e *SchemaMismatchError) Error() string {
	return fmt.Sprintf("schemas do not agree: column %q is %s in %s but %s in %s", e.Column,
		typeName(e.A), e.WhereA, typeName(e.B), e.WhereB)
}

// unifySchemas merges schemas as Arrow's permissive unification does:
// columns missing somewhere become nullable, null types take the other
// type, integers widen to int64 and mix with floats as float64.
func unifySchemas(schemas []*arrow.Schema, where []string) (*arrow.Schema, error) {
	if len(schemas) == 0 {
		return nil, nil
	}
	fields := append([]arrow.Field(nil), schemas[0].Fields()...)
	from := make([]string, len(fields))
	for i := range from {
		from[i] = where[0]
	}
	for si, s := range schemas[1:] {
		for _, f := range s.Fields() {
			idx := -1
			for i := range fields {
				if fields[i].Name == f.Name {
					idx = i
				}
			}
			if idx < 0 {
				f.Nullable = true
				fields = append(fields, f)
				from = append(from, where[si+1])
				continue
			}
			t, ok := commonType(fields[idx].Type, f.Type)
			if !ok {
				return nil, &SchemaMismatchError{Column: f.Name, A: fields[idx].Type, B: f.Type,
					WhereA: from[idx], WhereB: where[si+1]}
			}
			fields[idx].Type = t
			fields[idx].Nullable = fields[idx].Nullable || f.Nullable
		}
	}
	return arrow.NewSchema(fields, nil), nil
}

func commonType(a, b arrow.DataType) (arrow.DataType, bool) {
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case a.ID() == arrow.NULL:
		return b, true
	case b.ID() == arrow.NULL:
		return a, true
	case arrow.IsInteger(a.ID()) && arrow.IsInteger(b.ID()):
		return arrow.PrimitiveTypes.Int64, true
	case (arrow.IsInteger(a.ID()) || arrow.IsFloating(a.ID())) && (arrow.IsInteger(b.ID()) || arrow.IsFloating(b.ID())):
		return arrow.PrimitiveTypes.Float64, true
	case isStringy(a) && isStringy(b):
		return arrow.BinaryTypes.String, true
	}
	return nil, false
}

func isStringy(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return true
	case arrow.DICTIONARY:
		return isStringy(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// conform casts rec to schema s, adding null columns it lacks.
func conform(ctx context.Context, rec arrow.RecordBatch, s *arrow.Schema) (arrow.RecordBatch, error) {
	if rec.Schema().Equal(s) {
		return rec, nil
	}
	cols := make([]arrow.Array, s.NumFields())
	for i, f := range s.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, int(rec.NumRows()))
			continue
		}
		c := rec.Column(idx[0])
		if arrow.TypeEqual(c.DataType(), f.Type) {
			cols[i] = c
			continue
		}
		if c.DataType().ID() == arrow.NULL {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, c.Len())
			continue
		}
		out, err := compute.CastArray(ctx, c, compute.SafeCastOptions(f.Type))
		if err != nil {
			return nil, fmt.Errorf("column %q: cast %s to %s: %w", f.Name, typeName(c.DataType()), typeName(f.Type), err)
		}
		cols[i] = out
	}
	return array.NewRecordBatch(s, cols, rec.NumRows()), nil
}

// concatUnified concatenates records whose schemas may differ but unify.
func concatUnified(ctx context.Context, recs []arrow.RecordBatch, where []string) (arrow.RecordBatch, error) {
	schemas := make([]*arrow.Schema, len(recs))
	same := true
	for i, r := range recs {
		schemas[i] = r.Schema()
		same = same && r.Schema().Equal(recs[0].Schema())
	}
	if same {
		return concatRecords(recs[0].Schema(), recs)
	}
	s, err := unifySchemas(schemas, where)
	if err != nil {
		return nil, err
	}
	conformed := make([]arrow.RecordBatch, len(recs))
	for i, r := range recs {
		if conformed[i], err = conform(ctx, r, s); err != nil {
			return nil, fmt.Errorf("%s: %w", where[i], err)
		}
	}
	return concatRecords(s, conformed)
}

// repartition is the all-to-all task of Repartition: n blocks of nearly
// equal rows, made of zero-copy slices of the input concatenated.
func repartition(ctx context.Context, in []BlockRef, n int) ([]BlockRef, error) {
	var recs []arrow.RecordBatch
	var where []string
	var files []string
	var total int64
	for i, r := range in {
		b, err := ray.Get(r.Ref, ray.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if b.NumRows() == 0 && len(in) > 1 {
			continue
		}
		recs = append(recs, b.rec)
		where = append(where, blockWhere(i, r.Meta))
		files = append(files, r.Meta.InputFiles...)
		total += b.NumRows()
	}
	if len(recs) == 0 {
		return nil, nil
	}
	all, err := concatUnified(ctx, recs, where)
	if err != nil {
		return nil, err
	}
	out := make([]BlockRef, 0, n)
	for i := range int64(n) {
		lo, hi := total*i/int64(n), total*(i+1)/int64(n)
		out = append(out, putBlock(NewBlock(all.NewSlice(lo, hi)), files))
	}
	return out, nil
}
