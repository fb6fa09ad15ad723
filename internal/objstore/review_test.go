package objstore

// Review tests: edge cases of sealing straight to disk and of Close.

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// rvGateCodec is a BytesCodec whose Encode signals that it started and then
// waits for the gate, so that a test can act while a value is being written.
type rvGateCodec struct {
	entered chan struct{}
	gate    chan struct{}
}

func (c rvGateCodec) Encode(w io.Writer, v any) error {
	c.entered <- struct{}{}
	<-c.gate
	return BytesCodec{}.Encode(w, v)
}

func (c rvGateCodec) Decode(r io.Reader) (any, error) { return BytesCodec{}.Decode(r) }

// rvSealLarge seals a value larger than the budget (so it goes straight to
// disk through spillNew) on another goroutine, and reports a panic.
func rvSealLarge(t *testing.T, s *Store, id ID, codec Codec) <-chan any {
	t.Helper()
	out := make(chan any, 1)
	go func() {
		defer func() { out <- recover() }()
		s.Seal(id, make([]byte, 100), 100, codec, "[]uint8")
	}()
	return out
}

// Release of a task's result while Seal writes it straight to disk (value
// larger than the budget) frees the pending object and closes its done
// channel; spillNew then marks it Spilled and closes done again: panic.
func TestRVReleaseWhileSealSpillsToDisk(t *testing.T) {
	s := New(Options{Budget: 10, SpillDir: t.TempDir()})
	defer s.Close()
	id, _ := s.Create(FromTask, 0)
	c := rvGateCodec{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	res := rvSealLarge(t, s, id, c)
	<-c.entered
	s.Release(id)
	close(c.gate)
	if p := <-res; p != nil {
		t.Fatalf("Seal panicked after the object was released meanwhile: %v", p)
	}
	if st := s.Stats(); st.Objects != 0 || st.SpilledBytes != 0 {
		t.Errorf("released object still accounted: %+v", st)
	}
}

// Same with Close (ray.Shutdown racing a large ray.Put or a finishing task).
func TestRVCloseWhileSealSpillsToDisk(t *testing.T) {
	s := New(Options{Budget: 10, SpillDir: t.TempDir()})
	id, _ := s.Create(FromPut, 0)
	c := rvGateCodec{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	res := rvSealLarge(t, s, id, c)
	<-c.entered
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }() // Close waits for the write in flight
	close(c.gate)
	if p := <-res; p != nil {
		t.Fatalf("Seal panicked after Close: %v", p)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

// A Get that looked the object up before Close and reads it after finds it
// still "Ready" with its value cleared: it returns (nil, nil) instead of
// ErrClosed.
func TestRVGetRacingCloseNeverReturnsNilWithoutError(t *testing.T) {
	bad := 0
	for round := 0; round < 200 && bad == 0; round++ {
		s := New(Options{})
		id := put(t, s, []byte("x"), BytesCodec{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := make(chan struct{})
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < 200; i++ {
					v, err := s.Get(context.Background(), id)
					if v == nil && err == nil {
						mu.Lock()
						bad++
						mu.Unlock()
					}
					if err != nil {
						return
					}
				}
			}()
		}
		close(start)
		time.Sleep(time.Duration(round%5) * 10 * time.Microsecond)
		s.Close()
		wg.Wait()
	}
	if bad > 0 {
		t.Fatalf("%d Gets racing Close returned a nil value and no error", bad)
	}
}
