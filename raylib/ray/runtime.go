package ray

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goray-dev/goray/internal/objstore"
	"github.com/goray-dev/goray/internal/resources"
	"github.com/goray-dev/goray/internal/scheduler"
)

// runtimeState is one initialised local runtime: node resources, object
// store, scheduler, and the live tasks and actors. Shutdown discards it; the
// next use starts a new one.
type runtimeState struct {
	jobID     uint32
	namespace string
	started   time.Time
	total     resources.Set

	store *objstore.Store
	sched *scheduler.Scheduler

	ctx    context.Context // cancelled at Shutdown; parent of every task's context
	cancel context.CancelFunc
	wg     goroutines  // running task and actor goroutines
	work   chan func() // hands work to idle worker goroutines

	nextTask  atomic.Uint64
	nextActor atomic.Uint64

	mu       sync.Mutex
	tasks    map[uint64]*taskRecord // not yet finished
	history  []*taskRecord          // finished, a ring of historyCap
	histNext int
	histCap  int
	counts   map[countKey]int // finished tasks by name and state, all of them
	actors   map[uint64]*actorCore
	named    map[string]*actorCore // namespace + "/" + name
	lanes    []bool                // timeline lanes in use
	closed   bool
}

type countKey struct {
	name  string
	kind  TaskKind
	state TaskState
}

var (
	current   atomic.Pointer[runtimeState]
	lifecycle sync.Mutex // serialises Init, Shutdown and automatic start
)

// Init starts the local runtime. Without options it uses the machine's
// CPUs, GPUs and memory. A second Init is an error unless
// IgnoreReinitError is given.
func Init(opts ...Option) error {
	c := newConfig(scopeInit)
	if err := c.applyAll(opts); err != nil {
		return fmt.Errorf("ray.Init: %w", err)
	}
	lifecycle.Lock()
	defer lifecycle.Unlock()
	if current.Load() != nil {
		if c.ignoreReinit {
			return nil
		}
		return ErrAlreadyInitialized
	}
	rt, err := newRuntime(c)
	if err != nil {
		return fmt.Errorf("ray.Init: %w", err)
	}
	current.Store(rt)
	return nil
}

// IsInitialized reports whether a runtime is running.
func IsInitialized() bool { return current.Load() != nil }

// Shutdown stops the runtime: running tasks see their context cancelled,
// queued work and pending results fail, actors die, objects are freed and
// spill files removed. It waits up to five seconds for running work to
// return; spill writes in flight (a large Put, a finishing task) are
// cancelled and waited for, so that nothing is left or written under the
// spill directory once it returns. Calling it when nothing runs is a no-op.
func Shutdown() error {
	lifecycle.Lock()
	defer lifecycle.Unlock()
	rt := current.Load()
	if rt == nil {
		return nil
	}
	current.Store(nil)
	return rt.shutdown(5 * time.Second)
}

// rt returns the running runtime, starting one with the machine's resources
// on first use, as Ray does.
func rt() (*runtimeState, error) {
	if r := current.Load(); r != nil {
		return r, nil
	}
	lifecycle.Lock()
	defer lifecycle.Unlock()
	if r := current.Load(); r != nil {
		return r, nil
	}
	r, err := newRuntime(newConfig(scopeInit))
	if err != nil {
		return nil, fmt.Errorf("ray: automatic start: %w", err)
	}
	current.Store(r)
	return r, nil
}

func newRuntime(c config) (*runtimeState, error) {
	total := resources.Set{}
	cpus := float64(goruntime.NumCPU())
	if c.numCPUs != nil {
		cpus = *c.numCPUs
	}
	gpus := float64(detectGPUs())
	if c.numGPUs != nil {
		gpus = *c.numGPUs
	}
	mem := float64(systemMemory()) * 0.7
	if c.memory != nil {
		mem = *c.memory
	}
	req := map[string]float64{resources.CPU: cpus, resources.GPU: gpus, resources.Memory: mem}
	for k, v := range c.resources {
		req[k] = v
	}
	set, err := resources.ParseSet(req)
	if err != nil {
		return nil, err
	}
	for k, v := range set {
		total[k] = v
	}
	if !total[resources.GPU].IsWhole() {
		return nil, fmt.Errorf("NumGPUs: a node has a whole number of GPUs, not %v", total[resources.GPU])
	}
	storeBytes := systemMemory() * 3 / 10
	if c.objectStoreMemory != nil {
		storeBytes = *c.objectStoreMemory
	}
	total[resources.ObjectStoreMemory] = resources.Whole(storeBytes)
	ledger, err := resources.NewLedger(total)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var idBytes [4]byte
	rand.Read(idBytes[:])
	histCap := 10000
	if c.taskHistory > 0 {
		histCap = c.taskHistory
	}
	ns := c.namespace
	if ns == "" {
		ns = "default"
	}
	return &runtimeState{
		jobID:     binary.BigEndian.Uint32(idBytes[:]),
		namespace: ns,
		started:   time.Now(),
		total:     total,
		store:     objstore.New(objstore.Options{Budget: storeBytes, SpillDir: c.spillDir, Collect: collectGarbage}),
		sched:     scheduler.New(ledger),
		ctx:       ctx,
		cancel:    cancel,
		work:      make(chan func()),
		tasks:     make(map[uint64]*taskRecord),
		histCap:   histCap,
		counts:    make(map[countKey]int),
		actors:    make(map[uint64]*actorCore),
		named:     make(map[string]*actorCore),
	}, nil
}

func (r *runtimeState) shutdown(grace time.Duration) error {
	r.mu.Lock()
	r.closed = true
	actors := make([]*actorCore, 0, len(r.actors))
	for _, a := range r.actors {
		actors = append(actors, a)
	}
	live := make([]*taskRecord, 0, len(r.tasks))
	for _, t := range r.tasks {
		live = append(live, t)
	}
	r.mu.Unlock()

	r.sched.Close() // queued work belongs to live tasks and actors, failed below
	// Actors first: a live actor call failed before its actor dies would
	// let the actor's drainer start the next queued call.
	for _, a := range actors {
		a.kill(fmt.Errorf("runtime shut down: %w", ErrNotInitialized), true)
	}
	for _, t := range live {
		t.fail(ErrNotInitialized)
	}
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(grace):
		err = fmt.Errorf("ray.Shutdown: some tasks did not return within %v after their context was cancelled; they were abandoned", grace)
	}
	if cerr := r.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("ray.Shutdown: remove spill files: %w", cerr)
	}
	return err
}

// ClusterResources returns the total resources of the cluster (the local
// node), as ray.cluster_resources() does.
func ClusterResources() map[string]float64 {
	r, err := rt()
	if err != nil {
		return nil
	}
	return r.total.Floats()
}

// AvailableResources returns the resources not held by running tasks and
// actors.
func AvailableResources() map[string]float64 {
	r, err := rt()
	if err != nil {
		return nil
	}
	return r.sched.Available().Floats()
}

// GPUFree returns the unassigned share of each GPU device, by index.
func GPUFree() []float64 {
	r, err := rt()
	if err != nil {
		return nil
	}
	free := r.sched.GPUFree()
	out := make([]float64, len(free))
	for i, f := range free {
		out[i] = f.Float()
	}
	return out
}

// CurrentNamespace returns the namespace of the running runtime, where
// named actors live.
func CurrentNamespace() string {
	r, err := rt()
	if err != nil {
		return ""
	}
	return r.namespace
}

// collectGarbage runs a collection and waits (briefly) for the cleanups it
// queues, the drops of unreachable ObjectRefs, so that the store sees the
// objects freed before it decides to spill. A sentinel made unreachable
// before the collection has its cleanup queued by the same cycle; once it
// has run, the refs' cleanups have had their turn too. The wait is bounded
// so a cleanup stuck in user code cannot stall a put.
func collectGarbage() {
	done := make(chan struct{})
	goruntime.AddCleanup(new([16]byte), func(ch chan struct{}) { close(ch) }, done)
	goruntime.GC()
	select {
	case <-done:
	case <-time.After(50 * time.Millisecond):
	}
}

var nvidiaDevice = regexp.MustCompile(`^nvidia[0-9]+$`)

// detectGPUs counts NVIDIA devices, honouring CUDA_VISIBLE_DEVICES.
func detectGPUs() int {
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		v = strings.TrimSpace(v)
		if v == "" || v == "-1" {
			return 0
		}
		return len(strings.Split(v, ","))
	}
	entries, err := os.ReadDir("/dev")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if nvidiaDevice.MatchString(e.Name()) {
			n++
		}
	}
	return n
}

// systemMemory returns the machine's memory in bytes, or 8 GiB if unknown.
func systemMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 8 << 30
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
