package objstore

// Close and spill writes in flight: once Close returns, no spill file or
// spill directory is left and nothing writes under the spill directory.

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

// clEntries lists what is left under dir (the store's SpillDir option).
func clEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// Close must cancel or wait for a spill write in flight, both a value going
// straight to disk (larger than the budget) and an older object evicted to
// make room, and remove its file and the spill directory before returning.
// Before the fix Close removed the directory while the write went on and
// returned at once; a write that created its file at the wrong moment (or
// its directory, if it was the store's first spill) left them behind, after
// ray.Shutdown and while t.TempDir's cleanup was removing the folder.
func TestCloseWaitsForSpillWritesInFlight(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(s *Store, c rvGateCodec) // a Seal that blocks in c's Encode
	}{
		{"straight to disk", func(s *Store, c rvGateCodec) {
			id, _ := s.Create(FromPut, 0)
			s.Seal(id, make([]byte, 100), 100, c, "[]uint8")
		}},
		{"evicted victim", func(s *Store, c rvGateCodec) {
			old, _ := s.Create(FromPut, 0)
			s.Seal(old, make([]byte, 8), 8, c, "[]uint8")
			id, _ := s.Create(FromPut, 0)
			s.Seal(id, make([]byte, 8), 8, BytesCodec{}, "[]uint8") // spills old
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			s := New(Options{Budget: 10, SpillDir: base})
			c := rvGateCodec{entered: make(chan struct{}, 1), gate: make(chan struct{})}
			opened := false
			open := func() {
				if !opened {
					opened = true
					close(c.gate)
				}
			}
			defer open()
			sealed := make(chan struct{})
			go func() {
				defer close(sealed)
				tc.start(s, c)
			}()
			select {
			case <-c.entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the spill write did not start")
			}
			if len(clEntries(t, base)) == 0 {
				t.Fatal("no spill directory while a spill is being written")
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			select {
			case err := <-closed:
				t.Fatalf("Close returned (%v) while a spill write was in flight", err)
			case <-time.After(100 * time.Millisecond):
			}
			open()
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not return after the spill write went on")
			}
			if left := clEntries(t, base); len(left) != 0 {
				t.Fatalf("right after Close, left under the spill folder: %v", left)
			}
			select {
			case <-sealed:
			case <-time.After(5 * time.Second):
				t.Fatal("Seal did not return")
			}
			if left := clEntries(t, base); len(left) != 0 {
				t.Fatalf("after Seal returned, left under the spill folder: %v", left)
			}
		})
	}
}

// A spill write that starts after Close (it was decided before, and its
// goroutine ran late) must not create a spill directory that nothing removes.
func TestNoSpillDirectoryAfterClose(t *testing.T) {
	base := t.TempDir()
	s := New(Options{Budget: 10, SpillDir: base})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ensureSpillDir(); !errors.Is(err, ErrClosed) {
		t.Errorf("ensureSpillDir after Close: %v, want ErrClosed", err)
	}
	if left := clEntries(t, base); len(left) != 0 {
		t.Fatalf("spill folder made after Close: %v", left)
	}
}

// A second Close returns only once the first has removed the spill folder.
func TestSecondCloseWaitsForFirst(t *testing.T) {
	base := t.TempDir()
	s := New(Options{Budget: 10, SpillDir: base})
	c := rvGateCodec{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	res := rvSealLarge(t, s, mustCreate(t, s), c)
	<-c.entered
	first := make(chan error, 1)
	go func() { first <- s.Close() }()
	second := make(chan error, 1)
	go func() {
		for !s.isClosed() {
			time.Sleep(time.Millisecond)
		}
		second <- s.Close()
	}()
	select {
	case <-second:
		t.Fatal("a second Close returned while the first waited for a spill write")
	case <-time.After(100 * time.Millisecond):
	}
	close(c.gate)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if left := clEntries(t, base); len(left) != 0 {
		t.Fatalf("after the second Close, left under the spill folder: %v", left)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-res
}

func mustCreate(t *testing.T, s *Store) ID {
	t.Helper()
	id, err := s.Create(FromPut, 0)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Close while many goroutines put values larger than the budget: nothing is
// left under the spill folder once Close returns, nor once the puts return.
func TestCloseRacingLargePuts(t *testing.T) {
	for round := range 20 {
		base := t.TempDir()
		s := New(Options{Budget: 1 << 10, SpillDir: base})
		done := make(chan struct{})
		const putters = 8
		finished := make(chan struct{}, putters)
		for range putters {
			go func() {
				defer func() { finished <- struct{}{} }()
				v := bytes.Repeat([]byte{1}, 64<<10)
				for {
					select {
					case <-done:
						return
					default:
					}
					id, err := s.Create(FromPut, 0)
					if err != nil {
						return // closed
					}
					s.Seal(id, v, int64(len(v)), BytesCodec{}, "[]uint8")
					s.DropHandle(id)
				}
			}()
		}
		time.Sleep(time.Duration(round%4) * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if left := clEntries(t, base); len(left) != 0 {
			t.Fatalf("round %d: right after Close, left under the spill folder: %v", round, left)
		}
		close(done)
		for range putters {
			<-finished
		}
		if left := clEntries(t, base); len(left) != 0 {
			t.Fatalf("round %d: after the puts returned, left under the spill folder: %v", round, left)
		}
	}
}
