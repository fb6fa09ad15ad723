package ray

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/goray-dev/goray/internal/objstore"
	"github.com/goray-dev/goray/internal/resources"
)

// TaskInfo describes one task, as `ray list tasks` does.
type TaskInfo struct {
	ID        string
	Name      string
	State     TaskState
	Kind      TaskKind
	ActorID   string
	ParentID  string
	Attempts  int
	Error     string
	Resources map[string]float64
	Submitted time.Time
	Started   time.Time
	Ended     time.Time
}

func (t *taskRecord) info() TaskInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti := TaskInfo{ID: t.ID(), Name: t.name, State: t.state, Kind: t.kind, Attempts: t.attempts,
		Submitted: t.submitted, Started: t.started, Ended: t.ended}
	if t.def != nil && t.def.request != nil {
		ti.Resources = t.def.request.Floats()
	}
	if t.actor != nil {
		ti.ActorID = t.actor.ID()
		ti.Resources = nil
	}
	if t.parent != nil {
		ti.ParentID = t.parent.ID()
	}
	if t.err != nil {
		ti.Error = firstLine(t.err.Error())
	}
	return ti
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// ListTasks returns the live tasks and the most recent finished ones (see
// TaskHistory), oldest first.
func ListTasks() []TaskInfo {
	r, err := rt()
	if err != nil {
		return nil
	}
	recs := r.taskRecords()
	out := make([]TaskInfo, len(recs))
	for i, t := range recs {
		out[i] = t.info()
	}
	return out
}

func (r *runtimeState) taskRecords() []*taskRecord {
	r.mu.Lock()
	recs := make([]*taskRecord, 0, len(r.tasks)+len(r.history))
	recs = append(recs, r.history...)
	for _, t := range r.tasks {
		recs = append(recs, t)
	}
	r.mu.Unlock()
	sort.Slice(recs, func(i, j int) bool { return recs[i].id < recs[j].id })
	return recs
}

// TaskSummary counts tasks by name and state, over every task of the
// runtime (not only the remembered ones), as `ray summary tasks` does.
type TaskSummary struct {
	Name   string
	Kind   TaskKind
	States map[TaskState]int
}

// SummarizeTasks returns one line per task name, sorted by name.
func SummarizeTasks() []TaskSummary {
	r, err := rt()
	if err != nil {
		return nil
	}
	byName := map[string]*TaskSummary{}
	add := func(name string, kind TaskKind, st TaskState, n int) {
		s := byName[name]
		if s == nil {
			s = &TaskSummary{Name: name, Kind: kind, States: map[TaskState]int{}}
			byName[name] = s
		}
		s.States[st] += n
	}
	r.mu.Lock()
	for k, n := range r.counts {
		add(k.name, k.kind, k.state, n)
	}
	live := make([]*taskRecord, 0, len(r.tasks))
	for _, t := range r.tasks {
		live = append(live, t)
	}
	r.mu.Unlock()
	for _, t := range live {
		t.mu.Lock()
		add(t.name, t.kind, t.state, 1)
		t.mu.Unlock()
	}
	out := make([]TaskSummary, 0, len(byName))
	for _, k := range sortedKeys(byName) {
		out = append(out, *byName[k])
	}
	return out
}

// ActorInfo describes one actor, as `ray list actors` does.
type ActorInfo struct {
	ID             string
	Class          string
	Name           string
	Namespace      string
	State          ActorState
	Restarts       int
	Calls          int
	QueuedCalls    int
	MaxConcurrency int
	Resources      map[string]float64
	GPUs           []GPUShare
	DeathCause     string
}

// ListActors returns every actor of the runtime, oldest first.
func ListActors() []ActorInfo {
	r, err := rt()
	if err != nil {
		return nil
	}
	r.mu.Lock()
	actors := make([]*actorCore, 0, len(r.actors))
	for _, a := range r.actors {
		actors = append(actors, a)
	}
	r.mu.Unlock()
	sort.Slice(actors, func(i, j int) bool { return actors[i].id < actors[j].id })
	out := make([]ActorInfo, len(actors))
	for i, a := range actors {
		a.mu.Lock()
		ai := ActorInfo{ID: a.ID(), Class: a.class, Name: a.name, Namespace: a.namespace, State: a.state,
			Restarts: a.restarts, Calls: a.calls, QueuedCalls: len(a.queue) - a.qhead,
			MaxConcurrency: a.maxConcurrency, Resources: a.request.Floats(), GPUs: sharesOf(a.grant)}
		if a.cause != nil {
			ai.DeathCause = firstLine(a.cause.Error())
		}
		a.mu.Unlock()
		out[i] = ai
	}
	return out
}

// ObjectInfo describes one object, as `ray list objects` does.
type ObjectInfo struct {
	ID            string
	Size          int64
	Status        string // PENDING, IN_MEMORY, SPILLED, FAILED
	ReferenceType string // LOCAL_REFERENCE, USED_BY_PENDING_TASK, ...
	CallSite      string // file:line function that created it
	Type          string // Go type of the value
	Source        string // PUT or TASK
}

// ListObjects returns every live object in the store, oldest first.
func ListObjects() []ObjectInfo {
	r, err := rt()
	if err != nil {
		return nil
	}
	infos := r.store.List()
	out := make([]ObjectInfo, len(infos))
	for i, in := range infos {
		src := "PUT"
		if in.Source == objstore.FromTask {
			src = "TASK"
		}
		out[i] = ObjectInfo{ID: formatID(r.jobID, uint64(in.ID)), Size: in.Size, Status: in.State.String(),
			ReferenceType: in.ReferenceType(), CallSite: in.CallSite, Type: in.Type, Source: src}
	}
	return out
}

// ObjectStoreStats summarises the object store.
type ObjectStoreStats = objstore.Stats

// StoreStats returns the object store's counters: bytes in memory and on
// disk, the budget, spills and restores.
func StoreStats() ObjectStoreStats {
	r, err := rt()
	if err != nil {
		return ObjectStoreStats{}
	}
	return r.store.Stats()
}

// traceEvent is one Chrome trace event ("X" is a complete event).
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	TS   float64        `json:"ts"`
	Dur  float64        `json:"dur,omitempty"`
	PID  int            `json:"pid"`
	TID  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// Timeline writes the remembered tasks as a Chrome trace (JSON array of
// events), as ray.timeline does; open it in chrome://tracing or Perfetto.
// Each task is a slice on the lane of the worker slot it ran in; actor calls
// are on their actor's lane. The file is written atomically.
func Timeline(path string) error {
	r, err := rt()
	if err != nil {
		return err
	}
	events := []traceEvent{}
	actorLanes := map[string]int{}
	for _, t := range r.taskRecords() {
		ti := t.info()
		if ti.Started.IsZero() {
			continue
		}
		end := ti.Ended
		if end.IsZero() {
			end = time.Now()
		}
		tid := 0
		t.mu.Lock()
		lane := t.lane
		t.mu.Unlock()
		if ti.ActorID != "" {
			l, ok := actorLanes[ti.ActorID]
			if !ok {
				l = 100000 + len(actorLanes)
				actorLanes[ti.ActorID] = l
			}
			tid = l
		} else if lane >= 0 {
			tid = lane
		}
		events = append(events, traceEvent{
			Name: ti.Name, Cat: string(ti.Kind), Ph: "X",
			TS:  float64(ti.Started.Sub(r.started).Nanoseconds()) / 1e3,
			Dur: float64(end.Sub(ti.Started).Nanoseconds()) / 1e3,
			PID: 1, TID: tid,
			Args: map[string]any{"task_id": ti.ID, "state": string(ti.State), "attempts": ti.Attempts},
		})
	}
	data, err := json.MarshalIndent(events, "", " ")
	if err != nil {
		return fmt.Errorf("ray.Timeline: %w", err)
	}
	return writeFileAtomic(path, data)
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// GPUShare is one GPU device (or part of one) held by a task or actor.
type GPUShare struct {
	ID       int     // device index
	Fraction float64 // 1 for the whole device
}

func sharesOf(g resources.Grant) []GPUShare {
	if len(g.GPUs) == 0 {
		return nil
	}
	s := append([]resources.GPUShare(nil), g.GPUs...)
	resources.SortShares(s)
	out := make([]GPUShare, len(s))
	for i, x := range s {
		out[i] = GPUShare{ID: x.Index, Fraction: x.Amount.Float()}
	}
	return out
}

// RuntimeContext tells a running task or actor who it is and what it
// holds, as ray.get_runtime_context() does.
type RuntimeContext struct {
	JobID     string
	Namespace string
	TaskID    string // empty in an actor's constructor
	TaskName  string
	ActorID   string // empty in a plain task
	Resources map[string]float64
	GPUs      []GPUShare
}

// GetRuntimeContext returns the runtime context carried by ctx, the context
// that Ctx-form tasks, actor constructors and methods receive. ok is false
// outside of them.
func GetRuntimeContext(ctx context.Context) (rc RuntimeContext, ok bool) {
	ei, ok := ctx.Value(execKey{}).(*execInfo)
	if !ok {
		return RuntimeContext{}, false
	}
	rc = RuntimeContext{JobID: fmt.Sprintf("%08x", ei.rt.jobID), Namespace: ei.rt.namespace,
		Resources: ei.grant.Set.Floats(), GPUs: sharesOf(ei.grant)}
	if ei.task != nil {
		rc.TaskID, rc.TaskName = ei.task.ID(), ei.task.name
	}
	if ei.actor != nil {
		rc.ActorID = ei.actor.ID()
		rc.Resources = ei.actor.request.Floats()
	}
	return rc, true
}

// GPUIDs returns the device indices held by the task or actor that ctx
// belongs to, as ray.get_gpu_ids() does.
func GPUIDs(ctx context.Context) []int {
	rc, _ := GetRuntimeContext(ctx)
	ids := make([]int, len(rc.GPUs))
	for i, g := range rc.GPUs {
		ids[i] = g.ID
	}
	return ids
}
