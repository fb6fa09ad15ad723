package ray_test

// Review tests: cancellation of retried plain tasks, argument use counts on
// paths that end a task before it is scheduled.

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

// rvRefType returns the ReferenceType that ListObjects gives ref.
func rvRefType(t *testing.T, ref ray.Ref) string {
	t.Helper()
	o, ok := ttObject(ref.ID())
	if !ok {
		t.Fatalf("object %s is not listed", ref.ID())
	}
	return o.ReferenceType
}

// A plain task (no context) cannot see Cancel; invokeWithRetries only stops
// retrying when ctx (here the runtime's context) ends, so a cancelled plain
// task that keeps panicking is retried forever with MaxRetries(-1): its CPU
// is never returned and its goroutine spins until Shutdown.
func TestRVCancelStopsRetriesOfPlainTask(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	gate := ttNewLatch(t)
	started := make(chan struct{}, 1)
	var attempts atomic.Int64
	task := ray.Remote(func() int {
		if attempts.Add(1) == 1 {
			started <- struct{}{}
			gate.wait(context.Background())
		}
		time.Sleep(time.Millisecond)
		panic("rv: always crashes")
	}, ray.MaxRetries(-1), ray.Name("rvCrashLoop"))
	ref := task.Remote()
	ttRecv(t, started, "the first attempt")
	if err := ray.Cancel(ref, false, false); err != nil {
		t.Fatal(err)
	}
	ttWantCancelled(t, ttGetErr(t, ref), "rvCrashLoop")
	gate.open()
	// The attempt running at Cancel may finish; no new one may start.
	time.Sleep(100 * time.Millisecond)
	n := attempts.Load()
	time.Sleep(200 * time.Millisecond)
	if m := attempts.Load(); m > n {
		t.Errorf("a cancelled task kept retrying: %d attempts, then %d", n, m)
	}
	ttEventually(t, "the cancelled task's CPU came back", func() bool {
		return ray.AvailableResources()["CPU"] == 1
	})
}

// submit registers the cancel-on-context hook before resolveArgs counts the
// argument uses; with an already-cancelled context the hook runs at once on
// another goroutine and its dropArgs races with resolveArgs: t.args is read
// without the lock (a data race), and an AddUse that lands after the DropUse
// is never undone, so the argument can never be freed.
func TestRVPreCancelledContextWithRefArgument(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := ray.Remote1(func(b []byte) int { return len(b) }).WithContext(ctx)
	var refs []ray.ObjectRef[[]byte]
	var outs []ray.ObjectRef[int]
	for i := 0; i < 3000; i++ {
		x := ray.Put(make([]byte, 16))
		refs = append(refs, x)
		outs = append(outs, f.RemoteArgs(x))
	}
	for _, o := range outs {
		if _, err := o.Get(ray.Timeout(ttLong)); err == nil {
			t.Fatal("a call with a cancelled context succeeded")
		}
	}
	runtime.Gosched()
	time.Sleep(50 * time.Millisecond)
	byID := map[string]ray.ObjectInfo{}
	for _, o := range ray.ListObjects() {
		byID[o.ID] = o
	}
	leaked := 0
	for _, x := range refs {
		if o, ok := byID[x.ID()]; ok && o.ReferenceType == "USED_BY_PENDING_TASK" {
			leaked++
		}
	}
	if leaked > 0 {
		t.Errorf("%d of %d arguments of cancelled calls are still USED_BY_PENDING_TASK (never freeable)", leaked, len(refs))
	}
}

// A call whose definition is bad (here an invalid GPU request) ends at once
// through finish, whose dropArgs undoes an AddUse that was never made: it
// takes away the use of another pending task that needs the same object.
func TestRVDefinitionErrorKeepsOtherTasksUse(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	blocker, gate := ttBlocker(t)
	x := ray.Put([]byte("data"))
	f := ray.Remote1(func(b []byte) int { return len(b) })
	queued := f.RemoteArgs(x) // waits for the CPU: x is used by a pending task
	if got := rvRefType(t, x); got != "USED_BY_PENDING_TASK" {
		t.Fatalf("before: reference type %s", got)
	}
	bad := f.Options(ray.NumGPUs(1.5)).RemoteArgs(x)
	if _, err := bad.Get(ray.Timeout(ttLong)); err == nil {
		t.Fatal("a call with 1.5 GPUs did not fail")
	}
	if got := rvRefType(t, x); got != "USED_BY_PENDING_TASK" {
		t.Errorf("after a failed call with the same argument: reference type %s, want USED_BY_PENDING_TASK (the queued task still needs it)", got)
	}
	gate.open()
	ttGet(t, blocker)
	if got := ttGet(t, queued); got != 4 {
		t.Errorf("queued task got %d", got)
	}
}

// RemoteFunc results of an interface type (any, error, fmt.Stringer) get
// anyGobCodec{interface type}: Encode writes the concrete value
// (EncodeValue of reflect.ValueOf(v)), Decode reads into a *interface{},
// which gob refuses. The spill succeeds, the restore fails: the object is
// lost.
func TestRVRemoteFuncInterfaceResultSurvivesSpill(t *testing.T) {
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(100), ray.SpillDir(t.TempDir()))
	f := ray.RemoteFunc(func() any { return make([]int64, 100) })
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	ref := ray.Typed[any](f.Remote()[0]) // 800 bytes: over the budget, spilled at once
	v, err := ref.Get(ray.Timeout(ttLong))
	if err != nil {
		t.Fatalf("Get of a spilled interface-typed result: %v", err)
	}
	if s, ok := v.([]int64); !ok || len(s) != 100 {
		t.Fatalf("Get = %T %v", v, v)
	}
	if st := ray.StoreStats(); st.SpillCount == 0 {
		t.Fatalf("the result was not spilled; the test proves nothing: %+v", st)
	}
}

type rvBox struct {
	P *int
	S []int
}

// gobFaithful accepts rvBox, but gob omits zero values: a pointer to 0 and
// an empty non-nil slice come back from disk as nil, so a spilled value is
// not the value that was put (a later *P dereference panics).
func TestRVSpilledValueKeepsPointerToZero(t *testing.T) {
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(8), ray.SpillDir(t.TempDir()))
	zero := 0
	ref := ray.Put(rvBox{P: &zero, S: []int{}}) // over the 8-byte budget: written to disk
	v, err := ref.Get(ray.Timeout(ttLong))
	var full *ray.ObjectStoreFullError
	if errors.As(err, &full) {
		return // refusing to spill is correct; silently changing the value is not
	}
	if err != nil {
		t.Fatal(err)
	}
	if v.P == nil {
		t.Errorf("after a spill: P=%v S=%#v, want a pointer to 0", v.P, v.S)
	}
}
