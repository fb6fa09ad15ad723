package ray

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goray-dev/goray/internal/objstore"
	"github.com/goray-dev/goray/internal/resources"
	"github.com/goray-dev/goray/internal/scheduler"
)

// TaskState is where a task is in its life, with Ray's names.
type TaskState string

// Task states.
const (
	PendingArgsAvail      TaskState = "PENDING_ARGS_AVAIL"
	PendingNodeAssignment TaskState = "PENDING_NODE_ASSIGNMENT"
	Running               TaskState = "RUNNING"
	Finished              TaskState = "FINISHED"
	FailedState           TaskState = "FAILED"
)

// TaskKind tells ordinary tasks from actor work.
type TaskKind string

// Task kinds.
const (
	NormalTask        TaskKind = "NORMAL_TASK"
	ActorCreationTask TaskKind = "ACTOR_CREATION_TASK"
	ActorTask         TaskKind = "ACTOR_TASK"
)

// invokeFunc is a remote function with its arguments resolved: every typed
// wrapper lowers to it.
type invokeFunc func(ctx context.Context, args []any) ([]any, error)

// methodFunc is an actor method with its arguments resolved.
type methodFunc func(ctx context.Context, instance any, args []any) ([]any, error)

// taskDef is what a remote-function handle fixes for all its calls.
type taskDef struct {
	name       string
	invoke     invokeFunc
	method     methodFunc // actor calls: the method, given the instance
	numReturns int
	request    resources.Set
	class      string
	maxRetries int
	retryOn    func(error) bool
	codecs     []objstore.Codec
	types      []string
	err        error // a definition error, reported by every call
	plain      bool  // the function takes no context: no per-call context is made
}

// taskRecord is one submitted call: its state for the state API and the
// timeline, and what cancellation needs.
type taskRecord struct {
	rt      *runtimeState
	id      uint64
	name    string
	kind    TaskKind
	def     *taskDef
	actor   *actorCore
	args    []argSlot
	returns []objstore.ID
	parent  *taskRecord

	stopAfter func() bool     // unregisters the cancel-on-context hook
	callCtx   context.Context // the context the call was submitted with, if any

	item        scheduler.Item
	pendingDeps atomic.Int32

	mu        sync.Mutex
	state     TaskState
	done      bool // results sealed or failed; later outcomes are dropped
	cancelled bool
	granted   bool // the scheduler granted resources (released must follow)
	lending   bool // its CPUs are lent back while it blocks in Get
	forfeit   bool // its CPUs were not taken back: release must skip them
	released  bool // its grant went back to the scheduler
	grant     resources.Grant
	cancel    context.CancelFunc
	children  []*taskRecord
	attempts  int
	err       error
	submitted time.Time
	started   time.Time
	ended     time.Time
	lane      int
}

// ID formats the task's identifier.
func (t *taskRecord) ID() string { return formatID(t.rt.jobID, t.id) }

// submit creates the return objects of a call and starts resolving its
// arguments; it never blocks.
func (r *runtimeState) submit(def *taskDef, args []argSlot, ctx context.Context, callSite uintptr) []*handle {
	t := &taskRecord{rt: r, id: r.nextTask.Add(1), name: def.name, kind: NormalTask, def: def,
		args: args, state: PendingArgsAvail, submitted: time.Now(), lane: -1}
	handles := make([]*handle, def.numReturns)
	t.returns = make([]objstore.ID, def.numReturns)
	for i := range handles {
		id, err := r.store.Create(objstore.FromTask, callSite)
		if err != nil {
			for j := range handles {
				handles[j] = failedHandle(ErrNotInitialized)
			}
			return handles
		}
		t.returns[i] = id
		handles[i] = newHandle(r, id, t)
	}
	// Claim the arguments before anything can finish the task (a bad
	// definition, a cancelled context): finishing drops these claims.
	for _, a := range args {
		if a.ref != nil {
			a.ref.rt.store.AddUse(a.ref.id)
		}
	}
	if def.err != nil {
		t.finish(nil, def.err)
		return handles
	}
	if ctx != nil {
		if pe, ok := ctx.Value(execKey{}).(*execInfo); ok && pe.task != nil {
			t.parent = pe.task
			pe.task.mu.Lock()
			pe.task.children = append(pe.task.children, t)
			pe.task.mu.Unlock()
		}
	}
	if !r.track(t) {
		t.finish(nil, ErrNotInitialized)
		return handles
	}
	t.mu.Lock()
	cancelledMeanwhile := t.done // a recursive Cancel of the parent reached it
	t.mu.Unlock()
	if cancelledMeanwhile {
		r.untrack(t)
		return handles
	}
	t.item = scheduler.Item{Request: def.request, Class: def.class, Start: t.start}
	if ctx != nil && ctx.Done() != nil {
		t.callCtx = ctx
		// Registered once the task is tracked and its item set, and stored
		// under t.mu: the hook runs at once, on another goroutine, when ctx
		// is already done.
		stop := context.AfterFunc(ctx, func() {
			if ctxCancelled(ctx) {
				t.cancelTask(false, true)
			}
		})
		t.mu.Lock()
		if t.done {
			t.mu.Unlock()
			stop()
		} else {
			t.stopAfter = stop
			t.mu.Unlock()
		}
	}
	t.resolveArgs(args)
	return handles
}

// track registers a live task; false after shutdown.
func (r *runtimeState) track(t *taskRecord) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.tasks[t.id] = t
	return true
}

// resolveArgs waits (without blocking) for every ref argument, then queues
// the task for resources.
func (t *taskRecord) resolveArgs(args []argSlot) {
	n := int32(1) // a guard, dropped below, so that schedule runs once
	for _, a := range args {
		if a.ref != nil {
			n++
		}
	}
	if n == 1 {
		t.schedule()
		return
	}
	t.pendingDeps.Store(n)
	for _, a := range args {
		if a.ref == nil {
			continue
		}
		if !a.ref.rt.store.OnReady(a.ref.id, t.depReady) {
			t.depReady() // unknown object: the run reports it
		}
	}
	t.depReady()
}

func (t *taskRecord) depReady() {
	if t.pendingDeps.Add(-1) == 0 {
		t.schedule()
	}
}

func (t *taskRecord) schedule() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.state = PendingNodeAssignment
	t.mu.Unlock()
	if err := t.rt.sched.Submit(&t.item); err != nil {
		if errors.Is(err, scheduler.ErrClosed) {
			err = ErrNotInitialized
		}
		t.finish(nil, fmt.Errorf("task %s: %w", t.name, err))
	}
}

// start runs when the scheduler grants resources.
func (t *taskRecord) start(g resources.Grant) {
	if t.callCtx != nil && ctxCancelled(t.callCtx) {
		// Its context ended while it waited; the AfterFunc hook runs
		// asynchronously and may not have cancelled it yet.
		t.rt.sched.Release(g)
		t.cancelTask(false, true)
		return
	}
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		t.rt.sched.Release(g)
		return
	}
	t.grant = g
	t.granted = true
	t.state = Running
	t.started = time.Now()
	// A function without a context parameter cannot observe cancellation
	// nor submit children through it: it runs without a context of its own.
	ctx, cancel := t.rt.ctx, context.CancelCauseFunc(noCancel)
	if !t.def.plain {
		ctx, cancel = context.WithCancelCause(t.rt.ctx)
		t.cancel = func() { cancel(nil) }
	}
	t.mu.Unlock()
	t.rt.assignLane(t)
	t.rt.wg.Add(1)
	t.rt.goWork(func() { t.run(ctx, cancel) })
}

// errTaskReturned is the cause with which a task's context ends when the
// task returns: calls submitted through that context are not cancelled by
// it (only Cancel and Shutdown cancel them), as Ray's child tasks outlive
// their parent.
var errTaskReturned = errors.New("the task returned")

func noCancel(error) {}

// ctxCancelled reports whether ctx was cancelled other than by its task
// returning.
func ctxCancelled(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errTaskReturned)
}

func (t *taskRecord) run(ctx context.Context, cancel context.CancelCauseFunc) {
	defer t.rt.wg.Done()
	defer cancel(errTaskReturned)
	if !t.def.plain {
		ctx = context.WithValue(ctx, execKey{}, &execInfo{rt: t.rt, task: t, grant: t.grant})
	}
	args, err := t.resolvedArgs(ctx)
	var results []any
	if err == nil {
		results, err = t.invokeWithRetries(ctx, args)
	}
	t.finish(results, err)
}

// resolvedArgs fetches the values of ref arguments; a failed argument fails
// the task with that argument's error, as in Ray.
func (t *taskRecord) resolvedArgs(ctx context.Context) ([]any, error) {
	t.mu.Lock()
	slots, done := t.args, t.done
	t.mu.Unlock()
	if done { // cancelled (with force) before it began: its arguments are gone
		return nil, &TaskCancelledError{Task: t.name, TaskID: t.ID()}
	}
	args := make([]any, len(slots))
	for i, a := range slots {
		if a.ref == nil {
			args[i] = a.value
			continue
		}
		v, err := a.ref.rt.store.Get(ctx, a.ref.id)
		if err != nil {
			return nil, fmt.Errorf("task %s: argument %d (object %s): %w", t.name, i+1,
				formatID(a.ref.rt.jobID, uint64(a.ref.id)), err)
		}
		args[i] = v
	}
	return args, nil
}

func (t *taskRecord) invokeWithRetries(ctx context.Context, args []any) ([]any, error) {
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		if attempt > 0 && t.done { // cancelled: a plain task's ctx never ends
			t.mu.Unlock()
			return nil, &TaskCancelledError{Task: t.name, TaskID: t.ID()}
		}
		t.attempts = attempt + 1
		t.mu.Unlock()
		results, panicked, err := callCatching(ctx, t.def.invoke, args)
		if err == nil {
			return results, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		// Only this task's own panic is a crash: a returned error may wrap
		// another task's panic.
		retryable := panicked || (t.def.retryOn != nil && t.def.retryOn(err))
		if !retryable || (t.def.maxRetries >= 0 && attempt >= t.def.maxRetries) {
			return nil, t.wrapError(err, attempt+1)
		}
	}
}

func (t *taskRecord) wrapError(err error, attempts int) error {
	if te, ok := err.(*TaskError); ok && te.Task == "" { // our own panic
		te.Task, te.TaskID, te.Attempts = t.name, t.ID(), attempts
		return te
	}
	return &TaskError{Task: t.name, TaskID: t.ID(), Attempts: attempts, Err: err}
}

// callCatching runs f, turning a panic into a *TaskError with the stack,
// and reports whether f itself panicked: an error f returns may wrap
// another task's panic.
func callCatching(ctx context.Context, f invokeFunc, args []any) (results []any, panicked bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			results, panicked = nil, true
			err = &TaskError{Panic: p, Stack: string(debug.Stack()), Err: fmt.Errorf("panic: %v", p)}
		}
	}()
	results, err = f(ctx, args)
	return results, false, err
}

// finish seals or fails the results once, returns resources and records
// the outcome.
func (t *taskRecord) finish(results []any, err error) {
	t.mu.Lock()
	if t.done { // cancelled earlier: drop the late outcome
		t.mu.Unlock()
		t.releaseGrant()
		t.dropArgs()
		t.rt.untrack(t)
		return
	}
	t.done = true
	t.ended = time.Now()
	if err != nil {
		t.state = FailedState
		t.err = err
	} else {
		t.state = Finished
	}
	t.mu.Unlock()
	t.releaseGrant()
	store := t.rt.store
	for i, id := range t.returns {
		if err != nil {
			store.Fail(id, err)
			continue
		}
		var v any
		if i < len(results) {
			v = results[i]
		}
		if serr := store.Seal(id, v, objstore.SizeOf(v), t.def.codecs[i], t.def.types[i]); serr != nil {
			store.Fail(id, fmt.Errorf("task %s: store result %d: %w", t.name, i+1, serr))
		}
	}
	t.dropArgs()
	t.rt.untrack(t)
}

func (t *taskRecord) releaseGrant() {
	t.mu.Lock()
	if t.released || !t.granted {
		t.released = true
		t.mu.Unlock()
		return
	}
	t.released = true
	g := t.grant
	if t.lending || t.forfeit { // the CPUs are not held now
		g = resources.Grant{Set: withoutCPU(g.Set), GPUs: g.GPUs}
	}
	t.mu.Unlock()
	t.rt.sched.Release(g)
}

func withoutCPU(s resources.Set) resources.Set {
	out := s.Clone()
	delete(out, resources.CPU)
	return out
}

// lendCPU gives the task's CPUs back to the scheduler while it blocks in
// Get, as Ray does, so that a task waiting for its own children cannot
// starve them of CPUs. It reports whether it lent anything; reclaimCPU
// must follow.
func (t *taskRecord) lendCPU() bool {
	t.mu.Lock()
	cpu := t.grant.Set[resources.CPU]
	if !t.granted || t.released || t.lending || t.forfeit || cpu == 0 {
		t.mu.Unlock()
		return false
	}
	t.lending = true
	t.mu.Unlock()
	t.rt.sched.Release(resources.Grant{Set: resources.Set{resources.CPU: cpu}})
	return true
}

// reclaimCPU waits until the lent CPUs can be taken back. If ctx ends (the
// task is cancelled, the runtime shuts down) first, the task goes on
// without them and its release skips them.
func (t *taskRecord) reclaimCPU(ctx context.Context) {
	t.mu.Lock()
	cpu := t.grant.Set[resources.CPU]
	t.mu.Unlock()
	got := make(chan resources.Grant, 1)
	item := &scheduler.Item{Request: resources.Set{resources.CPU: cpu}, Start: func(g resources.Grant) { got <- g }}
	var g resources.Grant
	if err := t.rt.sched.Submit(item); err != nil {
		t.settleLend(false, g)
		return
	}
	select {
	case g = <-got:
	case <-ctx.Done():
		if t.rt.sched.Cancel(item) {
			t.settleLend(false, g)
			return
		}
		g = <-got // granted just now
	}
	t.settleLend(true, g)
}

func (t *taskRecord) settleLend(reclaimed bool, g resources.Grant) {
	t.mu.Lock()
	t.lending = false
	released := t.released
	if !reclaimed {
		t.forfeit = true
	}
	t.mu.Unlock()
	if reclaimed && released { // the task's grant went back meanwhile (force cancel)
		t.rt.sched.Release(g)
	}
}

func (t *taskRecord) dropArgs() {
	t.mu.Lock()
	args := t.args
	t.args = nil
	stop := t.stopAfter
	t.stopAfter = nil
	t.mu.Unlock()
	if stop != nil {
		stop()
	}
	for _, a := range args {
		if a.ref != nil {
			a.ref.rt.store.DropUse(a.ref.id)
		}
	}
}

// fail ends a task that has not produced its results (shutdown).
func (t *taskRecord) fail(err error) {
	t.rt.sched.Cancel(&t.item)
	t.mu.Lock()
	cancel := t.cancel
	t.mu.Unlock()
	// Seal the outcome before cancelling the context, or the task could
	// return on ctx.Done() first and report context.Canceled.
	t.finish(nil, err)
	if cancel != nil {
		cancel()
	}
}

// cancelTask implements Cancel: a queued task is dropped, a running one has
// its context cancelled; either way its results fail with
// *TaskCancelledError at once. force also returns the running task's
// resources now, abandoning its goroutine (Go cannot kill one).
func (t *taskRecord) cancelTask(force, recursive bool) {
	err := &TaskCancelledError{Task: t.name, TaskID: t.ID()}
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.cancelled = true
	running := t.state == Running
	cancel := t.cancel
	children := append([]*taskRecord(nil), t.children...)
	// Seal the outcome in the same critical section, before the context is
	// cancelled: a task returning on ctx.Done() must not finish first with
	// context.Canceled, and a task that finished meanwhile keeps its result.
	t.done = true
	t.state = FailedState
	t.err = err
	t.ended = time.Now()
	t.mu.Unlock()
	if !running {
		t.rt.sched.Cancel(&t.item)
	}
	for _, id := range t.returns {
		t.rt.store.Fail(id, err)
	}
	if cancel != nil {
		cancel()
	}
	if !running || force {
		t.releaseGrant()
		t.dropArgs()
		t.rt.untrack(t)
	}
	if recursive {
		for _, c := range children {
			c.cancelTask(force, true)
		}
	}
}

// Cancel cancels the task that produces ref, as ray.cancel does: a task
// still waiting is removed; a running one sees its context cancelled (and
// with force its resources are returned at once); Get on its results then
// fails with *TaskCancelledError. recursive also cancels the tasks it
// submitted through its context. Cancelling a finished task does nothing.
func Cancel(ref Ref, force, recursive bool) error {
	h := ref.ref()
	if h == nil {
		return fmt.Errorf("ray.Cancel: %w", ErrNilRef)
	}
	if h.owner == nil {
		return fmt.Errorf("ray.Cancel: %s was made by Put, not by a task", ref.ID())
	}
	if force && h.owner.kind == ActorTask {
		return fmt.Errorf("ray.Cancel: force is not supported for actor calls (%s); use ray.Kill on the actor", h.owner.name)
	}
	h.owner.cancelTask(force, recursive)
	return nil
}

func (r *runtimeState) untrack(t *taskRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tasks[t.id]; !ok {
		return
	}
	delete(r.tasks, t.id)
	if t.lane >= 0 && t.lane < len(r.lanes) {
		r.lanes[t.lane] = false
	}
	t.mu.Lock()
	state := t.state
	t.mu.Unlock()
	r.counts[countKey{t.name, t.kind, state}]++
	if r.histCap == 0 {
		return
	}
	if len(r.history) < r.histCap {
		r.history = append(r.history, t)
	} else {
		r.history[r.histNext] = t
		r.histNext = (r.histNext + 1) % r.histCap
	}
}

func (r *runtimeState) assignLane(t *taskRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, used := range r.lanes {
		if !used {
			r.lanes[i] = true
			t.lane = i
			return
		}
	}
	r.lanes = append(r.lanes, true)
	t.lane = len(r.lanes) - 1
}

// execKey keys the execInfo that a running task's context carries.
type execKey struct{}

type execInfo struct {
	rt    *runtimeState
	task  *taskRecord
	actor *actorCore
	grant resources.Grant
}

func callerPC(skip int) uintptr {
	var pcs [1]uintptr
	if goruntime.Callers(skip+1, pcs[:]) == 0 {
		return 0
	}
	return pcs[0]
}
