package ray_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

// atWait bounds every wait in these tests; reaching it means a hang.
const atWait = 10 * time.Second

// atInit starts a fresh runtime for one test and shuts it down afterwards.
func atInit(t *testing.T, opts ...ray.Option) {
	t.Helper()
	ray.Shutdown()
	if err := ray.Init(opts...); err != nil {
		t.Fatalf("ray.Init: %v", err)
	}
	t.Cleanup(func() { ray.Shutdown() })
}

// atGet returns the value of ref, failing the test on an error.
func atGet[T any](t *testing.T, ref ray.ObjectRef[T]) T {
	t.Helper()
	v, err := ref.Get(ray.Timeout(atWait))
	if err != nil {
		t.Fatalf("Get %v: %v", ref, err)
	}
	return v
}

// atGetErr returns the error of ref, failing the test if there is none or
// if the wait timed out.
func atGetErr[T any](t *testing.T, ref ray.ObjectRef[T]) error {
	t.Helper()
	v, err := ref.Get(ray.Timeout(atWait))
	if err == nil {
		t.Fatalf("Get %v = %v, want an error", ref, v)
	}
	var te *ray.GetTimeoutError
	if errors.As(err, &te) {
		t.Fatalf("Get %v timed out: %v", ref, err)
	}
	return err
}

// atDied asserts that err is an *ActorDiedError and returns it.
func atDied(t *testing.T, err error) *ray.ActorDiedError {
	t.Helper()
	var de *ray.ActorDiedError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *ray.ActorDiedError", err, err)
	}
	return de
}

// atEventually polls cond until it holds.
func atEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(atWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// atRecv receives one value from ch.
func atRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(atWait):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// atInfo returns the state API's view of one actor.
func atInfo(t *testing.T, id string) ray.ActorInfo {
	t.Helper()
	for _, ai := range ray.ListActors() {
		if ai.ID == id {
			return ai
		}
	}
	t.Fatalf("actor %s is not in ListActors", id)
	return ray.ActorInfo{}
}

func atState(id string) ray.ActorState {
	for _, ai := range ray.ListActors() {
		if ai.ID == id {
			return ai.State
		}
	}
	return ""
}

var atErrNegative = errors.New("negative amount")

// atCounter is a plain stateful actor.
type atCounter struct{ n int }

func atNewCounter() *atCounter          { return &atCounter{} }
func atNewCounterFrom(n int) *atCounter { return &atCounter{n: n} }

func (c *atCounter) Incr() int      { c.n++; return c.n }
func (c *atCounter) Value() int     { return c.n }
func (c *atCounter) Add(k int) int  { c.n += k; return c.n }
func (c *atCounter) Panic() int     { panic("atCounter boom") }
func (c *atCounter) Double() string { return fmt.Sprint(2 * c.n) }

func (c *atCounter) AddCtx(ctx context.Context, k int) (int, error) {
	if k < 0 {
		return 0, atErrNegative
	}
	c.n += k
	return c.n, nil
}

func (c *atCounter) Context(ctx context.Context) (ray.RuntimeContext, error) {
	rc, ok := ray.GetRuntimeContext(ctx)
	if !ok {
		return rc, errors.New("no runtime context in a method's ctx")
	}
	return rc, nil
}

// atOther is a second actor type, for type mismatches.
type atOther struct{}

func atNewOther() *atOther { return &atOther{} }

func TestActorConstructorsAndCalls(t *testing.T) {
	atInit(t, ray.NumCPUs(4), ray.NumGPUs(0))

	a, err := ray.NewActor(atNewCounter)
	if err != nil {
		t.Fatal(err)
	}
	if got := atGet(t, ray.Call(a, (*atCounter).Incr)); got != 1 {
		t.Errorf("Incr = %d, want 1", got)
	}
	if got := atGet(t, ray.Call1(a, (*atCounter).Add, 10)); got != 11 {
		t.Errorf("Add(10) = %d, want 11", got)
	}
	if got := atGet(t, ray.Call(a, (*atCounter).Double)); got != "22" {
		t.Errorf("Double = %q, want 22", got)
	}
	if a.State() != ray.Alive {
		t.Errorf("State = %v, want ALIVE", a.State())
	}
	if a.Name() != "" {
		t.Errorf("Name = %q, want empty", a.Name())
	}
	if want := "Actor(atCounter, " + a.ID() + ")"; a.String() != want {
		t.Errorf("String = %q, want %q", a.String(), want)
	}

	b, err := ray.NewActor1(atNewCounterFrom, 100)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID() == a.ID() {
		t.Errorf("two actors share the ID %s", a.ID())
	}
	if got := atGet(t, ray.Call(b, (*atCounter).Incr)); got != 101 {
		t.Errorf("NewActor1(100).Incr = %d, want 101", got)
	}

	// The Ctx constructors get the actor's context, which knows the actor.
	ctorCtx := make(chan ray.RuntimeContext, 2)
	c, err := ray.NewActorCtx(func(ctx context.Context) (*atCounter, error) {
		rc, ok := ray.GetRuntimeContext(ctx)
		if !ok {
			return nil, errors.New("no runtime context in the constructor")
		}
		ctorCtx <- rc
		return &atCounter{n: 7}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rc := atRecv(t, ctorCtx, "NewActorCtx constructor")
	if rc.ActorID != c.ID() || rc.TaskID != "" || rc.Namespace != "default" {
		t.Errorf("constructor runtime context = %+v, want ActorID %s, no TaskID, namespace default", rc, c.ID())
	}
	if got := atGet(t, ray.Call1Ctx(c, (*atCounter).AddCtx, 3)); got != 10 {
		t.Errorf("AddCtx(3) = %d, want 10", got)
	}
	mrc := atGet(t, ray.CallCtx(c, (*atCounter).Context))
	if mrc.ActorID != c.ID() || mrc.TaskID == "" || mrc.TaskName != "atCounter.Context" {
		t.Errorf("method runtime context = %+v, want ActorID %s, a TaskID, TaskName atCounter.Context", mrc, c.ID())
	}

	d, err := ray.NewActor1Ctx(func(ctx context.Context, start int) (*atCounter, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &atCounter{n: start}, nil
	}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if got := atGet(t, ray.Call(d, (*atCounter).Incr)); got != 41 {
		t.Errorf("NewActor1Ctx(40).Incr = %d, want 41", got)
	}

	// Call1Args: a ref argument is resolved before the method runs, and
	// calls behind it wait for it (submission order holds).
	gate := make(chan struct{})
	slow := ray.RemoteCtx(func(ctx context.Context) (int, error) {
		select {
		case <-gate:
			return 5, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	e, err := ray.NewActor(atNewCounter)
	if err != nil {
		t.Fatal(err)
	}
	fromTask := ray.Call1Args(e, (*atCounter).Add, ray.Arg[int](slow.Remote()))
	after := ray.Call(e, (*atCounter).Value)
	fromPut := ray.Call1Args(e, (*atCounter).Add, ray.Arg[int](ray.Put(100)))
	fromValue := ray.Call1Args(e, (*atCounter).Add, ray.Value(1000))
	if ready, _, _ := ray.Wait([]ray.ObjectRef[int]{fromTask, after}, 1, 20*time.Millisecond); len(ready) != 0 {
		t.Fatalf("a call ran before its ref argument was ready")
	}
	close(gate)
	if got := atGet(t, fromTask); got != 5 {
		t.Errorf("Add(ref to 5) = %d, want 5", got)
	}
	if got := atGet(t, after); got != 5 {
		t.Errorf("Value after Add(ref) = %d, want 5", got)
	}
	if got := atGet(t, fromPut); got != 105 {
		t.Errorf("Add(Put(100)) = %d, want 105", got)
	}
	if got := atGet(t, fromValue); got != 1105 {
		t.Errorf("Add(Value(1000)) = %d, want 1105", got)
	}

	ai := atInfo(t, a.ID())
	if ai.Class != "atCounter" || ai.State != ray.Alive || ai.Calls != 3 || ai.MaxConcurrency != 1 || ai.Namespace != "default" {
		t.Errorf("ListActors entry = %+v, want class atCounter, ALIVE, 3 calls, MaxConcurrency 1", ai)
	}
}

// atRelay returns the error of a task it waits for, as a method that
// forwards a dependency's failure does.
func (c *atCounter) Relay(ctx context.Context, ref ray.ObjectRef[int]) (int, error) {
	v, err := ref.Get(ray.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	c.n += v
	return c.n, nil
}

// A failed dependency is that call's failure, not the actor's: neither a
// ref argument whose task panicked nor a method returning such a task's
// error may kill (or restart) the actor.
func TestActorFailedDependencyDoesNotKillActor(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	boom := ray.Remote(func() int { panic("arg boom") }, ray.MaxRetries(0))
	var ctorRuns atomic.Int32
	e, err := ray.NewActor(func() *atCounter { ctorRuns.Add(1); return &atCounter{n: 7} })
	if err != nil {
		t.Fatal(err)
	}
	argRef := boom.Remote()
	err = atGetErr(t, ray.Call1Args(e, (*atCounter).Add, ray.Arg[int](argRef)))
	if !strings.Contains(err.Error(), "arg boom") {
		t.Errorf("call with a failed argument: %v, want the argument's panic", err)
	}
	var de *ray.ActorDiedError
	if errors.As(err, &de) {
		t.Errorf("a failed ref argument killed the actor: %v", atFirstLine(err))
	}
	var te *ray.TaskError
	if _, err := argRef.Get(); !errors.As(err, &te) || te.Task != boom.Name() {
		t.Errorf("the argument's own error names task %q, want %q (it must not be rewritten)", te.Task, boom.Name())
	}
	if e.State() != ray.Alive {
		t.Errorf("State after a failed argument = %v, want ALIVE", e.State())
	}
	if _, err := ray.Call(e, (*atCounter).Value).Get(ray.Timeout(atWait)); err != nil {
		t.Errorf("a call after a failed argument: %v", atFirstLine(err))
	}

	f, err := ray.NewActor(atNewCounter)
	if err != nil {
		t.Fatal(err)
	}
	err = atGetErr(t, ray.Call1Ctx(f, (*atCounter).Relay, boom.Remote()))
	if errors.As(err, &de) {
		t.Errorf("a method returning a dependency's panic killed the actor: %v", atFirstLine(err))
	}
	if f.State() != ray.Alive {
		t.Errorf("State after a method returned a dependency's panic = %v, want ALIVE", f.State())
	}
	if n := ctorRuns.Load(); n != 1 {
		t.Errorf("constructor ran %d times, want 1", n)
	}

	// A constructor returning a dependency's panic failed: it is not a
	// crash of the constructor, so it is not restarted.
	var relayRuns atomic.Int32
	g, err := ray.NewActorCtx(func(ctx context.Context) (*atCounter, error) {
		relayRuns.Add(1)
		v, err := boom.Remote().Get(ray.WithContext(ctx))
		return &atCounter{n: v}, err
	}, ray.MaxRestarts(2))
	if err != nil {
		t.Fatal(err)
	}
	atDied(t, atGetErr(t, ray.Call(g, (*atCounter).Value)))
	if n := relayRuns.Load(); n != 1 {
		t.Errorf("a constructor returning a dependency's panic ran %d times with MaxRestarts(2), want 1", n)
	}
}

func atFirstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// atSeq records the order of its calls and whether two ever overlapped.
type atSeq struct {
	inside   atomic.Int32
	overlaps atomic.Int32
	got      []int
}

func (s *atSeq) Append(i int) int {
	if s.inside.Add(1) != 1 {
		s.overlaps.Add(1)
	}
	s.got = append(s.got, i)
	runtime.Gosched()
	s.inside.Add(-1)
	return len(s.got)
}

func (s *atSeq) Snapshot() []int { return slices.Clone(s.got) }

func (s *atSeq) Overlaps() int32 { return s.overlaps.Load() }

func TestActorSyncCallsRunInOrder(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	a, err := ray.NewActor(func() *atSeq { return &atSeq{} })
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	refs := make([]ray.ObjectRef[int], n)
	for i := range refs {
		refs[i] = ray.Call1(a, (*atSeq).Append, i)
	}
	lens, err := ray.GetAll(refs, ray.Timeout(atWait))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lens {
		if l != i+1 {
			t.Fatalf("call %d saw %d earlier calls, want %d", i, l-1, i)
		}
	}
	got := atGet(t, ray.Call(a, (*atSeq).Snapshot))
	for i, v := range got {
		if v != i {
			t.Fatalf("calls ran out of order: position %d holds call %d", i, v)
		}
	}
	if len(got) != n {
		t.Fatalf("%d calls ran, want %d", len(got), n)
	}
	if o := atGet(t, ray.Call(a, (*atSeq).Overlaps)); o != 0 {
		t.Errorf("%d calls entered a sync actor while another was running", o)
	}
	if ai := atInfo(t, a.ID()); ai.Calls != n+2 || ai.QueuedCalls != 0 {
		t.Errorf("ListActors: Calls %d, QueuedCalls %d; want %d, 0", ai.Calls, ai.QueuedCalls, n+2)
	}
}

// atPool is a threaded actor whose Enter calls wait at a barrier.
type atPool struct {
	cur, max atomic.Int32
	arrived  chan struct{}
	release  chan struct{}
}

func (p *atPool) Enter(ctx context.Context) (int, error) {
	n := p.cur.Add(1)
	defer p.cur.Add(-1)
	for {
		m := p.max.Load()
		if n <= m || p.max.CompareAndSwap(m, n) {
			break
		}
	}
	p.arrived <- struct{}{}
	select {
	case <-p.release:
		return int(n), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func TestActorMaxConcurrency(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	const calls = 9
	p := &atPool{arrived: make(chan struct{}, calls), release: make(chan struct{})}
	a, err := ray.NewActor1(func(p *atPool) *atPool { return p }, p, ray.MaxConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]ray.ObjectRef[int], calls)
	for i := range refs {
		refs[i] = ray.CallCtx(a, (*atPool).Enter)
	}
	// The barrier: four calls must be inside at once.
	for i := 0; i < 4; i++ {
		atRecv(t, p.arrived, fmt.Sprintf("call %d of 4 to enter the threaded actor", i+1))
	}
	atEventually(t, "the other calls to be queued", func() bool { return atInfo(t, a.ID()).QueuedCalls == calls-4 })
	select {
	case <-p.arrived:
		t.Fatalf("a fifth call entered an actor with MaxConcurrency(4)")
	case <-time.After(50 * time.Millisecond):
	}
	if ai := atInfo(t, a.ID()); ai.MaxConcurrency != 4 || ai.QueuedCalls != calls-4 {
		t.Errorf("ListActors: MaxConcurrency %d, QueuedCalls %d; want 4, %d", ai.MaxConcurrency, ai.QueuedCalls, calls-4)
	}
	close(p.release)
	if _, err := ray.GetAll(refs, ray.Timeout(atWait)); err != nil {
		t.Fatal(err)
	}
	if m := p.max.Load(); m != 4 {
		t.Errorf("at most %d calls ran at once, want 4", m)
	}
}

func TestActorNamed(t *testing.T) {
	atInit(t, ray.NumCPUs(4), ray.Namespace("ns"))
	if ns := ray.CurrentNamespace(); ns != "ns" {
		t.Fatalf("CurrentNamespace = %q, want ns", ns)
	}
	nsSeen := make(chan string, 1)
	x, err := ray.NewActorCtx(func(ctx context.Context) (*atCounter, error) {
		rc, _ := ray.GetRuntimeContext(ctx)
		nsSeen <- rc.Namespace
		return &atCounter{}, nil
	}, ray.Name("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := atRecv(t, nsSeen, "constructor"); got != "ns" {
		t.Errorf("namespace in the constructor = %q, want ns", got)
	}
	if x.Name() != "x" {
		t.Errorf("Name = %q, want x", x.Name())
	}
	ai := atInfo(t, x.ID())
	if ai.Name != "x" || ai.Namespace != "ns" {
		t.Errorf("ListActors: name %q namespace %q, want x, ns", ai.Name, ai.Namespace)
	}

	y, err := ray.GetActor[atCounter]("x")
	if err != nil {
		t.Fatal(err)
	}
	if y.ID() != x.ID() {
		t.Fatalf("GetActor returned %s, want %s", y.ID(), x.ID())
	}
	atGet(t, ray.Call(x, (*atCounter).Incr))
	if got := atGet(t, ray.Call(y, (*atCounter).Incr)); got != 2 {
		t.Errorf("the handle from GetActor sees count %d, want 2 (shared state)", got)
	}

	if _, err := ray.GetActor[atOther]("x"); err == nil {
		t.Error("GetActor with the wrong type: no error")
	}
	if _, err := ray.GetActor[atCounter]("missing"); err == nil {
		t.Error("GetActor of a missing name: no error")
	} else if !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), `"ns"`) {
		t.Errorf("GetActor error %q should name the actor and the namespace", err)
	}

	if _, err := ray.NewActor(atNewCounter, ray.Name("x")); err == nil {
		t.Error("a second actor named x: no error")
	}
	z, err := ray.NewActor(atNewCounter, ray.Name("x"), ray.GetIfExists())
	if err != nil {
		t.Fatal(err)
	}
	if z.ID() != x.ID() {
		t.Errorf("GetIfExists returned %s, want the existing %s", z.ID(), x.ID())
	}
	if got := atGet(t, ray.Call(z, (*atCounter).Value)); got != 2 {
		t.Errorf("GetIfExists handle sees %d, want 2", got)
	}
	if _, err := ray.NewActor(atNewOther, ray.Name("x"), ray.GetIfExists()); err == nil {
		t.Error("GetIfExists with another type: no error")
	}
	if n := len(ray.ListActors()); n != 1 {
		t.Errorf("ListActors has %d actors, want 1 (duplicates must not register)", n)
	}

	// An empty name is a bad option.
	if _, err := ray.NewActor(atNewCounter, ray.Name("")); err == nil {
		t.Error("Name(\"\"): no error")
	}

	// The name is freed when the actor dies.
	if err := ray.Kill(x, true); err != nil {
		t.Fatal(err)
	}
	if _, err := ray.GetActor[atCounter]("x"); err == nil {
		t.Error("GetActor finds a killed actor")
	}
	x2, err := ray.NewActor(atNewCounter, ray.Name("x"))
	if err != nil {
		t.Fatalf("reusing the name of a dead actor: %v", err)
	}
	if x2.ID() == x.ID() {
		t.Error("the new actor x has the dead one's ID")
	}
	if got := atGet(t, ray.Call(x2, (*atCounter).Value)); got != 0 {
		t.Errorf("new actor x starts at %d, want 0", got)
	}

	// The name is freed too when a constructor fails.
	if _, err := ray.NewActorCtx(func(context.Context) (*atCounter, error) { return nil, errors.New("no") }, ray.Name("y")); err != nil {
		t.Fatal(err)
	}
	atEventually(t, "actor y to die", func() bool {
		_, err := ray.GetActor[atCounter]("y")
		return err != nil
	})
	if _, err := ray.NewActor(atNewCounter, ray.Name("y")); err != nil {
		t.Errorf("reusing the name of an actor whose constructor failed: %v", err)
	}

	// Namespaces scope names: a runtime in another namespace does not see x.
	ray.Shutdown()
	if err := ray.Init(ray.NumCPUs(2), ray.Namespace("other")); err != nil {
		t.Fatal(err)
	}
	if _, err := ray.GetActor[atCounter]("x"); err == nil {
		t.Error("namespace other sees actor x of namespace ns")
	}
	o, err := ray.NewActor(atNewCounter, ray.Name("x"))
	if err != nil {
		t.Fatal(err)
	}
	if ai := atInfo(t, o.ID()); ai.Namespace != "other" {
		t.Errorf("actor namespace = %q, want other", ai.Namespace)
	}
}

// atGate is a sync actor whose Block call holds it busy.
type atGate struct {
	entered chan struct{}
	release chan struct{}
	ran     *atomic.Int32
	n       int
}

func (g *atGate) Block(ctx context.Context) (int, error) {
	g.entered <- struct{}{}
	select {
	case <-g.release:
		return 1, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g *atGate) Note(k int) int {
	g.ran.Add(1)
	g.n += k
	return g.n
}

func atNewGate(t *testing.T, opts ...ray.Option) (*ray.Actor[atGate], *atGate) {
	t.Helper()
	proto := &atGate{entered: make(chan struct{}, 16), release: make(chan struct{}), ran: new(atomic.Int32)}
	a, err := ray.NewActor1(func(p *atGate) *atGate {
		return &atGate{entered: p.entered, release: p.release, ran: p.ran}
	}, proto, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a, proto
}

func TestActorKillNoRestart(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	a, g := atNewGate(t, ray.MaxRestarts(3))
	running := ray.CallCtx(a, (*atGate).Block)
	atRecv(t, g.entered, "Block to start")
	queued := []ray.ObjectRef[int]{ray.Call1(a, (*atGate).Note, 1), ray.Call1(a, (*atGate).Note, 2)}

	if err := ray.Kill(a, true); err != nil {
		t.Fatal(err)
	}
	later := ray.Call1(a, (*atGate).Note, 3)
	for i, ref := range append([]ray.ObjectRef[int]{running, later}, queued...) {
		err := atGetErr(t, ref)
		de := atDied(t, err)
		if !errors.Is(err, ray.ErrActorKilled) {
			t.Errorf("call %d: %v does not wrap ErrActorKilled", i, err)
		}
		if de.ActorID != a.ID() {
			t.Errorf("call %d: ActorDiedError names %s, want %s", i, de.ActorID, a.ID())
		}
	}
	if n := g.ran.Load(); n != 0 {
		t.Errorf("%d queued calls ran on a killed actor", n)
	}
	if a.State() != ray.Dead {
		t.Errorf("State = %v, want DEAD", a.State())
	}
	ai := atInfo(t, a.ID())
	if ai.State != ray.Dead || ai.Restarts != 0 || !strings.Contains(ai.DeathCause, "killed") {
		t.Errorf("ListActors = %+v, want DEAD, 0 restarts, a death cause naming the kill", ai)
	}
	// noRestart wins over MaxRestarts, and Kill is idempotent.
	if err := ray.Kill(a, true); err != nil {
		t.Errorf("second Kill: %v", err)
	}
	if err := ray.Kill(a, false); err != nil {
		t.Errorf("Kill(false) of a dead actor: %v", err)
	}
	if a.State() != ray.Dead {
		t.Errorf("State after Kill(false) of a dead actor = %v, want DEAD", a.State())
	}

	// The context a Ctx constructor gets lives as long as the actor.
	ctxs := make(chan context.Context, 1)
	b, err := ray.NewActorCtx(func(ctx context.Context) (*atCounter, error) {
		ctxs <- ctx
		return &atCounter{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	actorCtx := atRecv(t, ctxs, "constructor")
	atGet(t, ray.Call(b, (*atCounter).Incr))
	if actorCtx.Err() != nil {
		t.Errorf("the actor's context is done while it is alive: %v", actorCtx.Err())
	}
	ray.Kill(b, true)
	atRecv(t, actorCtx.Done(), "the actor's context to be cancelled by Kill")
}

func TestActorKillRestart(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	var ctorRuns atomic.Int32
	a, err := ray.NewActor(func() *atCounter { ctorRuns.Add(1); return &atCounter{} }, ray.MaxRestarts(1))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		atGet(t, ray.Call(a, (*atCounter).Incr))
	}
	if err := ray.Kill(a, false); err != nil {
		t.Fatal(err)
	}
	if got := atGet(t, ray.Call(a, (*atCounter).Value)); got != 0 {
		t.Errorf("after a restart the counter is %d, want 0 (constructor ran again)", got)
	}
	if got := atGet(t, ray.Call(a, (*atCounter).Incr)); got != 1 {
		t.Errorf("Incr after restart = %d, want 1", got)
	}
	if n := ctorRuns.Load(); n != 2 {
		t.Errorf("constructor ran %d times, want 2", n)
	}
	ai := atInfo(t, a.ID())
	if ai.State != ray.Alive || ai.Restarts != 1 {
		t.Errorf("ListActors after restart: %s with %d restarts, want ALIVE with 1", ai.State, ai.Restarts)
	}

	// No restarts left: Kill(false) kills for good.
	if err := ray.Kill(a, false); err != nil {
		t.Fatal(err)
	}
	err = atGetErr(t, ray.Call(a, (*atCounter).Value))
	atDied(t, err)
	if !errors.Is(err, ray.ErrActorKilled) {
		t.Errorf("%v does not wrap ErrActorKilled", err)
	}
	ai = atInfo(t, a.ID())
	if ai.State != ray.Dead || ai.Restarts != 1 {
		t.Errorf("ListActors: %s with %d restarts, want DEAD with 1", ai.State, ai.Restarts)
	}

	// While the constructor runs again the actor is RESTARTING and calls
	// wait for it; MaxRestarts(-1) restarts forever.
	release := make(chan struct{})
	var runs atomic.Int32
	r, err := ray.NewActorCtx(func(ctx context.Context) (*atCounter, error) {
		if runs.Add(1) == 2 {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return &atCounter{}, nil
	}, ray.MaxRestarts(-1))
	if err != nil {
		t.Fatal(err)
	}
	atGet(t, ray.Call(r, (*atCounter).Incr))
	ray.Kill(r, false)
	if st := atState(r.ID()); st != ray.Restarting {
		t.Errorf("during a restart ListActors says %s, want RESTARTING", st)
	}
	waiting := ray.Call(r, (*atCounter).Incr)
	if ready, _, _ := ray.Wait([]ray.ObjectRef[int]{waiting}, 1, 20*time.Millisecond); len(ready) != 0 {
		t.Fatal("a call ran while its actor was restarting")
	}
	close(release)
	if got := atGet(t, waiting); got != 1 {
		t.Errorf("the call made during the restart = %d, want 1", got)
	}
	for i := 0; i < 3; i++ {
		ray.Kill(r, false)
		if got := atGet(t, ray.Call(r, (*atCounter).Incr)); got != 1 {
			t.Errorf("after restart %d Incr = %d, want 1", i+2, got)
		}
	}
	if ai := atInfo(t, r.ID()); ai.State != ray.Alive || ai.Restarts != 4 {
		t.Errorf("ListActors: %s with %d restarts, want ALIVE with 4", ai.State, ai.Restarts)
	}

	// Without MaxRestarts, Kill(false) kills for good too.
	b, err := ray.NewActor(atNewCounter)
	if err != nil {
		t.Fatal(err)
	}
	atGet(t, ray.Call(b, (*atCounter).Incr))
	ray.Kill(b, false)
	atDied(t, atGetErr(t, ray.Call(b, (*atCounter).Incr)))
	if st := atState(b.ID()); st != ray.Dead {
		t.Errorf("ListActors: %s, want DEAD", st)
	}
}

// Kill(noRestart=false) of an actor that has restarts left must not kill
// it for good, even while it is still being built (pending or restarting).
func TestActorKillWhileNotYetAlive(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	release := make(chan struct{})
	var runs atomic.Int32
	a, err := ray.NewActorCtx(func(ctx context.Context) (*atCounter, error) {
		if runs.Add(1) == 2 {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return &atCounter{}, nil
	}, ray.MaxRestarts(-1))
	if err != nil {
		t.Fatal(err)
	}
	atGet(t, ray.Call(a, (*atCounter).Incr))
	ray.Kill(a, false) // restarts; the constructor now waits for release
	ray.Kill(a, false) // while RESTARTING
	ref := ray.Call(a, (*atCounter).Incr)
	close(release)
	if _, err := ref.Get(ray.Timeout(atWait)); err != nil {
		t.Errorf("Kill(noRestart=false) during a restart, with MaxRestarts(-1): %v", err)
	}
	if st := atState(a.ID()); st == ray.Dead {
		t.Errorf("the actor is DEAD after Kill(noRestart=false) with unlimited restarts")
	}

	// The same for an actor still waiting for its resources.
	blocker, err := ray.NewActor(atNewCounter, ray.NumCPUs(4))
	if err != nil {
		t.Fatal(err)
	}
	atGet(t, ray.Call(blocker, (*atCounter).Incr))
	pending, err := ray.NewActor(atNewCounter, ray.NumCPUs(1), ray.MaxRestarts(1))
	if err != nil {
		t.Fatal(err)
	}
	if st := atState(pending.ID()); st != ray.PendingCreation {
		t.Fatalf("actor is %s, want PENDING_CREATION", st)
	}
	ray.Kill(pending, false)
	ray.Kill(blocker, true)
	if _, err := ray.Call(pending, (*atCounter).Incr).Get(ray.Timeout(atWait)); err != nil {
		t.Errorf("Kill(noRestart=false) of a pending actor with MaxRestarts(1): %v", atFirstLine(err))
	}
}

func TestActorConstructorPanics(t *testing.T) {
	atInit(t, ray.NumCPUs(4))

	var runs atomic.Int32
	a, err := ray.NewActor(func() *atCounter {
		runs.Add(1)
		panic("ctor boom")
	}, ray.MaxRestarts(2))
	if err != nil {
		t.Fatal(err)
	}
	err = atGetErr(t, ray.Call(a, (*atCounter).Incr))
	atDied(t, err)
	var te *ray.TaskError
	if !errors.As(err, &te) || te.Panic != "ctor boom" {
		t.Errorf("error %v does not carry the constructor's panic as a *TaskError", err)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("a constructor that always panics ran %d times with MaxRestarts(2), want 3", n)
	}
	ai := atInfo(t, a.ID())
	if ai.State != ray.Dead || ai.Restarts != 2 {
		t.Errorf("ListActors: %s with %d restarts, want DEAD with 2", ai.State, ai.Restarts)
	}
	atDied(t, atGetErr(t, ray.Call(a, (*atCounter).Incr)))

	// A constructor that panics once recovers with MaxRestarts(1).
	var runs2 atomic.Int32
	b, err := ray.NewActor(func() *atCounter {
		if runs2.Add(1) == 1 {
			panic("first time")
		}
		return &atCounter{n: 10}
	}, ray.MaxRestarts(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := atGet(t, ray.Call(b, (*atCounter).Incr)); got != 11 {
		t.Errorf("Incr = %d, want 11", got)
	}
	if ai := atInfo(t, b.ID()); ai.State != ray.Alive || ai.Restarts != 1 {
		t.Errorf("ListActors: %s with %d restarts, want ALIVE with 1", ai.State, ai.Restarts)
	}

	// Without MaxRestarts a panicking constructor runs once.
	var runs3 atomic.Int32
	c, err := ray.NewActor(func() *atCounter { runs3.Add(1); panic("once") })
	if err != nil {
		t.Fatal(err)
	}
	atDied(t, atGetErr(t, ray.Call(c, (*atCounter).Incr)))
	if n := runs3.Load(); n != 1 {
		t.Errorf("constructor ran %d times without MaxRestarts, want 1", n)
	}

	// A constructor that returns an error kills the actor without restarts.
	errCtor := errors.New("cannot construct")
	var runs4 atomic.Int32
	d, err := ray.NewActorCtx(func(context.Context) (*atCounter, error) {
		runs4.Add(1)
		return nil, errCtor
	}, ray.MaxRestarts(3))
	if err != nil {
		t.Fatal(err)
	}
	err = atGetErr(t, ray.Call(d, (*atCounter).Incr))
	atDied(t, err)
	if !errors.Is(err, errCtor) {
		t.Errorf("%v does not wrap the constructor's error", err)
	}
	if n := runs4.Load(); n != 1 {
		t.Errorf("a failing constructor ran %d times, want 1 (errors are not restarted)", n)
	}
	ai = atInfo(t, d.ID())
	if ai.State != ray.Dead || ai.Restarts != 0 || !strings.Contains(ai.DeathCause, "cannot construct") {
		t.Errorf("ListActors = %+v, want DEAD, 0 restarts, the constructor's error as the cause", ai)
	}
}

// atFlaky panics in its first incarnation only.
type atFlaky struct{ gen int32 }

func (f *atFlaky) PanicOnFirst() int32 {
	if f.gen == 1 {
		panic("first incarnation")
	}
	return f.gen
}

func TestActorMethodPanics(t *testing.T) {
	atInit(t, ray.NumCPUs(4))

	t.Run("restart", func(t *testing.T) {
		a, err := ray.NewActor(atNewCounter, ray.MaxRestarts(1))
		if err != nil {
			t.Fatal(err)
		}
		atGet(t, ray.Call(a, (*atCounter).Incr))
		atGet(t, ray.Call(a, (*atCounter).Incr))
		err = atGetErr(t, ray.Call(a, (*atCounter).Panic))
		de := atDied(t, err)
		var te *ray.TaskError
		if !errors.As(de.Cause, &te) || te.Panic != "atCounter boom" || te.Stack == "" {
			t.Errorf("the cause %v is not the method's panic as a *ray.TaskError with a stack", de.Cause)
		}
		if got := atGet(t, ray.Call(a, (*atCounter).Value)); got != 0 {
			t.Errorf("after a restart the counter is %d, want 0", got)
		}
		if ai := atInfo(t, a.ID()); ai.State != ray.Alive || ai.Restarts != 1 {
			t.Errorf("ListActors: %s with %d restarts, want ALIVE with 1", ai.State, ai.Restarts)
		}
	})

	t.Run("retry", func(t *testing.T) {
		var gens atomic.Int32
		a, err := ray.NewActor1(func(n *atomic.Int32) *atFlaky { return &atFlaky{gen: n.Add(1)} }, &gens,
			ray.MaxRestarts(1), ray.MaxTaskRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		ref := ray.Call(a, (*atFlaky).PanicOnFirst)
		if got := atGet(t, ref); got != 2 {
			t.Errorf("retried call returned %d, want 2 (the second incarnation)", got)
		}
		if ai := atInfo(t, a.ID()); ai.State != ray.Alive || ai.Restarts != 1 {
			t.Errorf("ListActors: %s with %d restarts, want ALIVE with 1", ai.State, ai.Restarts)
		}
		found := false
		for _, ti := range ray.ListTasks() {
			if ti.Name == "atFlaky.PanicOnFirst" && ti.ActorID == a.ID() {
				found = true
				if ti.Attempts != 2 || ti.State != ray.Finished || ti.Kind != ray.ActorTask {
					t.Errorf("ListTasks entry %+v, want 2 attempts, FINISHED, ACTOR_TASK", ti)
				}
			}
		}
		if !found {
			t.Error("ListTasks has no atFlaky.PanicOnFirst call")
		}
	})

	t.Run("no restarts", func(t *testing.T) {
		a, err := ray.NewActor(atNewCounter)
		if err != nil {
			t.Fatal(err)
		}
		atGet(t, ray.Call(a, (*atCounter).Incr))
		de := atDied(t, atGetErr(t, ray.Call(a, (*atCounter).Panic)))
		var te *ray.TaskError
		if !errors.As(de, &te) || te.Panic != "atCounter boom" {
			t.Errorf("cause %v is not the panic", de.Cause)
		}
		if a.State() != ray.Dead {
			t.Errorf("State = %v, want DEAD", a.State())
		}
		if ai := atInfo(t, a.ID()); ai.State != ray.Dead || !strings.Contains(ai.DeathCause, "atCounter boom") {
			t.Errorf("ListActors = %+v, want DEAD with the panic as cause", ai)
		}
		atDied(t, atGetErr(t, ray.Call(a, (*atCounter).Value)))
	})

	t.Run("returned error", func(t *testing.T) {
		a, err := ray.NewActor(atNewCounter)
		if err != nil {
			t.Fatal(err)
		}
		atGet(t, ray.Call1Ctx(a, (*atCounter).AddCtx, 5))
		err = atGetErr(t, ray.Call1Ctx(a, (*atCounter).AddCtx, -1))
		if !errors.Is(err, atErrNegative) {
			t.Errorf("%v does not wrap the method's error", err)
		}
		var te *ray.TaskError
		if !errors.As(err, &te) || te.Panic != nil || te.Task != "atCounter.AddCtx" {
			t.Errorf("%v is not a *ray.TaskError for atCounter.AddCtx", err)
		}
		var de *ray.ActorDiedError
		if errors.As(err, &de) {
			t.Errorf("a returned error killed the actor: %v", err)
		}
		if got := atGet(t, ray.Call1Ctx(a, (*atCounter).AddCtx, 1)); got != 6 {
			t.Errorf("after a failed call the counter is %d, want 6 (state kept)", got)
		}
		if ai := atInfo(t, a.ID()); ai.State != ray.Alive || ai.Restarts != 0 {
			t.Errorf("ListActors: %s with %d restarts, want ALIVE with 0", ai.State, ai.Restarts)
		}
	})
}

// atGPU records the runtime context its constructor saw.
type atGPU struct {
	rc  ray.RuntimeContext
	ids []int
}

func atNewGPU(ctx context.Context) (*atGPU, error) {
	rc, ok := ray.GetRuntimeContext(ctx)
	if !ok {
		return nil, errors.New("no runtime context in the constructor")
	}
	return &atGPU{rc: rc, ids: ray.GPUIDs(ctx)}, nil
}

func (g *atGPU) Context() ray.RuntimeContext { return g.rc }
func (g *atGPU) IDs() []int                  { return g.ids }

func atGPUShares(t *testing.T, a *ray.Actor[atGPU]) []ray.GPUShare {
	t.Helper()
	return atGet(t, ray.Call(a, (*atGPU).Context)).GPUs
}

func TestActorFractionalGPUs(t *testing.T) {
	atInit(t, ray.NumCPUs(4), ray.NumGPUs(1))
	big, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(0.6))
	if err != nil {
		t.Fatal(err)
	}
	small, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(0.4))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := atGPUShares(t, big), []ray.GPUShare{{ID: 0, Fraction: 0.6}}; !reflect.DeepEqual(got, want) {
		t.Errorf("0.6 actor holds %v, want %v", got, want)
	}
	if got, want := atGPUShares(t, small), []ray.GPUShare{{ID: 0, Fraction: 0.4}}; !reflect.DeepEqual(got, want) {
		t.Errorf("0.4 actor holds %v, want %v", got, want)
	}
	if ids := atGet(t, ray.Call(big, (*atGPU).IDs)); !reflect.DeepEqual(ids, []int{0}) {
		t.Errorf("GPUIDs in the 0.6 actor = %v, want [0]", ids)
	}
	if rc := atGet(t, ray.Call(small, (*atGPU).Context)); rc.Resources["GPU"] != 0.4 || rc.ActorID != small.ID() {
		t.Errorf("runtime context %+v, want GPU 0.4 and ActorID %s", rc, small.ID())
	}
	for _, a := range []*ray.Actor[atGPU]{big, small} {
		if ai := atInfo(t, a.ID()); ai.State != ray.Alive || len(ai.GPUs) != 1 || ai.GPUs[0].ID != 0 {
			t.Errorf("ListActors %+v, want ALIVE on device 0", ai)
		}
	}
	if free := ray.GPUFree(); !reflect.DeepEqual(free, []float64{0}) {
		t.Errorf("GPUFree = %v, want [0]", free)
	}

	// A third 0.6 actor waits for room.
	third, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(0.6))
	if err != nil {
		t.Fatal(err)
	}
	early := ray.Call(third, (*atGPU).IDs)
	if st := atState(third.ID()); st != ray.PendingCreation {
		t.Fatalf("third 0.6 actor on one GPU is %s, want PENDING_CREATION", st)
	}
	if third.State() != ray.PendingCreation {
		t.Errorf("State() = %s, want PENDING_CREATION", third.State())
	}
	if ready, _, _ := ray.Wait([]ray.ObjectRef[[]int]{early}, 1, 20*time.Millisecond); len(ready) != 0 {
		t.Fatal("a call on a pending actor finished")
	}
	if st := atState(third.ID()); st != ray.PendingCreation {
		t.Fatalf("third 0.6 actor is %s, want still PENDING_CREATION", st)
	}
	if err := ray.Kill(big, true); err != nil {
		t.Fatal(err)
	}
	atEventually(t, "the third actor to become ALIVE", func() bool { return atState(third.ID()) == ray.Alive })
	if ids := atGet(t, early); !reflect.DeepEqual(ids, []int{0}) {
		t.Errorf("the queued call saw GPUIDs %v, want [0]", ids)
	}
	if got, want := atGPUShares(t, third), []ray.GPUShare{{ID: 0, Fraction: 0.6}}; !reflect.DeepEqual(got, want) {
		t.Errorf("third actor holds %v, want %v", got, want)
	}

	// Killing a pending actor returns nothing it did not hold.
	fourth, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(0.6))
	if err != nil {
		t.Fatal(err)
	}
	pending := ray.Call(fourth, (*atGPU).IDs)
	ray.Kill(fourth, true)
	atDied(t, atGetErr(t, pending))
	if free := ray.GPUFree(); !reflect.DeepEqual(free, []float64{0}) {
		t.Errorf("GPUFree after killing a pending actor = %v, want [0]", free)
	}
	ray.Kill(third, true)
	ray.Kill(small, true)
	atEventually(t, "every GPU share to come back", func() bool { return reflect.DeepEqual(ray.GPUFree(), []float64{1}) })
}

func TestActorGPUsOnTwoDevices(t *testing.T) {
	atInit(t, ray.NumCPUs(4), ray.NumGPUs(2))
	a, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(0.6))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(0.6))
	if err != nil {
		t.Fatal(err)
	}
	ga, gb := atGPUShares(t, a), atGPUShares(t, b)
	if len(ga) != 1 || len(gb) != 1 || ga[0].Fraction != 0.6 || gb[0].Fraction != 0.6 {
		t.Fatalf("shares %v and %v, want one 0.6 share each", ga, gb)
	}
	if ga[0].ID == gb[0].ID {
		t.Errorf("two 0.6 actors share device %d", ga[0].ID)
	}
	whole, err := ray.NewActorCtx(atNewGPU, ray.NumGPUs(1))
	if err != nil {
		t.Fatal(err)
	}
	if st := atState(whole.ID()); st != ray.PendingCreation {
		t.Errorf("a whole-GPU actor with no free device is %s, want PENDING_CREATION", st)
	}
	ray.Kill(a, true)
	if got := atGPUShares(t, whole); len(got) != 1 || got[0].ID != ga[0].ID || got[0].Fraction != 1 {
		t.Errorf("whole-GPU actor holds %v, want all of device %d", got, ga[0].ID)
	}
}

func TestActorBadOptionsAndNils(t *testing.T) {
	atInit(t, ray.NumCPUs(2), ray.NumGPUs(0))
	before := len(ray.ListActors())

	_, err := ray.NewActor(atNewCounter, ray.NumGPUs(1))
	if err == nil {
		t.Fatal("an actor needing a GPU on a GPU-less runtime: no error")
	}
	var ie *ray.InfeasibleError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "GPU: 1") {
		t.Errorf("infeasible actor error %q (%T), want a *ray.InfeasibleError naming GPU: 1", err, err)
	}
	if _, err := ray.NewActor(atNewCounter, ray.Resources{"TPU": 1}); err == nil {
		t.Error("an actor needing a custom resource the node lacks: no error")
	}
	// A failed named actor leaves its name free.
	if _, err := ray.NewActor(atNewCounter, ray.Name("inf"), ray.NumGPUs(1)); err == nil {
		t.Error("infeasible named actor: no error")
	}
	if _, err := ray.NewActor(atNewCounter, ray.Name("inf")); err != nil {
		t.Errorf("the name of an infeasible actor stays taken: %v", err)
	}

	bad := []struct {
		opt  ray.Option
		want string
	}{
		{ray.MaxConcurrency(0), "MaxConcurrency"},
		{ray.MaxConcurrency(-3), "MaxConcurrency"},
		{ray.NumGPUs(1.5), "1.5"},
		{ray.NumGPUs(-1), "NumGPUs"},
		{ray.NumCPUs(-1), "NumCPUs"},
		{ray.MaxRetries(1), "MaxRetries"},
		{ray.RetryExceptions(), "RetryExceptions"},
		{ray.Namespace("n"), "Namespace"},
		{ray.MaxRestarts(-2), "MaxRestarts"},
		{ray.MaxTaskRetries(-2), "MaxTaskRetries"},
	}
	for _, b := range bad {
		a, err := ray.NewActor(atNewCounter, b.opt)
		if err == nil {
			t.Errorf("option %s: no error (actor %v)", b.want, a)
			continue
		}
		if !strings.Contains(err.Error(), b.want) {
			t.Errorf("option error %q does not mention %s", err, b.want)
		}
		if a != nil {
			t.Errorf("option %s: a non-nil actor with the error", b.want)
		}
	}

	if _, err := ray.NewActor[atCounter](nil); err == nil {
		t.Error("NewActor(nil): no error")
	}
	if _, err := ray.NewActorCtx[atCounter](nil); err == nil {
		t.Error("NewActorCtx(nil): no error")
	}
	if _, err := ray.NewActor1[atCounter, int](nil, 1); err == nil {
		t.Error("NewActor1(nil): no error")
	}
	if _, err := ray.NewActor1Ctx[atCounter, int](nil, 1); err == nil {
		t.Error("NewActor1Ctx(nil): no error")
	}

	a, err := ray.NewActor(atNewCounter)
	if err != nil {
		t.Fatal(err)
	}
	atGetErr(t, ray.Call[atCounter, int](a, nil))
	atGetErr(t, ray.Call1[atCounter, int, int](a, nil, 1))
	atGetErr(t, ray.CallCtx[atCounter, int](a, nil))
	atGetErr(t, ray.Call1Args[atCounter, int, int](a, nil, ray.Value(1)))
	if got := atGet(t, ray.Call(a, (*atCounter).Incr)); got != 1 {
		t.Errorf("after nil-method calls Incr = %d, want 1", got)
	}

	var nilActor *ray.Actor[atCounter]
	atGetErr(t, ray.Call(nilActor, (*atCounter).Incr))
	atGetErr(t, ray.Call1(nilActor, (*atCounter).Add, 1))
	atGetErr(t, ray.Call1Args(nilActor, (*atCounter).Add, ray.Value(1)))
	atGetErr(t, ray.CallCtx(&ray.Actor[atCounter]{}, (*atCounter).Context))
	if err := ray.Kill(nilActor, true); err == nil {
		t.Error("Kill(nil): no error")
	}
	if err := ray.Kill(&ray.Actor[atCounter]{}, true); err == nil {
		t.Error("Kill of a zero Actor: no error")
	}

	// Infeasible and invalid actors are not listed as live.
	for _, ai := range ray.ListActors()[before:] {
		if ai.State == ray.Alive && ai.ID != a.ID() && ai.Name != "inf" {
			t.Errorf("unexpected live actor %+v", ai)
		}
	}
}

func TestActorCancelCall(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	a, g := atNewGate(t)
	block := ray.CallCtx(a, (*atGate).Block)
	atRecv(t, g.entered, "Block to start")
	queued := ray.Call1(a, (*atGate).Note, 5)
	kept := ray.Call1(a, (*atGate).Note, 1)
	forced := ray.Call1(a, (*atGate).Note, 100)

	if err := ray.Cancel(forced, true, false); err == nil {
		t.Error("Cancel(force=true) of an actor call: no error")
	}
	if err := ray.Cancel(queued, false, false); err != nil {
		t.Fatal(err)
	}
	err := atGetErr(t, queued)
	var ce *ray.TaskCancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("cancelled call: %v (%T), want *ray.TaskCancelledError", err, err)
	}
	if ce.Task != "atGate.Note" {
		t.Errorf("TaskCancelledError.Task = %q, want atGate.Note", ce.Task)
	}
	g.release <- struct{}{}
	if got := atGet(t, block); got != 1 {
		t.Errorf("Block = %d, want 1", got)
	}
	if got := atGet(t, kept); got != 1 {
		t.Errorf("the call after the cancelled one = %d, want 1 (the cancelled Note(5) must not run)", got)
	}
	if got := atGet(t, forced); got != 101 {
		t.Errorf("the call whose forced cancel was refused = %d, want 101", got)
	}
	if n := g.ran.Load(); n != 2 {
		t.Errorf("Note ran %d times, want 2", n)
	}
	// Cancelling a finished call does nothing.
	if err := ray.Cancel(kept, false, false); err != nil {
		t.Errorf("Cancel of a finished call: %v", err)
	}
	if got := atGet(t, kept); got != 1 {
		t.Errorf("after Cancel of a finished call its value is %d, want 1", got)
	}

	// Cancelling the running call cancels its context; the actor lives.
	running := ray.CallCtx(a, (*atGate).Block)
	atRecv(t, g.entered, "second Block to start")
	if err := ray.Cancel(running, false, false); err != nil {
		t.Fatal(err)
	}
	if err := atGetErr(t, running); !errors.As(err, &ce) {
		t.Errorf("cancelled running call: %v, want *ray.TaskCancelledError", err)
	}
	if got := atGet(t, ray.Call1(a, (*atGate).Note, 0)); got != 101 {
		t.Errorf("after cancelling a running call Note(0) = %d, want 101", got)
	}
	if a.State() != ray.Alive {
		t.Errorf("State = %v, want ALIVE", a.State())
	}
}

// The outcome of a call that is running when its actor is killed, or when
// it is cancelled, must not depend on a race with the method returning on
// its cancelled context. Each scenario is repeated to make a race visible.
func TestActorRunningCallOutcomeIsDeterministic(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	const rounds = 100

	wrongKill := 0
	var example error
	for i := 0; i < 3*rounds; i++ {
		a, g := atNewGate(t)
		ref := ray.CallCtx(a, (*atGate).Block)
		atRecv(t, g.entered, "Block to start")
		ray.Kill(a, true)
		_, err := ref.Get(ray.Timeout(atWait))
		var de *ray.ActorDiedError
		if !errors.As(err, &de) || !errors.Is(err, ray.ErrActorKilled) {
			wrongKill++
			example = err
		}
	}
	if wrongKill > 0 {
		t.Errorf("Kill: %d of %d running calls did not fail with *ActorDiedError (e.g. %v)", wrongKill, 3*rounds, example)
	}

	wrongCancel := 0
	a, g := atNewGate(t)
	for i := 0; i < rounds; i++ {
		ref := ray.CallCtx(a, (*atGate).Block)
		atRecv(t, g.entered, "Block to start")
		if err := ray.Cancel(ref, false, false); err != nil {
			t.Fatal(err)
		}
		_, err := ref.Get(ray.Timeout(atWait))
		var ce *ray.TaskCancelledError
		if !errors.As(err, &ce) {
			wrongCancel++
			example = err
		}
	}
	if wrongCancel > 0 {
		t.Errorf("Cancel: %d of %d running calls did not fail with *TaskCancelledError (e.g. %v)", wrongCancel, rounds, example)
	}
}

// Shutdown must not start queued calls while it fails the running ones.
func TestActorShutdownRunsNoQueuedCall(t *testing.T) {
	const rounds = 60
	ran := 0
	for i := 0; i < rounds; i++ {
		atInit(t, ray.NumCPUs(2))
		a, g := atNewGate(t)
		ray.CallCtx(a, (*atGate).Block)
		atRecv(t, g.entered, "Block to start")
		queued := ray.Call1(a, (*atGate).Note, 1)
		if err := ray.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if _, err := queued.Get(ray.Timeout(atWait)); err == nil {
			t.Error("a queued call succeeded across Shutdown")
		}
		ran += int(g.ran.Load())
	}
	if ran > 0 {
		t.Errorf("%d queued calls of %d ran during Shutdown", ran, rounds)
	}
}

func TestActorShutdown(t *testing.T) {
	// Warm up once so that lazily started runtime goroutines are in the
	// baseline.
	ray.Shutdown()
	warm, err := ray.NewActor(atNewCounter) // starts the runtime automatically
	if err != nil {
		t.Fatal(err)
	}
	if !ray.IsInitialized() {
		t.Fatal("NewActor did not start the runtime")
	}
	atGet(t, ray.Call(warm, (*atCounter).Incr))
	ray.Shutdown()
	runtime.GC()
	base := runtime.NumGoroutine()

	if err := ray.Init(ray.NumCPUs(4)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ray.Shutdown() })
	a, g := atNewGate(t)
	block := ray.CallCtx(a, (*atGate).Block)
	atRecv(t, g.entered, "Block to start")
	queued := ray.Call1(a, (*atGate).Note, 1)
	p := &atPool{arrived: make(chan struct{}, 8), release: make(chan struct{})}
	threaded, err := ray.NewActor1(func(p *atPool) *atPool { return p }, p, ray.MaxConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	var inPool []ray.ObjectRef[int]
	for i := 0; i < 3; i++ {
		inPool = append(inPool, ray.CallCtx(threaded, (*atPool).Enter))
	}
	for i := 0; i < 3; i++ {
		atRecv(t, p.arrived, "threaded calls to start")
	}
	idle, err := ray.NewActor(atNewCounter, ray.Name("idle"))
	if err != nil {
		t.Fatal(err)
	}
	atGet(t, ray.Call(idle, (*atCounter).Incr))
	pending, err := ray.NewActor(atNewCounter, ray.NumCPUs(100))
	if err == nil {
		t.Fatalf("infeasible actor %v created", pending)
	}

	start := time.Now()
	if err := ray.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Shutdown took %v with context-aware calls running", d)
	}
	if ray.IsInitialized() {
		t.Error("IsInitialized after Shutdown")
	}
	for i, ref := range append([]ray.ObjectRef[int]{block, queued}, inPool...) {
		_, err := ref.Get(ray.Timeout(atWait))
		var de *ray.ActorDiedError
		if err == nil || !(errors.As(err, &de) || errors.Is(err, ray.ErrNotInitialized)) {
			t.Errorf("call %d after Shutdown: %v, want *ActorDiedError or ErrNotInitialized", i, err)
		}
	}
	if a.State() != ray.Dead || threaded.State() != ray.Dead || idle.State() != ray.Dead {
		t.Errorf("states after Shutdown: %s %s %s, want DEAD", a.State(), threaded.State(), idle.State())
	}
	if g.ran.Load() != 0 {
		t.Error("a queued call ran during Shutdown")
	}
	// The old handles fail, whatever the runtime now is.
	if _, err := ray.Call(idle, (*atCounter).Incr).Get(ray.Timeout(atWait)); err == nil {
		t.Error("a call on an actor of a shut-down runtime succeeded")
	}
	ray.Shutdown()

	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= base+2 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Shutdown, baseline %d:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestActorConcurrentCallersRace(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	a, err := ray.NewActor(atNewCounter)
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 8, 50
	results := make(chan int, callers*each)
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs := make([]ray.ObjectRef[int], each)
			for i := range refs {
				refs[i] = ray.Call1(a, (*atCounter).Add, 1)
			}
			prev := 0
			for _, r := range refs {
				v, err := r.Get(ray.Timeout(atWait))
				if err != nil {
					t.Error(err)
					return
				}
				if v <= prev {
					t.Errorf("one caller's calls ran out of order: %d after %d", v, prev)
				}
				prev = v
				results <- v
			}
			_ = ray.ListActors()
			_ = a.State()
		}()
	}
	wg.Wait()
	close(results)
	seen := make(map[int]bool)
	for v := range results {
		if seen[v] {
			t.Errorf("two calls both returned %d: they overlapped", v)
		}
		seen[v] = true
	}
	if got := atGet(t, ray.Call(a, (*atCounter).Value)); got != callers*each {
		t.Errorf("final count %d, want %d", got, callers*each)
	}
	if ai := atInfo(t, a.ID()); ai.Calls != callers*each+1 {
		t.Errorf("ListActors Calls = %d, want %d", ai.Calls, callers*each+1)
	}
}
