package data_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/goray-dev/goray/raylib/data"
)

func TestMissingPathNamesPath(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "data.csv")
	readers := map[string]func(string) *data.Dataset{
		"ReadCSV":         func(p string) *data.Dataset { return data.ReadCSV(p) },
		"ReadParquet":     func(p string) *data.Dataset { return data.ReadParquet(p) },
		"ReadJSON":        func(p string) *data.Dataset { return data.ReadJSON(p) },
		"ReadText":        func(p string) *data.Dataset { return data.ReadText(p) },
		"ReadBinaryFiles": func(p string) *data.Dataset { return data.ReadBinaryFiles(p) },
		"ReadImages":      func(p string) *data.Dataset { return data.ReadImages(p) },
	}
	for name, read := range readers {
		ds := read(missing)
		wantErr(t, ds.Err(), missing)
		// Every consumer returns the build error, without running anything.
		_, err := call(t, ds.MapBatches(identity).TakeAll)
		wantErr(t, err, missing)
		_, err = call(t, ds.Count)
		wantErr(t, err, missing)
		if ds.Stats() != nil {
			t.Errorf("%s: a failed dataset ran", name)
		}
		// A glob that matches nothing names the pattern.
		pattern := filepath.Join(dir, "*.nothing")
		wantErr(t, read(pattern).Err(), pattern)
		// Paths adds inputs that must exist too.
		wantErr(t, data.ReadCSV(writeFile(t, filepath.Join(dir, "ok.csv"), "a\n1\n"), data.Paths(missing)).Err(), missing)
	}
	// An empty folder is an error naming the folder.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	wantErr(t, data.ReadCSV(empty).Err(), empty)
}

func TestMalformedCSVNamesFileAndLine(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	ragged := writeFile(t, filepath.Join(dir, "ragged.csv"), "a,b\n1,2\n3\n4,5\n")
	_, err := call(t, data.ReadCSV(ragged).TakeAll)
	wantErr(t, err, ragged, "line 3")

	// A value that does not parse as the column's type, past the inferred
	// sample: the error names the file, the line and the column.
	var sb strings.Builder
	sb.WriteString("id,name\n")
	for i := range 50 {
		fmt.Fprintf(&sb, "%d,n%d\n", i, i)
	}
	sb.WriteString("oops,n50\n") // line 52
	typed := writeFile(t, filepath.Join(dir, "typed.csv"), sb.String())
	_, err = call(t, data.ReadCSV(typed, data.ColumnTypes(map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64,
	})).TakeAll)
	wantErr(t, err, typed, "line 52", `"id"`, "oops")

	// An unterminated quote.
	quote := writeFile(t, filepath.Join(dir, "quote.csv"), "a,b\n1,\"open\n2,3\n")
	_, err = call(t, data.ReadCSV(quote).TakeAll)
	wantErr(t, err, quote, "line 2")
}

func TestCorruptParquetNamesFile(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "x.parquet"), strings.Repeat("garbage ", 100))
	ds := data.ReadParquet(bad)
	wantErr(t, ds.Err(), bad)
	_, err := call(t, ds.TakeAll)
	wantErr(t, err, bad)
	// In a folder of good files, the bad one is named.
	good := writeParquetABC(t, 5)
	entries, _ := os.ReadDir(good)
	if len(entries) == 0 {
		t.Fatal("no parquet file written")
	}
	bad2 := writeFile(t, filepath.Join(good, "zz.parquet"), "PAR1 not really")
	wantErr(t, data.ReadParquet(good).Err(), bad2)
}

func TestBadFilesAreNamed(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	badJSON := writeFile(t, filepath.Join(dir, "bad.jsonl"), "{\"a\": 1}\n{bad\n")
	_, err := call(t, data.ReadJSON(badJSON).TakeAll)
	wantErr(t, err, badJSON)
	badPNG := writeFile(t, filepath.Join(dir, "img", "bad.png"), "not a png")
	_, err = call(t, data.ReadImages(filepath.Join(dir, "img")).TakeAll)
	wantErr(t, err, badPNG)
	// Parquet files whose schemas conflict: both are named.
	p1, p2 := filepath.Join(dir, "p1"), filepath.Join(dir, "p2")
	if err := callErr(t, func() error { return data.FromItems([]data.Row{{"x": int64(1)}}).WriteParquet(p1) }); err != nil {
		t.Fatal(err)
	}
	if err := callErr(t, func() error { return data.FromItems([]data.Row{{"x": "s"}}).WriteParquet(p2) }); err != nil {
		t.Fatal(err)
	}
	wantErr(t, data.ReadParquet(p1, data.Paths(p2)).Err(), `"x"`, p1, p2)
	// Writing where a file is.
	file := writeFile(t, filepath.Join(dir, "afile"), "x")
	err = callErr(t, func() error { return data.Range(3).WriteParquet(file) })
	wantErr(t, err, file)
}

func TestConflictingCSVSchemasNameBothFiles(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	a := writeFile(t, filepath.Join(dir, "a.csv"), "x\n1\n2\n")
	b := writeFile(t, filepath.Join(dir, "b.csv"), "x\nfoo\nbar\n")
	ds := data.ReadCSV(dir)
	_, err := call(t, ds.Materialize)
	var sm *data.SchemaMismatchError
	if !errors.As(err, &sm) {
		t.Fatalf("Materialize: %v, want a *SchemaMismatchError", err)
	}
	if sm.Column != "x" {
		t.Errorf("mismatch on column %q, want x", sm.Column)
	}
	wantErr(t, err, `"x"`, filepath.Base(a), filepath.Base(b))
	_, err = call(t, ds.ToArrow)
	wantErr(t, err, `"x"`, filepath.Base(a), filepath.Base(b))
}

func TestCSVIntAndFloatFilesUnify(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "x,y\n1,a\n2,b\n")
	writeFile(t, filepath.Join(dir, "b.csv"), "x,y\n1.5,c\n")
	ds := data.ReadCSV(dir)
	m := mustCall(t, ds.Materialize)
	defer m.Release()
	s := mustCall(t, m.Schema)
	if got := s.String(); got != "Column  Type\n------  ----\nx       double\ny       string" {
		t.Errorf("unified schema:\n%s", got)
	}
	rec := mustCall(t, ds.ToArrow)
	if !arrow.TypeEqual(rec.Schema().Field(0).Type, arrow.PrimitiveTypes.Float64) {
		t.Fatalf("ToArrow: x is %s, want double", rec.Schema().Field(0).Type)
	}
	var sum float64
	for i := 0; i < int(rec.NumRows()); i++ {
		sum += rec.Column(0).(interface{ Value(int) float64 }).Value(i)
	}
	if rec.NumRows() != 3 || sum != 4.5 {
		t.Errorf("ToArrow: %d rows summing to %v, want 3 rows summing to 4.5", rec.NumRows(), sum)
	}
}

func panicky(b *data.Batch) (*data.Batch, error) {
	if b.NumRows() > 0 {
		panic("kaboom")
	}
	return b, nil
}

type panickyUDF struct{}

func newPanickyUDF() *panickyUDF { return &panickyUDF{} }

func (*panickyUDF) Call(_ context.Context, b *data.Batch) (*data.Batch, error) { return panicky(b) }

func TestUDFPanicNamesOperatorAndInput(t *testing.T) {
	setup(t)
	_, err := call(t, data.Range(100).MapBatches(panicky).TakeAll)
	wantErr(t, err, "MapBatches(panicky)", "range [0, 100)", "kaboom")
	var ue *data.UDFError
	if !errors.As(err, &ue) {
		t.Errorf("error %v is not a *UDFError", err)
	} else if !strings.Contains(ue.Operator, "MapBatches(panicky)") {
		t.Errorf("UDFError.Operator = %q", ue.Operator)
	}

	csv := writeFile(t, filepath.Join(t.TempDir(), "in.csv"), "id\n1\n2\n")
	_, err = call(t, data.ReadCSV(csv).MapBatches(panicky).TakeAll)
	wantErr(t, err, "MapBatches(panicky)", csv, "kaboom")

	// A row UDF names the operator and the row.
	_, err = call(t, data.Range(10).Map(func(r data.Row) (data.Row, error) {
		if r["id"].(int64) == 7 {
			panic("bad seven")
		}
		return r, nil
	}).TakeAll)
	wantErr(t, err, "Map(", "row 7", "bad seven")

	// An actor's UDF too.
	_, err = call(t, data.Range(100).MapBatches(data.ActorPool(newPanickyUDF, 1)).TakeAll)
	wantErr(t, err, "MapBatches(panickyUDF)", "kaboom")

	// In an unfused operator, the input block is named by the file it came from.
	_, err = call(t, data.ReadCSV(csv).MapBatches(panicky, data.NumCPUs(0.5)).TakeAll)
	wantErr(t, err, "MapBatches(panicky)", csv, "kaboom")

	// A batch accessor on a missing column names the column.
	_, err = call(t, data.Range(10).MapBatches(func(b *data.Batch) (*data.Batch, error) {
		b.Float64s("price")
		return b, nil
	}).TakeAll)
	wantErr(t, err, `"price"`, "MapBatches(")
}

func TestUDFReturnedErrorIsWrapped(t *testing.T) {
	setup(t)
	sentinel := errors.New("model exploded")
	_, err := call(t, data.Range(10).MapBatches(func(b *data.Batch) (*data.Batch, error) {
		return nil, fmt.Errorf("scoring: %w", sentinel)
	}).TakeAll)
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(err, sentinel) is false for %v", err)
	}
}

func TestUDFColumnsOfDifferentLengths(t *testing.T) {
	setup(t)
	uneven := func(b *data.Batch) (*data.Batch, error) {
		return b.SetColumn("short", []int64{1}), nil
	}
	_, err := call(t, data.Range(10).MapBatches(uneven).TakeAll)
	wantErr(t, err, "MapBatches(", "length", `"short"`)

	// AddColumn with the wrong number of values.
	_, err = call(t, data.Range(10).AddColumn("z", func(b *data.Batch) (any, error) { return []float64{1, 2}, nil }).TakeAll)
	wantErr(t, err, "length", `"z"`)
}

func TestBadMapOptions(t *testing.T) {
	setup(t)
	ds := data.Range(10).MapBatches(identity, data.BatchSize(0))
	wantErr(t, ds.Err(), "BatchSize")
	_, err := call(t, ds.TakeAll)
	wantErr(t, err, "BatchSize")
	// Later transforms keep the first error.
	wantErr(t, ds.Filter(even).SelectColumns("id").Err(), "BatchSize")
	wantErr(t, data.Range(10).MapBatches(identity, data.Concurrency(0)).Err(), "Concurrency")
	wantErr(t, data.Range(10, data.Parallelism(0)).Err(), "Parallelism")
	wantErr(t, data.Range(10).MapBatches(data.ActorPool(newAddOne, 0)).Err(), "actor")
	wantErr(t, data.Range(10).SelectColumns().Err(), "SelectColumns")
	wantErr(t, data.Range(10).WriteParquet(filepath.Join(t.TempDir(), "x"), data.MaxRowsPerFile(0)), "MaxRowsPerFile")
}

func TestUnknownColumnsAreNamed(t *testing.T) {
	setup(t)
	csv := writeFile(t, filepath.Join(t.TempDir(), "in.csv"), "id,name\n1,a\n2,b\n")
	pq := writeParquetABC(t, 5)
	sources := map[string]func() *data.Dataset{
		"range":   func() *data.Dataset { return data.Range(10) },
		"csv":     func() *data.Dataset { return data.ReadCSV(csv) },
		"parquet": func() *data.Dataset { return data.ReadParquet(pq) },
		"items":   func() *data.Dataset { return data.FromItems([]data.Row{{"id": int64(1)}}) },
	}
	for name, src := range sources {
		for op, ds := range map[string]*data.Dataset{
			"SelectColumns": src().SelectColumns("nope"),
			"RenameColumns": src().RenameColumns(map[string]string{"nope": "x"}),
			"DropColumns":   src().DropColumns("nope"),
			"FilterExpr":    src().FilterExpr("nope > 1"),
			"after a map":   src().MapBatches(identity).SelectColumns("nope"),
		} {
			_, err := call(t, ds.TakeAll)
			if err == nil {
				t.Errorf("%s %s: no error for an unknown column", name, op)
				continue
			}
			if !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("%s %s: error %q does not name the column", name, op, err)
			}
		}
	}
}

// Consumers answered from metadata must not hide an unknown column.
func TestUnknownColumnFromMetadata(t *testing.T) {
	setup(t)
	pq := writeParquetABC(t, 5)
	for name, ds := range map[string]*data.Dataset{
		"range":   data.Range(10).SelectColumns("nope"),
		"parquet": data.ReadParquet(pq).SelectColumns("nope"),
	} {
		s, err := call(t, ds.Schema)
		if err == nil {
			t.Errorf("%s: Schema() of SelectColumns(\"nope\") = %q, no error", name, s)
		} else if !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("%s: error %q does not name the column", name, err)
		}
	}
}

func TestActorConstructorError(t *testing.T) {
	setup(t)
	ctor := func(ctx context.Context) (*addOne, error) { return nil, errors.New("weights not found") }
	_, err := call(t, data.Range(100).MapBatches(data.ActorPoolCtx(ctor, 2)).TakeAll)
	wantErr(t, err, "weights not found", "addOne")
}
