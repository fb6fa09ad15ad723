package scheduler

import (
	"errors"
	"testing"

	"github.com/goray-dev/goray/internal/resources"
)

func newSched(t *testing.T, total map[string]float64) *Scheduler {
	t.Helper()
	set, err := resources.ParseSet(total)
	if err != nil {
		t.Fatal(err)
	}
	l, err := resources.NewLedger(set)
	if err != nil {
		t.Fatal(err)
	}
	return New(l)
}

type recorder struct {
	started []string
	grants  map[string]resources.Grant
}

func (r *recorder) item(t *testing.T, name string, req map[string]float64) *Item {
	t.Helper()
	set, err := resources.ParseSet(req)
	if err != nil {
		t.Fatal(err)
	}
	return &Item{Request: set, Start: func(g resources.Grant) {
		r.started = append(r.started, name)
		r.grants[name] = g
	}}
}

func newRecorder() *recorder { return &recorder{grants: map[string]resources.Grant{}} }

func TestFIFOWithinClassAndWaiting(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 1})
	r := newRecorder()
	for _, n := range []string{"a", "b", "c"} {
		if err := s.Submit(r.item(t, n, map[string]float64{"CPU": 1})); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.started) != 1 || r.started[0] != "a" || s.Waiting() != 2 {
		t.Fatalf("started %v waiting %d", r.started, s.Waiting())
	}
	s.Release(r.grants["a"])
	s.Release(r.grants["b"])
	if got := r.started; len(got) != 3 || got[1] != "b" || got[2] != "c" {
		t.Fatalf("order %v", got)
	}
}

func TestSmallRequestDoesNotWaitBehindBigOne(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 2})
	r := newRecorder()
	s.Submit(r.item(t, "one", map[string]float64{"CPU": 1}))
	s.Submit(r.item(t, "big", map[string]float64{"CPU": 2})) // waits
	s.Submit(r.item(t, "small", map[string]float64{"CPU": 1}))
	if len(r.started) != 2 || r.started[1] != "small" {
		t.Fatalf("started %v", r.started)
	}
	s.Release(r.grants["one"])
	s.Release(r.grants["small"])
	if r.started[len(r.started)-1] != "big" {
		t.Fatalf("big never started: %v", r.started)
	}
}

func TestOldestFittingHeadGoesFirst(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 1, "GPU": 1})
	r := newRecorder()
	s.Submit(r.item(t, "hold", map[string]float64{"CPU": 1}))
	s.Submit(r.item(t, "cpu", map[string]float64{"CPU": 1}))
	s.Submit(r.item(t, "mixed", map[string]float64{"CPU": 1, "GPU": 0.5}))
	s.Release(r.grants["hold"])
	if r.started[1] != "cpu" {
		t.Fatalf("started %v, want the older cpu item first", r.started)
	}
}

func TestInfeasibleFailsAtOnce(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 2})
	r := newRecorder()
	err := s.Submit(r.item(t, "gpu", map[string]float64{"GPU": 1}))
	var inf *resources.InfeasibleError
	if !errors.As(err, &inf) {
		t.Fatalf("err = %v", err)
	}
	if len(r.started) != 0 || s.Waiting() != 0 {
		t.Fatal("infeasible item queued or started")
	}
}

func TestCancelQueued(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 1})
	r := newRecorder()
	s.Submit(r.item(t, "a", map[string]float64{"CPU": 1}))
	b := r.item(t, "b", map[string]float64{"CPU": 1})
	s.Submit(b)
	if !s.Cancel(b) || s.Cancel(b) {
		t.Fatal("Cancel should succeed once")
	}
	s.Release(r.grants["a"])
	if len(r.started) != 1 {
		t.Fatalf("cancelled item started: %v", r.started)
	}
	if s.Available()["CPU"] != resources.Whole(1) {
		t.Fatal("CPU not returned")
	}
}

func TestZeroRequestAlwaysStarts(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 1})
	r := newRecorder()
	s.Submit(r.item(t, "a", map[string]float64{"CPU": 1}))
	s.Submit(r.item(t, "free", map[string]float64{}))
	if len(r.started) != 2 {
		t.Fatalf("zero-resource item waits: %v", r.started)
	}
}

func TestCloseReturnsQueued(t *testing.T) {
	s := newSched(t, map[string]float64{"CPU": 1})
	r := newRecorder()
	s.Submit(r.item(t, "a", map[string]float64{"CPU": 1}))
	s.Submit(r.item(t, "b", map[string]float64{"CPU": 1}))
	if left := s.Close(); len(left) != 1 {
		t.Fatalf("Close returned %d items", len(left))
	}
	if err := s.Submit(r.item(t, "c", map[string]float64{})); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}

func TestFractionalGPUsQueueUntilReturned(t *testing.T) {
	s := newSched(t, map[string]float64{"GPU": 1})
	r := newRecorder()
	s.Submit(r.item(t, "llm", map[string]float64{"GPU": 0.6}))
	s.Submit(r.item(t, "llm2", map[string]float64{"GPU": 0.6}))
	s.Submit(r.item(t, "img", map[string]float64{"GPU": 0.4}))
	if len(r.started) != 2 || r.started[1] != "img" {
		t.Fatalf("started %v", r.started)
	}
	s.Release(r.grants["llm"])
	if r.started[2] != "llm2" {
		t.Fatalf("started %v", r.started)
	}
}
