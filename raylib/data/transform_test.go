package data_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/goray-dev/goray/raylib/data"
)

func TestMapBatchesSignatures(t *testing.T) {
	setup(t)
	withErr := func(b *data.Batch) (*data.Batch, error) {
		return b.SetColumn("k", repeatInt(b.NumRows(), 1)), nil
	}
	withCtx := func(ctx context.Context, b *data.Batch) (*data.Batch, error) {
		if ctx == nil {
			return nil, fmt.Errorf("nil context")
		}
		return b.SetColumn("k", repeatInt(b.NumRows(), 2)), nil
	}
	plain := func(b *data.Batch) *data.Batch { return b.SetColumn("k", repeatInt(b.NumRows(), 3)) }
	for i, fn := range []any{withErr, withCtx, plain} {
		rows := mustCall(t, data.Range(20).MapBatches(fn).TakeAll)
		if len(rows) != 20 {
			t.Fatalf("fn %d: %d rows", i, len(rows))
		}
		for _, r := range rows {
			if r["k"] != int64(i+1) {
				t.Fatalf("fn %d: row %v", i, r)
			}
		}
	}
	// A function of another shape is refused with a message naming it.
	ds := data.Range(20).MapBatches(func(x int) int { return x })
	wantErr(t, ds.Err(), "func(int) int")
	_, err := call(t, ds.TakeAll)
	wantErr(t, err, "func(int) int")
}

func repeatInt(n int, v int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestMapBatchesNewBatchAndNil(t *testing.T) {
	setup(t)
	// A UDF may build a new batch from scratch...
	fresh := func(b *data.Batch) (*data.Batch, error) {
		ids := b.Int64s("id")
		names := make([]string, len(ids))
		for i, v := range ids {
			names[i] = fmt.Sprintf("n%d", v)
		}
		return data.NewBatch().SetColumn("name", names), nil
	}
	rows := mustCall(t, data.Range(5).MapBatches(fresh).TakeAll)
	var names []string
	for _, r := range rows {
		if len(r) != 1 {
			t.Fatalf("row %v: want only name", r)
		}
		names = append(names, r["name"].(string))
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"n0", "n1", "n2", "n3", "n4"}) {
		t.Errorf("names %v", names)
	}
	// ...or return nil to drop the batch.
	drop := func(b *data.Batch) (*data.Batch, error) { return nil, nil }
	n := mustCall(t, data.Range(100, data.Parallelism(4)).MapBatches(drop).Count)
	if n != 0 {
		t.Errorf("Count after dropping every batch = %d", n)
	}
}

func TestMapFlatMapFilter(t *testing.T) {
	setup(t)
	ds := data.Range(10).
		Map(func(r data.Row) (data.Row, error) {
			r["half"] = float64(r["id"].(int64)) / 2
			return r, nil
		}).
		FlatMap(func(r data.Row) ([]data.Row, error) {
			if r["id"].(int64)%3 == 0 {
				return nil, nil
			}
			return []data.Row{r, {"id": r["id"].(int64) + 100, "half": r["half"]}}, nil
		}).
		Filter(func(r data.Row) bool { return r["id"].(int64) != 104 })
	rows := mustCall(t, ds.TakeAll)
	got := sortedIDs(t, rows)
	want := []int64{1, 2, 4, 5, 7, 8, 101, 102, 105, 107, 108}
	wantIDs(t, got, want)
	for _, r := range rows {
		id := r["id"].(int64) % 100
		if r["half"] != float64(id)/2 {
			t.Errorf("row %v: half should be %v", r, float64(id)/2)
		}
	}
	n := mustCall(t, ds.Count)
	if n != int64(len(want)) {
		t.Errorf("Count() = %d, want %d", n, len(want))
	}
}

func TestFilterExpr(t *testing.T) {
	setup(t)
	rows := make([]data.Row, 100)
	for i := range rows {
		rows[i] = data.Row{"id": int64(i), "cat": []string{"a", "b", "c"}[i%3], "x": float64(i) / 10}
	}
	ds := data.FromItems(rows).FilterExpr("cat in ('a', 'c') and x >= 5 and not (id % 2 = 1)")
	got := sortedIDs(t, mustCall(t, ds.TakeAll))
	var want []int64
	for i := int64(50); i < 100; i++ {
		if i%3 != 1 && i%2 == 0 {
			want = append(want, i)
		}
	}
	wantIDs(t, got, want)
	if n := mustCall(t, ds.Count); n != int64(len(want)) {
		t.Errorf("Count() = %d, want %d", n, len(want))
	}
	// A syntax error is reported when the dataset is built.
	bad := data.Range(10).FilterExpr("id >")
	wantErr(t, bad.Err(), "FilterExpr")
}

func TestColumnOperations(t *testing.T) {
	setup(t)
	base := data.FromItems([]data.Row{
		{"a": int64(1), "b": "x", "c": 1.5},
		{"a": int64(2), "b": "y", "c": 2.5},
	})
	check := func(name string, ds *data.Dataset, wantCols []string, wantRows []data.Row) {
		t.Helper()
		cols := mustCall(t, ds.Columns)
		if !slices.Equal(cols, wantCols) {
			t.Errorf("%s: Columns() = %v, want %v", name, cols, wantCols)
		}
		rows := mustCall(t, ds.TakeAll)
		if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
			t.Errorf("%s: rows %v, want %v", name, rows, wantRows)
		}
	}
	check("SelectColumns", base.SelectColumns("c", "a"), []string{"c", "a"},
		[]data.Row{{"c": 1.5, "a": int64(1)}, {"c": 2.5, "a": int64(2)}})
	check("DropColumns", base.DropColumns("b"), []string{"a", "c"},
		[]data.Row{{"a": int64(1), "c": 1.5}, {"a": int64(2), "c": 2.5}})
	check("RenameColumns", base.RenameColumns(map[string]string{"a": "A", "c": "C"}), []string{"A", "b", "C"},
		[]data.Row{{"A": int64(1), "b": "x", "C": 1.5}, {"A": int64(2), "b": "y", "C": 2.5}})
	check("RenameAllColumns", base.RenameAllColumns("p", "q", "r"), []string{"p", "q", "r"},
		[]data.Row{{"p": int64(1), "q": "x", "r": 1.5}, {"p": int64(2), "q": "y", "r": 2.5}})
	check("AddColumn", base.AddColumn("d", func(b *data.Batch) (any, error) {
		c := b.Float64s("c")
		out := make([]float64, len(c))
		for i, v := range c {
			out[i] = v * 2
		}
		return out, nil
	}), []string{"a", "b", "c", "d"},
		[]data.Row{{"a": int64(1), "b": "x", "c": 1.5, "d": 3.0}, {"a": int64(2), "b": "y", "c": 2.5, "d": 5.0}})
	// A wrong number of names for RenameAllColumns is refused.
	wantErr(t, base.RenameAllColumns("p").Err(), "RenameAllColumns")
}

func TestDatasetsAreImmutableAndShareInputs(t *testing.T) {
	setup(t)
	var reads atomic.Int64
	base := data.Range(100).MapBatches(func(b *data.Batch) (*data.Batch, error) {
		reads.Add(int64(b.NumRows()))
		return b, nil
	})
	evens := base.Filter(even)
	odds := base.Filter(func(r data.Row) bool { return !even(r) })
	if n := reads.Load(); n != 0 {
		t.Fatalf("building datasets ran %d rows: pipelines must be lazy", n)
	}
	ne := mustCall(t, evens.Count)
	no := mustCall(t, odds.Count)
	nb := mustCall(t, base.Count)
	if ne != 50 || no != 50 || nb != 100 {
		t.Errorf("counts: evens %d, odds %d, base %d", ne, no, nb)
	}
	// Each derived dataset keeps its own stats.
	if evens.Stats() == nil || odds.Stats() == nil || evens.Stats() == odds.Stats() {
		t.Errorf("derived datasets share stats")
	}
}

func TestLimitAndTake(t *testing.T) {
	setup(t)
	ds := data.Range(1000, data.Parallelism(10))
	for _, n := range []int{0, 1, 7, 1000, 5000} {
		rows := mustCall(t, func() ([]data.Row, error) { return ds.Take(n) })
		if len(rows) != min(n, 1000) {
			t.Errorf("Take(%d): %d rows", n, len(rows))
		}
		got := mustCall(t, ds.Limit(int64(n)).Count)
		if got != int64(min(n, 1000)) {
			t.Errorf("Limit(%d).Count() = %d", n, got)
		}
		rows = mustCall(t, ds.MapBatches(identity).Limit(int64(n)).TakeAll)
		if len(rows) != min(n, 1000) {
			t.Errorf("MapBatches.Limit(%d).TakeAll: %d rows", n, len(rows))
		}
	}
	b := mustCall(t, func() (*data.Batch, error) { return ds.TakeBatch(5) })
	if b.NumRows() != 5 || !slices.Equal(b.Columns(), []string{"id"}) {
		t.Errorf("TakeBatch(5): %d rows, columns %v", b.NumRows(), b.Columns())
	}
	_, err := ds.Take(-1)
	wantErr(t, err, "Take(-1)")
	_, err = ds.TakeBatch(0)
	wantErr(t, err, "TakeBatch(0)")
	wantErr(t, ds.Limit(-1).Err(), "Limit(-1)")
	wantErr(t, ds.Repartition(0).Err(), "Repartition(0)")
}

func TestShowTo(t *testing.T) {
	setup(t)
	var buf bytes.Buffer
	ds := data.FromItems([]data.Row{{"a": int64(1), "b": "x"}, {"a": int64(2), "b": "y"}, {"a": int64(3), "b": "z"}})
	if err := callErr(t, func() error { return ds.ShowTo(&buf, 2) }); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "{a: 1, b: \"x\"}\n{a: 2, b: \"y\"}\n"; got != want {
		t.Errorf("ShowTo:\n%s\nwant:\n%s", got, want)
	}
}

func TestBatchAccessors(t *testing.T) {
	setup(t)
	ds := data.FromItems([]data.Row{
		{"i": int64(1), "f": 1.5, "s": "a", "ok": true},
		{"i": int64(2), "f": nil, "s": "b", "ok": false},
	})
	b := mustCall(t, func() (*data.Batch, error) { return ds.TakeBatch(2) })
	if !slices.Equal(b.Int64s("i"), []int64{1, 2}) {
		t.Errorf("Int64s = %v", b.Int64s("i"))
	}
	f := b.Float64s("f")
	if f[0] != 1.5 || f[1] == f[1] {
		t.Errorf("Float64s = %v, want [1.5 NaN]", f)
	}
	if !slices.Equal(b.Strings("s"), []string{"a", "b"}) || !slices.Equal(b.Bools("ok"), []bool{true, false}) {
		t.Errorf("Strings %v, Bools %v", b.Strings("s"), b.Bools("ok"))
	}
	if !b.Has("i") || b.Has("nope") {
		t.Errorf("Has is wrong")
	}
	func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), `"nope"`) {
				t.Errorf("Int64s of a missing column: recovered %v, want a panic naming the column", r)
			}
		}()
		b.Int64s("nope")
	}()
	// A length mismatch is reported by Record.
	b2 := data.NewBatch().SetColumn("a", []int64{1, 2}).SetColumn("b", []int64{1})
	if _, err := b2.Record(); err == nil || !strings.Contains(err.Error(), "length") {
		t.Errorf("Record of columns of different lengths: %v", err)
	}
	// Unsupported Go values are reported by Record too.
	b3 := data.NewBatch().SetColumn("a", []complex64{1})
	wantErr(t, func() error { _, err := b3.Record(); return err }(), `"a"`)
}

// Repartition must not free blocks it does not own: the blocks of an
// in-memory source or of a materialized dataset stay usable afterwards.
func TestRepartitionKeepsSourceBlocks(t *testing.T) {
	setup(t)
	m := mustCall(t, data.Range(100, data.Parallelism(4)).Materialize)
	defer m.Release()
	parts := mustCall(t, m.Repartition(2).Materialize)
	if parts.NumBlocks() != 2 {
		t.Errorf("Repartition(2): %d blocks", parts.NumBlocks())
	}
	rows, err := call(t, m.TakeAll)
	if err != nil {
		t.Fatalf("the materialized dataset is broken after a Repartition of it: %v", err)
	}
	wantIDs(t, sortedIDs(t, rows), seq(0, 100))

	items := data.FromItems([]data.Row{{"id": int64(1)}, {"id": int64(2)}, {"id": int64(3)}}).Repartition(3)
	for i := range 2 {
		rows, err := call(t, items.TakeAll)
		if err != nil {
			t.Fatalf("execution %d of FromItems(...).Repartition(3): %v", i+1, err)
		}
		wantIDs(t, sortedIDs(t, rows), []int64{1, 2, 3})
	}
}

// Map's output row is the row the function returns: columns it leaves out
// are gone (Ray's map), not kept as null columns.
func TestMapOutputIsTheReturnedRow(t *testing.T) {
	setup(t)
	ds := data.Range(3).Map(func(r data.Row) (data.Row, error) {
		return data.Row{"x": r["id"].(int64) * 2}, nil
	})
	rows := mustCall(t, ds.TakeAll)
	if fmt.Sprint(rows) != "[map[x:0] map[x:2] map[x:4]]" {
		t.Errorf("Map returning {x}: rows %v, want [map[x:0] map[x:2] map[x:4]]", rows)
	}
	words := data.FromItems([]data.Row{{"text": "a b"}, {"text": "c"}}).FlatMap(func(r data.Row) ([]data.Row, error) {
		var out []data.Row
		for _, w := range strings.Fields(r["text"].(string)) {
			out = append(out, data.Row{"word": w})
		}
		return out, nil
	})
	cols := mustCall(t, words.Columns)
	if !slices.Equal(cols, []string{"word"}) {
		t.Errorf("FlatMap returning {word}: columns %v, want [word]", cols)
	}
}

// A column whose values are all null reads back as nil values.
func TestAllNullColumnReadsAsNil(t *testing.T) {
	setup(t)
	rows := mustCall(t, data.FromItems([]data.Row{{"a": int64(1), "b": nil}}).TakeAll)
	if len(rows) != 1 || rows[0]["b"] != nil {
		t.Errorf("FromItems with b = nil: got b = %#v (%T), want nil", rows[0]["b"], rows[0]["b"])
	}
}

var autoscaleCtors atomic.Int64

type autoscaleUDF struct{}

func newAutoscaleUDF() *autoscaleUDF {
	autoscaleCtors.Add(1)
	return &autoscaleUDF{}
}

func (*autoscaleUDF) Call(_ context.Context, b *data.Batch) (*data.Batch, error) { return sleepy(b) }

func TestAutoscalingActorPool(t *testing.T) {
	setup(t)
	autoscaleCtors.Store(0)
	ds := data.Range(10000, data.Parallelism(50)).MapBatches(data.ActorPool(newAutoscaleUDF, 1).Autoscale(1, 3))
	rows := mustCall(t, ds.TakeAll)
	wantIDs(t, sortedIDs(t, rows), seq(0, 10000))
	if n := autoscaleCtors.Load(); n < 1 || n > 3 {
		t.Errorf("Autoscale(1, 3) made %d actors", n)
	}
	wantErr(t, data.Range(10).MapBatches(data.ActorPool(newAutoscaleUDF, 1).Autoscale(3, 1)).Err(), "actor")
}

func TestWithDataContext(t *testing.T) {
	setup(t)
	dc := data.DefaultContext()
	dc.Progress = false
	dc.Log = io.Discard
	dc.PreserveOrder = true
	// Current() says nothing of order; the dataset's own context does.
	ds := data.Range(20000, data.Parallelism(40)).MapBatches(sleepy).WithDataContext(dc)
	wantIDs(t, ids(t, mustCall(t, ds.TakeAll)), seq(0, 20000))
	// Derived datasets keep it.
	wantIDs(t, ids(t, mustCall(t, ds.MapBatches(identity, data.NumCPUs(0.5)).TakeAll)), seq(0, 20000))
}

func TestEagerFreeOffStillFreesBlocks(t *testing.T) {
	setup(t)
	objs0 := settledObjects(0)
	data.Current().EagerFree = false
	rows := mustCall(t, data.Range(1000, data.Parallelism(10)).MapBatches(identity).
		MapBatches(double, data.NumCPUs(0.5)).TakeAll)
	if len(rows) != 1000 {
		t.Fatalf("%d rows", len(rows))
	}
	if n := settledObjects(objs0); n != objs0 {
		t.Errorf("object store: %d objects before, %d after an execution with EagerFree off", objs0, n)
	}
}
