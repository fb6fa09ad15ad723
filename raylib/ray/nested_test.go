package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

// waitCPUs polls until all CPUs are available again: nothing leaked.
func waitCPUs(t *testing.T, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for ray.AvailableResources()["CPU"] != want {
		if time.Now().After(deadline) {
			t.Fatalf("available CPU = %v, want %v", ray.AvailableResources()["CPU"], want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func double(x int) int { return 2 * x }

// On one CPU, a task that waits for its own child would hold the only CPU
// the child needs; it lends its CPU back while blocked, as Ray does.
func TestNestedGetDoesNotStarveChildren(t *testing.T) {
	atInit(t, ray.NumCPUs(1))
	child := ray.Remote1(double)
	var parent *ray.Task1[int, int]
	parent = ray.Remote1Ctx(func(ctx context.Context, depth int) (int, error) {
		if depth == 0 {
			return child.Remote(21).Get(ray.WithContext(ctx))
		}
		return parent.WithContext(ctx).Remote(depth - 1).Get(ray.WithContext(ctx))
	})
	v, err := parent.Remote(3).Get(ray.Timeout(10 * time.Second))
	if err != nil || v != 42 {
		t.Fatalf("nested get = %v, %v", v, err)
	}
	waitCPUs(t, 1)
}

func TestCancelWhileBlockedInGetLeaksNoCPU(t *testing.T) {
	atInit(t, ray.NumCPUs(1))
	release := make(chan struct{})
	blocker := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		select {
		case <-release:
			return 1, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}, ray.NumCPUs(0))
	inGet := make(chan struct{})
	parent := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		ref := blocker.Remote()
		close(inGet)
		return ref.Get(ray.WithContext(ctx))
	})
	p := parent.Remote()
	<-inGet
	// While the parent is blocked its CPU is lent: another 1-CPU task runs.
	if v, err := ray.Remote1(double).Remote(2).Get(ray.Timeout(5 * time.Second)); err != nil || v != 4 {
		t.Fatalf("task beside a blocked parent: %v %v", v, err)
	}
	if err := ray.Cancel(p, false, true); err != nil {
		t.Fatal(err)
	}
	var cancelled *ray.TaskCancelledError
	if _, err := p.Get(ray.Timeout(5 * time.Second)); !errors.As(err, &cancelled) {
		t.Fatalf("parent: %v", err)
	}
	close(release)
	waitCPUs(t, 1)
}

func TestForceCancelWhileBlockedInGetLeaksNoCPU(t *testing.T) {
	atInit(t, ray.NumCPUs(2))
	hold := make(chan struct{})
	slow := ray.Remote(func() int { <-hold; return 1 }, ray.NumCPUs(0))
	inGet := make(chan struct{})
	parent := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		ref := slow.Remote()
		close(inGet)
		return ref.Get(ray.WithContext(ctx))
	})
	p := parent.Remote()
	<-inGet
	if err := ray.Cancel(p, true, false); err != nil {
		t.Fatal(err)
	}
	close(hold)
	waitCPUs(t, 2)
}

// Refs dropped without Release are collected before the store spills: a
// loop of puts that keeps no ref spills (almost) nothing.
func TestDroppedRefsAreCollectedBeforeSpilling(t *testing.T) {
	if err := ray.Init(ray.NumCPUs(1), ray.ObjectStoreMemory(8<<20), ray.SpillDir(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ray.Shutdown() })
	// One buffer put again and again: the store counts 1 MiB per object,
	// but the heap does not grow, so nothing else would start a collection.
	buf := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		buf[0] = byte(i)
		v, err := ray.Put(buf).Get()
		if err != nil || v[0] != byte(i) {
			t.Fatalf("put %d: %v", i, err)
		}
		// The ref is dropped here, unreleased.
	}
	st := ray.StoreStats()
	// 64 MiB went through an 8 MiB store; without collection a dozen or
	// more dead objects are spilled.
	if st.SpillCount > 4 {
		t.Fatalf("%d of 64 dropped objects were spilled (stats %+v)", st.SpillCount, st)
	}
}
