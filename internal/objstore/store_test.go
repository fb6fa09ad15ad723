package objstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func put(t *testing.T, s *Store, v any, codec Codec) ID {
	t.Helper()
	id, err := s.Create(FromPut, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(id, v, SizeOf(v), codec, "test"); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSealGetAndAccounting(t *testing.T) {
	s := New(Options{})
	id := put(t, s, []byte("hello"), BytesCodec{})
	v, err := s.Get(context.Background(), id)
	if err != nil || string(v.([]byte)) != "hello" {
		t.Fatalf("Get = %v, %v", v, err)
	}
	if st := s.Stats(); st.InMemoryBytes != 5 || st.Objects != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGetWaitsForPendingAndHonoursContext(t *testing.T) {
	s := New(Options{})
	id, _ := s.Create(FromTask, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Get(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get on pending = %v, want deadline", err)
	}
	got := make(chan any)
	go func() {
		v, _ := s.Get(context.Background(), id)
		got <- v
	}()
	s.Seal(id, 42, 8, GobCodec[int]{}, "int")
	if v := <-got; v != 42 {
		t.Fatalf("Get = %v", v)
	}
}

func TestFailReachesReadersAndCallbacks(t *testing.T) {
	s := New(Options{})
	id, _ := s.Create(FromTask, 0)
	called := make(chan struct{})
	s.OnReady(id, func() { close(called) })
	boom := errors.New("boom")
	s.Fail(id, boom)
	<-called
	if _, err := s.Get(context.Background(), id); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestRefCountingFrees(t *testing.T) {
	s := New(Options{})
	id := put(t, s, []byte("x"), BytesCodec{})
	s.AddHandle(id) // two handles
	s.AddUse(id)    // and a pending task
	s.DropHandle(id)
	s.DropHandle(id)
	if s.Stats().Objects != 1 {
		t.Fatal("freed while a pending task still uses it")
	}
	s.DropUse(id)
	if s.Stats().Objects != 0 || s.Stats().InMemoryBytes != 0 {
		t.Fatalf("not freed: %+v", s.Stats())
	}
	if _, err := s.Get(context.Background(), id); !errors.Is(err, ErrReleased) {
		t.Fatalf("Get after free = %v", err)
	}
}

func TestReleasePendingWakesWaiters(t *testing.T) {
	s := New(Options{})
	id, _ := s.Create(FromTask, 0)
	woke := make(chan struct{})
	s.OnReady(id, func() { close(woke) })
	errc := make(chan error)
	go func() { _, err := s.Get(context.Background(), id); errc <- err }()
	s.Release(id)
	<-woke
	if err := <-errc; !errors.Is(err, ErrReleased) {
		t.Fatalf("reader got %v", err)
	}
}

type record struct {
	Name   string
	Values []float64
}

func TestSpillAndRestore(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{Budget: 1000, SpillDir: dir})
	a := put(t, s, bytes.Repeat([]byte{1}, 600), BytesCodec{})
	b := put(t, s, record{"r", make([]float64, 50)}, GobCodec[record]{}) // 400 + header bytes: a spills
	st := s.Stats()
	if st.SpillCount != 1 || st.SpilledBytes != 600 || st.InMemoryBytes > 1000 {
		t.Fatalf("after overflow: %+v", st)
	}
	files, _ := filepath.Glob(filepath.Join(st.SpillDir, "*.spill"))
	if len(files) != 1 {
		t.Fatalf("spill files %v", files)
	}
	v, err := s.Get(context.Background(), a)
	if err != nil || !bytes.Equal(v.([]byte), bytes.Repeat([]byte{1}, 600)) {
		t.Fatalf("restore: %v", err)
	}
	st = s.Stats()
	if st.RestoreCount != 1 || st.InMemoryBytes > 1000 {
		t.Fatalf("after restore: %+v", st)
	}
	// b was the oldest in memory then, so it is on disk now; it comes back intact.
	v, err = s.Get(context.Background(), b)
	if err != nil || v.(record).Name != "r" || len(v.(record).Values) != 50 {
		t.Fatalf("restore b: %v %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.SpillDir); !os.IsNotExist(err) {
		t.Fatalf("spill dir left behind: %v", err)
	}
}

func TestTooBigGoesStraightToDisk(t *testing.T) {
	s := New(Options{Budget: 100, SpillDir: t.TempDir()})
	id := put(t, s, bytes.Repeat([]byte{7}, 1000), BytesCodec{})
	if st := s.Stats(); st.InMemoryBytes != 0 || st.SpilledBytes != 1000 {
		t.Fatalf("stats %+v", st)
	}
	v, err := s.Get(context.Background(), id)
	if err != nil || len(v.([]byte)) != 1000 {
		t.Fatalf("Get %v", err)
	}
	s.Close()
}

func TestUnspillableTooBigFails(t *testing.T) {
	s := New(Options{Budget: 100})
	id, _ := s.Create(FromPut, 0)
	err := s.Seal(id, "x", 1000, nil, "func()")
	var full *FullError
	if !errors.As(err, &full) || full.Size != 1000 {
		t.Fatalf("err = %v", err)
	}
}

func TestFreeingSpilledRemovesFile(t *testing.T) {
	s := New(Options{Budget: 10, SpillDir: t.TempDir()})
	id := put(t, s, bytes.Repeat([]byte{7}, 100), BytesCodec{})
	files, _ := filepath.Glob(filepath.Join(s.Stats().SpillDir, "*.spill"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	s.DropHandle(id)
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Fatal("spill file not removed on free")
	}
	if s.Stats().SpilledBytes != 0 {
		t.Fatalf("stats %+v", s.Stats())
	}
}

func TestListAndCallSite(t *testing.T) {
	s := New(Options{})
	id := put(t, s, []byte("abc"), BytesCodec{})
	pending, _ := s.Create(FromTask, 0)
	s.AddUse(pending)
	list := s.List()
	if len(list) != 2 || list[0].ID != id || list[0].Size != 3 || list[0].State != Ready {
		t.Fatalf("list %+v", list)
	}
	if list[0].ReferenceType() != "LOCAL_REFERENCE" || list[1].ReferenceType() != "USED_BY_PENDING_TASK" {
		t.Fatalf("reference types %q %q", list[0].ReferenceType(), list[1].ReferenceType())
	}
	if list[0].CallSite != "disabled" {
		t.Fatalf("call site %q", list[0].CallSite)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(Options{Budget: 1 << 16, SpillDir: t.TempDir()})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := put(t, s, bytes.Repeat([]byte{byte(i)}, 1024), BytesCodec{})
				v, err := s.Get(context.Background(), id)
				if err != nil || v.([]byte)[0] != byte(i) {
					t.Errorf("get: %v", err)
					return
				}
				s.DropHandle(id)
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Objects != 0 || st.InMemoryBytes != 0 || st.SpilledBytes != 0 {
		t.Fatalf("leftovers %+v", st)
	}
	s.Close()
}

func TestSizeOf(t *testing.T) {
	type pair struct {
		A int64
		B []float64
	}
	for _, tc := range []struct {
		v    any
		want int64
	}{
		{[]byte("abcd"), 4},
		{"abc", 3},
		{[]float64{1, 2}, 16},
		{struct{}{}, 0},
	} {
		if got := SizeOf(tc.v); got != tc.want {
			t.Errorf("SizeOf(%T) = %d, want %d", tc.v, got, tc.want)
		}
	}
	if got := SizeOf(pair{B: make([]float64, 1000)}); got < 8000 || got > 8100 {
		t.Errorf("SizeOf(pair) = %d", got)
	}
	big := make([]string, 10000)
	for i := range big {
		big[i] = "0123456789"
	}
	if got := SizeOf(big); got < 10000*10 || got > 10000*30 {
		t.Errorf("SizeOf(strings) = %d", got)
	}
}

func TestOnAnyReadyCancelLeavesNothing(t *testing.T) {
	s := New(Options{})
	a, _ := s.Create(FromTask, 0)
	b, _ := s.Create(FromTask, 0)
	fired := 0
	reg, cancel := s.OnAnyReady([]ID{a, b}, func() { fired++ })
	if reg != 2 {
		t.Fatalf("registered %d", reg)
	}
	s.Seal(a, 1, 8, nil, "int")
	if fired != 1 {
		t.Fatalf("fired %d", fired)
	}
	cancel()
	s.mu.Lock()
	left := len(s.objects[b].callbacks)
	s.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d callbacks left on b after cancel", left)
	}
	s.Seal(b, 2, 8, nil, "int")
	if fired != 1 {
		t.Fatalf("cancelled callback fired")
	}
	// Registering on a ready object registers nothing.
	if reg, _ := s.OnAnyReady([]ID{a}, func() {}); reg != 0 {
		t.Fatalf("registered %d on a ready object", reg)
	}
}
