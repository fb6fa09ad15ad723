package data

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/goray-dev/goray/raylib/data/internal/csvread"
	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

// csvConfig holds ReadCSV's parse options.
type csvConfig struct {
	opts csvread.Options
}

// Delimiter sets the CSV field separator (default ',').
func Delimiter(c byte) ReadOption {
	return func(r *readConfig) error { r.csv.opts.Delimiter = c; return nil }
}

// NoHeader reads CSV files without a header line; columns are f0, f1, ...
func NoHeader() ReadOption {
	return func(r *readConfig) error { r.csv.opts.NoHeader = true; return nil }
}

// ColumnTypes fixes the types of CSV columns instead of inferring them.
func ColumnTypes(types map[string]arrow.DataType) ReadOption {
	return func(r *readConfig) error { r.csv.opts.ColumnTypes = types; return nil }
}

// NullValues sets the spellings of null in CSV files (default: pyarrow's,
// including the empty field).
func NullValues(values ...string) ReadOption {
	return func(r *readConfig) error { r.csv.opts.NullValues = append([]string{}, values...); return nil }
}

// StringsCanBeNull makes the null spellings apply to CSV string columns
// too (by default, as in pyarrow, a string column has no nulls: an empty
// field is the empty string).
func StringsCanBeNull() ReadOption {
	return func(r *readConfig) error { r.csv.opts.StringsCanBeNull = true; return nil }
}

// ReadCSV reads CSV files (a file, a folder, a glob, more with Paths).
// Types are inferred per file from a sample, as pyarrow does; large files
// without quotes are split into byte ranges read in parallel. The schema
// is known only once the files are read (Ray prints "Unknown schema").
func ReadCSV(path string, opts ...ReadOption) *Dataset {
	const name = "ReadCSV"
	cfg, err := readOptions(name, opts)
	if err != nil {
		return failed(err)
	}
	files, err := listFiles(name, append([]string{path}, cfg.morePaths...), cfg.extensions)
	if err != nil {
		return failed(err)
	}
	rs := &readSpec{name: name, files: files, rows: -1, canProject: true, canFilter: true,
		source: &csvSource{cfg: cfg}}
	return readDataset(rs, cfg)
}

type csvSource struct{ cfg readConfig }

func (c *csvSource) tasks(_ context.Context, rs *readSpec, dc *DataContext) ([]*readTask, error) {
	var total int64
	for _, f := range rs.files {
		total += f.size
	}
	want := int64(max(dc.ReadMinBlocks, 1))
	if c.cfg.parallelism > 0 {
		want = int64(c.cfg.parallelism)
	}
	target := max(total/want, dc.TargetMinBlockSize)
	parts := partitionFields(rs.files)
	var out []*readTask
	for _, f := range rs.files {
		schema, err := csvread.Infer(f.path, c.cfg.csv.opts)
		if err != nil {
			return nil, fmt.Errorf("ReadCSV: %w", err)
		}
		ranges, err := csvread.Split(f.path, target)
		if err != nil {
			return nil, fmt.Errorf("ReadCSV: %w", err)
		}
		opts := c.cfg.csv.opts
		opts.Columns = readColumns(schema, rs.columns, rs.filter, rs.countOnly)
		for _, r := range ranges {
			label := f.path
			if len(ranges) > 1 {
				label = fmt.Sprintf("%s (bytes %d-%d)", f.path, r.Start, r.End)
			}
			filter, columns := rs.filter, rs.columns
			out = append(out, &readTask{label: label, files: []string{f.path}, rows: -1, bytes: r.End - r.Start,
				run: func(ctx context.Context, emit emitFn) error {
					// Errors name the file and line themselves; the task
					// adds the operator and the byte range.
					return readCSVRange(ctx, r, schema, opts, f, parts, c.cfg.includePath, filter, columns, emit)
				}})
		}
	}
	return out, nil
}

// readColumns is the projection for the CSV parser: the columns asked
// for plus those the filter reads, or one column when only rows are
// counted.
func readColumns(s *arrow.Schema, columns []string, filter *expr.Expr, countOnly bool) []string {
	if countOnly {
		return []string{} // rows only: the parser converts no field
	}
	if columns == nil {
		return nil
	}
	out := append([]string(nil), columns...)
	if filter != nil {
		for _, c := range filter.Columns() {
			if !slices.Contains(out, c) && len(s.FieldIndices(c)) > 0 {
				out = append(out, c)
			}
		}
	}
	// Partition columns come from the path, not the file.
	kept := out[:0]
	for _, c := range out {
		if len(s.FieldIndices(c)) > 0 {
			kept = append(kept, c)
		}
	}
	return kept
}

func readCSVRange(ctx context.Context, r csvread.Range, schema *arrow.Schema, opts csvread.Options, f sourceFile,
	parts []arrow.Field, includePath bool, e *expr.Expr, columns []string, emit emitFn) error {
	rd, err := csvread.NewReader(r, schema, opts)
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rec = addConstColumns(rec, f, parts, includePath)
		if e != nil {
			if err := e.Check(rec.Schema()); err != nil {
				return err
			}
			if rec, err = filterRecord(ctx, e, rec); err != nil {
				return err
			}
		}
		if columns != nil {
			if rec, err = selectRecord(rec, columns); err != nil {
				return err
			}
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
}
