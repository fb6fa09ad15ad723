package data

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/goray-dev/goray/raylib/display"
	"github.com/goray-dev/goray/raylib/ray"
)

// item is an operator's unit of input: a read task or a bundle of blocks.
type item struct {
	read *readTask
	refs []BlockRef
}

func (it item) rows() int64 {
	if it.read != nil {
		return max(it.read.rows, 0)
	}
	var n int64
	for _, r := range it.refs {
		n += r.Meta.NumRows
	}
	return n
}

func (it item) bytes() int64 {
	var n int64
	for _, r := range it.refs {
		n += r.Meta.SizeBytes
	}
	return n
}

// opState is an operator while the executor runs it.
type opState struct {
	idx  int
	op   *physOp
	name string

	queue      []item
	queueBytes int64
	inputsDone bool
	finished   bool
	active     int
	ctx        context.Context
	cancel     context.CancelFunc

	task   *ray.Task1[taskInput, []BlockRef] // set for task pools
	actors []*actorSlot                      // set for actor pools
	// calls are the actor calls in flight: an actor call does not inherit
	// the operator's context, so stopping cancels them one by one.
	calls map[int]ray.ObjectRef[[]BlockRef]

	// limit
	left int64
	// all-to-all
	collected []BlockRef
	launched  bool

	// ordered release of outputs
	launchSeq, releaseSeq int
	held                  map[int][]BlockRef

	outBytesPerTask float64
	backpressured   bool
	stats           OperatorStats
}

// actorSlot is one actor of a pool and the calls it has in flight.
type actorSlot struct {
	handle   *ray.Actor[poolWorker]
	inFlight int
}

// maxCallsPerActor lets an actor's next batch queue while it computes,
// so it never idles between calls.
const maxCallsPerActor = 2

type taskDone struct {
	op      *opState
	seq     int
	in      item
	outs    []BlockRef
	err     error
	start   time.Time
	end     time.Time
	actor   *actorSlot
	stopped bool // the operator was cancelled (a limit was reached)
}

// execution runs a physical plan and streams its output blocks.
type execution struct {
	id      string
	dc      *DataContext
	ops     []*opState
	final   []BlockRef
	finalB  int64
	out     chan BlockRef
	events  chan taskDone
	ctx     context.Context
	cancel  context.CancelFunc
	err     error
	done    chan struct{}
	cpus    float64
	budget  int64
	usedCPU float64
	// taskCPUs is what task-pool operators may use: the cluster's CPUs
	// less what actor pools hold.
	taskCPUs float64
	hasTasks bool
	closed   atomic.Bool

	progress *display.Progress
	start    time.Time
	stats    *Stats
}

var datasetCounter atomic.Int64

func newDatasetID() string { return fmt.Sprintf("dataset_%d", datasetCounter.Add(1)) }

// startExecution plans n and starts running it; the caller reads blocks
// from out until it is closed, then checks err.
func startExecution(ctx context.Context, dc *DataContext, n *node, id string) (*execution, error) {
	n = optimize(n)
	source, ops := physicalPlan(n)
	ex := &execution{id: id, dc: dc, out: make(chan BlockRef), events: make(chan taskDone, 64),
		done: make(chan struct{}), start: time.Now()}
	ex.ctx, ex.cancel = context.WithCancel(ctx)
	res := ray.ClusterResources()
	ex.cpus = max(res["CPU"], 1)
	ex.budget = dc.MemoryBudget
	if ex.budget <= 0 {
		ex.budget = max(ray.StoreStats().BudgetBytes/2, 64<<20)
	}
	ex.stats = &Stats{DatasetID: id}
	for i, op := range ops {
		st := &opState{idx: i, op: op, name: op.name(), held: map[int][]BlockRef{}, left: op.limit}
		st.ctx, st.cancel = context.WithCancel(ex.ctx)
		st.stats.Name = op.name()
		ex.ops = append(ex.ops, st)
	}
	var first []item
	switch source.kind {
	case nodeRead:
		tasks, err := source.read.plan(ctx, dc)
		if err != nil {
			ex.cancel()
			return nil, err
		}
		for _, t := range tasks {
			first = append(first, item{read: t})
		}
	case nodeBlocks:
		for _, b := range source.blocks {
			first = append(first, item{refs: []BlockRef{b}})
		}
	}
	if len(ex.ops) == 0 {
		for _, it := range first {
			ex.final = append(ex.final, it.refs...)
		}
	} else {
		ex.ops[0].queue = first
		ex.ops[0].inputsDone = true
		for _, it := range first {
			ex.ops[0].queueBytes += it.bytes()
		}
	}
	if err := ex.startActors(); err != nil {
		ex.cancel()
		for _, st := range ex.ops {
			for _, a := range st.actors {
				_ = ray.Kill(a.handle, true)
			}
		}
		return nil, err
	}
	names := make([]string, 0, len(ex.ops)+1)
	names = append(names, "InputDataBuffer[Input]")
	for _, op := range ex.ops {
		names = append(names, op.name)
	}
	ex.stats.Plan = names
	if dc.Progress && len(ex.ops) > 0 {
		bars := names[1:]
		if !dc.OperatorProgress {
			bars = []string{"Dataset " + id}
		}
		ex.progress = display.NewProgress(dc.display(), "Running Dataset: "+id, bars)
	} else {
		fmt.Fprintf(dc.log(), "Execution plan of Dataset %s: %s\n", id, joinArrows(names))
	}
	go ex.loop()
	return ex, nil
}

func joinArrows(xs []string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += " -> "
		}
		s += x
	}
	return s
}

func (ex *execution) startActors() error {
	// Actors hold their CPUs for the whole execution: tasks get the rest.
	// A pool that leaves no CPU for the tasks around it would hang, so it
	// is refused up front.
	var reserved float64
	hasTasks := false
	for _, st := range ex.ops {
		if p := st.op.cfg.pool; p != nil {
			reserved += float64(max(st.op.cfg.minActors, 1)) * st.op.cfg.numCPUs
		} else if st.op.kind == physMap {
			hasTasks = true
		}
	}
	ex.taskCPUs = ex.cpus - reserved
	ex.hasTasks = hasTasks
	if hasTasks && ex.taskCPUs < 1 && reserved > 0 {
		return fmt.Errorf("actor pools hold %g of the cluster's %g CPUs and leave none for the other operators' tasks: "+
			"give the pool fewer actors or fewer CPUs per actor (data.NumCPUs)", reserved, ex.cpus)
	}
	for _, st := range ex.ops {
		p := st.op.cfg.pool
		if p == nil {
			if st.op.kind == physMap {
				opts := taskOptions(st.op.cfg)
				st.task = ray.Remote1Ctx(runTaskRemote, opts...).WithContext(st.ctx)
				if err := st.task.Err(); err != nil {
					return fmt.Errorf("%s: %w", st.name, err)
				}
			}
			continue
		}
		n := max(st.op.cfg.minActors, 1)
		for range n {
			if err := ex.addActor(st); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ex *execution) addActor(st *opState) error {
	a, err := st.op.cfg.pool.start(taskOptions(st.op.cfg)...)
	if err != nil {
		return fmt.Errorf("%s: start actor: %w", st.name, err)
	}
	st.actors = append(st.actors, &actorSlot{handle: a})
	return nil
}

// taskCPUs is what one task of a task-pool operator holds: 1 CPU unless
// set, and never less than a sliver, so the executor's slot count stays
// finite.
func taskCPUs(c mapConfig) float64 {
	if c.numCPUs == 0 {
		return 1
	}
	return max(c.numCPUs, 1e-3)
}

func taskOptions(c mapConfig) []ray.Option {
	var opts []ray.Option
	cpus := c.numCPUs
	if cpus == 0 && c.pool == nil {
		cpus = 1
	}
	opts = append(opts, ray.NumCPUs(cpus))
	if c.numGPUs > 0 {
		opts = append(opts, ray.NumGPUs(c.numGPUs))
	}
	if len(c.resources) > 0 {
		opts = append(opts, ray.Resources(c.resources))
	}
	return opts
}

// runTaskRemote is the task every task-pool operator submits.
func runTaskRemote(ctx context.Context, in taskInput) ([]BlockRef, error) {
	return runTask(ctx, in, nil)
}

// loop is the scheduler: it starts tasks while inputs, resources and the
// memory budget allow, hands finished outputs downstream, and feeds the
// consumer. All executor state is owned by this goroutine.
func (ex *execution) loop() {
	defer close(ex.done)
	defer close(ex.out)
	defer ex.shutdown()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ex.err == nil {
			ex.schedule()
		}
		if ex.err != nil || (ex.allFinished() && len(ex.final) == 0) {
			return
		}
		var out chan BlockRef
		var head BlockRef
		if len(ex.final) > 0 {
			out, head = ex.out, ex.final[0]
		}
		select {
		case ev := <-ex.events:
			ex.handle(ev)
		case out <- head:
			ex.final = ex.final[1:]
			ex.finalB -= head.Meta.SizeBytes
		case <-ex.ctx.Done():
			ex.err = context.Cause(ex.ctx)
			return
		case <-tick.C:
			ex.report()
		}
	}
}

func (ex *execution) allFinished() bool {
	for _, st := range ex.ops {
		if !st.finished {
			return false
		}
	}
	return true
}

// memoryUsed is the bytes of blocks queued between operators plus what
// running tasks are expected to output.
func (ex *execution) memoryUsed() int64 {
	used := ex.finalB
	for _, st := range ex.ops {
		used += st.queueBytes + int64(float64(st.active)*st.outBytesPerTask) + st.heldBytes()
	}
	return used
}

// heldBytes is the output an operator keeps back to release it in order.
func (st *opState) heldBytes() int64 {
	var n int64
	for _, outs := range st.held {
		for _, r := range outs {
			n += r.Meta.SizeBytes
		}
	}
	return n
}

// outputBytes is what op has produced and its consumer has not taken.
func (ex *execution) outputBytes(st *opState) int64 {
	b := int64(float64(st.active)*st.outBytesPerTask) + st.heldBytes()
	if st.idx+1 < len(ex.ops) {
		return b + ex.ops[st.idx+1].queueBytes
	}
	return b + ex.finalB
}

func (ex *execution) schedule() {
	for again := true; again && ex.err == nil; {
		again = false
		// Downstream first: finishing work frees memory sooner.
		for i := len(ex.ops) - 1; i >= 0; i-- {
			st := ex.ops[i]
			if st.finished {
				continue
			}
			switch st.op.kind {
			case physLimit:
				// Blocks it passes on are new input downstream.
				again = ex.runLimit(st) || again
			case physRepart:
				ex.runRepartition(st)
			case physMap:
				for ex.canLaunch(st) {
					ex.launch(st)
					again = true
				}
			}
			ex.checkFinished(st)
		}
	}
	ex.report()
}

func (ex *execution) canLaunch(st *opState) bool {
	st.backpressured = false
	if len(st.queue) == 0 || ex.err != nil {
		return false
	}
	cfg := st.op.cfg
	if cfg.batchSize > 0 && !st.inputsDone && st.queue[0].read == nil {
		var rows int64
		for _, it := range st.queue {
			rows += it.rows()
		}
		if rows < int64(cfg.batchSize) {
			return false // wait for a full batch
		}
	}
	if cfg.pool != nil {
		if ex.freeActor(st) == nil {
			if len(st.actors) < cfg.maxActors && len(st.queue) > 1 && ex.actorFits(cfg) {
				if err := ex.addActor(st); err != nil {
					ex.fail(err)
					return false
				}
			} else {
				return false
			}
		}
	} else {
		cpus := taskCPUs(cfg)
		limit := int(math.Max(1, math.Floor(ex.taskCPUs/cpus)))
		if cfg.concurrency > 0 {
			limit = cfg.concurrency
		}
		if st.active >= limit || (st.active > 0 && ex.usedCPU+cpus > ex.taskCPUs+1e-9) {
			return false
		}
	}
	// Memory: an operator may always use its reserved share; beyond it,
	// only while the whole pipeline is under budget.
	reserve := int64(float64(ex.budget) * ex.dc.OpReservationRatio / float64(len(ex.ops)))
	mine := ex.outputBytes(st) + int64(st.outBytesPerTask)
	if mine > reserve && ex.memoryUsed()+int64(st.outBytesPerTask) > ex.budget && ex.anyActive() {
		st.backpressured = true
		return false
	}
	return true
}

func (ex *execution) activeTasks() int {
	n := 0
	for _, st := range ex.ops {
		n += st.active
	}
	return n
}

func (ex *execution) anyActive() bool { return ex.activeTasks() > 0 || len(ex.final) > 0 }

// actorFits reports whether one more actor of the pool can be placed now:
// an actor that waits for resources would take calls it never runs.
func (ex *execution) actorFits(cfg mapConfig) bool {
	free := ray.AvailableResources()
	if free["CPU"]+1e-9 < cfg.numCPUs || free["GPU"]+1e-9 < cfg.numGPUs {
		return false
	}
	for k, v := range cfg.resources {
		if free[k]+1e-9 < v {
			return false
		}
	}
	if ex.hasTasks && cfg.numCPUs > 0 && ex.taskCPUs-cfg.numCPUs < 1 {
		return false // it would take the tasks' last CPU
	}
	ex.taskCPUs -= cfg.numCPUs
	return true
}

func (ex *execution) freeActor(st *opState) *actorSlot {
	var best *actorSlot
	for _, a := range st.actors {
		if a.inFlight < maxCallsPerActor && (best == nil || a.inFlight < best.inFlight) {
			best = a
		}
	}
	return best
}

// nextInput pops the next input: one read task, or blocks up to the
// operator's batch size.
func (st *opState) nextInput() item {
	it := st.queue[0]
	st.queue = st.queue[1:]
	if bs := st.op.cfg.batchSize; bs > 0 && it.read == nil {
		for it.rows() < int64(bs) && len(st.queue) > 0 && st.queue[0].read == nil {
			nx := st.queue[0]
			st.queue = st.queue[1:]
			it.refs = append(it.refs, nx.refs...)
		}
	}
	st.queueBytes -= it.bytes()
	return it
}

func (ex *execution) launch(st *opState) {
	it := st.nextInput()
	seq := st.launchSeq
	st.launchSeq++
	in := taskInput{op: st.op.label(), seq: seq, read: it.read, blocks: it.refs, stages: st.op.stages,
		maxBlock: ex.dc.TargetMaxBlockSize}
	st.active++
	st.stats.Tasks++
	start := time.Now()
	if st.stats.firstStart.IsZero() {
		st.stats.firstStart = start
	}
	var ref ray.ObjectRef[[]BlockRef]
	var slot *actorSlot
	if st.op.cfg.pool != nil {
		slot = ex.freeActor(st)
		slot.inFlight++
		ref = ray.Call1Ctx(slot.handle, (*poolWorker).run, in)
		if st.calls == nil {
			st.calls = map[int]ray.ObjectRef[[]BlockRef]{}
		}
		st.calls[seq] = ref
	} else {
		ex.usedCPU += taskCPUs(st.op.cfg)
		ref = st.task.Remote(in)
	}
	go func() {
		outs, err := ray.Get(ref)
		ray.Release(ref) // the task's list of blocks; the blocks live on
		ex.events <- taskDone{op: st, seq: seq, in: it, outs: outs, err: err, start: start, end: time.Now(),
			actor: slot, stopped: st.ctx.Err() != nil}
	}()
}

func (ex *execution) handle(ev taskDone) {
	st := ev.op
	st.active--
	delete(st.calls, ev.seq)
	if ev.actor != nil {
		ev.actor.inFlight--
	} else if st.op.kind == physMap {
		ex.usedCPU -= taskCPUs(st.op.cfg)
	}
	st.stats.taskTime += ev.end.Sub(ev.start)
	st.stats.lastEnd = ev.end
	if ev.stopped || st.finished {
		releaseRefs(ev.outs)
		ex.checkFinished(st)
		return
	}
	if ev.err != nil {
		// A task's own failure (a UDF, a bad file) reads best without
		// the runtime's task wrapper: the operator, the input, the cause.
		var ue *UDFError
		if errors.As(ev.err, &ue) {
			named := *ue
			named.Operator = st.name
			ex.fail(&named)
			return
		}
		ex.fail(fmt.Errorf("%s: %w", st.name, ev.err))
		return
	}
	if ex.dc.EagerFree {
		releaseRefs(ev.in.refs)
	}
	var outBytes int64
	for _, r := range ev.outs {
		outBytes += r.Meta.SizeBytes
		st.stats.CPUTime += r.Meta.Exec.CPU
	}
	n := float64(st.stats.Tasks - st.active)
	st.outBytesPerTask += (float64(outBytes) - st.outBytesPerTask) / math.Max(n, 1)
	st.held[ev.seq] = ev.outs
	ex.release(st)
	ex.checkFinished(st)
}

// release hands outputs downstream: in launch order when order must be
// preserved, otherwise as they come.
func (ex *execution) release(st *opState) {
	if ex.dc.PreserveOrder {
		for {
			outs, ok := st.held[st.releaseSeq]
			if !ok {
				return
			}
			delete(st.held, st.releaseSeq)
			st.releaseSeq++
			ex.emit(st, outs)
		}
	}
	for seq, outs := range st.held {
		delete(st.held, seq)
		ex.emit(st, outs)
	}
}

func (ex *execution) emit(st *opState, outs []BlockRef) {
	for _, r := range outs {
		st.stats.Blocks++
		st.stats.Rows += r.Meta.NumRows
		st.stats.Bytes += r.Meta.SizeBytes
		st.stats.blockRows = append(st.stats.blockRows, r.Meta.NumRows)
		if st.idx+1 < len(ex.ops) {
			nx := ex.ops[st.idx+1]
			nx.queue = append(nx.queue, item{refs: []BlockRef{r}})
			nx.queueBytes += r.Meta.SizeBytes
		} else {
			ex.final = append(ex.final, r)
			ex.finalB += r.Meta.SizeBytes
		}
	}
}

func (ex *execution) runLimit(st *opState) (moved bool) {
	for len(st.queue) > 0 {
		moved = true
		it := st.queue[0]
		st.queue = st.queue[1:]
		st.queueBytes -= it.bytes()
		for _, r := range it.refs {
			switch {
			case st.left <= 0:
				releaseRefs([]BlockRef{r})
				continue
			case r.Meta.NumRows <= st.left:
				st.left -= r.Meta.NumRows
				ex.emit(st, []BlockRef{r})
			default:
				cut, err := sliceBlock(r, st.left)
				if err != nil {
					ex.fail(fmt.Errorf("%s: %w", st.name, err))
					return false
				}
				releaseRefs([]BlockRef{r})
				st.left = 0
				ex.emit(st, []BlockRef{cut})
			}
		}
	}
	if st.left <= 0 {
		// Enough rows: everything upstream stops now.
		for _, up := range ex.ops[:st.idx] {
			ex.stop(up)
		}
		st.inputsDone = true
	}
	return moved
}

// stop ends an operator early: queued inputs are dropped and running
// tasks cancelled.
func (ex *execution) stop(st *opState) {
	if st.finished {
		return
	}
	for _, it := range st.queue {
		releaseRefs(it.refs)
	}
	st.queue, st.queueBytes = nil, 0
	st.inputsDone = true
	st.cancel()
	st.cancelCalls()
	st.finished = st.active == 0
	if st.finished {
		for _, a := range st.actors {
			_ = ray.Kill(a.handle, true)
		}
		st.actors = nil
	}
}

func (st *opState) cancelCalls() {
	for _, ref := range st.calls {
		_ = ray.Cancel(ref, false, false)
	}
}

func sliceBlock(r BlockRef, rows int64) (BlockRef, error) {
	b, err := r.Get()
	if err != nil {
		return BlockRef{}, err
	}
	return putBlock(NewBlock(b.rec.NewSlice(0, rows)), r.Meta.InputFiles), nil
}

func (ex *execution) runRepartition(st *opState) {
	for _, it := range st.queue {
		st.collected = append(st.collected, it.refs...)
	}
	st.queue, st.queueBytes = nil, 0
	if !st.inputsDone || st.launched {
		return
	}
	st.launched = true
	st.active++
	st.stats.Tasks++
	start := time.Now()
	st.stats.firstStart = start
	in := st.collected
	parts := st.op.parts
	task := ray.Remote2Ctx(repartition).WithContext(st.ctx)
	ref := task.Remote(in, parts)
	go func() {
		outs, err := ray.Get(ref)
		ray.Release(ref)
		ex.events <- taskDone{op: st, in: item{refs: in}, outs: outs, err: err, start: start, end: time.Now()}
	}()
}

func (ex *execution) checkFinished(st *opState) {
	if st.finished || !st.inputsDone || len(st.queue) > 0 || st.active > 0 {
		return
	}
	if st.op.kind == physRepart && !st.launched {
		return
	}
	st.finished = true
	if st.idx+1 < len(ex.ops) {
		ex.ops[st.idx+1].inputsDone = true
	}
	for _, a := range st.actors {
		_ = ray.Kill(a.handle, true)
	}
	st.actors = nil
}

func (ex *execution) fail(err error) {
	if ex.err == nil {
		ex.err = err
	}
	ex.cancel()
}

// report sends each operator's state to the progress bars.
func (ex *execution) report() {
	if ex.progress == nil {
		return
	}
	if !ex.dc.OperatorProgress {
		last := ex.ops[len(ex.ops)-1]
		ex.progress.Update(0, display.OperatorState{Rows: last.stats.Rows, Done: ex.allFinished()})
		return
	}
	for i, st := range ex.ops {
		queued := 0
		for _, it := range st.queue {
			queued += max(len(it.refs), 1)
		}
		ex.progress.Update(i, display.OperatorState{Rows: st.stats.Rows, ActiveTasks: st.active,
			QueuedBlocks: queued, Backpressured: st.backpressured, Done: st.finished})
	}
}

// shutdown waits for cancelled tasks, frees what nobody will read, and
// finishes the progress display and stats.
func (ex *execution) shutdown() {
	ex.cancel()
	for _, st := range ex.ops {
		st.cancelCalls()
	}
	// Tasks see the cancellation; a UDF that ignores it is abandoned
	// after a grace period rather than holding the consumer.
	grace := time.After(5 * time.Second)
	for ex.activeTasks() > 0 {
		select {
		case ev := <-ex.events:
			ev.op.active--
			releaseRefs(ev.outs)
		case <-grace:
			// Abandoned tasks still report when they end: drain those
			// reports in the background so their senders and outputs
			// are not stranded.
			n := ex.activeTasks()
			go func() {
				for range n {
					ev := <-ex.events
					releaseRefs(ev.outs)
				}
			}()
			for _, st := range ex.ops {
				st.active = 0
			}
		}
	}
	for _, st := range ex.ops {
		for _, a := range st.actors {
			_ = ray.Kill(a.handle, true)
		}
		for _, outs := range st.held {
			releaseRefs(outs)
		}
		for _, it := range st.queue {
			releaseRefs(it.refs)
		}
		releaseRefs(st.collected)
		st.stats.Wall = st.stats.lastEnd.Sub(st.stats.firstStart)
		st.stats.TaskTime = st.stats.taskTime
		ex.stats.Operators = append(ex.stats.Operators, st.stats)
	}
	if ex.err != nil {
		releaseRefs(ex.final)
		ex.final = nil
	}
	ex.stats.Wall = time.Since(ex.start)
	if ex.progress != nil {
		ex.report()
		ex.progress.Finish(ex.stats.Wall)
	}
	if ex.err == nil && ex.dc.AutoLogStats {
		fmt.Fprintln(ex.dc.log(), ex.stats.String())
	}
}

// Close stops the execution early (a consumer that has what it needs)
// and waits until it has cleaned up.
func (ex *execution) Close() {
	ex.closed.Store(true)
	ex.cancel()
	for r := range ex.out {
		releaseRefs([]BlockRef{r})
	}
	<-ex.done
}

// Err is the execution's error, once out is closed; stopping it with
// Close is not an error.
func (ex *execution) Err() error {
	<-ex.done
	if ex.closed.Load() && errors.Is(ex.err, context.Canceled) {
		return nil
	}
	return ex.err
}

// releaseRefs frees the blocks an execution made; blocks it was given (a
// materialized dataset's) belong to their dataset and stay.
func releaseRefs(refs []BlockRef) {
	for _, r := range refs {
		if r.owned {
			ray.Release(r.Ref)
		}
	}
}
