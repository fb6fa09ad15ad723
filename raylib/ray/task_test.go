package ray_test

// Behaviour tests for tasks and objects: the runtime's lifecycle, remote
// functions, resource-aware scheduling, object refs, Wait, errors and
// retries, cancellation, the object store (reference counting, spilling),
// the state API and Shutdown.
//
// The runtime is process-global: every test starts its own with ttInit,
// which shuts it down in t.Cleanup; no test is parallel. Helpers carry the
// tt prefix because actor_test.go shares the package.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

// ttLong bounds waits for things that must happen; ttPrompt bounds things
// that must happen "at once" (generous, for -race on a loaded machine).
const (
	ttLong   = 5 * time.Second
	ttPrompt = 2 * time.Second
)

// ttInit starts a fresh runtime with opts and shuts it down at the end of
// the test.
func ttInit(t *testing.T, opts ...ray.Option) {
	t.Helper()
	if ttWedged.Load() {
		t.Fatal("an earlier test deadlocked the runtime; Shutdown would hang")
	}
	if err := ray.Shutdown(); err != nil {
		t.Logf("shutdown of a leftover runtime: %v", err)
	}
	if err := ray.Init(opts...); err != nil {
		t.Fatalf("ray.Init: %v", err)
	}
	ttShutdownAtEnd(t)
}

func ttShutdownAtEnd(t *testing.T) {
	t.Cleanup(func() {
		if ttWedged.Load() {
			t.Log("the runtime is deadlocked: not shutting it down")
			return
		}
		if err := ray.Shutdown(); err != nil {
			t.Errorf("ray.Shutdown: %v", err)
		}
	})
}

// ttWedged is set by a test that found the runtime deadlocked: Shutdown
// would hang, so later cleanups skip it.
var ttWedged atomic.Bool

// ttLatch is a gate that tasks wait on; it is opened at the latest when the
// test ends (before Shutdown, as cleanups run last-in first-out).
type ttLatch struct {
	ch   chan struct{}
	once sync.Once
}

func ttNewLatch(t *testing.T) *ttLatch {
	l := &ttLatch{ch: make(chan struct{})}
	t.Cleanup(l.open)
	return l
}

func (l *ttLatch) open() { l.once.Do(func() { close(l.ch) }) }

// wait blocks until the latch opens or ctx is done.
func (l *ttLatch) wait(ctx context.Context) error {
	select {
	case <-l.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ttRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ttLong):
		t.Fatalf("timed out after %v waiting for %s", ttLong, what)
	}
	panic("unreachable")
}

func ttNotYet[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s happened, but must not have (yet)", what)
	default:
	}
}

// ttTryGet calls Get with a timeout in a goroutine, so that a Get that
// ignores its timeout (a hang) fails the test instead of stalling it.
func ttTryGet[T any](ref ray.ObjectRef[T], timeout time.Duration) (v T, err error, returned bool) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := ref.Get(ray.Timeout(timeout))
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err, true
	case <-time.After(timeout + time.Second):
		return v, nil, false
	}
}

func ttGet[T any](t *testing.T, ref ray.ObjectRef[T]) T {
	t.Helper()
	v, err, ok := ttTryGet(ref, ttLong)
	if !ok {
		t.Fatalf("Get %v hung: it ignored its %v timeout", ref, ttLong)
	}
	if err != nil {
		t.Fatalf("Get %v: %v", ref, err)
	}
	return v
}

// ttGetErr expects Get to fail with the task's error, not a timeout.
func ttGetErr[T any](t *testing.T, ref ray.ObjectRef[T]) error {
	t.Helper()
	v, err, ok := ttTryGet(ref, ttLong)
	if !ok {
		t.Fatalf("Get %v hung: it ignored its %v timeout", ref, ttLong)
	}
	if err == nil {
		t.Fatalf("Get %v = %v, want an error", ref, v)
	}
	var gte *ray.GetTimeoutError
	if errors.As(err, &gte) {
		t.Fatalf("Get %v timed out after %v; want the task's own error", ref, ttLong)
	}
	return err
}

func ttWantCancelled(t *testing.T, err error, task string) {
	t.Helper()
	var tce *ray.TaskCancelledError
	if !errors.As(err, &tce) {
		t.Fatalf("error %v (%T), want *ray.TaskCancelledError", err, err)
	}
	if task != "" && tce.Task != task {
		t.Errorf("TaskCancelledError.Task = %q, want %q", tce.Task, task)
	}
}

// ttWantErrIs checks errors.Is(err, target).
func ttWantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v (%T), want one wrapping %v", err, err, target)
	}
}

func ttTasksNamed(name string) []ray.TaskInfo {
	var out []ray.TaskInfo
	for _, ti := range ray.ListTasks() {
		if ti.Name == name {
			out = append(out, ti)
		}
	}
	return out
}

// ttTaskState returns the state of the only task called name.
func ttTaskState(t *testing.T, name string) ray.TaskState {
	t.Helper()
	tis := ttTasksNamed(name)
	if len(tis) != 1 {
		t.Fatalf("ListTasks has %d tasks named %q, want 1: %+v", len(tis), name, ray.ListTasks())
	}
	return tis[0].State
}

func ttObject(id string) (ray.ObjectInfo, bool) {
	for _, o := range ray.ListObjects() {
		if o.ID == id {
			return o, true
		}
	}
	return ray.ObjectInfo{}, false
}

// ttEventually polls cond, for effects with nothing to wait on (garbage
// collection, goroutines ending).
func ttEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ttLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", ttLong, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ttApprox(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

var (
	ttErrBoom  = errors.New("tt: boom")
	ttErrOther = errors.New("tt: other")
)

// ---------------------------------------------------------------------------
// Lifecycle

func TestTTInitShutdownIsInitialized(t *testing.T) {
	if err := ray.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if ray.IsInitialized() {
		t.Fatal("IsInitialized after Shutdown")
	}
	if err := ray.Shutdown(); err != nil {
		t.Fatalf("Shutdown with nothing running = %v, want nil", err)
	}
	ttInit(t, ray.NumCPUs(2))
	if !ray.IsInitialized() {
		t.Fatal("not IsInitialized after Init")
	}
	err := ray.Init(ray.NumCPUs(5))
	ttWantErrIs(t, err, ray.ErrAlreadyInitialized)
	if err := ray.Init(ray.NumCPUs(5), ray.IgnoreReinitError()); err != nil {
		t.Fatalf("Init with IgnoreReinitError = %v, want nil", err)
	}
	if got := ray.ClusterResources()["CPU"]; got != 2 {
		t.Errorf("CPU = %v after an ignored re-Init, want the first Init's 2", got)
	}
	if err := ray.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if ray.IsInitialized() {
		t.Fatal("IsInitialized after Shutdown")
	}
	// A new runtime can be started after Shutdown.
	if err := ray.Init(ray.NumCPUs(3)); err != nil {
		t.Fatalf("Init after Shutdown: %v", err)
	}
	if got := ray.ClusterResources()["CPU"]; got != 3 {
		t.Errorf("CPU = %v, want 3", got)
	}
}

func TestTTAutomaticInit(t *testing.T) {
	if err := ray.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	ttShutdownAtEnd(t)
	sq := ray.Remote1(func(x int) int { return x * x })
	if ray.IsInitialized() {
		t.Fatal("declaring a remote function started the runtime")
	}
	ref := sq.Remote(7)
	if !ray.IsInitialized() {
		t.Fatal("a remote call did not start the runtime")
	}
	if got := ttGet(t, ref); got != 49 {
		t.Errorf("got %d, want 49", got)
	}
	if ray.ClusterResources()["CPU"] != float64(runtime.NumCPU()) {
		t.Errorf("automatic runtime has CPU %v, want the machine's %d", ray.ClusterResources()["CPU"], runtime.NumCPU())
	}
	if err := ray.Shutdown(); err != nil {
		t.Fatal(err)
	}
	p := ray.Put("hello")
	if !ray.IsInitialized() {
		t.Fatal("Put did not start the runtime")
	}
	if got := ttGet(t, p); got != "hello" {
		t.Errorf("got %q", got)
	}
	// After an automatic start, an explicit Init is a second Init.
	ttWantErrIs(t, ray.Init(), ray.ErrAlreadyInitialized)
}

func TestTTInitOptionErrors(t *testing.T) {
	if err := ray.Shutdown(); err != nil {
		t.Fatal(err)
	}
	ttShutdownAtEnd(t)
	cases := []struct {
		opt  ray.Option
		name string
	}{
		{ray.NumCPUs(-1), "NumCPUs"},
		{ray.NumCPUs(math.NaN()), "NumCPUs"},
		{ray.NumGPUs(-2), "NumGPUs"},
		{ray.NumGPUs(1.5), "NumGPUs"},
		{ray.Memory(-1), "Memory"},
		{ray.ObjectStoreMemory(0), "ObjectStoreMemory"},
		{ray.TaskHistory(-1), "TaskHistory"},
		{ray.MaxRestarts(1), "MaxRestarts"},
		{ray.MaxRetries(2), "MaxRetries"},
		{ray.Name("x"), "Name"},
		{ray.MaxConcurrency(2), "MaxConcurrency"},
		{ray.Resources{"accel": -1}, "accel"},
	}
	for _, c := range cases {
		err := ray.Init(ray.NumCPUs(1), c.opt)
		if err == nil {
			t.Errorf("Init with a bad %s: nil error", c.name)
			ray.Shutdown()
			continue
		}
		if !strings.Contains(err.Error(), c.name) {
			t.Errorf("Init with a bad %s: error %q does not name the option", c.name, err)
		}
		if ray.IsInitialized() {
			t.Errorf("Init with a bad %s left a runtime running", c.name)
			ray.Shutdown()
		}
	}
	// Several bad options: every one is reported.
	err := ray.Init(ray.NumCPUs(-1), ray.MaxRestarts(1))
	if err == nil || !strings.Contains(err.Error(), "NumCPUs") || !strings.Contains(err.Error(), "MaxRestarts") {
		t.Errorf("Init with two bad options: %v, want both named", err)
	}
}

// ---------------------------------------------------------------------------
// Remote functions

type ttPair struct {
	A int
	B string
}

func TestTTRemoteArities(t *testing.T) {
	ttInit(t, ray.NumCPUs(4))

	r0 := ray.Remote(func() ttPair { return ttPair{1, "one"} })
	r1 := ray.Remote1(func(a int) int { return a * 2 })
	r2 := ray.Remote2(func(a int, b string) string { return fmt.Sprint(b, a) })
	r3 := ray.Remote3(func(a, b, c int) []int { return []int{a, b, c} })
	r4 := ray.Remote4(func(a int, b float64, c string, d bool) string { return fmt.Sprintf("%d|%g|%s|%t", a, b, c, d) })
	r5 := ray.Remote5(func(a, b, c, d, e int) int { return a*10000 + b*1000 + c*100 + d*10 + e })
	r6 := ray.Remote6(func(a, b, c, d, e, f int) int { return a*100000 + b*10000 + c*1000 + d*100 + e*10 + f })

	if got := ttGet(t, r0.Remote()); got != (ttPair{1, "one"}) {
		t.Errorf("Remote: %+v", got)
	}
	if got := ttGet(t, r1.Remote(21)); got != 42 {
		t.Errorf("Remote1: %d", got)
	}
	if got := ttGet(t, r2.Remote(7, "x")); got != "x7" {
		t.Errorf("Remote2: %q", got)
	}
	if got := ttGet(t, r3.Remote(1, 2, 3)); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Remote3: %v", got)
	}
	if got := ttGet(t, r4.Remote(1, 2.5, "s", true)); got != "1|2.5|s|true" {
		t.Errorf("Remote4: %q", got)
	}
	if got := ttGet(t, r5.Remote(1, 2, 3, 4, 5)); got != 12345 {
		t.Errorf("Remote5: %d", got)
	}
	if got := ttGet(t, r6.Remote(1, 2, 3, 4, 5, 6)); got != 123456 {
		t.Errorf("Remote6: %d", got)
	}

	// RemoteArgs: each position may be a ref or a Value.
	one, two, three := ray.Put(1), ray.Put(2), ray.Put(3)
	if got := ttGet(t, r1.RemoteArgs(ray.Put(5))); got != 10 {
		t.Errorf("Remote1.RemoteArgs: %d", got)
	}
	if got := ttGet(t, r2.RemoteArgs(one, ray.Value("v"))); got != "v1" {
		t.Errorf("Remote2.RemoteArgs: %q", got)
	}
	if got := ttGet(t, r3.RemoteArgs(ray.Value(9), two, three)); !slices.Equal(got, []int{9, 2, 3}) {
		t.Errorf("Remote3.RemoteArgs: %v", got)
	}
	if got := ttGet(t, r4.RemoteArgs(one, ray.Put(0.5), ray.Value("q"), ray.Put(false))); got != "1|0.5|q|false" {
		t.Errorf("Remote4.RemoteArgs: %q", got)
	}
	if got := ttGet(t, r5.RemoteArgs(one, two, three, ray.Value(4), r1.Remote(0))); got != 12340 {
		t.Errorf("Remote5.RemoteArgs: %d", got)
	}
	if got := ttGet(t, r6.RemoteArgs(ray.Value(6), ray.Value(5), ray.Value(4), three, two, one)); got != 654321 {
		t.Errorf("Remote6.RemoteArgs: %d", got)
	}

	// Ctx forms: they receive the task's context, and return errors.
	name := func(ctx context.Context) string {
		rc, ok := ray.GetRuntimeContext(ctx)
		if !ok {
			return "<no runtime context>"
		}
		return rc.TaskName
	}
	c0 := ray.RemoteCtx(func(ctx context.Context) (string, error) { return name(ctx), nil }, ray.Name("c0"))
	c1 := ray.Remote1Ctx(func(ctx context.Context, a int) (int, error) {
		if a < 0 {
			return 0, ttErrBoom
		}
		return a + 1, nil
	})
	c2 := ray.Remote2Ctx(func(ctx context.Context, a, b int) (int, error) { return a - b, nil })
	c3 := ray.Remote3Ctx(func(ctx context.Context, a, b, c string) (string, error) { return a + b + c, nil })
	c4 := ray.Remote4Ctx(func(ctx context.Context, a, b, c, d int) (int, error) { return a * b * c * d, nil })
	c5 := ray.Remote5Ctx(func(ctx context.Context, a, b, c, d, e int) (string, error) {
		return fmt.Sprintf("%d%d%d%d%d %s", a, b, c, d, e, name(ctx)), nil
	}, ray.Name("c5"))
	c6 := ray.Remote6Ctx(func(ctx context.Context, a, b, c, d, e, f int) (int, error) { return a + b + c + d + e + f, nil })

	if got := ttGet(t, c0.Remote()); got != "c0" {
		t.Errorf("RemoteCtx: task name from context = %q, want c0", got)
	}
	if got := ttGet(t, c1.Remote(1)); got != 2 {
		t.Errorf("Remote1Ctx: %d", got)
	}
	err := ttGetErr(t, c1.Remote(-1))
	ttWantErrIs(t, err, ttErrBoom)
	if got := ttGet(t, c2.Remote(5, 3)); got != 2 {
		t.Errorf("Remote2Ctx: %d", got)
	}
	if got := ttGet(t, c3.RemoteArgs(ray.Value("a"), ray.Put("b"), ray.Value("c"))); got != "abc" {
		t.Errorf("Remote3Ctx: %q", got)
	}
	if got := ttGet(t, c4.Remote(1, 2, 3, 4)); got != 24 {
		t.Errorf("Remote4Ctx: %d", got)
	}
	if got := ttGet(t, c5.Remote(1, 2, 3, 4, 5)); got != "12345 c5" {
		t.Errorf("Remote5Ctx: %q", got)
	}
	if got := ttGet(t, c6.Remote(1, 2, 3, 4, 5, 6)); got != 21 {
		t.Errorf("Remote6Ctx: %d", got)
	}

	// Outside a task there is no runtime context.
	if _, ok := ray.GetRuntimeContext(context.Background()); ok {
		t.Error("GetRuntimeContext outside a task: ok")
	}
	if ids := ray.GPUIDs(context.Background()); len(ids) != 0 {
		t.Errorf("GPUIDs outside a task = %v", ids)
	}
}

func ttNamedDouble(x int) int { return 2 * x }

func TestTTTaskNames(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	h := ray.Remote1(ttNamedDouble)
	if h.Name() != "ttNamedDouble" {
		t.Errorf("Name() = %q, want ttNamedDouble", h.Name())
	}
	ttGet(t, h.Remote(1))
	if got := ttTasksNamed("ttNamedDouble"); len(got) != 1 || got[0].State != ray.Finished || got[0].Kind != ray.NormalTask {
		t.Errorf("ListTasks for ttNamedDouble: %+v", got)
	}
	anon := ray.Remote(func() int { return 0 })
	if !strings.HasPrefix(anon.Name(), "TestTTTaskNames.func") {
		t.Errorf("a closure's task name is %q", anon.Name())
	}
	ttGet(t, anon.Remote())
	if len(ray.ListTasks()) != 2 {
		t.Errorf("ListTasks = %+v, want 2 tasks", ray.ListTasks())
	}
}

func TestTTManyConcurrentTasks(t *testing.T) {
	const cpus, n = 4, 200
	ttInit(t, ray.NumCPUs(cpus))
	var inflight, peak atomic.Int32
	var arrived atomic.Int32
	allIn := make(chan struct{})
	task := ray.Remote1Ctx(func(ctx context.Context, i int) (int, error) {
		now := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		if i < cpus { // the first wave proves that cpus tasks run at once
			if arrived.Add(1) == cpus {
				close(allIn)
			}
			select {
			case <-allIn:
			case <-time.After(ttLong):
				return 0, fmt.Errorf("task %d: the first %d tasks did not run concurrently", i, cpus)
			}
		}
		return i * i, nil
	})
	refs := make([]ray.ObjectRef[int], n)
	for i := range refs {
		refs[i] = task.Remote(i)
	}
	got, err := ray.GetAll(refs, ray.Timeout(ttLong))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d = %d, want %d", i, v, i*i)
		}
	}
	if p := peak.Load(); p != cpus {
		t.Errorf("peak concurrency %d, want exactly %d (NumCPUs)", p, cpus)
	}
	if got := len(ttTasksNamed(task.Name())); got != n {
		t.Errorf("ListTasks has %d of the %d tasks", got, n)
	}
}

func TestTTOptionsOverride(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	probe := func(ctx context.Context) (ray.RuntimeContext, error) {
		rc, _ := ray.GetRuntimeContext(ctx)
		return rc, nil
	}
	base := ray.RemoteCtx(probe)
	rc := ttGet(t, base.Remote())
	if rc.TaskName != base.Name() || rc.Resources["CPU"] != 1 {
		t.Errorf("default call: name %q (handle %q), resources %v; want CPU 1", rc.TaskName, base.Name(), rc.Resources)
	}
	if rc.TaskID == "" || rc.JobID == "" || rc.ActorID != "" || rc.Namespace != "default" {
		t.Errorf("runtime context %+v", rc)
	}

	custom := base.Options(ray.Name("ttCustom"), ray.NumCPUs(2))
	if custom.Err() != nil {
		t.Fatal(custom.Err())
	}
	if custom.Name() != "ttCustom" || base.Name() == "ttCustom" {
		t.Errorf("Options: names %q and %q; the original handle must keep its own", custom.Name(), base.Name())
	}
	rc = ttGet(t, custom.Remote())
	if rc.TaskName != "ttCustom" || rc.Resources["CPU"] != 2 {
		t.Errorf("overridden call: %+v, want name ttCustom and CPU 2", rc)
	}
	if len(ttTasksNamed("ttCustom")) != 1 {
		t.Errorf("ListTasks has no task ttCustom: %+v", ray.ListTasks())
	}

	// Options given to Remote are kept and later ones override them.
	withOpts := ray.RemoteCtx(probe, ray.Name("ttFirst"), ray.NumCPUs(2))
	rc = ttGet(t, withOpts.Options(ray.NumCPUs(0.5)).Remote())
	if rc.TaskName != "ttFirst" || rc.Resources["CPU"] != 0.5 {
		t.Errorf("Options over Remote's options: %+v, want name ttFirst, CPU 0.5", rc)
	}
	rc = ttGet(t, withOpts.Remote())
	if rc.Resources["CPU"] != 2 {
		t.Errorf("the original handle changed: CPU %v, want 2", rc.Resources["CPU"])
	}
}

func TestTTDefinitionErrors(t *testing.T) {
	ttInit(t, ray.NumCPUs(2), ray.NumGPUs(0))
	var ran atomic.Int32
	fn := func() int { ran.Add(1); return 1 }
	h := ray.Remote(fn)
	cases := []struct {
		name string
		task *ray.Task[int]
		want string
	}{
		{"nil function", ray.Remote[int](nil), "nil"},
		{"nil ctx function", ray.RemoteCtx[int](nil), "nil"},
		{"NumGPUs(1.5)", h.Options(ray.NumGPUs(1.5)), "GPU"},
		{"NumGPUs(-1)", h.Options(ray.NumGPUs(-1)), "NumGPUs"},
		{"NumCPUs(-1)", h.Options(ray.NumCPUs(-1)), "NumCPUs"},
		{"NumGPUs finer than 0.0001", h.Options(ray.NumGPUs(0.00001)), "precision"},
		{"NumCPUs finer than 0.0001", h.Options(ray.NumCPUs(0.12345)), "precision"},
		{"custom resource finer than 0.0001", h.Options(ray.Resources{"accel": 0.00001}), "precision"},
		{"actor option", h.Options(ray.MaxRestarts(1)), "MaxRestarts"},
		{"Init option", h.Options(ray.ObjectStoreMemory(1 << 20)), "ObjectStoreMemory"},
		{"empty name", h.Options(ray.Name("")), "Name"},
		{"MaxRetries(-2)", h.Options(ray.MaxRetries(-2)), "MaxRetries"},
		{"RetryOn()", h.Options(ray.RetryOn()), "RetryOn"},
		{"RetryIf(nil)", h.Options(ray.RetryIf(nil)), "RetryIf"},
	}
	for _, c := range cases {
		defErr := c.task.Err()
		if defErr == nil {
			t.Errorf("%s: Err() = nil", c.name)
			continue
		}
		if !strings.Contains(defErr.Error(), c.want) {
			t.Errorf("%s: Err() = %q, want it to mention %q", c.name, defErr, c.want)
		}
		start := time.Now()
		err := ttGetErr(t, c.task.Remote())
		if !errors.Is(err, defErr) && err.Error() != defErr.Error() {
			t.Errorf("%s: Get = %v, want the definition error %v", c.name, err, defErr)
		}
		if d := time.Since(start); d > ttPrompt {
			t.Errorf("%s: Get took %v", c.name, d)
		}
	}
	if h.Err() != nil {
		t.Errorf("the base handle got an error from its copies: %v", h.Err())
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("a badly defined function ran %d times", n)
	}
	// The valid handle and valid fractions still work.
	if got := ttGet(t, h.Options(ray.NumCPUs(0.0001)).Remote()); got != 1 {
		t.Errorf("got %d", got)
	}
	if got := ray.Remote1[int, int](nil); got.Err() == nil {
		t.Error("Remote1(nil).Err() = nil")
	}
	if got := ray.Remote6Ctx[int, int, int, int, int, int, int](nil); got.Err() == nil {
		t.Error("Remote6Ctx(nil).Err() = nil")
	}
}

func TestTTInfeasibleRequestsFailAtOnce(t *testing.T) {
	ttInit(t, ray.NumCPUs(2), ray.NumGPUs(0), ray.Resources{"accel": 1})
	var ran atomic.Int32
	h := ray.Remote(func() int { ran.Add(1); return 1 })
	cases := []struct {
		task     *ray.Task[int]
		resource string
	}{
		{h.Options(ray.NumGPUs(1), ray.Name("ttWantsGPU")), "GPU"},
		{h.Options(ray.NumGPUs(0.5), ray.Name("ttWantsHalfGPU")), "GPU"},
		{h.Options(ray.NumCPUs(3), ray.Name("ttWantsCPUs")), "CPU"},
		{h.Options(ray.Resources{"accel": 2}, ray.Name("ttWantsAccel")), "accel"},
		{h.Options(ray.Resources{"tpu": 1}, ray.Name("ttWantsTPU")), "tpu"},
	}
	for _, c := range cases {
		if c.task.Err() != nil {
			t.Fatalf("%s: definition error %v", c.task.Name(), c.task.Err())
		}
		start := time.Now()
		err := ttGetErr(t, c.task.Remote())
		if d := time.Since(start); d > ttPrompt {
			t.Errorf("%s: Get took %v, want an immediate failure", c.task.Name(), d)
		}
		var inf *ray.InfeasibleError
		if !errors.As(err, &inf) {
			t.Errorf("%s: error %v (%T), want *ray.InfeasibleError", c.task.Name(), err, err)
			continue
		}
		if inf.Resource != c.resource {
			t.Errorf("%s: InfeasibleError.Resource = %q, want %q", c.task.Name(), inf.Resource, c.resource)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.resource) || !strings.Contains(msg, "CPU: 2") {
			t.Errorf("%s: message %q should name the request and the cluster's resources", c.task.Name(), msg)
		}
		if st := ttTaskState(t, c.task.Name()); st != ray.FailedState {
			t.Errorf("%s: state %s, want FAILED", c.task.Name(), st)
		}
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("infeasible tasks ran %d times", n)
	}
}

func TestTTCustomResources(t *testing.T) {
	ttInit(t, ray.NumCPUs(4), ray.Resources{"accel": 1})
	if got := ray.ClusterResources()["accel"]; got != 1 {
		t.Fatalf("ClusterResources accel = %v", got)
	}
	gate := ttNewLatch(t)
	started := make(chan string, 2)
	task := ray.Remote1Ctx(func(ctx context.Context, name string) (string, error) {
		rc, _ := ray.GetRuntimeContext(ctx)
		started <- rc.TaskName
		return name, gate.wait(ctx)
	}, ray.Resources{"accel": 1})
	a := task.Options(ray.Name("ttAccelA")).Remote("a")
	ttRecv(t, started, "the first accel task")
	b := task.Options(ray.Name("ttAccelB")).Remote("b")
	if st := ttTaskState(t, "ttAccelB"); st != ray.PendingNodeAssignment {
		t.Errorf("second accel task is %s, want %s while the only accel is held", st, ray.PendingNodeAssignment)
	}
	ttNotYet(t, started, "the second accel task starting")
	if av := ray.AvailableResources(); av["accel"] != 0 || av["CPU"] != 3 {
		t.Errorf("AvailableResources while one accel task runs: %v", av)
	}
	gate.open()
	if ttGet(t, a) != "a" || ttGet(t, b) != "b" {
		t.Error("wrong results")
	}
	if got := ray.AvailableResources()["accel"]; got != 1 {
		t.Errorf("accel available after both finished = %v, want 1", got)
	}
}

// ---------------------------------------------------------------------------
// Resource-aware scheduling

func TestTTOneCPUTasksDoNotOverlap(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	var inflight, peak atomic.Int32
	gates := map[string]*ttLatch{"ttSerialA": ttNewLatch(t), "ttSerialB": ttNewLatch(t)}
	started := map[string]chan struct{}{"ttSerialA": make(chan struct{}, 1), "ttSerialB": make(chan struct{}, 1)}
	task := ray.Remote1Ctx(func(ctx context.Context, name string) (int, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		if n > peak.Load() {
			peak.Store(n)
		}
		started[name] <- struct{}{}
		return 0, gates[name].wait(ctx)
	})
	a := task.Options(ray.Name("ttSerialA")).Remote("ttSerialA")
	ttRecv(t, started["ttSerialA"], "task A")
	b := task.Options(ray.Name("ttSerialB")).Remote("ttSerialB")
	if st := ttTaskState(t, "ttSerialB"); st != ray.PendingNodeAssignment {
		t.Errorf("B is %s while A holds the only CPU, want %s", st, ray.PendingNodeAssignment)
	}
	if got := ray.AvailableResources()["CPU"]; got != 0 {
		t.Errorf("available CPU %v while A runs", got)
	}
	ttNotYet(t, started["ttSerialB"], "B starting while A runs")
	gates["ttSerialA"].open()
	ttGet(t, a)
	ttRecv(t, started["ttSerialB"], "task B after A")
	gates["ttSerialB"].open()
	ttGet(t, b)
	if p := peak.Load(); p != 1 {
		t.Errorf("peak concurrency %d with one CPU", p)
	}
}

func TestTTZeroCPUTasksRunAnyway(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	gate := ttNewLatch(t)
	holding := make(chan struct{}, 1)
	blocker := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		holding <- struct{}{}
		return 0, gate.wait(ctx)
	})
	bref := blocker.Remote()
	ttRecv(t, holding, "the CPU-holding task")
	zero := ray.RemoteCtx(func(ctx context.Context) (map[string]float64, error) {
		rc, _ := ray.GetRuntimeContext(ctx)
		return rc.Resources, nil
	}, ray.NumCPUs(0))
	start := time.Now()
	res := ttGet(t, zero.Remote())
	if d := time.Since(start); d > ttPrompt {
		t.Errorf("a 0-CPU task took %v while the CPU was busy", d)
	}
	if res["CPU"] != 0 {
		t.Errorf("a 0-CPU task holds %v", res)
	}
	gate.open()
	ttGet(t, bref)
}

type ttGPUReport struct {
	IDs  []int
	GPUs []ray.GPUShare
	Res  map[string]float64
}

// ttGPUTask reports what a task holds; it signals started and waits on
// gate before returning.
func ttGPUTask(started chan<- ttGPUReport, gate *ttLatch) *ray.Task[ttGPUReport] {
	return ray.RemoteCtx(func(ctx context.Context) (ttGPUReport, error) {
		rc, ok := ray.GetRuntimeContext(ctx)
		if !ok {
			return ttGPUReport{}, errors.New("no runtime context")
		}
		r := ttGPUReport{IDs: ray.GPUIDs(ctx), GPUs: rc.GPUs, Res: rc.Resources}
		started <- r
		return r, gate.wait(ctx)
	})
}

func TestTTFractionalGPUsShareOneDevice(t *testing.T) {
	ttInit(t, ray.NumCPUs(4), ray.NumGPUs(1))
	gate := ttNewLatch(t)
	started := make(chan ttGPUReport, 2)
	task := ttGPUTask(started, gate)
	a := task.Options(ray.NumGPUs(0.6)).Remote()
	b := task.Options(ray.NumGPUs(0.4)).Remote()
	// Both must be running at once: each waits on the gate.
	ttRecv(t, started, "the first GPU task")
	ttRecv(t, started, "the second GPU task (0.6 + 0.4 fit one device)")
	if free := ray.GPUFree(); len(free) != 1 || !ttApprox(free[0], 0) {
		t.Errorf("GPUFree while both run = %v, want [0]", free)
	}
	if got := ray.AvailableResources()["GPU"]; !ttApprox(got, 0) {
		t.Errorf("available GPU = %v, want 0", got)
	}
	gate.open()
	ra, rb := ttGet(t, a), ttGet(t, b)
	for _, c := range []struct {
		r    ttGPUReport
		frac float64
	}{{ra, 0.6}, {rb, 0.4}} {
		if !slices.Equal(c.r.IDs, []int{0}) {
			t.Errorf("GPUIDs = %v, want [0]", c.r.IDs)
		}
		if len(c.r.GPUs) != 1 || c.r.GPUs[0].ID != 0 || !ttApprox(c.r.GPUs[0].Fraction, c.frac) {
			t.Errorf("GPUs = %+v, want device 0 with fraction %v", c.r.GPUs, c.frac)
		}
		if !ttApprox(c.r.Res["GPU"], c.frac) || c.r.Res["CPU"] != 1 {
			t.Errorf("Resources = %v, want GPU %v and CPU 1", c.r.Res, c.frac)
		}
	}
	if free := ray.GPUFree(); len(free) != 1 || !ttApprox(free[0], 1) {
		t.Errorf("GPUFree after both finished = %v, want [1]", free)
	}
}

func TestTTFractionalGPUsSpreadOverDevices(t *testing.T) {
	ttInit(t, ray.NumCPUs(4), ray.NumGPUs(2))
	gate := ttNewLatch(t)
	started := make(chan ttGPUReport, 2)
	task := ttGPUTask(started, gate).Options(ray.NumGPUs(0.6))
	a, b := task.Remote(), task.Remote()
	r1 := ttRecv(t, started, "the first 0.6 GPU task")
	r2 := ttRecv(t, started, "the second 0.6 GPU task (two devices)")
	gate.open()
	ttGet(t, a)
	ttGet(t, b)
	if len(r1.IDs) != 1 || len(r2.IDs) != 1 || r1.IDs[0] == r2.IDs[0] {
		t.Errorf("two 0.6 GPU tasks got devices %v and %v, want one each, different", r1.IDs, r2.IDs)
	}
	got := []int{r1.IDs[0], r2.IDs[0]}
	sort.Ints(got)
	if !slices.Equal(got, []int{0, 1}) {
		t.Errorf("devices %v, want 0 and 1", got)
	}
}

func TestTTFractionalGPUsQueueOnOneDevice(t *testing.T) {
	ttInit(t, ray.NumCPUs(4), ray.NumGPUs(1))
	gateA, gateB := ttNewLatch(t), ttNewLatch(t)
	startedA, startedB := make(chan ttGPUReport, 1), make(chan ttGPUReport, 1)
	a := ttGPUTask(startedA, gateA).Options(ray.NumGPUs(0.6), ray.Name("ttGPU_A")).Remote()
	ttRecv(t, startedA, "task A")
	b := ttGPUTask(startedB, gateB).Options(ray.NumGPUs(0.6), ray.Name("ttGPU_B")).Remote()
	if st := ttTaskState(t, "ttGPU_B"); st != ray.PendingNodeAssignment {
		t.Errorf("B is %s while A holds 0.6 of the only GPU, want %s", st, ray.PendingNodeAssignment)
	}
	ttNotYet(t, startedB, "B starting while A runs")
	gateA.open()
	ttGet(t, a)
	rb := ttRecv(t, startedB, "task B after A")
	gateB.open()
	ttGet(t, b)
	if !slices.Equal(rb.IDs, []int{0}) {
		t.Errorf("B's devices %v, want [0]", rb.IDs)
	}
}

// ---------------------------------------------------------------------------
// Object refs

func TestTTGetTimeoutAndContext(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	gate := ttNewLatch(t)
	task := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 7, gate.wait(ctx) })
	ref := task.Remote()

	start := time.Now()
	_, err := ref.Get(ray.Timeout(50 * time.Millisecond))
	d := time.Since(start)
	var gte *ray.GetTimeoutError
	if !errors.As(err, &gte) {
		t.Fatalf("Get with a timeout on a blocked task: %v (%T), want *ray.GetTimeoutError", err, err)
	}
	if gte.Timeout != 50*time.Millisecond || gte.Object != ref.ID() {
		t.Errorf("GetTimeoutError %+v, want Timeout 50ms and Object %s", gte, ref.ID())
	}
	if d < 50*time.Millisecond || d > ttPrompt {
		t.Errorf("Get with a 50ms timeout returned after %v", d)
	}
	// The package-level form behaves alike.
	if _, err := ray.Get(ref, ray.Timeout(10*time.Millisecond)); !errors.As(err, &gte) {
		t.Errorf("ray.Get with timeout: %v", err)
	}

	// A cancelled context stops a waiting Get.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := ref.Get(ray.WithContext(ctx))
		errc <- err
	}()
	cancel()
	err = ttRecv(t, errc, "Get to return after its context was cancelled")
	ttWantErrIs(t, err, context.Canceled)

	// Neither a timeout nor a cancellation affects the task itself.
	gate.open()
	if got := ttGet(t, ref); got != 7 {
		t.Errorf("got %d after earlier timeouts", got)
	}
	// A ready object is returned even through a cancelled context.
	if got, err := ref.Get(ray.WithContext(ctx)); err != nil || got != 7 {
		t.Errorf("Get of a ready object with a cancelled context: %v, %v", got, err)
	}
}

func TestTTGetAll(t *testing.T) {
	ttInit(t, ray.NumCPUs(4))
	sq := ray.Remote1(func(x int) int { return x * x })
	var refs []ray.ObjectRef[int]
	for i := range 10 {
		refs = append(refs, sq.Remote(i))
	}
	got, err := ray.GetAll(refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i*i {
			t.Errorf("GetAll[%d] = %d", i, v)
		}
	}
	if got, err := ray.GetAll([]ray.ObjectRef[int]{}); err != nil || len(got) != 0 {
		t.Errorf("GetAll of nothing: %v, %v", got, err)
	}

	fails := ray.Remote1Ctx(func(ctx context.Context, x int) (int, error) { return 0, ttErrBoom })
	_, err = ray.GetAll(append(refs[:3:3], fails.Remote(1)))
	ttWantErrIs(t, err, ttErrBoom)

	gate := ttNewLatch(t)
	blocked := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 1, gate.wait(ctx) }).Remote()
	start := time.Now()
	_, err = ray.GetAll([]ray.ObjectRef[int]{refs[0], blocked}, ray.Timeout(50*time.Millisecond))
	var gte *ray.GetTimeoutError
	if !errors.As(err, &gte) {
		t.Fatalf("GetAll with a timeout: %v (%T), want *ray.GetTimeoutError", err, err)
	}
	if gte.Object != blocked.ID() || gte.Timeout != 50*time.Millisecond {
		t.Errorf("GetTimeoutError %+v, want object %s", gte, blocked.ID())
	}
	if d := time.Since(start); d > ttPrompt {
		t.Errorf("GetAll with a 50ms timeout took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ray.GetAll([]ray.ObjectRef[int]{blocked}, ray.WithContext(ctx))
	ttWantErrIs(t, err, context.Canceled)
}

func TestTTNilRef(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	var z ray.ObjectRef[int]
	if _, err := z.Get(); !errors.Is(err, ray.ErrNilRef) {
		t.Errorf("Get on a zero ref: %v", err)
	}
	if _, err := ray.Get(z, ray.Timeout(time.Second)); !errors.Is(err, ray.ErrNilRef) {
		t.Errorf("ray.Get on a zero ref: %v", err)
	}
	if _, err := ray.GetAll([]ray.ObjectRef[int]{ray.Put(1), z}); !errors.Is(err, ray.ErrNilRef) {
		t.Errorf("GetAll with a zero ref: %v", err)
	}
	if err := ray.Cancel(z, false, false); !errors.Is(err, ray.ErrNilRef) {
		t.Errorf("Cancel on a zero ref: %v", err)
	}
	if _, _, err := ray.Wait([]ray.ObjectRef[int]{ray.Put(1), z}, 1, 0); !errors.Is(err, ray.ErrNilRef) {
		t.Errorf("Wait with a zero ref: %v", err)
	}
	if z.ID() != "nil" || z.String() != "ObjectRef(nil)" {
		t.Errorf("zero ref formats as %q / %q", z.ID(), z.String())
	}
	ray.Release(z) // must not panic
}

func TestTTNilRefAsArgument(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	var ran atomic.Int32
	inc := ray.Remote1(func(x int) int { ran.Add(1); return x + 1 })
	var z ray.ObjectRef[int]
	v, err := inc.RemoteArgs(z).Get(ray.Timeout(ttLong))
	if !errors.Is(err, ray.ErrNilRef) {
		t.Errorf("a zero ObjectRef passed as an argument: Get = %v, %v; want an error wrapping ErrNilRef (the task ran %d times with the zero value)", v, err, ran.Load())
	}
}

type ttRecord struct {
	Name   string
	Scores map[string]int
	Tags   []string
	Next   *ttRecord
}

func TestTTPutGetRoundTrip(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	rec := ttRecord{Name: "a", Scores: map[string]int{"x": 1}, Tags: []string{"p", "q"}, Next: &ttRecord{Name: "b"}}
	if got := ttGet(t, ray.Put(rec)); !reflect.DeepEqual(got, rec) {
		t.Errorf("struct round trip: %+v", got)
	}
	if got := ttGet(t, ray.Put(42)); got != 42 {
		t.Errorf("int round trip: %d", got)
	}
	if got := ttGet(t, ray.Put("s")); got != "s" {
		t.Errorf("string round trip: %q", got)
	}
	var nilPtr *ttRecord
	if got := ttGet(t, ray.Put(nilPtr)); got != nil {
		t.Errorf("nil pointer round trip: %v", got)
	}
	var nilErr error
	if got := ttGet(t, ray.Put(nilErr)); got != nil {
		t.Errorf("nil interface round trip: %v", got)
	}
	var anyVal any = 3.5
	if got := ttGet(t, ray.Put(anyVal)); got != 3.5 {
		t.Errorf("any round trip: %v", got)
	}
	// Values are stored without copying.
	buf := []byte("zero-copy")
	got := ttGet(t, ray.Put(buf))
	if !bytes.Equal(got, buf) || &got[0] != &buf[0] {
		t.Errorf("[]byte round trip copied or changed the value")
	}
	// Refs are distinct and formatted as Ray does.
	a, b := ray.Put(1), ray.Put(1)
	if a.ID() == b.ID() || len(a.ID()) != 24 || a.String() != "ObjectRef("+a.ID()+")" {
		t.Errorf("IDs %q and %q, String %q", a.ID(), b.ID(), a.String())
	}
	c := a
	if c.ID() != a.ID() {
		t.Error("a copy of a ref has another ID")
	}
}

func TestTTRefArgsResolvedBeforeRun(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	gate := ttNewLatch(t)
	producer := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 21, gate.wait(ctx) }, ray.Name("ttProducer"))
	started := make(chan int, 1)
	consumer := ray.Remote2(func(v int, label string) string {
		started <- v
		return fmt.Sprint(label, v*2)
	}, ray.Name("ttConsumer"))
	p := producer.Remote()
	c := consumer.RemoteArgs(p, ray.Value("v="))
	if st := ttTaskState(t, "ttConsumer"); st != ray.PendingArgsAvail {
		t.Errorf("consumer is %s while its argument is pending, want %s", st, ray.PendingArgsAvail)
	}
	if o, ok := ttObject(p.ID()); !ok || o.ReferenceType != "USED_BY_PENDING_TASK" || o.Status != "PENDING" || o.Source != "TASK" {
		t.Errorf("the producer's object: %+v (found %v), want PENDING and USED_BY_PENDING_TASK", o, ok)
	}
	ttNotYet(t, started, "the consumer starting before its argument was ready")
	if got := ray.AvailableResources()["CPU"]; got != 1 {
		t.Errorf("a consumer waiting for arguments holds resources: available CPU %v, want 1", got)
	}
	gate.open()
	if got := ttRecv(t, started, "the consumer"); got != 21 {
		t.Errorf("consumer saw %d", got)
	}
	if got := ttGet(t, c); got != "v=42" {
		t.Errorf("consumer result %q", got)
	}
	// The argument's object stays alive while a pending task needs it, even
	// when the caller dropped its own ref.
	gate2 := ttNewLatch(t)
	c2 := func() ray.ObjectRef[string] {
		p3 := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 5, gate2.wait(ctx) }).Remote()
		return consumer.RemoteArgs(p3, ray.Value(""))
	}()
	runtime.GC()
	runtime.GC()
	gate2.open()
	ttRecv(t, started, "the consumer of a dropped ref")
	if got := ttGet(t, c2); got != "10" {
		t.Errorf("consumer of a dropped ref: %q", got)
	}
}

func TestTTFailedDependency(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	var consumerRan atomic.Int32
	producer := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 0, ttErrBoom }, ray.Name("ttBadProducer"))
	consumer := ray.Remote1(func(v int) int { consumerRan.Add(1); return v }, ray.Name("ttDependent"))
	err := ttGetErr(t, consumer.RemoteArgs(producer.Remote()))
	var te *ray.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("dependent task error %v (%T), want a *ray.TaskError inside", err, err)
	}
	if te.Task != "ttBadProducer" {
		t.Errorf("TaskError.Task = %q, want the failed dependency ttBadProducer", te.Task)
	}
	ttWantErrIs(t, err, ttErrBoom)
	if n := consumerRan.Load(); n != 0 {
		t.Errorf("the dependent task ran %d times", n)
	}
	if st := ttTaskState(t, "ttDependent"); st != ray.FailedState {
		t.Errorf("dependent task state %s", st)
	}

	// A cancelled dependency: the dependent fails with the cancellation.
	gate := ttNewLatch(t)
	slow := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 1, gate.wait(ctx) }, ray.Name("ttSlowDep"))
	s := slow.Remote()
	d := consumer.RemoteArgs(s)
	if err := ray.Cancel(s, false, false); err != nil {
		t.Fatal(err)
	}
	ttWantCancelled(t, ttGetErr(t, d), "ttSlowDep")
	if n := consumerRan.Load(); n != 0 {
		t.Errorf("the dependent task ran %d times", n)
	}
}

type ttHolder struct {
	Ref   ray.ObjectRef[int]
	Label string
}

func TestTTNestedRefsPassThrough(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	gate := ttNewLatch(t)
	pending := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 41, gate.wait(ctx) }).Remote()

	started := make(chan string, 1)
	// The task receives the ref itself (not its value) and does not wait for
	// it before starting.
	viaHolder := ray.Remote1(func(h ttHolder) int {
		started <- h.Ref.ID()
		v, err := h.Ref.Get(ray.Timeout(ttLong))
		if err != nil {
			return -1
		}
		return v + 1
	})
	ref := viaHolder.Remote(ttHolder{Ref: pending, Label: "x"})
	if id := ttRecv(t, started, "the task with a nested pending ref"); id != pending.ID() {
		t.Errorf("the task saw ref %s, want %s", id, pending.ID())
	}
	gate.open()
	if got := ttGet(t, ref); got != 42 {
		t.Errorf("got %d", got)
	}

	// A ref given as a plain argument (ObjectRef[T] as the parameter type).
	plain := ray.Remote1(func(r ray.ObjectRef[int]) string { return r.ID() })
	if got := ttGet(t, plain.Remote(pending)); got != pending.ID() {
		t.Errorf("ref argument arrived as %q, want %q", got, pending.ID())
	}

	// Refs can be stored inside objects and read back.
	h := ttGet(t, ray.Put(ttHolder{Ref: pending, Label: "y"}))
	if h.Ref.ID() != pending.ID() || ttGet(t, h.Ref) != 41 {
		t.Errorf("a ref stored in an object came back as %v", h.Ref)
	}
}

func TestTTChildTaskOutlivesParent(t *testing.T) {
	ttInit(t, ray.NumCPUs(4))
	gate := ttNewLatch(t)
	child := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 42, gate.wait(ctx) }, ray.Name("ttChild"))
	parentCtx := make(chan context.Context, 1)
	parent := ray.RemoteCtx(func(ctx context.Context) (ray.ObjectRef[int], error) {
		parentCtx <- ctx
		// Submitted through the task's context so that a recursive Cancel
		// of the parent would reach it; the parent returns at once.
		return child.WithContext(ctx).Remote(), nil
	}, ray.Name("ttParent"))
	childRef := ttGet(t, parent.Remote())
	// The parent has returned; its context ends with it.
	<-ttRecv(t, parentCtx, "the parent's context").Done()
	// The child must not become ready (cancelled) now: it waits on the gate.
	if ready, _, err := ray.Wait([]ray.ObjectRef[int]{childRef}, 1, 200*time.Millisecond); err != nil || len(ready) != 0 {
		_, gerr := childRef.Get(ray.Timeout(time.Second))
		t.Fatalf("a child submitted with its parent's context finished when the parent returned normally: %v (Wait err %v); only Cancel or Shutdown should end it", gerr, err)
	}
	gate.open()
	if v := ttGet(t, childRef); v != 42 {
		t.Errorf("child result %d", v)
	}
	if tis := ttTasksNamed("ttChild"); len(tis) != 1 || tis[0].ParentID == "" || tis[0].ParentID != ttTasksNamed("ttParent")[0].ID {
		t.Errorf("the child's ParentID: %+v", tis)
	}
}

// ---------------------------------------------------------------------------
// Wait

func TestTTWait(t *testing.T) {
	ttInit(t, ray.NumCPUs(4))
	gateA, gateC := ttNewLatch(t), ttNewLatch(t)
	slow := func(g *ttLatch, v int) ray.ObjectRef[int] {
		return ray.RemoteCtx(func(ctx context.Context) (int, error) { return v, g.wait(ctx) }).Remote()
	}
	a := slow(gateA, 1)
	b := ray.Put(2)
	c := slow(gateC, 3)
	d := ray.Remote(func() int { return 4 }).Remote()
	ttGet(t, d)
	refs := []ray.ObjectRef[int]{a, b, c, d}
	ids := func(rs []ray.ObjectRef[int]) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ID())
		}
		return out
	}
	check := func(what string, ready, notReady, wantReady, wantNot []ray.ObjectRef[int]) {
		t.Helper()
		if !slices.Equal(ids(ready), ids(wantReady)) || !slices.Equal(ids(notReady), ids(wantNot)) {
			t.Errorf("%s: ready %v notReady %v, want %v and %v", what, ids(ready), ids(notReady), ids(wantReady), ids(wantNot))
		}
	}
	all := []ray.ObjectRef[int]{a, b, c, d}

	start := time.Now()
	ready, notReady, err := ray.Wait(refs, 2, ttLong)
	if err != nil {
		t.Fatal(err)
	}
	check("Wait(2)", ready, notReady, []ray.ObjectRef[int]{b, d}, []ray.ObjectRef[int]{a, c})
	if dt := time.Since(start); dt > ttPrompt {
		t.Errorf("Wait for 2 already-ready refs took %v", dt)
	}

	ready, notReady, err = ray.Wait(refs, 1, ttLong)
	if err != nil {
		t.Fatal(err)
	}
	check("Wait(1) caps ready", ready, notReady, []ray.ObjectRef[int]{b}, []ray.ObjectRef[int]{a, c, d})

	start = time.Now()
	ready, notReady, err = ray.Wait(refs, 3, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	dt := time.Since(start)
	check("Wait(3) with a timeout", ready, notReady, []ray.ObjectRef[int]{b, d}, []ray.ObjectRef[int]{a, c})
	if dt < 100*time.Millisecond || dt > ttPrompt {
		t.Errorf("Wait with a 100ms timeout returned after %v", dt)
	}

	start = time.Now()
	ready, notReady, err = ray.Wait(refs, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("Wait with timeout 0 polls", ready, notReady, []ray.ObjectRef[int]{b, d}, []ray.ObjectRef[int]{a, c})
	if dt := time.Since(start); dt > ttPrompt {
		t.Errorf("Wait with timeout 0 took %v", dt)
	}

	ready, notReady, err = ray.Wait(refs, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	check("Wait(0)", ready, notReady, nil, all)

	// Errors.
	for _, n := range []int{-1, 5} {
		if _, _, err := ray.Wait(refs, n, 0); err == nil {
			t.Errorf("Wait with numReturns %d: nil error", n)
		}
	}
	bCopy := b
	if _, _, err := ray.Wait([]ray.ObjectRef[int]{b, a, bCopy}, 1, 0); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Wait with a duplicate ref: %v", err)
	}

	// A blocking Wait returns when enough refs become ready.
	type waitResult struct {
		ready, notReady []ray.ObjectRef[int]
		err             error
	}
	res := make(chan waitResult, 1)
	go func() {
		r, n, err := ray.Wait(refs, 3, -1)
		res <- waitResult{r, n, err}
	}()
	gateA.open()
	wr := ttRecv(t, res, "a blocking Wait after a third ref became ready")
	if wr.err != nil {
		t.Fatal(wr.err)
	}
	check("blocking Wait(3)", wr.ready, wr.notReady, []ray.ObjectRef[int]{a, b, d}, []ray.ObjectRef[int]{c})

	// Failed and cancelled refs count as ready; refs of mixed types.
	failed := ray.RemoteCtx(func(ctx context.Context) (string, error) { return "", ttErrBoom }).Remote()
	if err := ray.Cancel(c, false, false); err != nil {
		t.Fatal(err)
	}
	mixed := []ray.Ref{failed, c, ray.Put("s")}
	r, n, err := ray.Wait(mixed, 3, ttLong)
	if err != nil || len(r) != 3 || len(n) != 0 {
		t.Errorf("Wait on failed, cancelled and put refs: %v %v %v", r, n, err)
	}
}

// ---------------------------------------------------------------------------
// Errors and retries

// ttPanicky panics on every call; ttPanicCalls counts them.
var ttPanicCalls atomic.Int32

func ttPanicky(x int) int {
	ttPanicCalls.Add(1)
	panic(fmt.Sprintf("tt panic %d", x))
}

func TestTTPanicIsTaskError(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	ttPanicCalls.Store(0)
	h := ray.Remote1(ttPanicky)
	err := ttGetErr(t, h.Remote(7))
	var te *ray.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("panic: %v (%T), want *ray.TaskError", err, err)
	}
	if te.Task != "ttPanicky" {
		t.Errorf("TaskError.Task = %q, want ttPanicky", te.Task)
	}
	if te.Panic != "tt panic 7" {
		t.Errorf("TaskError.Panic = %#v", te.Panic)
	}
	if !strings.Contains(te.Stack, "ttPanicky") {
		t.Errorf("TaskError.Stack does not mention the function:\n%s", te.Stack)
	}
	if te.TaskID == "" || !strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "tt panic 7") {
		t.Errorf("TaskError %+v, message %q", te, err)
	}
	// Panics are retried by default: MaxRetries defaults to 3.
	if n := ttPanicCalls.Load(); n != 4 {
		t.Errorf("a panicking task ran %d times, want 1 + 3 retries", n)
	}
	if te.Attempts != 4 {
		t.Errorf("TaskError.Attempts = %d, want 4", te.Attempts)
	}
	if tis := ttTasksNamed("ttPanicky"); len(tis) != 1 || tis[0].Attempts != 4 || tis[0].State != ray.FailedState || !strings.Contains(tis[0].Error, "tt panic 7") {
		t.Errorf("ListTasks: %+v", tis)
	}

	for _, c := range []struct{ retries, runs int }{{0, 1}, {1, 2}, {5, 6}} {
		ttPanicCalls.Store(0)
		err := ttGetErr(t, h.Options(ray.MaxRetries(c.retries)).Remote(1))
		if n := ttPanicCalls.Load(); int(n) != c.runs {
			t.Errorf("MaxRetries(%d): ran %d times, want %d", c.retries, n, c.runs)
		}
		if errors.As(err, &te); te.Attempts != c.runs {
			t.Errorf("MaxRetries(%d): Attempts %d", c.retries, te.Attempts)
		}
	}

	// A panic that stops after two attempts: the retry succeeds.
	var calls atomic.Int32
	flaky := ray.Remote(func() string {
		if calls.Add(1) <= 2 {
			panic("flaky")
		}
		return "ok"
	})
	if got := ttGet(t, flaky.Remote()); got != "ok" || calls.Load() != 3 {
		t.Errorf("flaky task: %q after %d calls", got, calls.Load())
	}
	// A panic with an error value unwraps to it.
	perr := ray.Remote(func() int { panic(ttErrOther) }, ray.MaxRetries(0))
	err = ttGetErr(t, perr.Remote())
	if errors.As(err, &te); te.Panic != ttErrOther {
		t.Errorf("Panic = %v, want the error value", te.Panic)
	}
}

func TestTTReturnedErrorsAndRetries(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	var calls atomic.Int32
	failN := func(n int32, err error) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			if c := calls.Add(1); n < 0 || c <= n {
				return 0, fmt.Errorf("attempt %d: %w", c, err)
			}
			return int(calls.Load()), nil
		}
	}
	run := func(what string, h *ray.Task[int]) (int, error, int32) {
		t.Helper()
		calls.Store(0)
		if h.Err() != nil {
			t.Fatalf("%s: %v", what, h.Err())
		}
		v, err := h.Remote().Get(ray.Timeout(ttLong))
		return v, err, calls.Load()
	}

	// Not retried by default.
	_, err, n := run("default", ray.RemoteCtx(failN(-1, ttErrBoom), ray.Name("ttFails")))
	if n != 1 {
		t.Errorf("a returned error was retried: %d calls", n)
	}
	var te *ray.TaskError
	if !errors.As(err, &te) || te.Task != "ttFails" || te.Panic != nil || te.Attempts != 1 || te.Stack != "" {
		t.Errorf("returned error: %+v (%v)", te, err)
	}
	ttWantErrIs(t, err, ttErrBoom)
	if !strings.Contains(err.Error(), "failed") || strings.Contains(err.Error(), "panicked") {
		t.Errorf("message %q", err)
	}

	// RetryExceptions retries every error, up to MaxRetries.
	_, err, n = run("RetryExceptions", ray.RemoteCtx(failN(-1, ttErrBoom), ray.RetryExceptions(), ray.MaxRetries(2)))
	if n != 3 {
		t.Errorf("RetryExceptions + MaxRetries(2): %d calls, want 3", n)
	}
	if errors.As(err, &te); te == nil || te.Attempts != 3 {
		t.Errorf("Attempts: %+v", te)
	}
	v, err, n := run("RetryExceptions, then success", ray.RemoteCtx(failN(2, ttErrBoom), ray.RetryExceptions(), ray.MaxRetries(5)))
	if err != nil || n != 3 || v != 3 {
		t.Errorf("RetryExceptions with a success on the third call: %v, %v after %d calls", v, err, n)
	}
	// RetryExceptions with the default MaxRetries (3).
	_, _, n = run("RetryExceptions default", ray.RemoteCtx(failN(-1, ttErrBoom), ray.RetryExceptions()))
	if n != 4 {
		t.Errorf("RetryExceptions with default MaxRetries: %d calls, want 4", n)
	}
	// MaxRetries(0) disables retries.
	_, _, n = run("MaxRetries(0)", ray.RemoteCtx(failN(-1, ttErrBoom), ray.RetryExceptions(), ray.MaxRetries(0)))
	if n != 1 {
		t.Errorf("MaxRetries(0): %d calls", n)
	}
	// MaxRetries(-1) retries until it succeeds.
	v, err, n = run("MaxRetries(-1)", ray.RemoteCtx(failN(20, ttErrBoom), ray.RetryExceptions(), ray.MaxRetries(-1)))
	if err != nil || n != 21 || v != 21 {
		t.Errorf("MaxRetries(-1): %v, %v after %d calls", v, err, n)
	}

	// RetryOn retries only the errors it names (wrapped ones too).
	_, err, n = run("RetryOn match", ray.RemoteCtx(failN(-1, ttErrBoom), ray.RetryOn(ttErrBoom), ray.MaxRetries(2)))
	if n != 3 {
		t.Errorf("RetryOn(matching): %d calls, want 3", n)
	}
	ttWantErrIs(t, err, ttErrBoom)
	_, err, n = run("RetryOn other", ray.RemoteCtx(failN(-1, ttErrOther), ray.RetryOn(ttErrBoom), ray.MaxRetries(2)))
	if n != 1 {
		t.Errorf("RetryOn(non-matching): %d calls, want 1", n)
	}
	ttWantErrIs(t, err, ttErrOther)
	// RetryIf.
	_, _, n = run("RetryIf", ray.RemoteCtx(failN(-1, ttErrOther), ray.RetryIf(func(err error) bool { return errors.Is(err, ttErrOther) }), ray.MaxRetries(1)))
	if n != 2 {
		t.Errorf("RetryIf: %d calls, want 2", n)
	}
	// Per-call Options add retries to a handle.
	base := ray.RemoteCtx(failN(-1, ttErrBoom))
	_, _, n = run("Options(RetryExceptions)", base.Options(ray.RetryExceptions(), ray.MaxRetries(1)))
	if n != 2 {
		t.Errorf("Options(RetryExceptions, MaxRetries(1)): %d calls, want 2", n)
	}
	_, _, n = run("base after Options", base)
	if n != 1 {
		t.Errorf("Options changed the base handle: %d calls", n)
	}
}

func TestTTReturnedChildPanicIsNotRetried(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	child := ray.Remote(func() int { panic("child crashed") }, ray.MaxRetries(0), ray.Name("ttCrashingChild"))
	var parentCalls atomic.Int32
	parent := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		parentCalls.Add(1)
		// The parent does not crash: it returns the child's error.
		return child.Remote().Get()
	}, ray.Name("ttErrParent"))
	err := ttGetErr(t, parent.Remote())
	if n := parentCalls.Load(); n != 1 {
		t.Errorf("a task that returned (not raised) its child's panic error ran %d times; returned errors must not be retried by default", n)
	}
	var te *ray.TaskError
	if !errors.As(err, &te) || te.Task != "ttErrParent" {
		t.Errorf("outer TaskError %+v, want Task ttErrParent", te)
	}
}

// ---------------------------------------------------------------------------
// Cancel

// ttBlocker occupies CPU until its latch opens.
func ttBlocker(t *testing.T, opts ...ray.Option) (ray.ObjectRef[int], *ttLatch) {
	t.Helper()
	gate := ttNewLatch(t)
	running := make(chan struct{}, 1)
	ref := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		running <- struct{}{}
		return 0, gate.wait(ctx)
	}, opts...).Remote()
	ttRecv(t, running, "the blocking task")
	return ref, gate
}

func TestTTCancelQueuedTask(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	blocker, gate := ttBlocker(t)
	var ran atomic.Int32
	task := ray.Remote(func() int { ran.Add(1); return 1 }, ray.Name("ttQueued"))
	q := task.Remote()
	if st := ttTaskState(t, "ttQueued"); st != ray.PendingNodeAssignment {
		t.Fatalf("queued task is %s", st)
	}
	if err := ray.Cancel(q, false, false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ttWantCancelled(t, ttGetErr(t, q), "ttQueued")
	if d := time.Since(start); d > ttPrompt {
		t.Errorf("Get of a cancelled task took %v", d)
	}
	gate.open()
	ttGet(t, blocker)
	// A later task of the same kind runs; the cancelled one never does.
	if got := ttGet(t, task.Options(ray.Name("ttAfter")).Remote()); got != 1 {
		t.Errorf("got %d", got)
	}
	if n := ran.Load(); n != 1 {
		t.Errorf("task bodies ran %d times, want 1 (the cancelled one must not run)", n)
	}
	if st := ttTaskState(t, "ttQueued"); st != ray.FailedState {
		t.Errorf("cancelled task state %s", st)
	}
	if got := ray.AvailableResources()["CPU"]; got != 1 {
		t.Errorf("available CPU %v at the end", got)
	}
}

func TestTTCancelRunningCtxTask(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	running := make(chan struct{}, 1)
	saw := make(chan error, 1)
	task := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		running <- struct{}{}
		<-ctx.Done()
		saw <- ctx.Err()
		return 0, ctx.Err()
	}, ray.Name("ttRunning"))
	ref := task.Remote()
	ttRecv(t, running, "the task")
	if err := ray.Cancel(ref, false, false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ttWantCancelled(t, ttGetErr(t, ref), "ttRunning")
	if d := time.Since(start); d > ttPrompt {
		t.Errorf("Get of a cancelled running task took %v", d)
	}
	ttWantErrIs(t, ttRecv(t, saw, "the task to see ctx.Done()"), context.Canceled)
	// Its CPU comes back when it returns: the next task runs.
	if got := ttGet(t, ray.Remote(func() int { return 5 }).Remote()); got != 5 {
		t.Errorf("got %d", got)
	}
	// Cancelling again is harmless.
	if err := ray.Cancel(ref, false, false); err != nil {
		t.Errorf("second Cancel: %v", err)
	}
}

func TestTTCancelForceReturnsResources(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	release := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	running := make(chan struct{}, 1)
	var returned atomic.Bool
	stuck := ray.Remote(func() int { // ignores cancellation
		running <- struct{}{}
		<-release
		returned.Store(true)
		return 1
	}, ray.Name("ttStuck"))
	ref := stuck.Remote()
	ttRecv(t, running, "the stuck task")
	if err := ray.Cancel(ref, true, false); err != nil {
		t.Fatal(err)
	}
	ttWantCancelled(t, ttGetErr(t, ref), "ttStuck")
	if got := ray.AvailableResources()["CPU"]; got != 1 {
		t.Errorf("available CPU right after a forced cancel = %v, want 1", got)
	}
	if got := ttGet(t, ray.Remote(func() int { return 2 }).Remote()); got != 2 {
		t.Errorf("got %d", got)
	}
	if returned.Load() {
		t.Fatal("the stuck task returned early; the test proves nothing")
	}
	close(release)
	// Its late result is dropped: the ref stays cancelled.
	ttEventually(t, "the abandoned goroutine returned", returned.Load)
	ttWantCancelled(t, ttGetErr(t, ref), "ttStuck")
}

func TestTTCancelRecursive(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	childStarted := make(chan struct{}, 1)
	childSaw := make(chan error, 1)
	var queuedRan atomic.Int32
	child := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		childStarted <- struct{}{}
		<-ctx.Done()
		childSaw <- ctx.Err()
		return 0, ctx.Err()
	}, ray.Name("ttRecChild"))
	// Needs more CPUs than are left while parent and child run: it queues.
	queuedChild := ray.Remote(func() int { queuedRan.Add(1); return 1 }, ray.NumCPUs(2), ray.Name("ttRecQueued"))
	refs := make(chan [2]ray.Ref, 1)
	parent := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		refs <- [2]ray.Ref{child.WithContext(ctx).Remote(), queuedChild.WithContext(ctx).Remote()}
		<-ctx.Done()
		return 0, ctx.Err()
	}, ray.Name("ttRecParent"))
	p := parent.Remote()
	kids := ttRecv(t, refs, "the parent's children")
	ttRecv(t, childStarted, "the running child")
	if st := ttTaskState(t, "ttRecQueued"); st != ray.PendingNodeAssignment {
		t.Fatalf("queued child is %s", st)
	}
	parentID := ttTasksNamed("ttRecParent")[0].ID
	for _, name := range []string{"ttRecChild", "ttRecQueued"} {
		if tis := ttTasksNamed(name); tis[0].ParentID != parentID {
			t.Errorf("%s ParentID %q, want %q", name, tis[0].ParentID, parentID)
		}
	}
	if err := ray.Cancel(p, false, true); err != nil {
		t.Fatal(err)
	}
	ttWantCancelled(t, ttGetErr(t, p), "ttRecParent")
	ttWantCancelled(t, ttGetErr(t, kids[0].(ray.ObjectRef[int])), "ttRecChild")
	ttWantCancelled(t, ttGetErr(t, kids[1].(ray.ObjectRef[int])), "ttRecQueued")
	ttWantErrIs(t, ttRecv(t, childSaw, "the child to see ctx.Done()"), context.Canceled)
	// Wait for the CPUs to come back, then check the queued child never ran.
	ttGet(t, ray.Remote(func() int { return 0 }, ray.NumCPUs(2)).Remote())
	if n := queuedRan.Load(); n != 0 {
		t.Errorf("the cancelled queued child ran %d times", n)
	}
}

func TestTTCancelFinishedAndPutRefs(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	ref := ray.Remote(func() int { return 9 }, ray.Name("ttDone")).Remote()
	ttGet(t, ref)
	if err := ray.Cancel(ref, false, true); err != nil {
		t.Errorf("Cancel of a finished task: %v", err)
	}
	if err := ray.Cancel(ref, true, false); err != nil {
		t.Errorf("forced Cancel of a finished task: %v", err)
	}
	if got := ttGet(t, ref); got != 9 {
		t.Errorf("finished result after Cancel: %d", got)
	}
	if st := ttTaskState(t, "ttDone"); st != ray.Finished {
		t.Errorf("state after Cancel: %s", st)
	}
	if got := ray.AvailableResources()["CPU"]; got != 1 {
		t.Errorf("Cancel of a finished task changed resources: CPU %v", got)
	}

	put := ray.Put(3)
	if err := ray.Cancel(put, false, false); err == nil {
		t.Error("Cancel of a Put ref: nil error")
	}
	if got := ttGet(t, put); got != 3 {
		t.Errorf("Put value after a refused Cancel: %d", got)
	}
}

func TestTTHandleWithContextCancelsCalls(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran atomic.Int32
	running := make(chan struct{}, 1)
	saw := make(chan error, 1)
	first := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		running <- struct{}{}
		<-ctx.Done()
		saw <- ctx.Err()
		return 0, ctx.Err()
	}, ray.Name("ttCtxRunning")).WithContext(ctx)
	queued := ray.Remote1(func(i int) int { ran.Add(1); return i }, ray.Name("ttCtxQueued")).WithContext(ctx)
	r0 := first.Remote()
	ttRecv(t, running, "the running call")
	var refs []ray.ObjectRef[int]
	for i := range 3 {
		refs = append(refs, queued.Remote(i))
	}
	// An unrelated call is not affected.
	other := ray.Remote(func() int { return 100 }).Remote()
	cancel()
	ttWantCancelled(t, ttGetErr(t, r0), "ttCtxRunning")
	ttWantErrIs(t, ttRecv(t, saw, "the running call to see its context cancelled"), context.Canceled)
	for _, r := range refs {
		ttWantCancelled(t, ttGetErr(t, r), "ttCtxQueued")
	}
	if got := ttGet(t, other); got != 100 {
		t.Errorf("unrelated call: %d", got)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("cancelled queued calls ran %d times", n)
	}
}

// ---------------------------------------------------------------------------
// Object store

func TestTTListObjectsAndRelease(t *testing.T) {
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(64<<20))
	before := ray.StoreStats()
	data := make([]byte, 4096)
	ref := ray.Put(data) // the call site below must name this file and test
	o, ok := ttObject(ref.ID())
	if !ok {
		t.Fatalf("ListObjects does not list the Put object: %+v", ray.ListObjects())
	}
	if o.Size != 4096 || o.Status != "IN_MEMORY" || o.ReferenceType != "LOCAL_REFERENCE" || o.Source != "PUT" || o.Type != "[]uint8" {
		t.Errorf("object info %+v", o)
	}
	if !strings.Contains(o.CallSite, "task_test.go:") || !strings.Contains(o.CallSite, "TestTTListObjectsAndRelease") {
		t.Errorf("CallSite %q should name this file and test", o.CallSite)
	}
	st := ray.StoreStats()
	if st.InMemoryBytes-before.InMemoryBytes != 4096 || st.Objects-before.Objects != 1 {
		t.Errorf("stats after a 4096-byte Put: %+v (before %+v)", st, before)
	}

	res := ray.Remote(func() int64 { return 1 }).Remote()
	ttGet(t, res)
	if o, ok := ttObject(res.ID()); !ok || o.Source != "TASK" || o.Type != "int64" || o.Status != "IN_MEMORY" || o.Size != 8 {
		t.Errorf("task result object %+v (found %v)", o, ok)
	}
	if o, _ := ttObject(res.ID()); !strings.Contains(o.CallSite, "task_test.go:") {
		t.Errorf("task result CallSite %q should name this file", o.CallSite)
	}

	ray.Release(ref, res)
	if _, ok := ttObject(ref.ID()); ok {
		t.Error("a released object is still listed")
	}
	if _, ok := ttObject(res.ID()); ok {
		t.Error("a released task result is still listed")
	}
	_, err := ref.Get()
	ttWantErrIs(t, err, ray.ErrObjectReleased)
	_, err = res.Get()
	ttWantErrIs(t, err, ray.ErrObjectReleased)
	if st := ray.StoreStats(); st.InMemoryBytes != before.InMemoryBytes || st.Objects != before.Objects {
		t.Errorf("stats after Release: %+v, want %+v", st, before)
	}
	ray.Release(ref) // twice: a no-op
	// A released argument fails the task that takes it.
	_, err = ray.Remote1(func(b []byte) int { return len(b) }).RemoteArgs(ref).Get(ray.Timeout(ttLong))
	ttWantErrIs(t, err, ray.ErrObjectReleased)
}

func TestTTUnreferencedObjectsAreFreed(t *testing.T) {
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(64<<20))
	base := ray.StoreStats()
	kept := ray.Put(make([]byte, 1000))
	dropped := func() string { return ray.Put(make([]byte, 1<<16)).ID() }()
	droppedResult := func() string {
		r := ray.Remote(func() []byte { return make([]byte, 1<<15) }).Remote()
		ttGet(t, r)
		return r.ID()
	}()
	if _, ok := ttObject(dropped); !ok {
		t.Fatal("the object is not listed before GC")
	}
	ttEventually(t, "unreferenced objects are freed", func() bool {
		runtime.GC()
		_, a := ttObject(dropped)
		_, b := ttObject(droppedResult)
		return !a && !b
	})
	if st := ray.StoreStats(); st.InMemoryBytes != base.InMemoryBytes+1000 || st.Objects != base.Objects+1 {
		t.Errorf("stats after the GC: %+v, want only the kept object over %+v", st, base)
	}
	if _, ok := ttObject(kept.ID()); !ok {
		t.Error("a referenced object was freed")
	}
	runtime.KeepAlive(kept)
}

func TestTTStoreStatsAccounting(t *testing.T) {
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(1<<20))
	st := ray.StoreStats()
	if st.BudgetBytes != 1<<20 || st.InMemoryBytes != 0 || st.Objects != 0 || st.SpillCount != 0 || st.SpilledBytes != 0 {
		t.Fatalf("fresh store stats %+v", st)
	}
	a := ray.Put(make([]byte, 1000))
	b := ray.Put(make([]byte, 2000))
	if st := ray.StoreStats(); st.InMemoryBytes != 3000 || st.Objects != 2 {
		t.Errorf("after two Puts: %+v", st)
	}
	ray.Release(a)
	if st := ray.StoreStats(); st.InMemoryBytes != 2000 || st.Objects != 1 {
		t.Errorf("after a Release: %+v", st)
	}
	// A pending task result is an object without bytes yet.
	gate := ttNewLatch(t)
	p := ray.RemoteCtx(func(ctx context.Context) ([]byte, error) { return make([]byte, 500), gate.wait(ctx) }).Remote()
	if st := ray.StoreStats(); st.InMemoryBytes != 2000 || st.Objects != 2 {
		t.Errorf("with a pending result: %+v", st)
	}
	gate.open()
	ttGet(t, p)
	if st := ray.StoreStats(); st.InMemoryBytes != 2500 || st.Objects != 2 {
		t.Errorf("after the result was sealed: %+v", st)
	}
	runtime.KeepAlive(b)
}

type ttBlob struct {
	Name string
	Data []byte
	N    int
}

func ttPattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)
	}
	return b
}

func ttSpillFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return files
}

func TestTTSpillAndRestore(t *testing.T) {
	dir := t.TempDir()
	ttInit(t, ray.NumCPUs(2), ray.ObjectStoreMemory(1<<20), ray.SpillDir(dir))
	const chunk = 512 << 10
	var want [][]byte
	var refs []ray.ObjectRef[[]byte]
	for i := range 4 {
		b := ttPattern(chunk, byte(i))
		want = append(want, b)
		refs = append(refs, ray.Put(b))
	}
	blob := ttBlob{Name: "blob", Data: ttPattern(chunk, 77), N: 7}
	blobRef := ray.Put(blob)
	// A task result is spilled and restored as well.
	resRef := ray.Remote(func() []byte { return ttPattern(chunk, 99) }).Remote()
	ttGet(t, resRef)

	st := ray.StoreStats()
	if st.SpillCount == 0 || st.SpilledBytes == 0 {
		t.Fatalf("no spilling with 3 MiB put into a 1 MiB store: %+v", st)
	}
	// A new object is published before the victims it displaces are written
	// out, so the budget holds once spilling settles.
	ttEventually(t, "in-memory bytes are within the 1 MiB budget", func() bool {
		return ray.StoreStats().InMemoryBytes <= 1<<20
	})
	if !strings.HasPrefix(st.SpillDir, dir) {
		t.Errorf("SpillDir %q is not under %q", st.SpillDir, dir)
	}
	files := ttSpillFiles(t, dir)
	if len(files) == 0 {
		t.Fatalf("no spill files under %s", dir)
	}
	spilled := 0
	for _, o := range ray.ListObjects() {
		if o.Status == "SPILLED" {
			spilled++
		}
	}
	if spilled == 0 {
		t.Errorf("ListObjects shows no SPILLED object: %+v", ray.ListObjects())
	}
	for i, r := range refs {
		if got := ttGet(t, r); !bytes.Equal(got, want[i]) {
			t.Errorf("object %d differs after spilling", i)
		}
	}
	if got := ttGet(t, blobRef); !reflect.DeepEqual(got, blob) {
		t.Errorf("struct differs after spilling: %q %d %d bytes", got.Name, got.N, len(got.Data))
	}
	if got := ttGet(t, resRef); !bytes.Equal(got, ttPattern(chunk, 99)) {
		t.Error("task result differs after spilling")
	}
	// A spilled object restores into a task argument.
	first := ray.Remote1(func(b []byte) byte { return b[1] })
	if got := ttGet(t, first.RemoteArgs(refs[0])); got != want[0][1] {
		t.Errorf("spilled argument: %d", got)
	}
	if st := ray.StoreStats(); st.RestoreCount == 0 {
		t.Errorf("RestoreCount 0 after reading spilled objects: %+v", st)
	}
	ttEventually(t, "in-memory bytes are within the budget after restores", func() bool {
		return ray.StoreStats().InMemoryBytes <= 1<<20
	})
	// Releasing objects removes their spill files eventually (all of them at
	// Shutdown at the latest).
	if err := ray.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if left := ttSpillFiles(t, dir); len(left) != 0 {
		t.Errorf("Shutdown left spill files: %v", left)
	}
}

func TestTTValueLargerThanBudget(t *testing.T) {
	dir := t.TempDir()
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(1<<20), ray.SpillDir(dir))
	big := ttPattern(3<<20, 5)
	ref := ray.Put(big)
	st := ray.StoreStats()
	if st.SpilledBytes < 3<<20 || st.InMemoryBytes > 1<<20 {
		t.Errorf("a 3 MiB value in a 1 MiB store: %+v, want it on disk", st)
	}
	v, err, ok := ttTryGet(ref, ttLong)
	if !ok {
		t.Fatalf("Get of a value bigger than the store's budget did not return within %v (and ignored its timeout); stats %+v", ttLong, ray.StoreStats())
	}
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !bytes.Equal(v, big) {
		t.Error("the value differs after the round trip")
	}
}

// ttUnspillable cannot be written to disk faithfully: gob drops func fields.
type ttUnspillable struct {
	Data []byte
	Fn   func() int
}

func TestTTUnspillableValueTooBig(t *testing.T) {
	dir := t.TempDir()
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(1<<20), ray.SpillDir(dir))
	ref := ray.Put(ttUnspillable{Data: make([]byte, 2<<20), Fn: func() int { return 7 }})
	v, err, ok := ttTryGet(ref, ttLong)
	if !ok {
		t.Fatalf("Get of an unspillable value larger than the store hung (ignoring its timeout); stats %+v", ray.StoreStats())
	}
	if err == nil {
		t.Fatalf("Get of an unspillable value larger than the store: no error (Fn is nil: %v); want an error", v.Fn == nil)
	}
	var gte *ray.GetTimeoutError
	if errors.As(err, &gte) {
		t.Fatalf("Get of an unspillable value larger than the store hung until its timeout; want an error at once")
	}
	var full *ray.ObjectStoreFullError
	if !errors.As(err, &full) {
		t.Logf("error is %v (%T), not *ray.ObjectStoreFullError", err, err)
	}
}

func TestTTUnspillableValueIsNotEvicted(t *testing.T) {
	dir := t.TempDir()
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(1<<20), ray.SpillDir(dir))
	small := ray.Put(ttUnspillable{Data: make([]byte, 600<<10), Fn: func() int { return 7 }})
	other := ray.Put(make([]byte, 600<<10)) // over budget: something must spill
	v := ttGet(t, small)
	if v.Fn == nil {
		t.Fatal("a value with a func field was spilled and restored without it (gob drops func fields)")
	}
	if v.Fn() != 7 {
		t.Error("wrong func")
	}
	ttGet(t, other)
}

// ttGatedBlob claims to be larger than any test's store, so Put writes it
// straight to disk; its GobEncode reports that the write started and waits
// for ttGate, so that a test can shut down while the write is in flight.
type ttGatedBlob struct{ Data []byte }

var ttGate struct {
	entered chan struct{}
	open    chan struct{}
}

func (b ttGatedBlob) SizeBytes() int64 { return 64 << 20 }

func (b ttGatedBlob) GobEncode() ([]byte, error) {
	ttGate.entered <- struct{}{}
	<-ttGate.open
	return b.Data, nil
}

func (b *ttGatedBlob) GobDecode(p []byte) error {
	b.Data = append([]byte(nil), p...)
	return nil
}

// Shutdown while a Put is writing its value to disk: Shutdown waits for (or
// cancels) the write, and once it returns the spill folder holds nothing
// and nothing is written there later. Before the fix Shutdown returned at
// once and the write went on after it, racing t.TempDir's cleanup and, when
// it created its file or the store's first spill directory at the wrong
// moment, leaving goray-spill-*/obj-*.spill behind.
func TestTTShutdownWaitsForSpillWriteInFlight(t *testing.T) {
	dir := t.TempDir()
	ttInit(t, ray.NumCPUs(1), ray.ObjectStoreMemory(1<<20), ray.SpillDir(dir))
	ttGate.entered = make(chan struct{}, 1)
	ttGate.open = make(chan struct{})
	var openOnce sync.Once
	open := func() { openOnce.Do(func() { close(ttGate.open) }) }
	t.Cleanup(open)
	put := make(chan struct{})
	go func() {
		defer close(put)
		ray.Put(ttGatedBlob{Data: ttPattern(1<<10, 3)})
	}()
	ttRecv(t, ttGate.entered, "the spill write to start")
	if len(ttSpillFiles(t, dir)) == 0 {
		t.Fatalf("no spill file under %s while a value is being written", dir)
	}
	shut := make(chan error, 1)
	go func() { shut <- ray.Shutdown() }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a spill write was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	open()
	if err := ttRecv(t, shut, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	leftUnder := func() []string {
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
	if left := leftUnder(); len(left) != 0 {
		t.Fatalf("right after Shutdown, left under the spill folder: %v (files %v)", left, ttSpillFiles(t, dir))
	}
	ttRecv(t, put, "Put to return")
	if left := leftUnder(); len(left) != 0 {
		t.Fatalf("after the Put returned, left under the spill folder: %v", left)
	}
}

// ---------------------------------------------------------------------------
// State API

func TestTTListAndSummarizeTasks(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	ok := ray.Remote1(func(i int) int { return i }, ray.Name("ttOK"))
	bad := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 0, ttErrBoom }, ray.Name("ttBad"))
	for i := range 3 {
		ttGet(t, ok.Remote(i))
	}
	for range 2 {
		ttGetErr(t, bad.Remote())
	}
	gate := ttNewLatch(t)
	live := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 0, gate.wait(ctx) }, ray.Name("ttLive")).Remote()

	tis := ray.ListTasks()
	if len(tis) != 6 {
		t.Fatalf("ListTasks has %d tasks, want 6: %+v", len(tis), tis)
	}
	for i := 1; i < len(tis); i++ {
		if !tis[i-1].Submitted.Before(tis[i].Submitted) && !tis[i-1].Submitted.Equal(tis[i].Submitted) {
			t.Errorf("ListTasks is not oldest first")
		}
	}
	for _, ti := range ttTasksNamed("ttOK") {
		if ti.State != ray.Finished || ti.Kind != ray.NormalTask || ti.Error != "" || ti.Attempts != 1 ||
			ti.Resources["CPU"] != 1 || ti.Started.Before(ti.Submitted) || ti.Ended.Before(ti.Started) || ti.ID == "" {
			t.Errorf("finished task %+v", ti)
		}
	}
	for _, ti := range ttTasksNamed("ttBad") {
		if ti.State != ray.FailedState || !strings.Contains(ti.Error, "tt: boom") {
			t.Errorf("failed task %+v", ti)
		}
	}
	if st := ttTaskState(t, "ttLive"); st != ray.Running {
		t.Errorf("live task %s", st)
	}

	sum := ray.SummarizeTasks()
	byName := map[string]ray.TaskSummary{}
	var names []string
	for _, s := range sum {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("SummarizeTasks not sorted by name: %v", names)
	}
	if s := byName["ttOK"]; s.States[ray.Finished] != 3 || len(s.States) != 1 {
		t.Errorf("summary of ttOK: %+v", s)
	}
	if s := byName["ttBad"]; s.States[ray.FailedState] != 2 || len(s.States) != 1 {
		t.Errorf("summary of ttBad: %+v", s)
	}
	if s := byName["ttLive"]; s.States[ray.Running] != 1 {
		t.Errorf("summary of ttLive: %+v", s)
	}
	for _, s := range sum {
		if s.Kind != ray.NormalTask {
			t.Errorf("summary of %s has Kind %q, want %q", s.Name, s.Kind, ray.NormalTask)
		}
	}
	gate.open()
	ttGet(t, live)
}

func TestTTTaskHistoryLimit(t *testing.T) {
	ttInit(t, ray.NumCPUs(2), ray.TaskHistory(3))
	h := ray.Remote1(func(i int) int { return i }, ray.Name("ttHist"))
	for i := range 5 {
		ttGet(t, h.Remote(i))
	}
	// A task's result is published just before its record moves to the
	// history, so poll.
	ttEventually(t, "ListTasks remembers 3 tasks with TaskHistory(3)", func() bool { return len(ray.ListTasks()) == 3 })
	if tis := ray.ListTasks(); tis[0].State != ray.Finished || tis[2].Name != "ttHist" {
		t.Errorf("ListTasks: %+v", tis)
	}
	if s := ray.SummarizeTasks(); len(s) != 1 || s[0].States[ray.Finished] != 5 {
		t.Errorf("SummarizeTasks must count every task: %+v", s)
	}
}

func TestTTTimeline(t *testing.T) {
	ttInit(t, ray.NumCPUs(2))
	h := ray.Remote1(func(i int) int { time.Sleep(time.Millisecond); return i }, ray.Name("ttTraced"))
	for i := range 4 {
		ttGet(t, h.Remote(i))
	}
	ttGetErr(t, ray.RemoteCtx(func(ctx context.Context) (int, error) { return 0, ttErrBoom }, ray.Name("ttTracedBad")).Remote())

	dir := t.TempDir()
	path := filepath.Join(dir, "trace.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ray.Timeline(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	if err := json.Unmarshal(data, &events); err != nil {
		t.Fatalf("timeline is not a JSON array: %v\n%s", err, data)
	}
	counts := map[string]int{}
	for _, e := range events {
		counts[fmt.Sprint(e["name"])]++
		if e["ph"] != "X" {
			t.Errorf("event ph %v, want X: %v", e["ph"], e)
		}
		ts, ok1 := e["ts"].(float64)
		dur, ok2 := e["dur"].(float64)
		if !ok1 || !ok2 || ts < 0 || dur <= 0 {
			t.Errorf("event without valid ts/dur: %v", e)
		}
		if _, ok := e["pid"].(float64); !ok {
			t.Errorf("event without pid: %v", e)
		}
		if _, ok := e["tid"].(float64); !ok {
			t.Errorf("event without tid: %v", e)
		}
	}
	if counts["ttTraced"] != 4 || counts["ttTracedBad"] != 1 {
		t.Errorf("timeline events by name %v, want 4 ttTraced and 1 ttTracedBad", counts)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the directory holds %v; the write must leave no temporary files", names)
	}
	// An unwritable destination is an error and leaves nothing behind.
	if err := ray.Timeline(filepath.Join(dir, "missing", "trace.json")); err == nil {
		t.Error("Timeline into a missing directory: nil error")
	}
}

func TestTTClusterAndAvailableResources(t *testing.T) {
	ttInit(t, ray.NumCPUs(3), ray.NumGPUs(2), ray.Memory(1<<30), ray.ObjectStoreMemory(32<<20), ray.Resources{"accel": 2})
	want := map[string]float64{"CPU": 3, "GPU": 2, "memory": 1 << 30, "object_store_memory": 32 << 20, "accel": 2}
	if got := ray.ClusterResources(); !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterResources = %v, want %v", got, want)
	}
	if got := ray.AvailableResources(); !reflect.DeepEqual(got, want) {
		t.Errorf("AvailableResources of an idle runtime = %v, want %v", got, want)
	}
	if free := ray.GPUFree(); !slices.Equal(free, []float64{1, 1}) {
		t.Errorf("GPUFree = %v", free)
	}
	ref, gate := ttBlocker(t, ray.NumCPUs(2), ray.NumGPUs(1), ray.Memory(1<<20), ray.Resources{"accel": 1})
	av := ray.AvailableResources()
	if av["CPU"] != 1 || av["GPU"] != 1 || av["accel"] != 1 || av["memory"] != (1<<30)-(1<<20) {
		t.Errorf("AvailableResources while a task holds CPU 2, GPU 1, accel 1, 1 MiB: %v", av)
	}
	if free := ray.GPUFree(); !slices.Equal(free, []float64{0, 1}) {
		t.Errorf("GPUFree while a whole-GPU task runs = %v, want [0 1]", free)
	}
	if got := ray.ClusterResources(); !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterResources changed while a task runs: %v", got)
	}
	gate.open()
	ttGet(t, ref)
	if got := ray.AvailableResources(); !reflect.DeepEqual(got, want) {
		t.Errorf("AvailableResources after the task = %v, want %v", got, want)
	}

	// No GPUs: GPU is absent (zero).
	ttInit(t, ray.NumCPUs(1), ray.NumGPUs(0))
	if got := ray.ClusterResources()["GPU"]; got != 0 {
		t.Errorf("GPU = %v with NumGPUs(0)", got)
	}
	if len(ray.GPUFree()) != 0 {
		t.Errorf("GPUFree = %v with no GPUs", ray.GPUFree())
	}
}

// ---------------------------------------------------------------------------
// Shutdown

func TestTTShutdown(t *testing.T) {
	// Warm up whatever the runtime starts once per process, then count.
	ttInit(t, ray.NumCPUs(1))
	ttGet(t, ray.Remote(func() int { return 1 }).Remote())
	ttGet(t, ray.Put(1))
	if err := ray.Shutdown(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	base := runtime.NumGoroutine()

	ttInit(t, ray.NumCPUs(1))
	running := make(chan struct{}, 1)
	saw := make(chan error, 1)
	runningRef := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		running <- struct{}{}
		<-ctx.Done()
		saw <- ctx.Err()
		return 0, ctx.Err()
	}).Remote()
	ttRecv(t, running, "the running task")
	var queuedRan atomic.Int32
	queuedRef := ray.Remote(func() int { queuedRan.Add(1); return 1 }).Remote()
	putRef := ray.Put(5)

	errs := make(chan error, 2)
	for _, r := range []ray.ObjectRef[int]{runningRef, queuedRef} {
		go func() {
			_, err := r.Get()
			errs <- err
		}()
	}
	start := time.Now()
	if err := ray.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > ttPrompt {
		t.Errorf("Shutdown took %v with only cancellable tasks", d)
	}
	if ray.IsInitialized() {
		t.Error("IsInitialized after Shutdown")
	}
	ttWantErrIs(t, ttRecv(t, saw, "the running task to see its context cancelled"), context.Canceled)
	for range 2 {
		err := ttRecv(t, errs, "a pending Get to fail")
		ttWantErrIs(t, err, ray.ErrNotInitialized)
	}
	_, err := putRef.Get()
	ttWantErrIs(t, err, ray.ErrNotInitialized)
	if n := queuedRan.Load(); n != 0 {
		t.Errorf("queued tasks ran %d times during Shutdown", n)
	}
	ttEventually(t, fmt.Sprintf("goroutines are back to %d (+2)", base), func() bool {
		runtime.GC()
		return runtime.NumGoroutine() <= base+2
	})
	if ray.IsInitialized() {
		t.Error("something restarted the runtime")
	}
}

func TestTTShutdownWithTaskWaitingForArgument(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	running := make(chan struct{}, 1)
	producer := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		running <- struct{}{}
		<-ctx.Done()
		return 0, ctx.Err()
	}).Remote()
	ttRecv(t, running, "the producer")
	var ran atomic.Int32
	dependent := ray.Remote1(func(v int) int { ran.Add(1); return v }).RemoteArgs(producer)
	done := make(chan error, 1)
	go func() { done <- ray.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(ttLong):
		ttWedged.Store(true)
		t.Fatalf("Shutdown with a task waiting for an argument did not return within %v", ttLong)
	}
	_, err, ok := ttTryGet(dependent, time.Second)
	if !ok {
		t.Fatal("Get of the dependent task hung after Shutdown")
	}
	ttWantErrIs(t, err, ray.ErrNotInitialized)
	if ran.Load() != 0 {
		t.Error("the dependent task ran")
	}
}

func TestTTInfeasibleTaskWaitingForArgument(t *testing.T) {
	ttInit(t, ray.NumCPUs(2), ray.NumGPUs(0))
	gate := ttNewLatch(t)
	producer := ray.RemoteCtx(func(ctx context.Context) (int, error) { return 1, gate.wait(ctx) }).Remote()
	consumer := ray.Remote1(func(v int) int { return v }, ray.NumGPUs(1)).RemoteArgs(producer)
	gate.open()
	_, err, ok := ttTryGet(consumer, ttLong)
	if !ok {
		ttWedged.Store(true)
		t.Fatalf("Get of an infeasible task that waited for an argument hung; the store is deadlocked")
	}
	var inf *ray.InfeasibleError
	if !errors.As(err, &inf) {
		t.Errorf("error %v, want *ray.InfeasibleError", err)
	}
	if got := ttGet(t, ray.Put(3)); got != 3 {
		t.Error("the store no longer works")
	}
}

func TestTTHandleWithCancelledContext(t *testing.T) {
	ttInit(t, ray.NumCPUs(1))
	blocker, gate := ttBlocker(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int32
	h := ray.Remote(func() int { ran.Add(1); return 1 }, ray.Name("ttPreCancelled")).WithContext(ctx)
	ref := h.Remote() // queued behind the blocker, and its context is already done
	ttWantCancelled(t, ttGetErr(t, ref), "ttPreCancelled")
	gate.open()
	ttGet(t, blocker)
	ttGet(t, ray.Remote(func() int { return 0 }).Remote())
	if ran.Load() != 0 {
		t.Error("a call made with a cancelled context ran")
	}
}

func TestTTRefInsideValueIsSmall(t *testing.T) {
	ttInit(t, ray.NumCPUs(4))
	inner := ray.Put(1)
	// Keep the runtime busy meanwhile: sizing a value that holds a ref must
	// not read the runtime's internals (a data race under -race).
	busy := ray.Remote1(func(i int) int { return i })
	var refs []ray.ObjectRef[int]
	var holders []ray.ObjectRef[ttHolder]
	for i := range 50 {
		refs = append(refs, busy.Remote(i))
		holders = append(holders, ray.Put(ttHolder{Ref: inner, Label: "h"}))
	}
	if _, err := ray.GetAll(refs, ray.Timeout(ttLong)); err != nil {
		t.Fatal(err)
	}
	o, ok := ttObject(holders[0].ID())
	if !ok {
		t.Fatal("the holder is not listed")
	}
	if o.Size > 1024 {
		t.Errorf("a struct holding one ObjectRef is accounted as %d bytes: sizing walked into the runtime behind the ref", o.Size)
	}
	if h := ttGet(t, holders[len(holders)-1]); ttGet(t, h.Ref) != 1 {
		t.Error("the nested ref does not resolve")
	}
}
