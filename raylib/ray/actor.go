package ray

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"

	"github.com/goray-dev/goray/internal/objstore"
	"github.com/goray-dev/goray/internal/resources"
	"github.com/goray-dev/goray/internal/scheduler"
)

// ActorState is where an actor is in its life, with Ray's names.
type ActorState string

// Actor states.
const (
	PendingCreation ActorState = "PENDING_CREATION"
	Alive           ActorState = "ALIVE"
	Restarting      ActorState = "RESTARTING"
	Dead            ActorState = "DEAD"
)

// Actor is a handle to a stateful worker holding a *T. Method calls (Call,
// Call1, ...) return refs at once; a sync actor runs them one at a time in
// submission order, a threaded one (MaxConcurrency > 1) up to that many at
// once.
type Actor[T any] struct {
	core *actorCore
}

// ID returns the actor's identifier.
func (a *Actor[T]) ID() string { return a.core.ID() }

// Name returns the actor's name, or "" if it has none.
func (a *Actor[T]) Name() string { return a.core.name }

// State returns the actor's current state.
func (a *Actor[T]) State() ActorState {
	a.core.mu.Lock()
	defer a.core.mu.Unlock()
	return a.core.state
}

// String formats the handle as Ray does: Actor(Counter, <id>).
func (a *Actor[T]) String() string { return fmt.Sprintf("Actor(%s, %s)", a.core.class, a.ID()) }

// actorCore is the untyped actor behind every Actor[T] handle.
type actorCore struct {
	rt             *runtimeState
	id             uint64
	class          string
	typ            reflect.Type
	name           string
	namespace      string
	request        resources.Set
	maxConcurrency int
	maxRestarts    int
	maxTaskRetries int
	ctor           invokeFunc // returns the instance as its only result
	item           scheduler.Item
	ctx            context.Context
	cancel         context.CancelFunc
	created        time.Time

	mu       sync.Mutex
	state    ActorState
	instance any
	gen      int // which incarnation the instance is
	queue    []*taskRecord
	qhead    int
	drainers int
	running  map[*taskRecord]struct{}
	// inflight counts running calls per incarnation, and retired holds
	// dropped instances that implement io.Closer until their last call
	// returns: see retireLocked.
	inflight map[int]int
	retired  map[int]io.Closer
	restarts int
	cause    error
	grant    resources.Grant
	granted  bool
	calls    int
	lane     int
}

func (a *actorCore) ID() string { return formatID(a.rt.jobID, a.id) }

func (a *actorCore) displayName() string {
	if a.name != "" {
		return a.class + " " + a.name
	}
	return a.class
}

// newActor validates the options, registers the actor and asks the
// scheduler for its resources; the constructor runs once they are granted.
func newActor[T any](ctor invokeFunc, opts []Option) (*Actor[T], error) {
	c := newConfig(scopeActor)
	if err := c.applyAll(opts); err != nil {
		return nil, fmt.Errorf("ray.NewActor: %w", err)
	}
	r, err := rt()
	if err != nil {
		return nil, err
	}
	req, err := requestFromConfig(c, 0)
	if err != nil {
		return nil, fmt.Errorf("ray.NewActor: %w", err)
	}
	typ := reflect.TypeFor[T]()
	a := &actorCore{rt: r, id: r.nextActor.Add(1), class: typ.Name(), typ: typ, name: c.name,
		namespace: r.namespace, request: req, maxConcurrency: c.maxConcurrency,
		maxRestarts: c.maxRestarts, maxTaskRetries: c.maxTaskRetries, ctor: ctor,
		state: PendingCreation, running: make(map[*taskRecord]struct{}), inflight: make(map[int]int), retired: make(map[int]io.Closer),
		created: time.Now(), lane: -1}
	if a.class == "" {
		a.class = typ.String()
	}
	a.ctx, a.cancel = context.WithCancel(r.ctx)

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrNotInitialized
	}
	if a.name != "" {
		key := a.namespace + "/" + a.name
		if old, ok := r.named[key]; ok {
			r.mu.Unlock()
			if c.getIfExists {
				if old.typ != typ {
					return nil, fmt.Errorf("ray.NewActor: actor %q exists with type %v, not %v", a.name, old.typ, typ)
				}
				return &Actor[T]{core: old}, nil
			}
			return nil, fmt.Errorf("ray.NewActor: an actor named %q already exists in namespace %q (pass ray.GetIfExists() to reuse it)", a.name, a.namespace)
		}
		r.named[key] = a
	}
	r.actors[a.id] = a
	r.mu.Unlock()

	a.item = scheduler.Item{Request: req, Start: a.start}
	if err := r.sched.Submit(&a.item); err != nil {
		a.die(err)
		if errors.Is(err, scheduler.ErrClosed) {
			err = ErrNotInitialized
		}
		return nil, fmt.Errorf("ray.NewActor %s: %w", a.class, err)
	}
	return &Actor[T]{core: a}, nil
}

func (a *actorCore) start(g resources.Grant) {
	a.mu.Lock()
	if a.state == Dead {
		a.mu.Unlock()
		a.rt.sched.Release(g)
		return
	}
	a.grant, a.granted = g, true
	a.mu.Unlock()
	a.rt.wg.Add(1)
	go a.construct()
}

// construct runs the constructor, restarting it after a panic while
// restarts remain; a returned error kills the actor.
func (a *actorCore) construct() {
	defer a.rt.wg.Done()
	for {
		ctx := context.WithValue(a.ctx, execKey{}, &execInfo{rt: a.rt, actor: a, grant: a.grant})
		res, panicked, err := callCatching(ctx, a.ctor, nil)
		if err == nil {
			a.mu.Lock()
			if a.state == Dead {
				a.mu.Unlock()
				closeInstance(res[0])
				return
			}
			a.instance = res[0]
			a.gen++
			a.state = Alive
			n := a.wantDrainersLocked()
			a.mu.Unlock()
			a.startDrainers(n)
			return
		}
		if panicked { // a returned error may wrap another task's panic
			te := err.(*TaskError)
			te.Task = a.class + " constructor"
			te.TaskID = a.ID()
		}
		a.mu.Lock()
		if a.state == Dead {
			a.mu.Unlock()
			return
		}
		if panicked && a.canRestartLocked() {
			a.restarts++
			a.state = Restarting
			a.mu.Unlock()
			continue
		}
		a.mu.Unlock()
		a.die(fmt.Errorf("constructor: %w", err))
		return
	}
}

func (a *actorCore) canRestartLocked() bool {
	return a.maxRestarts == -1 || a.restarts < a.maxRestarts
}

func (a *actorCore) wantDrainersLocked() int {
	waiting := len(a.queue) - a.qhead
	n := a.maxConcurrency - a.drainers
	if n > waiting {
		n = waiting
	}
	if n < 0 {
		n = 0
	}
	a.drainers += n
	return n
}

func (a *actorCore) startDrainers(n int) {
	for i := 0; i < n; i++ {
		a.rt.wg.Add(1)
		go a.drain()
	}
}

// submitCall queues one method call.
func (a *actorCore) submitCall(def *taskDef, args []argSlot, callSite uintptr) ObjectRef[any] {
	r := a.rt
	t := &taskRecord{rt: r, id: r.nextTask.Add(1), name: def.name, kind: ActorTask, def: def,
		actor: a, args: args, state: PendingArgsAvail, submitted: time.Now(), lane: -1}
	id, err := r.store.Create(objstore.FromTask, callSite)
	if err != nil {
		return ObjectRef[any]{h: failedHandle(ErrNotInitialized)}
	}
	t.returns = []objstore.ID{id}
	h := newHandle(r, id, t)
	for _, s := range args { // claimed first: finishing drops the claims
		if s.ref != nil {
			s.ref.rt.store.AddUse(s.ref.id)
		}
	}
	if def.err != nil {
		t.finish(nil, def.err)
		return ObjectRef[any]{h: h}
	}
	if !r.track(t) {
		t.finish(nil, ErrNotInitialized)
		return ObjectRef[any]{h: h}
	}
	a.mu.Lock()
	if a.state == Dead {
		err := a.diedLocked()
		a.mu.Unlock()
		t.finish(nil, err)
		return ObjectRef[any]{h: h}
	}
	a.calls++
	a.queue = append(a.queue, t)
	n := 0
	if a.state == Alive {
		n = a.wantDrainersLocked()
	}
	a.mu.Unlock()
	a.startDrainers(n)
	return ObjectRef[any]{h: h}
}

func (a *actorCore) diedLocked() error {
	return &ActorDiedError{Actor: a.displayName(), ActorID: a.ID(), Cause: a.cause}
}

// drain runs queued calls until the queue is empty or the actor is not
// alive; drainers exist only while there is work, so an idle actor holds
// no goroutine.
func (a *actorCore) drain() {
	defer a.rt.wg.Done()
	for {
		a.mu.Lock()
		if a.state != Alive || a.qhead == len(a.queue) {
			a.drainers--
			a.mu.Unlock()
			return
		}
		t := a.queue[a.qhead]
		a.queue[a.qhead] = nil
		a.qhead++
		if a.qhead == len(a.queue) {
			a.queue, a.qhead = a.queue[:0], 0
		}
		inst, gen := a.instance, a.gen
		a.running[t] = struct{}{}
		a.inflight[gen]++
		a.mu.Unlock()
		a.runCall(t, inst, gen)
	}
}

func (a *actorCore) runCall(t *taskRecord, inst any, gen int) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		a.callDone(t, gen)
		t.dropArgs()
		a.rt.untrack(t)
		return
	}
	t.state = Running
	t.started = time.Now()
	t.attempts++
	ctx := a.ctx
	if !t.def.plain {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(a.ctx)
		t.cancel = func() { cancel(nil) }
		defer cancel(errTaskReturned) // calls it submitted outlive it
		ctx = context.WithValue(ctx, execKey{}, &execInfo{rt: a.rt, task: t, actor: a, grant: a.grant})
	}
	t.mu.Unlock()
	args, err := t.resolvedArgs(ctx)
	var results []any
	panicked := false
	if err == nil {
		results, panicked, err = callCatching(ctx, func(ctx context.Context, args []any) ([]any, error) {
			return t.def.method(ctx, inst, args)
		}, args)
	}
	// Only the method's own panic crashes the actor: a failed ref argument
	// or a returned error that wraps another task's panic fails this call.
	if panicked {
		te := err.(*TaskError)
		te.Task, te.TaskID, te.Attempts = t.name, t.ID(), t.attempts
		a.crashed(gen, te, t)
		return
	}
	a.callDone(t, gen)
	if err != nil {
		err = t.wrapError(err, t.attempts)
	}
	t.finish(results, err)
}

func (a *actorCore) callDone(t *taskRecord, gen int) {
	a.mu.Lock()
	delete(a.running, t)
	c := a.endCallLocked(gen)
	a.mu.Unlock()
	closeInstance(c)
}

// endCallLocked records that a call on incarnation gen returned and
// returns that incarnation's instance if it was retired and this was its
// last call: the caller closes it after unlocking.
func (a *actorCore) endCallLocked(gen int) io.Closer {
	a.inflight[gen]--
	if a.inflight[gen] > 0 {
		return nil
	}
	delete(a.inflight, gen)
	c := a.retired[gen]
	delete(a.retired, gen)
	return c
}

// retireLocked drops the current instance. An instance that implements
// io.Closer (a model holding device memory, a file, a connection) is
// closed once no call runs on it any more, as a Ray actor's resources go
// with its process; the instance to close now, if any, is returned for the
// caller to close after unlocking.
func (a *actorCore) retireLocked() io.Closer {
	inst := a.instance
	a.instance = nil
	c, ok := inst.(io.Closer)
	if !ok {
		return nil
	}
	if a.inflight[a.gen] == 0 {
		return c
	}
	a.retired[a.gen] = c
	return nil
}

// closeInstance closes a retired actor instance; a panic in Close must not
// take the runtime down, and its error has no caller to go to.
func closeInstance(inst any) {
	c, ok := inst.(io.Closer)
	if !ok || c == nil {
		return
	}
	defer func() { _ = recover() }()
	_ = c.Close()
}

// crashed handles a panic in a method: the actor restarts if it may, and
// the call is retried on the new incarnation if MaxTaskRetries allows;
// otherwise the call fails with *ActorDiedError.
func (a *actorCore) crashed(gen int, cause *TaskError, t *taskRecord) {
	a.mu.Lock()
	delete(a.running, t)
	retry := a.maxTaskRetries == -1 || t.attempts <= a.maxTaskRetries
	toClose := []io.Closer{a.endCallLocked(gen)}
	defer func() {
		for _, c := range toClose {
			closeInstance(c)
		}
	}()
	if a.gen == gen && a.state == Alive {
		if a.canRestartLocked() {
			a.restarts++
			a.state = Restarting
			toClose = append(toClose, a.retireLocked())
			a.mu.Unlock()
			a.rt.wg.Add(1)
			go a.construct()
			a.mu.Lock()
		} else {
			a.mu.Unlock()
			a.die(cause)
			a.mu.Lock()
		}
	}
	if retry && a.state != Dead {
		// Put the call back at the head so that order is kept.
		a.queue = append(a.queue, nil)
		copy(a.queue[a.qhead+1:], a.queue[a.qhead:])
		a.queue[a.qhead] = t
		t.mu.Lock()
		t.state = PendingArgsAvail
		t.mu.Unlock()
		n := 0
		if a.state == Alive {
			n = a.wantDrainersLocked()
		}
		a.mu.Unlock()
		a.startDrainers(n)
		return
	}
	err := &ActorDiedError{Actor: a.displayName(), ActorID: a.ID(), Cause: cause}
	a.mu.Unlock()
	t.finish(nil, err)
}

// die marks the actor dead: queued and running calls fail with
// *ActorDiedError, its context is cancelled, its resources returned and
// its name freed.
func (a *actorCore) die(cause error) {
	a.mu.Lock()
	if a.state == Dead {
		a.mu.Unlock()
		return
	}
	a.state = Dead
	a.cause = cause
	retired := a.retireLocked()
	queued := append([]*taskRecord(nil), a.queue[a.qhead:]...)
	a.queue, a.qhead = nil, 0
	running := make([]*taskRecord, 0, len(a.running))
	for t := range a.running {
		running = append(running, t)
	}
	granted := a.granted
	a.granted = false
	g := a.grant
	err := a.diedLocked()
	a.mu.Unlock()
	defer closeInstance(retired)

	a.rt.sched.Cancel(&a.item)
	if granted {
		a.rt.sched.Release(g)
	}
	for _, t := range queued {
		t.finish(nil, err)
	}
	for _, t := range running {
		t.mu.Lock()
		if !t.done {
			t.done = true
			t.state = FailedState
			t.err = err
			t.ended = time.Now()
			t.mu.Unlock()
			for _, id := range t.returns {
				a.rt.store.Fail(id, err)
			}
			continue
		}
		t.mu.Unlock()
	}
	// Cancel only now: a running call that returns on its context must
	// find its results already failed with *ActorDiedError.
	a.cancel()
	r := a.rt
	r.mu.Lock()
	if a.name != "" && r.named[a.namespace+"/"+a.name] == a {
		delete(r.named, a.namespace+"/"+a.name)
	}
	r.mu.Unlock()
}

// kill implements Kill.
func (a *actorCore) kill(cause error, noRestart bool) {
	a.mu.Lock()
	if a.state == Dead {
		a.mu.Unlock()
		return
	}
	if !noRestart && a.canRestartLocked() {
		if a.state != Alive {
			// Still being built (PENDING_CREATION or RESTARTING): the
			// instance it is about to get is a fresh one already.
			a.mu.Unlock()
			return
		}
		a.restarts++
		a.state = Restarting
		retired := a.retireLocked()
		a.gen++
		a.mu.Unlock()
		closeInstance(retired)
		a.rt.wg.Add(1)
		go a.construct()
		return
	}
	a.mu.Unlock()
	a.die(cause)
}

// Kill stops an actor, as ray.kill does. With noRestart (Ray's default) it
// dies for good: queued and running calls fail with *ActorDiedError and
// later calls fail at once. Without it, an actor with restarts left starts
// again from its constructor.
func Kill[T any](a *Actor[T], noRestart bool) error {
	if a == nil || a.core == nil {
		return errors.New("ray.Kill: nil actor")
	}
	a.core.kill(ErrActorKilled, noRestart)
	return nil
}

// GetActor returns the live actor named name in the current namespace, as
// ray.get_actor does. T must be the actor's type.
func GetActor[T any](name string) (*Actor[T], error) {
	r, err := rt()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	a, ok := r.named[r.namespace+"/"+name]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("ray.GetActor: no live actor named %q in namespace %q", name, r.namespace)
	}
	if want := reflect.TypeFor[T](); a.typ != want {
		return nil, fmt.Errorf("ray.GetActor: actor %q holds a %v, not a %v", name, a.typ, want)
	}
	return &Actor[T]{core: a}, nil
}

// callDefKey identifies the definition every call of one method shares.
type callDefKey struct {
	class, name string
	result      reflect.Type
	plain       bool
}

var callDefs sync.Map // callDefKey -> *taskDef, a template copied per call

// callOn submits a typed method call and returns its typed ref. The call's
// definition is copied from a template cached per method, so that a call
// builds no name, codec or type slices; a plain method (no context
// parameter) runs without a context of its own.
func callOn[T, R any](a *Actor[T], name string, m methodFunc, args []argSlot, plain bool) ObjectRef[R] {
	pc := callerPC(3)
	if a == nil || a.core == nil {
		return ObjectRef[R]{h: failedHandle(errors.New("ray.Call: nil actor"))}
	}
	k := callDefKey{a.core.class, name, reflect.TypeFor[R](), plain}
	tmpl, ok := callDefs.Load(k)
	if !ok {
		tmpl, _ = callDefs.LoadOrStore(k, &taskDef{name: a.core.class + "." + name, numReturns: 1, plain: plain,
			codecs: []objstore.Codec{codecFor[R]()}, types: []string{typeName[R]()}})
	}
	def := *tmpl.(*taskDef)
	def.method = m
	return ObjectRef[R]{h: a.core.submitCall(&def, args, pc).h}
}
