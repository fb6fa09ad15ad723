package data_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/goray-dev/goray/raylib/data"
)

// ---------------------------------------------------------------------
// Helpers shared by the package's black-box tests.
// ---------------------------------------------------------------------

// setup gives a test the default DataContext, quiet: no progress bars and
// no execution log.
func setup(t testing.TB) {
	t.Helper()
	data.ResetContext()
	dc := data.Current()
	dc.Progress = false
	dc.Log = io.Discard
}

// hangLimit bounds any single consumer call in these tests: a pipeline
// that does not finish by then is reported as a hang, with the goroutines.
const hangLimit = 30 * time.Second

// within runs f and fails the test if it has not returned after d. f must
// not call t.Fatal (it runs on another goroutine).
func within(t testing.TB, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("did not finish within %v (hang?); goroutines:\n%s", d, buf[:n])
	}
}

// call runs a consumer under the hang guard.
func call[T any](t testing.TB, f func() (T, error)) (T, error) {
	t.Helper()
	var v T
	var err error
	within(t, hangLimit, func() { v, err = f() })
	return v, err
}

// mustCall runs a consumer under the hang guard and fails on error.
func mustCall[T any](t testing.TB, f func() (T, error)) T {
	t.Helper()
	v, err := call(t, f)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return v
}

// callErr runs a consumer that returns only an error under the hang guard.
func callErr(t testing.TB, f func() error) error {
	t.Helper()
	var err error
	within(t, hangLimit, func() { err = f() })
	return err
}

// wantErr fails unless err is non-nil and its message holds every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err.Error(), p)
		}
	}
}

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ids returns the "id" column of rows, in row order.
func ids(t testing.TB, rows []data.Row) []int64 {
	t.Helper()
	out := make([]int64, len(rows))
	for i, r := range rows {
		v, ok := r["id"].(int64)
		if !ok {
			t.Fatalf("row %d: id is %T (%v), want int64", i, r["id"], r["id"])
		}
		out[i] = v
	}
	return out
}

// sortedIDs is ids, sorted.
func sortedIDs(t testing.TB, rows []data.Row) []int64 {
	t.Helper()
	out := ids(t, rows)
	slices.Sort(out)
	return out
}

// seq is lo, lo+1, ..., hi-1.
func seq(lo, hi int64) []int64 {
	out := make([]int64, 0, max(hi-lo, 0))
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

func wantIDs(t testing.TB, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		if len(got) > 20 || len(want) > 20 {
			t.Fatalf("got %d ids (first %v), want %d ids (first %v)", len(got), got[:min(len(got), 10)],
				len(want), want[:min(len(want), 10)])
		}
		t.Fatalf("got ids %v, want %v", got, want)
	}
}

// planOf returns the physical plan of the dataset's last execution.
func planOf(t testing.TB, ds *data.Dataset) []string {
	t.Helper()
	st := ds.Stats()
	if st == nil {
		t.Fatalf("Stats() is nil after a consumer ran")
	}
	return st.Plan
}

func wantPlan(t testing.TB, ds *data.Dataset, want ...string) {
	t.Helper()
	got := planOf(t, ds)
	want = append([]string{"InputDataBuffer[Input]"}, want...)
	if !slices.Equal(got, want) {
		t.Fatalf("plan:\n  got  %q\n  want %q", got, want)
	}
}

// writeRowGroups writes a Parquet file with columns id (0..groups*per-1)
// and v (id*0.5), `per` rows per row group, uncompressed and without
// dictionaries, with statistics.
func writeRowGroups(t testing.TB, path string, groups, per int) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(per)), parquet.WithStats(true),
		parquet.WithDictionaryDefault(false))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for g := range groups {
		ib := array.NewInt64Builder(memory.DefaultAllocator)
		fb := array.NewFloat64Builder(memory.DefaultAllocator)
		for i := range per {
			id := int64(g*per + i)
			ib.Append(id)
			fb.Append(float64(id) * 0.5)
		}
		rec := array.NewRecordBatch(schema, []arrow.Array{ib.NewArray(), fb.NewArray()}, int64(per))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if got := pf.NumRowGroups(); got != groups {
		t.Fatalf("test setup: wrote %d row groups, want %d", got, groups)
	}
}

// corruptRowGroup overwrites the column chunks of row group g with
// garbage, keeping the footer intact, so reading that group fails.
func corruptRowGroup(t testing.TB, path string, g int) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	rg := pf.MetaData().RowGroup(g)
	type span struct{ off, n int64 }
	var spans []span
	for c := 0; c < rg.NumColumns(); c++ {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		off := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
			off = min(off, cc.DictionaryPageOffset())
		}
		spans = append(spans, span{off, cc.TotalCompressedSize()})
	}
	pf.Close()
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for _, s := range spans {
		junk := make([]byte, s.n)
		for i := range junk {
			junk[i] = 0xFF
		}
		if _, err := fh.WriteAt(junk, s.off); err != nil {
			t.Fatal(err)
		}
	}
}

// writeParquetABC writes rows with columns a (int64), b (string), c
// (float64) through the package's own writer and returns the folder.
func writeParquetABC(t testing.TB, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "abc")
	rows := make([]data.Row, n)
	for i := range rows {
		rows[i] = data.Row{"a": int64(i), "b": fmt.Sprintf("s%d", i), "c": float64(i) / 4}
	}
	if err := callErr(t, func() error { return data.FromItems(rows).WriteParquet(dir) }); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ---------------------------------------------------------------------
// UDFs with stable names: operator names show them.
// ---------------------------------------------------------------------

func double(b *data.Batch) (*data.Batch, error) {
	ids := b.Int64s("id")
	out := make([]int64, len(ids))
	for i, v := range ids {
		out[i] = 2 * v
	}
	return b.SetColumn("x", out), nil
}

func even(r data.Row) bool { return r["id"].(int64)%2 == 0 }

func identity(b *data.Batch) (*data.Batch, error) { return b, nil }

type addOne struct{}

func newAddOne() *addOne { return &addOne{} }

func (*addOne) Call(_ context.Context, b *data.Batch) (*data.Batch, error) {
	ids := b.Int64s("id")
	out := make([]int64, len(ids))
	for i, v := range ids {
		out[i] = v + 1
	}
	return b.SetColumn("y", out), nil
}

// ---------------------------------------------------------------------
// Logical plan, optimiser and fusion.
// ---------------------------------------------------------------------

func TestStringShowsLogicalPlan(t *testing.T) {
	setup(t)
	ds := data.Range(1000).MapBatches(double)
	if got, want := ds.String(), "MapBatches(double)\n+- Dataset(num_rows=1000, schema={id: int64})"; got != want {
		t.Errorf("String():\n%s\nwant:\n%s", got, want)
	}
	ds = data.Range(10).MapBatches(double).Filter(even)
	want := "Filter(even)\n+- MapBatches(double)\n   +- Dataset(num_rows=10, schema={id: int64})"
	if got := ds.String(); got != want {
		t.Errorf("String():\n%s\nwant:\n%s", got, want)
	}
	// A CSV read knows neither rows nor schema before it runs.
	csv := writeFile(t, filepath.Join(t.TempDir(), "x.csv"), "a,b\n1,2\n")
	if got, want := data.ReadCSV(csv).String(), "Dataset(num_rows=?, schema=Unknown schema)"; got != want {
		t.Errorf("ReadCSV String() = %q, want %q", got, want)
	}
	// String does not execute anything.
	if ds.Stats() != nil {
		t.Errorf("String() executed the dataset: Stats() = %v", ds.Stats())
	}
}

func TestFusionTaskPoolNames(t *testing.T) {
	setup(t)
	ds := data.Range(1000).MapBatches(double).Filter(even)
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 500 {
		t.Fatalf("TakeAll: %d rows, want 500", len(rows))
	}
	for _, r := range rows {
		if r["x"] != 2*r["id"].(int64) || r["id"].(int64)%2 != 0 {
			t.Fatalf("bad row %v", r)
		}
	}
	wantPlan(t, ds, "TaskPoolMapOperator[ReadRange->MapBatches(double)->Filter(even)]")

	// Take adds a limit after the fused operator.
	taken := mustCall(t, func() ([]data.Row, error) { return ds.Take(3) })
	if len(taken) != 3 {
		t.Fatalf("Take(3): %d rows", len(taken))
	}
	wantPlan(t, ds, "TaskPoolMapOperator[ReadRange->MapBatches(double)->Filter(even)]", "LimitOperator[limit=3]")
}

func TestFusionActorPoolName(t *testing.T) {
	setup(t)
	ds := data.Range(100).MapBatches(data.ActorPool(newAddOne, 1))
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 100 {
		t.Fatalf("%d rows, want 100", len(rows))
	}
	for _, r := range rows {
		if r["y"] != r["id"].(int64)+1 {
			t.Fatalf("bad row %v", r)
		}
	}
	// The read fuses into the actor pool; a task-pool map after it does not.
	wantPlan(t, ds, "ActorPoolMapOperator[ReadRange->MapBatches(addOne)]")

	ds2 := data.Range(100).MapBatches(data.ActorPool(newAddOne, 1)).MapBatches(double)
	mustCall(t, ds2.TakeAll)
	wantPlan(t, ds2, "ActorPoolMapOperator[ReadRange->MapBatches(addOne)]", "TaskPoolMapOperator[MapBatches(double)]")
}

func TestFusionBrokenByResources(t *testing.T) {
	setup(t)
	// Different CPU requests do not fuse (Ray fuses only equal resources).
	ds := data.Range(100).MapBatches(double, data.NumCPUs(0.5))
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 100 {
		t.Fatalf("%d rows, want 100", len(rows))
	}
	wantPlan(t, ds, "TaskPoolMapOperator[ReadRange]", "TaskPoolMapOperator[MapBatches(double)]")
}

func TestRepartitionBreaksFusion(t *testing.T) {
	setup(t)
	ds := data.Range(100).MapBatches(double).Repartition(3).MapBatches(identity)
	m := mustCall(t, ds.Materialize)
	if m.NumBlocks() != 3 {
		t.Errorf("Repartition(3): %d blocks, want 3", m.NumBlocks())
	}
	var sizes []int64
	for _, b := range m.Blocks() {
		sizes = append(sizes, b.Meta.NumRows)
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int64{33, 33, 34}) {
		t.Errorf("Repartition(3) of 100 rows: block rows %v, want [33 33 34]", sizes)
	}
	wantPlan(t, ds, "TaskPoolMapOperator[ReadRange->MapBatches(double)]", "AllToAllOperator[Repartition]",
		"TaskPoolMapOperator[MapBatches(identity)]")
	got := sortedIDs(t, mustCall(t, m.TakeAll))
	wantIDs(t, got, seq(0, 100))
}

func TestLimitPushdownBelowMap(t *testing.T) {
	setup(t)
	var calls atomic.Int64
	ds := data.Range(1000).Map(func(r data.Row) (data.Row, error) {
		calls.Add(1)
		r["sq"] = r["id"].(int64) * r["id"].(int64)
		return r, nil
	}).Limit(5)
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	for _, r := range rows {
		if r["sq"] != r["id"].(int64)*r["id"].(int64) {
			t.Errorf("bad row %v", r)
		}
	}
	plan := planOf(t, ds)
	limitAt, mapAt := -1, -1
	for i, p := range plan {
		if p == "LimitOperator[limit=5]" {
			limitAt = i
		}
		if strings.Contains(p, "Map(") {
			mapAt = i
		}
	}
	if limitAt < 0 || mapAt < 0 || limitAt > mapAt {
		t.Fatalf("plan %q: want the limit below (before) the map", plan)
	}
	// The map ran on the 5 rows the limit kept only.
	if n := calls.Load(); n != 5 {
		t.Errorf("the map ran %d times, want 5 (limit pushed below it)", n)
	}
}

func TestLimitNotPushedBelowFilter(t *testing.T) {
	setup(t)
	ds := data.Range(100).Filter(even).Limit(5)
	rows := mustCall(t, ds.TakeAll)
	got := ids(t, rows)
	slices.Sort(got)
	wantIDs(t, got, []int64{0, 2, 4, 6, 8})
	wantPlan(t, ds, "TaskPoolMapOperator[ReadRange->Filter(even)]", "LimitOperator[limit=5]")
}

func TestLimitsMerge(t *testing.T) {
	setup(t)
	for _, tc := range []struct {
		ds   *data.Dataset
		want int64
	}{
		{data.Range(100).Limit(10).Limit(3), 3},
		{data.Range(100).Limit(3).Limit(10), 3},
	} {
		rows := mustCall(t, tc.ds.TakeAll)
		if int64(len(rows)) != tc.want {
			t.Errorf("%d rows, want %d", len(rows), tc.want)
		}
		wantPlan(t, tc.ds, "TaskPoolMapOperator[ReadRange]", fmt.Sprintf("LimitOperator[limit=%d]", tc.want))
		n := mustCall(t, tc.ds.Count)
		if n != tc.want {
			t.Errorf("Count() = %d, want %d", n, tc.want)
		}
	}
}

func TestProjectionPushdownIntoParquet(t *testing.T) {
	setup(t)
	dir := writeParquetABC(t, 50)
	ds := data.ReadParquet(dir).SelectColumns("c", "a")
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 50 {
		t.Fatalf("%d rows, want 50", len(rows))
	}
	for _, r := range rows {
		if len(r) != 2 || r["c"] != float64(r["a"].(int64))/4 {
			t.Fatalf("row %v: want exactly a and c", r)
		}
	}
	wantPlan(t, ds, "TaskPoolMapOperator[ReadParquet]")
	cols := mustCall(t, ds.Columns)
	if !slices.Equal(cols, []string{"c", "a"}) {
		t.Errorf("Columns() = %v, want [c a]", cols)
	}
	// The Columns read option is the same pushdown.
	ds2 := data.ReadParquet(dir, data.Columns("b"))
	rows = mustCall(t, ds2.TakeAll)
	if len(rows) != 50 || len(rows[0]) != 1 || rows[0]["b"] == nil {
		t.Fatalf("Columns(b): rows %v", rows[:min(len(rows), 2)])
	}
	wantPlan(t, ds2, "TaskPoolMapOperator[ReadParquet]")
}

// A limit (from Take) must not stop the projection from reaching the read:
// Ray plans ReadParquet (columns pushed) -> Limit.
func TestProjectionPushdownSurvivesTake(t *testing.T) {
	setup(t)
	dir := writeParquetABC(t, 50)
	ds := data.ReadParquet(dir).SelectColumns("a")
	rows := mustCall(t, func() ([]data.Row, error) { return ds.Take(2) })
	if len(rows) != 2 || len(rows[0]) != 1 {
		t.Fatalf("Take(2) = %v", rows)
	}
	for _, p := range planOf(t, ds) {
		if strings.Contains(p, "Project") {
			t.Errorf("plan %q: the projection was not pushed into the read once Take added a limit",
				planOf(t, ds))
			break
		}
	}
}

func TestPredicatePushdownSkipsRowGroups(t *testing.T) {
	setup(t)
	path := filepath.Join(t.TempDir(), "groups.parquet")
	writeRowGroups(t, path, 10, 100)

	// Before corruption: the filter gives the right rows and runs in the read.
	ds := data.ReadParquet(path).FilterExpr("id >= 900")
	rows := mustCall(t, ds.TakeAll)
	wantIDs(t, sortedIDs(t, rows), seq(900, 1000))
	wantPlan(t, ds, "TaskPoolMapOperator[ReadParquet]")
	if st := ds.Stats(); st.Operators[0].Rows != 100 {
		t.Errorf("read operator output %d rows, want 100", st.Operators[0].Rows)
	}

	// Break row group 0 (ids 0-99). A read that touches it fails...
	corruptRowGroup(t, path, 0)
	if _, err := call(t, data.ReadParquet(path).TakeAll); err == nil {
		t.Fatalf("test setup: reading the corrupted row group did not fail")
	}
	// ...so a filtered read that succeeds has skipped it from its statistics.
	for _, src := range []string{"id >= 900", "id >= 250 and id < 350", "v > 449.5"} {
		ds := data.ReadParquet(path).FilterExpr(src)
		rows, err := call(t, ds.TakeAll)
		if err != nil {
			t.Errorf("FilterExpr(%q): %v (row group 0 was read, not skipped)", src, err)
			continue
		}
		for _, r := range rows {
			if r["id"].(int64) < 100 {
				t.Errorf("FilterExpr(%q) returned id %v", src, r["id"])
			}
		}
		want := 100 // ids 900-999, 250-349, 900-999
		if len(rows) != want {
			t.Errorf("FilterExpr(%q): %d rows, want %d", src, len(rows), want)
		}
	}
	// The read option does the same.
	rows, err := call(t, data.ReadParquet(path, data.Filter("id >= 900")).TakeAll)
	if err != nil || len(rows) != 100 {
		t.Errorf("Filter read option: %d rows, err %v", len(rows), err)
	}
	// Count runs the filter in the read too.
	n, err := call(t, data.ReadParquet(path).FilterExpr("id >= 950").Count)
	if err != nil || n != 50 {
		t.Errorf("Count with pushed filter = %d, %v; want 50", n, err)
	}
}

func TestFilterExprNotPushedPastMap(t *testing.T) {
	setup(t)
	path := filepath.Join(t.TempDir(), "groups.parquet")
	writeRowGroups(t, path, 4, 25)
	ds := data.ReadParquet(path).MapBatches(identity).FilterExpr("id >= 90")
	rows := mustCall(t, ds.TakeAll)
	wantIDs(t, sortedIDs(t, rows), seq(90, 100))
	plan := planOf(t, ds)
	if len(plan) != 2 || !strings.Contains(plan[1], "ReadParquet->MapBatches(identity)->Filter(") {
		t.Errorf("plan %q: want the filter fused after the map, not pushed into the read", plan)
	}
}

// Pushing two projections into a read must not lose the error for a
// column the first one removed.
func TestProjectionPushdownKeepsUnknownColumnError(t *testing.T) {
	setup(t)
	pq := writeParquetABC(t, 5)
	csv := writeFile(t, filepath.Join(t.TempDir(), "x.csv"), "a,b\n1,2\n")
	for name, ds := range map[string]*data.Dataset{
		"range":   data.Range(3).RenameColumns(map[string]string{"id": "a"}).SelectColumns("a").SelectColumns("b"),
		"parquet": data.ReadParquet(pq).SelectColumns("a").SelectColumns("b"),
		"csv":     data.ReadCSV(csv).SelectColumns("a").SelectColumns("b"),
	} {
		rows, err := call(t, ds.TakeAll)
		if err == nil {
			t.Errorf("%s: SelectColumns(a).SelectColumns(b) gave rows %v, want an error naming \"b\"", name, rows)
			continue
		}
		if !strings.Contains(err.Error(), `"b"`) {
			t.Errorf("%s: error %q does not name the column", name, err)
		}
	}
	// Narrowing twice to known columns is fine and still pushed.
	ds := data.ReadParquet(pq).SelectColumns("a", "b").SelectColumns("b")
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 5 || len(rows[0]) != 1 || rows[0]["b"] == nil {
		t.Errorf("rows %v", rows)
	}
	wantPlan(t, ds, "TaskPoolMapOperator[ReadParquet]")
}
