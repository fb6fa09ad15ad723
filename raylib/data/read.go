package data

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

// datasource makes the read tasks of a read when the execution starts,
// with whatever the optimiser pushed into the read.
type datasource interface {
	tasks(ctx context.Context, rs *readSpec, dc *DataContext) ([]*readTask, error)
}

// readSpec is a read operator: its files, what is known without reading,
// and what was pushed into it.
type readSpec struct {
	name   string // ReadCSV, ReadParquet, ...
	files  []sourceFile
	schema *arrow.Schema // known before reading (Parquet footers), else nil
	rows   int64         // known row count, -1 if unknown
	source datasource

	canProject, canFilter bool
	columns               []string   // nil: all
	filter                *expr.Expr // rows to keep
	countOnly             bool       // the consumer only counts rows
}

func (rs *readSpec) plan(ctx context.Context, dc *DataContext) ([]*readTask, error) {
	return rs.source.tasks(ctx, rs, dc)
}

// sourceFile is an input file and the hive-style partition values its
// path holds (year=2024/...).
type sourceFile struct {
	path  string
	size  int64
	parts []partitionValue
}

type partitionValue struct {
	key, value string
	null       bool // the hive null marker
}

// hiveNull is the folder value writers use for a null partition key.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// ReadOption configures a read.
type ReadOption func(*readConfig) error

type readConfig struct {
	columns     []string
	filter      string
	morePaths   []string
	partitioned bool
	includePath bool
	extensions  []string
	parallelism int
	csv         csvConfig
	images      imageConfig
}

// Paths adds more inputs to a read: files, folders or globs.
func Paths(paths ...string) ReadOption {
	return func(c *readConfig) error { c.morePaths = append(c.morePaths, paths...); return nil }
}

// Columns reads only these columns (Parquet and CSV skip the others).
func Columns(cols ...string) ReadOption {
	return func(c *readConfig) error { c.columns = cols; return nil }
}

// Filter keeps only rows where the expression holds; Parquet reads use
// row-group statistics to skip whole groups.
func Filter(expression string) ReadOption {
	return func(c *readConfig) error { c.filter = expression; return nil }
}

// IncludePaths adds a "path" column with each row's file.
func IncludePaths() ReadOption {
	return func(c *readConfig) error { c.includePath = true; return nil }
}

// FileExtensions keeps only files with these extensions when a folder is
// listed.
func FileExtensions(exts ...string) ReadOption {
	return func(c *readConfig) error { c.extensions = exts; return nil }
}

// Parallelism sets how many read tasks a read aims for (the DataContext's
// ReadMinBlocks otherwise).
func Parallelism(n int) ReadOption {
	return func(c *readConfig) error {
		if n < 1 {
			return fmt.Errorf("Parallelism(%d): must be at least 1", n)
		}
		c.parallelism = n
		return nil
	}
}

func readOptions(op string, opts []ReadOption) (readConfig, error) {
	var c readConfig
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, fmt.Errorf("%s: %w", op, err)
		}
	}
	return c, nil
}

// listFiles expands paths (files, folders searched recursively, globs)
// into files, in a stable order, with hive partitions of folders.
func listFiles(op string, paths []string, exts []string) ([]sourceFile, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no paths given", op)
	}
	var out []sourceFile
	for _, p := range paths {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("%s: bad pattern %q: %w", op, p, err)
			}
			// Unlike a shell, Go's glob matches hidden files; skip them
			// unless the pattern asks for them.
			wantHidden := strings.HasPrefix(filepath.Base(p), ".")
			matches = matches[:0]
			for _, x := range m {
				if wantHidden || !strings.HasPrefix(filepath.Base(x), ".") {
					matches = append(matches, x)
				}
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no files match %q", op, p)
			}
			sort.Strings(matches)
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				if os.IsNotExist(err) {
					return nil, fmt.Errorf("%s: no such file or folder: %q", op, m)
				}
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			if !fi.IsDir() {
				out = append(out, sourceFile{path: m, size: fi.Size()})
				continue
			}
			var found []sourceFile
			err = filepath.WalkDir(m, func(path string, de fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				name := de.Name()
				if path != m && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					if de.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if de.IsDir() {
					return nil
				}
				if len(exts) > 0 && !hasExtension(name, exts) {
					return nil
				}
				info, err := de.Info()
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(m, path)
				found = append(found, sourceFile{path: path, size: info.Size(), parts: hivePartitions(rel)})
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: list %q: %w", op, m, err)
			}
			if len(found) == 0 {
				return nil, fmt.Errorf("%s: folder %q holds no input files", op, m)
			}
			out = append(out, found...)
		}
	}
	return out, nil
}

func hasExtension(name string, exts []string) bool {
	lower := strings.ToLower(name)
	for _, e := range exts {
		if strings.HasSuffix(lower, "."+strings.TrimPrefix(strings.ToLower(e), ".")) {
			return true
		}
	}
	return false
}

// hivePartitions reads key=value folders of a path relative to the root.
func hivePartitions(rel string) []partitionValue {
	var out []partitionValue
	dirs := strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/")
	for _, d := range dirs {
		if k, v, ok := strings.Cut(d, "="); ok && k != "" {
			if v == hiveNull {
				out = append(out, partitionValue{key: k, null: true})
				continue
			}
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			out = append(out, partitionValue{key: k, value: v})
		}
	}
	return out
}

// partitionFields returns the partition columns of files: int64 when
// every value is an integer, else string.
func partitionFields(files []sourceFile) []arrow.Field {
	var keys []string
	isInt := map[string]bool{}
	for _, f := range files {
		for _, p := range f.parts {
			if _, ok := isInt[p.key]; !ok {
				keys = append(keys, p.key)
				isInt[p.key] = true
			}
			if _, err := strconv.ParseInt(p.value, 10, 64); err != nil && !p.null {
				isInt[p.key] = false
			}
		}
	}
	fields := make([]arrow.Field, len(keys))
	for i, k := range keys {
		t := arrow.DataType(arrow.BinaryTypes.String)
		if isInt[k] {
			t = arrow.PrimitiveTypes.Int64
		}
		fields[i] = arrow.Field{Name: k, Type: t, Nullable: true}
	}
	return fields
}

// addConstColumns appends partition values (and the path) to a record.
func addConstColumns(rec arrow.RecordBatch, f sourceFile, fields []arrow.Field, path bool) arrow.RecordBatch {
	if len(fields) == 0 && !path {
		return rec
	}
	n := int(rec.NumRows())
	schemaFields := append([]arrow.Field(nil), rec.Schema().Fields()...)
	cols := append([]arrow.Array(nil), rec.Columns()...)
	for _, fld := range fields {
		if len(rec.Schema().FieldIndices(fld.Name)) > 0 {
			continue
		}
		val, ok := "", false
		for _, p := range f.parts {
			if p.key == fld.Name && !p.null {
				val, ok = p.value, true
			}
		}
		var arr arrow.Array
		switch {
		case !ok:
			arr = array.MakeArrayOfNull(mem, fld.Type, n)
		case fld.Type.ID() == arrow.INT64:
			v, _ := strconv.ParseInt(val, 10, 64)
			b := array.NewInt64Builder(mem)
			for range n {
				b.Append(v)
			}
			arr = b.NewArray()
		default:
			b := array.NewStringBuilder(mem)
			for range n {
				b.Append(val)
			}
			arr = b.NewArray()
		}
		schemaFields, cols = append(schemaFields, fld), append(cols, arr)
	}
	if path {
		b := array.NewStringBuilder(mem)
		for range n {
			b.Append(f.path)
		}
		schemaFields = append(schemaFields, arrow.Field{Name: "path", Type: arrow.BinaryTypes.String})
		cols = append(cols, b.NewArray())
	}
	return array.NewRecordBatch(arrow.NewSchema(schemaFields, nil), cols, rec.NumRows())
}

// readDataset builds the Dataset of a read.
func readDataset(rs *readSpec, cfg readConfig) *Dataset {
	d := newDataset(&node{kind: nodeRead, read: rs, label: rs.name})
	// The filter applies to the file's columns, then the selection: a
	// filter may use a column the caller does not want back.
	if cfg.filter != "" {
		d = d.FilterExpr(cfg.filter)
	}
	if cfg.columns != nil {
		d = d.SelectColumns(cfg.columns...)
	}
	return d
}

// readParallelism is how many read tasks a read of about bytes makes when
// the caller did not say, as Ray decides: ReadMinBlocks, but no block
// smaller than TargetMinBlockSize.
func readParallelism(bytes int64, dc *DataContext) int64 {
	p := int64(max(dc.ReadMinBlocks, 1))
	if dc.TargetMinBlockSize > 0 {
		p = min(p, bytes/dc.TargetMinBlockSize)
	}
	return max(p, 1)
}
