package data_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/data"
	"github.com/goray-dev/goray/raylib/ray"
)

// settledObjects waits (collecting garbage) until the object store holds at
// most want objects, and returns how many it holds.
func settledObjects(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		n := ray.StoreStats().Objects
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledGoroutines waits until at most want goroutines run, and returns
// how many run.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------
// Limits stop upstream work early.
// ---------------------------------------------------------------------

func TestTakeStopsEarlyWithinTasks(t *testing.T) {
	setup(t)
	var seen atomic.Int64
	count := func(b *data.Batch) (*data.Batch, error) {
		seen.Add(int64(b.NumRows()))
		return b, nil
	}
	// Each read task stops after the batch that fills the limit.
	ds := data.Range(10_000_000).MapBatches(count, data.BatchSize(1000))
	rows := mustCall(t, func() ([]data.Row, error) { return ds.Take(3) })
	if len(rows) != 3 {
		t.Fatalf("Take(3): %d rows", len(rows))
	}
	if n := seen.Load(); n == 0 || n >= 1_000_000 {
		t.Errorf("the UDF saw %d rows for Take(3) of 10M, want far fewer than 1M", n)
	}
}

func TestTakeStopsLaunchingTasks(t *testing.T) {
	setup(t)
	var seen atomic.Int64
	count := func(b *data.Batch) (*data.Batch, error) {
		seen.Add(int64(b.NumRows()))
		return b, nil
	}
	// Whole blocks (~130k rows each) with at most 2 tasks at once: once the
	// limit has its rows, no further tasks may start.
	ds := data.Range(10_000_000).MapBatches(count, data.Concurrency(2))
	rows := mustCall(t, func() ([]data.Row, error) { return ds.Take(3) })
	if len(rows) != 3 {
		t.Fatalf("Take(3): %d rows", len(rows))
	}
	if n := seen.Load(); n == 0 || n >= 1_000_000 {
		t.Errorf("the UDF saw %d rows for Take(3) of 10M, want far fewer than 1M", n)
	}
}

func TestConcurrencyCapsRunningTasks(t *testing.T) {
	setup(t)
	var running, peak atomic.Int64
	slow := func(b *data.Batch) (*data.Batch, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return b, nil
	}
	ds := data.Range(1000, data.Parallelism(20)).MapBatches(slow, data.Concurrency(1))
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 1000 {
		t.Fatalf("%d rows, want 1000", len(rows))
	}
	if p := peak.Load(); p != 1 {
		t.Errorf("Concurrency(1): %d UDF calls ran at once", p)
	}
}

// ---------------------------------------------------------------------
// Memory budget and backpressure.
// ---------------------------------------------------------------------

func TestBackpressureBoundsStoreMemory(t *testing.T) {
	setup(t)
	const (
		budget     = 32 << 20
		blockBytes = 4 << 20
		blocks     = 48 // 192 MiB in all: far more than the budget
	)
	data.Current().MemoryBudget = budget
	pad := func(b *data.Batch) (*data.Batch, error) {
		vals := make([][]byte, b.NumRows())
		for i := range vals {
			vals[i] = make([]byte, blockBytes/len(vals))
		}
		return b.SetColumn("pad", vals), nil
	}
	// Concurrency bounds the first wave, launched before any output size is
	// known, on machines with many cores; the queue of finished blocks is
	// what backpressure must bound.
	ds := data.Range(blocks, data.Parallelism(blocks)).MapBatches(pad, data.Concurrency(4))

	settledObjects(0)
	base := ray.StoreStats().InMemoryBytes
	var peak atomic.Int64
	sample := func() {
		if n := ray.StoreStats().InMemoryBytes - base; n > peak.Load() {
			peak.Store(n)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	var got []int64
	var iterErr error
	within(t, hangLimit, func() {
		for b, err := range ds.IterBatches(data.IterBatchSize(1)) {
			if err != nil {
				iterErr = err
				break
			}
			sample()
			got = append(got, b.Int64s("id")...)
			time.Sleep(15 * time.Millisecond) // a slow consumer
		}
	})
	close(stop)
	wg.Wait()
	if iterErr != nil {
		t.Fatal(iterErr)
	}
	slices.Sort(got)
	wantIDs(t, got, seq(0, blocks))
	if p := peak.Load(); p > 2*budget {
		t.Errorf("object store peaked at %d MiB for a %d MiB budget: backpressure did not hold producers back",
			p>>20, budget>>20)
	} else {
		t.Logf("object store peak %.1f MiB (budget %d MiB)", float64(p)/(1<<20), budget>>20)
	}
}

// ---------------------------------------------------------------------
// Actor pools.
// ---------------------------------------------------------------------

var counterCtors atomic.Int64

type counterUDF struct {
	calls int
}

func newCounterUDF() *counterUDF {
	counterCtors.Add(1)
	return &counterUDF{}
}

func (c *counterUDF) Call(_ context.Context, b *data.Batch) (*data.Batch, error) {
	c.calls++
	return b, nil
}

func TestActorPoolConstructsEachActorOnce(t *testing.T) {
	setup(t)
	counterCtors.Store(0)
	ds := data.Range(10000, data.Parallelism(20)).MapBatches(data.ActorPool(newCounterUDF, 2), data.BatchSize(100))
	rows := mustCall(t, ds.TakeAll)
	wantIDs(t, sortedIDs(t, rows), seq(0, 10000))
	if n := counterCtors.Load(); n != 2 {
		t.Errorf("the constructor ran %d times for a pool of 2 actors, want 2", n)
	}
	wantPlan(t, ds, "ActorPoolMapOperator[ReadRange->MapBatches(counterUDF)]")
}

type adder struct{ k int64 }

func newAdder(k int64) *adder { return &adder{k: k} }

func (a *adder) Call(_ context.Context, b *data.Batch) (*data.Batch, error) {
	ids := b.Int64s("id")
	out := make([]int64, len(ids))
	for i, v := range ids {
		out[i] = v + a.k
	}
	return b.SetColumn("plus", out), nil
}

func TestActorPool1ConstructorArgument(t *testing.T) {
	setup(t)
	ds := data.Range(500, data.Parallelism(5)).MapBatches(data.ActorPool1(newAdder, int64(42), 2))
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 500 {
		t.Fatalf("%d rows, want 500", len(rows))
	}
	for _, r := range rows {
		if r["plus"] != r["id"].(int64)+42 {
			t.Fatalf("row %v: plus should be id+42", r)
		}
	}
	wantPlan(t, ds, "ActorPoolMapOperator[ReadRange->MapBatches(adder)]")
}

// sizeLog records the batch sizes a UDF saw.
type sizeLog struct {
	mu    sync.Mutex
	sizes []int
}

func (l *sizeLog) add(n int) {
	l.mu.Lock()
	l.sizes = append(l.sizes, n)
	l.mu.Unlock()
}

func (l *sizeLog) get() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sizes)
}

type sizeRecorder struct{ log *sizeLog }

func newSizeRecorder(l *sizeLog) *sizeRecorder { return &sizeRecorder{log: l} }

func (s *sizeRecorder) Call(_ context.Context, b *data.Batch) (*data.Batch, error) {
	s.log.add(b.NumRows())
	return b, nil
}

func TestBatchSizeRespected(t *testing.T) {
	setup(t)
	t.Run("actor pool, whole batches", func(t *testing.T) {
		log := &sizeLog{}
		// 10 read tasks of 1000 rows: every batch is exactly 100 rows.
		ds := data.Range(10000, data.Parallelism(10)).
			MapBatches(data.ActorPool1(newSizeRecorder, log, 2), data.BatchSize(100))
		rows := mustCall(t, ds.TakeAll)
		wantIDs(t, sortedIDs(t, rows), seq(0, 10000))
		sizes := log.get()
		if len(sizes) != 100 {
			t.Errorf("%d batches, want 100", len(sizes))
		}
		for _, n := range sizes {
			if n != 100 {
				t.Fatalf("a batch of %d rows, want 100 (sizes %v)", n, sizes)
			}
		}
	})
	t.Run("actor pool, partial last batch per task", func(t *testing.T) {
		log := &sizeLog{}
		const tasks = 7
		ds := data.Range(10000, data.Parallelism(tasks)).
			MapBatches(data.ActorPool1(newSizeRecorder, log, 2), data.BatchSize(100))
		rows := mustCall(t, ds.TakeAll)
		wantIDs(t, sortedIDs(t, rows), seq(0, 10000))
		short, total := 0, 0
		for _, n := range log.get() {
			total += n
			if n > 100 || n < 1 {
				t.Fatalf("a batch of %d rows with BatchSize(100)", n)
			}
			if n < 100 {
				short++
			}
		}
		if total != 10000 {
			t.Errorf("the UDF saw %d rows, want 10000", total)
		}
		if short > tasks {
			t.Errorf("%d batches were short of 100 rows; at most one per task (%d) may be", short, tasks)
		}
	})
	t.Run("task pool over small blocks", func(t *testing.T) {
		log := &sizeLog{}
		rec := func(b *data.Batch) (*data.Batch, error) {
			log.add(b.NumRows())
			return b, nil
		}
		// Blocks of 10 rows from an unfusable upstream: batches span them.
		ds := data.Range(1000, data.Parallelism(100)).MapBatches(identity, data.NumCPUs(0.5)).
			MapBatches(rec, data.BatchSize(64))
		rows := mustCall(t, ds.TakeAll)
		wantIDs(t, sortedIDs(t, rows), seq(0, 1000))
		total := 0
		for _, n := range log.get() {
			total += n
			if n > 64 {
				t.Fatalf("a batch of %d rows with BatchSize(64)", n)
			}
		}
		if total != 1000 {
			t.Errorf("the UDF saw %d rows, want 1000", total)
		}
		full := 0
		for _, n := range log.get() {
			if n == 64 {
				full++
			}
		}
		if full == 0 {
			t.Errorf("no batch reached 64 rows from 10-row blocks: sizes %v", log.get())
		}
	})
}

type gpuUDF struct{ log *gpuLog }

type gpuLog struct {
	mu  sync.Mutex
	ids [][]int
}

func newGPUUDF(l *gpuLog) *gpuUDF { return &gpuUDF{log: l} }

func (g *gpuUDF) Call(ctx context.Context, b *data.Batch) (*data.Batch, error) {
	g.log.mu.Lock()
	g.log.ids = append(g.log.ids, ray.GPUIDs(ctx))
	g.log.mu.Unlock()
	return b, nil
}

func TestResourceOptionsWithFractionalGPU(t *testing.T) {
	setup(t)
	if err := ray.Shutdown(); err != nil {
		t.Logf("ray.Shutdown: %v", err)
	}
	if err := ray.Init(ray.NumCPUs(4), ray.NumGPUs(1)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ray.Shutdown() })

	// Two actors sharing the one GPU.
	log := &gpuLog{}
	ds := data.Range(1000, data.Parallelism(10)).
		MapBatches(data.ActorPool1(newGPUUDF, log, 2), data.NumGPUs(0.5), data.NumCPUs(1))
	rows := mustCall(t, ds.TakeAll)
	if len(rows) != 1000 {
		t.Fatalf("%d rows, want 1000", len(rows))
	}
	if len(log.ids) == 0 {
		t.Fatal("the UDF never ran")
	}
	for _, g := range log.ids {
		if !slices.Equal(g, []int{0}) {
			t.Fatalf("an actor with NumGPUs(0.5) held GPUs %v, want [0]", g)
		}
	}

	// Tasks with half a GPU each.
	var mu sync.Mutex
	var taskGPUs [][]int
	f := func(ctx context.Context, b *data.Batch) (*data.Batch, error) {
		mu.Lock()
		taskGPUs = append(taskGPUs, ray.GPUIDs(ctx))
		mu.Unlock()
		return b, nil
	}
	ds = data.Range(1000, data.Parallelism(10)).MapBatches(f, data.NumGPUs(0.5))
	rows = mustCall(t, ds.TakeAll)
	if len(rows) != 1000 {
		t.Fatalf("%d rows, want 1000", len(rows))
	}
	for _, g := range taskGPUs {
		if !slices.Equal(g, []int{0}) {
			t.Fatalf("a task with NumGPUs(0.5) held GPUs %v, want [0]", g)
		}
	}
	// Everything is given back once the executions end.
	deadline := time.Now().Add(10 * time.Second)
	for ray.AvailableResources()["GPU"] != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ray.AvailableResources()["GPU"]; got != 1 {
		t.Errorf("after the executions %v GPUs are free, want 1 (actors or tasks still hold them)", got)
	}
	// Bad resource options fail the build with a message naming them.
	wantErr(t, data.Range(10).MapBatches(identity, data.NumGPUs(-1)).Err(), "NumGPUs")
	wantErr(t, data.Range(10).MapBatches(identity, data.NumCPUs(-1)).Err(), "NumCPUs")
}

// ---------------------------------------------------------------------
// Ordering.
// ---------------------------------------------------------------------

func sleepy(b *data.Batch) (*data.Batch, error) {
	time.Sleep(time.Duration(rand.IntN(8)) * time.Millisecond)
	return b, nil
}

type sleepyUDF struct{}

func newSleepyUDF() *sleepyUDF { return &sleepyUDF{} }

func (*sleepyUDF) Call(_ context.Context, b *data.Batch) (*data.Batch, error) { return sleepy(b) }

func TestPreserveOrder(t *testing.T) {
	cases := map[string]func() *data.Dataset{
		"fused task pool": func() *data.Dataset {
			return data.Range(100000, data.Parallelism(40)).MapBatches(sleepy, data.BatchSize(500))
		},
		"two task pools": func() *data.Dataset {
			return data.Range(100000, data.Parallelism(40)).MapBatches(sleepy, data.NumCPUs(0.5)).
				MapBatches(sleepy, data.NumCPUs(0.25))
		},
		"actor pool": func() *data.Dataset {
			return data.Range(100000, data.Parallelism(40)).MapBatches(sleepy, data.NumCPUs(0.5)).
				MapBatches(data.ActorPool(newSleepyUDF, 3))
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			setup(t)
			data.Current().PreserveOrder = true
			rows := mustCall(t, mk().TakeAll)
			wantIDs(t, ids(t, rows), seq(0, 100000))
			first := mustCall(t, func() ([]data.Row, error) { return mk().Take(10) })
			wantIDs(t, ids(t, first), seq(0, 10))
		})
	}
	// Without PreserveOrder every row still arrives once.
	setup(t)
	rows := mustCall(t, cases["two task pools"]().TakeAll)
	wantIDs(t, sortedIDs(t, rows), seq(0, 100000))
}

// ---------------------------------------------------------------------
// Cancellation and cleanup.
// ---------------------------------------------------------------------

// blockUntilCancelled is the body of the UDFs of the cancellation tests:
// it waits for its context, giving up after 3 s (well before the
// executor's 5 s grace for UDFs that ignore cancellation), and counts how
// it ended.
func blockUntilCancelled(ctx context.Context, started chan struct{}, cancelled, ignored *atomic.Int64) error {
	select {
	case started <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
		cancelled.Add(1)
		return ctx.Err()
	case <-time.After(3 * time.Second):
		ignored.Add(1)
		return errors.New("the UDF's context was never cancelled")
	}
}

type blockingUDF struct {
	started            chan struct{}
	cancelled, ignored *atomic.Int64
}

func newBlockingUDF(u blockingUDF) *blockingUDF { return &u }

func (u *blockingUDF) Call(ctx context.Context, b *data.Batch) (*data.Batch, error) {
	return nil, blockUntilCancelled(ctx, u.started, u.cancelled, u.ignored)
}

func TestCancelStopsAndCleansUp(t *testing.T) {
	setup(t)
	// Warm up the runtime so its own goroutines are counted in the base.
	mustCall(t, data.Range(100, data.Parallelism(4)).MapBatches(identity).TakeAll)
	mustCall(t, data.Range(100).MapBatches(data.ActorPool(newAddOne, 1)).TakeAll)

	cases := map[string]func(u blockingUDF) any{
		"task pool": func(u blockingUDF) any {
			return func(ctx context.Context, b *data.Batch) (*data.Batch, error) {
				return nil, blockUntilCancelled(ctx, u.started, u.cancelled, u.ignored)
			}
		},
		"actor pool": func(u blockingUDF) any {
			return data.ActorPool1(newBlockingUDF, u, 2)
		},
	}
	for name, udf := range cases {
		t.Run(name, func(t *testing.T) {
			setup(t)
			objs0 := settledObjects(0)
			g0 := runtime.NumGoroutine()

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u := blockingUDF{started: make(chan struct{}, 1), cancelled: new(atomic.Int64), ignored: new(atomic.Int64)}
			ds := data.Range(1000, data.Parallelism(8)).MapBatches(udf(u)).WithContext(ctx)
			go func() {
				select {
				case <-u.started:
				case <-time.After(5 * time.Second):
				}
				time.Sleep(100 * time.Millisecond)
				cancel()
			}()
			var err error
			within(t, 10*time.Second, func() { _, err = ds.TakeAll() })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("TakeAll after cancel: %v, want context.Canceled", err)
			}
			if n := settledGoroutines(g0 + 5); n > g0+5 {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d before, %d after the cancelled execution\n%s", g0, n,
					buf[:runtime.Stack(buf, true)])
			}
			if n := settledObjects(objs0); n != objs0 {
				t.Errorf("object store: %d objects before, %d after the cancelled execution", objs0, n)
			}
			// Cancelling the execution cancels the context the running UDFs got.
			deadline := time.Now().Add(5 * time.Second)
			for u.cancelled.Load()+u.ignored.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if u.cancelled.Load() == 0 || u.ignored.Load() > 0 {
				t.Errorf("running UDF calls: %d saw their context cancelled, %d waited 3 s without it",
					u.cancelled.Load(), u.ignored.Load())
			}
		})
	}
}

func TestCancelWhileIterating(t *testing.T) {
	setup(t)
	objs0 := settledObjects(0)
	g0 := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ds := data.Range(1_000_000, data.Parallelism(100)).MapBatches(identity).WithContext(ctx)
	var n int
	var lastErr error
	within(t, 10*time.Second, func() {
		for b, err := range ds.IterBatches(data.IterBatchSize(1000)) {
			if err != nil {
				lastErr = err
				break
			}
			n += b.NumRows()
			if n == 1000 {
				// A slow consumer: the blocks fetched ahead wait for it
				// while the context ends. The iteration must still end
				// with the context's error, not look like the end of the
				// data.
				time.Sleep(200 * time.Millisecond)
				cancel()
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
	if !errors.Is(lastErr, context.Canceled) {
		t.Errorf("IterBatches after cancel ended with %v after %d rows, want context.Canceled", lastErr, n)
	}
	if n >= 1_000_000 {
		t.Errorf("iteration went on to the end (%d rows) after cancel", n)
	}
	if got := settledGoroutines(g0 + 5); got > g0+5 {
		t.Errorf("goroutines: %d before, %d after", g0, got)
	}
	if got := settledObjects(objs0); got != objs0 {
		t.Errorf("object store: %d objects before, %d after", objs0, got)
	}
}

func TestBreakReleasesEverything(t *testing.T) {
	setup(t)
	objs0 := settledObjects(0)
	g0 := runtime.NumGoroutine()
	ds := data.Range(1_000_000, data.Parallelism(50)).MapBatches(double)
	within(t, hangLimit, func() {
		for range ds.IterBatches(data.IterBatchSize(10)) {
			break
		}
		for range ds.IterRows() {
			break
		}
	})
	if got := settledGoroutines(g0 + 5); got > g0+5 {
		t.Errorf("goroutines: %d before, %d after breaking out of iterations", g0, got)
	}
	if got := settledObjects(objs0); got != objs0 {
		t.Errorf("object store: %d objects before, %d after breaking out of iterations", objs0, got)
	}
}

// An execution that fails while the consumer is inside IterRows' loop body
// must not call the body again after it broke out.
func TestIterRowsBreakAfterFailure(t *testing.T) {
	setup(t)
	gotRow := make(chan struct{})
	failed := make(chan struct{})
	f := func(b *data.Batch) (*data.Batch, error) {
		if b.Int64s("id")[0] == 0 {
			return b, nil
		}
		select {
		case <-gotRow:
		case <-time.After(5 * time.Second):
		}
		close(failed)
		return nil, errors.New("second block fails")
	}
	ds := data.Range(100, data.Parallelism(2)).MapBatches(f)
	var panicked any
	within(t, hangLimit, func() {
		defer func() { panicked = recover() }()
		for _, err := range ds.IterRows() {
			if err != nil {
				return
			}
			close(gotRow)
			select {
			case <-failed:
				time.Sleep(300 * time.Millisecond) // let the executor record the failure
			case <-time.After(5 * time.Second):
			}
			break
		}
	})
	if panicked != nil {
		t.Errorf("IterRows called the loop body after it returned false: %v", panicked)
	}
}
