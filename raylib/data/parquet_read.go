package data

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
	"github.com/goray-dev/goray/raylib/data/internal/pqfast"
)

// ReadParquet reads Parquet files: a file, a folder (hive-style
// key=value subfolders become columns), a glob, or several with Paths.
// The schema and row count come from the footers, so Count and Schema
// need no read. Columns and Filter options (and SelectColumns/FilterExpr
// right after the read) are pushed into it: only those columns are
// decoded and row groups whose statistics rule the filter out are skipped.
func ReadParquet(path string, opts ...ReadOption) *Dataset {
	const name = "ReadParquet"
	cfg, err := readOptions(name, opts)
	if err != nil {
		return failed(err)
	}
	paths := append([]string{path}, cfg.morePaths...)
	exts := cfg.extensions
	files, err := listFiles(name, paths, exts)
	if err != nil {
		return failed(err)
	}
	footers, err := readFooters(files)
	if err != nil {
		return failed(err)
	}
	schema, rows, err := parquetSchema(files, footers)
	if err != nil {
		return failed(err)
	}
	rs := &readSpec{name: name, files: files, schema: schema, rows: rows, canProject: true, canFilter: true,
		source: &parquetSource{footers: footers, cfg: cfg}}
	return readDataset(rs, cfg)
}

type parquetFooter struct {
	md     *metadata.FileMetaData
	schema *arrow.Schema // the file's own Arrow schema
}

func readFooters(files []sourceFile) ([]parquetFooter, error) {
	out := make([]parquetFooter, len(files))
	errs := make([]error, len(files))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pf, err := file.OpenParquetFile(f.path, false)
			if err != nil {
				errs[i] = fmt.Errorf("ReadParquet: %s: not a readable Parquet file: %w", f.path, err)
				return
			}
			defer pf.Close()
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
			if err != nil {
				errs[i] = fmt.Errorf("ReadParquet: %s: %w", f.path, err)
				return
			}
			s, err := fr.Schema()
			if err != nil {
				errs[i] = fmt.Errorf("ReadParquet: %s: schema: %w", f.path, err)
				return
			}
			out[i] = parquetFooter{md: pf.MetaData(), schema: restoreExtensions(s, pf.MetaData())}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func parquetSchema(files []sourceFile, footers []parquetFooter) (*arrow.Schema, int64, error) {
	schemas := make([]*arrow.Schema, len(footers))
	where := make([]string, len(footers))
	var rows int64
	for i, f := range footers {
		schemas[i], where[i] = f.schema, files[i].path
		rows += f.md.NumRows
	}
	s, err := unifySchemas(schemas, where)
	if err != nil {
		return nil, 0, fmt.Errorf("ReadParquet: %w", err)
	}
	if parts := partitionFields(files); len(parts) > 0 {
		fields := append([]arrow.Field(nil), s.Fields()...)
		for _, p := range parts {
			if len(s.FieldIndices(p.Name)) == 0 {
				fields = append(fields, p)
			}
		}
		s = arrow.NewSchema(fields, metadataOf(s))
	}
	return s, rows, nil
}

type parquetSource struct {
	footers []parquetFooter
	cfg     readConfig
}

func (p *parquetSource) tasks(_ context.Context, rs *readSpec, dc *DataContext) ([]*readTask, error) {
	parts := partitionFields(rs.files)
	var out []*readTask
	for i, f := range rs.files {
		md := p.footers[i].md
		fileSchema := p.footers[i].schema
		// Partition columns are constants per file: a filter on them alone
		// prunes whole files.
		if rs.filter != nil && !rs.filter.MayMatch(partitionStats(f, parts)) {
			continue
		}
		var groups []int
		var groupBytes []int64
		for g := 0; g < md.NumRowGroups(); g++ {
			rg := md.RowGroup(g)
			if rs.filter != nil && !rs.filter.MayMatch(rowGroupStats(rg, fileSchema)) {
				continue
			}
			groups = append(groups, g)
			groupBytes = append(groupBytes, rg.TotalByteSize())
		}
		if len(groups) == 0 {
			continue
		}
		// One task per file unless the file is larger than a block: then
		// groups of row groups of about a block each, read in parallel.
		var cur []int
		var curBytes int64
		flush := func() {
			if len(cur) == 0 {
				return
			}
			out = append(out, p.task(rs, f, fileSchema, parts, cur, curBytes, md.NumRowGroups()))
			cur, curBytes = nil, 0
		}
		for j, g := range groups {
			if curBytes > 0 && curBytes+groupBytes[j] > dc.TargetMaxBlockSize {
				flush()
			}
			cur = append(cur, g)
			curBytes += groupBytes[j]
		}
		flush()
	}
	if len(out) == 0 {
		// Everything was pruned: an empty block keeps the schema.
		schema := rs.schema
		if rs.columns != nil {
			schema = projectSchema(schema, rs.columns)
		}
		out = append(out, &readTask{label: "ReadParquet (all row groups pruned)", run: func(_ context.Context, emit emitFn) error {
			return emit(emptyRecord(schema))
		}})
	}
	return out, nil
}

func (p *parquetSource) task(rs *readSpec, f sourceFile, fileSchema *arrow.Schema, parts []arrow.Field,
	groups []int, bytes int64, fileGroups int) *readTask {
	label := f.path
	if len(groups) < fileGroups {
		label = fmt.Sprintf("%s (row groups %d-%d)", f.path, groups[0], groups[len(groups)-1])
	}
	columns, filter, countOnly := rs.columns, rs.filter, rs.countOnly
	return &readTask{label: label, files: []string{f.path}, bytes: bytes, rows: -1,
		run: func(ctx context.Context, emit emitFn) error {
			// The task's error names the operator and this label.
			return readParquetGroups(ctx, f, fileSchema, parts, groups, columns, filter, countOnly, emit)
		}}
}

func readParquetGroups(ctx context.Context, f sourceFile, fileSchema *arrow.Schema, parts []arrow.Field,
	groups []int, columns []string, filter *expr.Expr, countOnly bool, emit emitFn) error {
	// Decode only the columns asked for and those the filter reads;
	// partition columns are added from the path.
	want := columns
	if filter != nil && want != nil {
		for _, c := range filter.Columns() {
			if !slices.Contains(want, c) {
				want = append(append([]string(nil), want...), c)
			}
		}
	}
	post := func(rec arrow.RecordBatch) error {
		rec = restoreRecord(rec, fileSchema)
		rec = addConstColumns(rec, f, parts, false)
		var err error
		if filter != nil {
			if err := filter.Check(rec.Schema()); err != nil {
				return err
			}
			if rec, err = filterRecord(ctx, filter, rec); err != nil {
				return err
			}
		}
		if columns != nil {
			if rec, err = selectRecord(rec, columns); err != nil {
				return err
			}
		}
		return emit(rec)
	}
	// parquet-go's page reader is 2-4x faster than pqarrow on flat
	// columns (bench/README.md); pqarrow reads everything else.
	var fileCols []string
	switch {
	case countOnly:
		fileCols = []string{}
	case want != nil:
		fileCols = []string{}
		for _, c := range want {
			if len(fileSchema.FieldIndices(c)) > 0 {
				fileCols = append(fileCols, c)
			}
		}
	}
	if pf, fh, err := pqfast.Open(f.path); err == nil {
		ok, _ := pqfast.Supported(pf, fileCols)
		fh.Close()
		if ok {
			return pqfast.Read(ctx, f.path, groups, fileCols, 128<<10, post)
		}
	}
	return readWithPqarrow(ctx, f.path, groups, fileCols, post)
}

// readWithPqarrow reads row groups with arrow-go's reader: nested
// columns, decimals, tensors and everything pqfast does not take.
func readWithPqarrow(ctx context.Context, path string, groups []int, cols []string, emit emitFn) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 128 << 10, Parallel: true}, mem)
	if err != nil {
		return err
	}
	var leaves []int
	if cols != nil {
		for _, sf := range fr.Manifest.Fields {
			if slices.Contains(cols, sf.Field.Name) {
				leaves = append(leaves, leafIndices(sf)...)
			}
		}
		if len(leaves) == 0 && len(fr.Manifest.Fields) > 0 {
			// Only rows are wanted: the cheapest column gives the count.
			leaves = leafIndices(fr.Manifest.Fields[0])
		}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, groups)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		if err := emit(rec); err != nil {
			return err
		}
	}
	return rr.Err()
}

func leafIndices(sf pqarrow.SchemaField) []int {
	if sf.IsLeaf() {
		return []int{sf.ColIndex}
	}
	var out []int
	for _, c := range sf.Children {
		out = append(out, leafIndices(c)...)
	}
	return out
}

// rowGroupStats gives the filter the min/max statistics of a row group's
// plain columns (integers, floats, strings, bools).
func rowGroupStats(rg *metadata.RowGroupMetaData, s *arrow.Schema) func(string) (expr.Stats, bool) {
	return func(col string) (expr.Stats, bool) {
		idx := s.FieldIndices(col)
		if len(idx) == 0 {
			return expr.Stats{}, false
		}
		t := s.Field(idx[0]).Type
		// Only top-level primitive columns map one to one to leaves.
		leaf := -1
		for i, n := 0, 0; i < s.NumFields(); i++ {
			if i == idx[0] {
				leaf = n
				break
			}
			if !isPrimitive(s.Field(i).Type) {
				return expr.Stats{}, false
			}
			n++
		}
		if leaf < 0 || !isPrimitive(t) || leaf >= rg.NumColumns() {
			return expr.Stats{}, false
		}
		cc, err := rg.ColumnChunk(leaf)
		if err != nil {
			return expr.Stats{}, false
		}
		if ok, _ := cc.StatsSet(); !ok {
			return expr.Stats{}, false
		}
		st, err := cc.Statistics()
		if err != nil || st == nil {
			return expr.Stats{}, false
		}
		out := expr.Stats{HasMinMax: st.HasMinMax(), HasNullCount: st.HasNullCount(), NullCount: st.NullCount(),
			NumValues: st.NumValues(), Type: t}
		if !st.HasMinMax() {
			return out, true
		}
		switch v := st.(type) {
		case *metadata.Int64Statistics:
			if t.ID() != arrow.INT64 {
				return expr.Stats{}, false
			}
			out.Min, out.Max = v.Min(), v.Max()
		case *metadata.Int32Statistics:
			if !arrow.IsInteger(t.ID()) || !arrow.IsSignedInteger(t.ID()) {
				return expr.Stats{}, false
			}
			out.Min, out.Max = int64(v.Min()), int64(v.Max())
		case *metadata.Float64Statistics:
			out.Min, out.Max = v.Min(), v.Max()
		case *metadata.Float32Statistics:
			out.Min, out.Max = float64(v.Min()), float64(v.Max())
		case *metadata.BooleanStatistics:
			out.Min, out.Max = v.Min(), v.Max()
		case *metadata.ByteArrayStatistics:
			if t.ID() != arrow.STRING {
				return expr.Stats{}, false
			}
			out.Min, out.Max = string(v.Min()), string(v.Max())
		default:
			return expr.Stats{}, false
		}
		return out, true
	}
}

func isPrimitive(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL, arrow.STRING, arrow.BINARY, arrow.DATE32, arrow.TIMESTAMP,
		arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

// partitionStats are a file's partition values as one-value statistics.
func partitionStats(f sourceFile, parts []arrow.Field) func(string) (expr.Stats, bool) {
	return func(col string) (expr.Stats, bool) {
		for _, fld := range parts {
			if fld.Name != col {
				continue
			}
			for _, p := range f.parts {
				if p.key == col && p.null {
					return expr.Stats{HasMinMax: false, HasNullCount: true, NullCount: 1, NumValues: 0}, true
				}
				if p.key == col {
					var v any = p.value
					if fld.Type.ID() == arrow.INT64 {
						var n int64
						fmt.Sscan(p.value, &n)
						v = n
					}
					return expr.Stats{HasMinMax: true, Min: v, Max: v, NumValues: 1}, true
				}
			}
		}
		return expr.Stats{}, false
	}
}
