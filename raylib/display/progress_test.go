package display_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/display"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncRecorder is a fake notebook safe for the trailing redraw's goroutine.
type syncRecorder struct {
	mu      sync.Mutex
	html    []string
	updates []update
}

func (r *syncRecorder) display(clock *fakeClock) display.Display {
	return display.Display{
		HTML: func(h string) { r.mu.Lock(); r.html = append(r.html, h); r.mu.Unlock() },
		UpdateHTML: func(id, h string) {
			r.mu.Lock()
			r.updates = append(r.updates, update{id, h})
			r.mu.Unlock()
		},
		Now: clock.Now,
	}
}

func (r *syncRecorder) snapshot() (html []string, updates []update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.html...), append([]update(nil), r.updates...)
}

var ops = []string{"ReadCSV", "MapBatches(<ImageGen>)", "Write"}

func TestProgressNotebook(t *testing.T) {
	clock := newFakeClock()
	var rec syncRecorder
	p := display.NewProgress(rec.display(clock), "Running ds", ops)

	_, ups := rec.snapshot()
	if len(ups) != 1 || ups[0].id == "" {
		t.Fatalf("NewProgress should draw once with a display id: %+v", ups)
	}
	first := ups[0].html
	for _, want := range []string{"Running ds", "Execution plan: ReadCSV -&gt; MapBatches(&lt;ImageGen&gt;) -&gt; Write"} {
		if !strings.Contains(first, want) {
			t.Errorf("first draw lacks %q:\n%s", want, first)
		}
	}

	// A burst at one instant is throttled: at most the trailing redraw
	// follows, whenever its timer fires.
	for i := range 100 {
		p.Update(1, display.OperatorState{Rows: int64(i), TotalRows: 1000, ActiveTasks: 3, QueuedBlocks: 7, Backpressured: true})
	}
	if _, ups = rec.snapshot(); len(ups) > 2 {
		t.Errorf("100 updates at one instant gave %d redraws", len(ups))
	}
	clock.Advance(time.Second)
	p.Update(0, display.OperatorState{Rows: 12345, TotalRows: 12345, Done: true})
	_, ups = rec.snapshot()
	last := ups[len(ups)-1].html
	for _, want := range []string{"backpressured", "3 tasks", "7 queued", "12.3k/12.3k rows", "99/1000 rows", "width:100.0%"} {
		if !strings.Contains(last, want) {
			t.Errorf("redraw after a second lacks %q:\n%s", want, last)
		}
	}

	p.Finish(1500 * time.Millisecond)
	html, ups := rec.snapshot()
	final := ups[len(ups)-1].html
	if !strings.Contains(final, "execution finished in 1.50 seconds") || strings.Contains(final, "backpressured") {
		t.Errorf("final draw:\n%s", final)
	}
	for _, u := range ups {
		if u.id != ups[0].id {
			t.Errorf("redraws use different ids: %q and %q", u.id, ups[0].id)
		}
	}
	if len(html) != 0 {
		t.Errorf("progress with UpdateHTML should not add outputs: %d", len(html))
	}

	n := len(ups)
	p.Update(0, display.OperatorState{Rows: 1})
	p.Update(99, display.OperatorState{Rows: 1})
	p.Finish(time.Second)
	if _, ups = rec.snapshot(); len(ups) != n {
		t.Errorf("updates after Finish redrew: %d, want %d", len(ups), n)
	}

	// Each progress has its own id: Jupyter would update the old one.
	other := display.NewProgress(rec.display(clock), "", ops)
	other.Finish(time.Second)
	if _, ups = rec.snapshot(); ups[len(ups)-1].id == ups[0].id {
		t.Errorf("two progresses share the id %q", ups[0].id)
	}
}

func TestProgressTrailingRedraw(t *testing.T) {
	clock := newFakeClock() // frozen: only the trailing timer can redraw
	var rec syncRecorder
	p := display.NewProgress(rec.display(clock), "", ops)
	defer p.Finish(time.Second)
	p.Update(2, display.OperatorState{Rows: 777})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, ups := rec.snapshot(); strings.Contains(ups[len(ups)-1].html, "777 rows") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("a throttled update was never drawn")
}

func TestProgressNotebookWithoutUpdate(t *testing.T) {
	clock := newFakeClock()
	var rec syncRecorder
	d := rec.display(clock)
	d.UpdateHTML = nil
	p := display.NewProgress(d, "", ops)
	clock.Advance(time.Second)
	p.Update(0, display.OperatorState{Rows: 10})
	p.Finish(0) // 0: the clock's elapsed time
	html, _ := rec.snapshot()
	if len(html) != 1 || !strings.Contains(html[0], "execution finished in 1.00 seconds") {
		t.Errorf("want one final HTML output, got %q", html)
	}
}

func TestProgressText(t *testing.T) {
	clock := newFakeClock()
	var out strings.Builder
	p := display.NewProgress(display.Display{Out: &out, Now: clock.Now}, "Running ds", ops)
	clock.Advance(time.Second)
	p.Update(0, display.OperatorState{Rows: 50, TotalRows: 100, ActiveTasks: 2})
	if got := out.String(); got != "Running ds\nExecution plan: ReadCSV -> MapBatches(<ImageGen>) -> Write\n" {
		t.Errorf("before Finish a non-terminal shows only the plan: %q", got)
	}
	p.Finish(2 * time.Second)
	want := `Running ds
Execution plan: ReadCSV -> MapBatches(<ImageGen>) -> Write
ReadCSV                 50% [######......] 50/100 rows, 25 rows/s
MapBatches(<ImageGen>)      [............] 0 rows, 0.0 rows/s
Write                       [............] 0 rows, 0.0 rows/s
execution finished in 2.00 seconds
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestProgressTerminal(t *testing.T) {
	clock := newFakeClock()
	var out strings.Builder
	p := display.NewProgress(display.Display{Out: &out, Terminal: true, Now: clock.Now}, "", ops)
	if got := out.String(); strings.Count(got, "\n") != 4 || strings.Contains(got, "\x1b[3A") {
		t.Errorf("first draw: plan and three bars, no cursor move: %q", got)
	}
	clock.Advance(time.Second)
	p.Update(1, display.OperatorState{Rows: 5, Backpressured: true})
	redraw := out.String()
	if !strings.Contains(redraw, "\r\x1b[3A") || !strings.Contains(redraw, "\x1b[2KMapBatches(<ImageGen>)") ||
		!strings.Contains(redraw, "backpressured") {
		t.Errorf("redraw should move up over the bars and clear them: %q", redraw)
	}
	p.Finish(time.Second)
	if got := out.String(); !strings.HasSuffix(got, "execution finished in 1.00 seconds\n") {
		t.Errorf("final: %q", got)
	}
}

func TestProgressConcurrent(t *testing.T) {
	var rec syncRecorder
	var out safeBuilder
	notebook := rec.display(newFakeClock())
	notebook.Now = nil // the real clock, so some updates pass the throttle
	for _, d := range []display.Display{notebook, {Out: &out, Terminal: true}} {
		p := display.NewProgress(d, "", ops)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 300 {
					p.Update((g+i)%4-1, display.OperatorState{Rows: int64(i), TotalRows: 300}) // -1 is ignored
				}
			}()
		}
		wg.Wait()
		p.Finish(time.Second)
	}
	if _, ups := rec.snapshot(); !strings.Contains(ups[len(ups)-1].html, "execution finished") {
		t.Error("notebook: no final draw")
	}
	if !strings.HasSuffix(out.String(), "execution finished in 1.00 seconds\n") {
		t.Error("terminal: no final line")
	}
}

// safeBuilder is a strings.Builder for concurrent writers.
type safeBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
