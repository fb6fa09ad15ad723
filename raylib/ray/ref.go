package ray

import (
	"context"
	"encoding"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	goruntime "runtime"
	"slices"
	"sync"
	"time"

	"github.com/goray-dev/goray/internal/objstore"
)

// handle is the shared identity of every copy of one ObjectRef. While a
// handle is reachable the object is referenced; once the garbage collector
// finds it unreachable the reference is dropped, which frees the object
// when nothing else needs it.
type handle struct {
	rt    *runtimeState
	id    objstore.ID
	owner *taskRecord // the task that produces it; nil for Put
}

type cleanupArg struct {
	store *objstore.Store
	id    objstore.ID
}

func dropHandle(c cleanupArg) { c.store.DropHandle(c.id) }

func newHandle(r *runtimeState, id objstore.ID, owner *taskRecord) *handle {
	h := &handle{rt: r, id: id, owner: owner}
	goruntime.AddCleanup(h, dropHandle, cleanupArg{r.store, id})
	return h
}

// Ref is any ObjectRef, whatever its type: Wait, Cancel and Release take it.
type Ref interface {
	// ID is the object's hex identifier, as the state API lists it.
	ID() string
	ref() *handle
}

// ObjectRef is a typed reference to an object in the object store: the
// future result of a remote call, or a value given to Put. Copies refer to
// the same object. The zero ObjectRef refers to nothing.
type ObjectRef[T any] struct {
	h *handle
}

func (r ObjectRef[T]) ref() *handle { return r.h }

// ID returns the object's identifier.
func (r ObjectRef[T]) ID() string {
	if r.h == nil {
		return "nil"
	}
	return formatID(r.h.rt.jobID, uint64(r.h.id))
}

// String formats the ref as Ray does: ObjectRef(<id>).
func (r ObjectRef[T]) String() string { return "ObjectRef(" + r.ID() + ")" }

// SizeBytes is what a ref adds to the size of a value that holds it: a
// pointer, not the object it refers to.
func (r ObjectRef[T]) SizeBytes() int64 { return 8 }

// typedArg makes an ObjectRef[T] usable where an Arg[T] is expected.
func (r ObjectRef[T]) typedArg(*T) {}

func (r ObjectRef[T]) slot() argSlot {
	if r.h == nil { // a zero ref would otherwise pass as a nil value
		return argSlot{ref: failedHandle(ErrNilRef)}
	}
	return argSlot{ref: r.h}
}

func formatID(job uint32, n uint64) string { return fmt.Sprintf("%08x%016x", job, n) }

// Get waits for the object and returns its value. A task's failure comes
// back as its error (*TaskError, *TaskCancelledError, *ActorDiedError);
// Timeout and WithContext bound the wait.
func (r ObjectRef[T]) Get(opts ...GetOption) (T, error) {
	if len(opts) == 0 {
		return r.get(getConfig{})
	}
	var cfg getConfig
	for _, o := range opts {
		o(&cfg)
	}
	return r.get(cfg)
}

// get is Get with its options applied; cfg is passed by value so that it
// does not escape to the heap on every call.
func (r ObjectRef[T]) get(cfg getConfig) (T, error) {
	var zero T
	if r.h == nil {
		return zero, ErrNilRef
	}
	ctx := cfg.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	// A task that blocks on an object lends its CPUs back meanwhile (it can
	// only be told apart when it passes its context).
	if ei, ok := ctx.Value(execKey{}).(*execInfo); ok && ei.task != nil && ei.actor == nil &&
		ei.rt == r.h.rt && !r.h.rt.store.IsReady(r.h.id) && ei.task.lendCPU() {
		defer ei.task.reclaimCPU(cfg.ctx)
	}
	v, err := r.h.rt.store.Get(ctx, r.h.id)
	goruntime.KeepAlive(r.h)
	if err != nil {
		return zero, r.getError(err, cfg)
	}
	return cast[T](v, r)
}

func (r ObjectRef[T]) getError(err error, cfg getConfig) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) && cfg.timeout > 0:
		return &GetTimeoutError{Timeout: cfg.timeout, Object: r.ID()}
	case errors.Is(err, objstore.ErrClosed):
		return fmt.Errorf("get %s: %w", r, ErrNotInitialized)
	case errors.Is(err, objstore.ErrReleased):
		return fmt.Errorf("get %s: %w", r, ErrObjectReleased)
	}
	return err
}

func cast[T any](v any, r Ref) (T, error) {
	if t, ok := v.(T); ok {
		return t, nil
	}
	var zero T
	if v == nil {
		return zero, nil
	}
	return zero, fmt.Errorf("get %s: the object holds a %T, not a %v", r.ID(), v, reflect.TypeFor[T]())
}

// Get is ray.get for one reference.
func Get[T any](r ObjectRef[T], opts ...GetOption) (T, error) { return r.Get(opts...) }

// GetAll waits for every reference and returns their values in order. It
// returns the first error met; a timeout covers the whole call.
func GetAll[T any](refs []ObjectRef[T], opts ...GetOption) ([]T, error) {
	cfg := getConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout > 0 {
		ctx := cfg.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
		cfg.ctx = ctx
	}
	out := make([]T, len(refs))
	for i, r := range refs {
		v, err := r.get(getConfig{ctx: cfg.ctx})
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && cfg.timeout > 0 {
				return nil, &GetTimeoutError{Timeout: cfg.timeout, Object: r.ID()}
			}
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Put stores v in the object store and returns a reference to it. The
// value is not copied: do not change it afterwards. If the store is full
// and v cannot be spilled, Get on the reference returns the error.
func Put[T any](v T) ObjectRef[T] {
	var pcs [1]uintptr
	goruntime.Callers(2, pcs[:])
	r, err := rt()
	if err != nil {
		return ObjectRef[T]{h: failedHandle(err)}
	}
	id, err := r.store.Create(objstore.FromPut, pcs[0])
	if err != nil {
		return ObjectRef[T]{h: failedHandle(ErrNotInitialized)}
	}
	h := newHandle(r, id, nil)
	if err := r.store.Seal(id, v, objstore.SizeOf(v), codecFor[T](), typeName[T]()); err != nil {
		r.store.Fail(id, fmt.Errorf("ray.Put: %w", err))
	}
	return ObjectRef[T]{h: h}
}

// failedHandle returns a handle in a private store whose only object failed
// with err, so that Get reports err.
func failedHandle(err error) *handle {
	s := objstore.New(objstore.Options{})
	id, _ := s.Create(objstore.FromPut, 0)
	s.Fail(id, err)
	return &handle{rt: &runtimeState{store: s}, id: id}
}

func codecFor[T any]() objstore.Codec {
	if _, ok := any(*new(T)).([]byte); ok {
		return objstore.BytesCodec{}
	}
	t := reflect.TypeFor[T]()
	faithful, ok := gobChecked.Load(t)
	if !ok {
		faithful = gobFaithful(t, map[reflect.Type]bool{})
		gobChecked.Store(t, faithful)
	}
	if !faithful.(bool) {
		return nil // never spilled: gob would drop part of it
	}
	return objstore.GobCodec[T]{}
}

var gobChecked sync.Map // reflect.Type -> bool

var (
	gobEncoderType      = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// gobFaithful reports whether gob writes every part of a t: it silently
// skips func and chan fields and unexported fields.
func gobFaithful(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	pt := reflect.PointerTo(t)
	if t.Implements(gobEncoderType) || pt.Implements(gobEncoderType) ||
		t.Implements(binaryMarshalerType) || pt.Implements(binaryMarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return gobFaithful(t.Elem(), seen)
	case reflect.Map:
		return gobFaithful(t.Key(), seen) && gobFaithful(t.Elem(), seen)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			// gob drops pointers to zero values: such fields come back nil.
			if f := t.Field(i); !f.IsExported() || f.Type.Kind() == reflect.Pointer || !gobFaithful(f.Type, seen) {
				return false
			}
		}
	}
	return true
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// Release frees the objects now, whatever still refers to them; later Gets
// fail with ErrObjectReleased. Dropping every reference frees an object
// too, once the garbage collector notices.
func Release(refs ...Ref) {
	for _, r := range refs {
		if h := r.ref(); h != nil {
			h.rt.store.Release(h.id)
		}
	}
}

// Wait returns when numReturns of refs are ready or timeout passes (a
// negative timeout waits forever). ready holds at most numReturns refs and
// notReady the rest, both in input order. A ref is ready when its task
// finished, failed or was cancelled.
func Wait[R Ref](refs []R, numReturns int, timeout time.Duration) (ready, notReady []R, err error) {
	if numReturns < 0 || numReturns > len(refs) {
		return nil, nil, fmt.Errorf("ray.Wait: numReturns %d must be between 0 and the %d refs given", numReturns, len(refs))
	}
	ids := make([]objstore.ID, len(refs))
	var store *objstore.Store
	oneStore := true
	for i, r := range refs {
		h := r.ref()
		if h == nil {
			return nil, nil, fmt.Errorf("ray.Wait: ref %d: %w", i, ErrNilRef)
		}
		ids[i] = h.id
		if store == nil {
			store = h.rt.store
		} else if h.rt.store != store {
			oneStore = false
		}
	}
	if dup := duplicateRef(refs, ids, oneStore); dup >= 0 {
		return nil, nil, fmt.Errorf("ray.Wait: ref %d (%s) is given twice", dup, refs[dup].ID())
	}
	flags := make([]bool, len(refs))
	isReady := func() {
		if oneStore && store != nil {
			store.ReadyFlags(ids, flags)
			return
		}
		for i, r := range refs {
			h := r.ref()
			flags[i] = h.rt.store.IsReady(h.id)
		}
	}
	count := func() int {
		n := 0
		for _, f := range flags {
			if f {
				n++
			}
		}
		return n
	}
	isReady()
	if have := count(); have < numReturns && timeout != 0 {
		signal := make(chan struct{}, len(refs))
		notify := func() { signal <- struct{}{} }
		if oneStore {
			pending := make([]objstore.ID, 0, len(refs)-have)
			for i := range refs {
				if !flags[i] {
					pending = append(pending, ids[i])
				}
			}
			// Objects that became ready since the check were not registered:
			// count them now. Registrations left at return are removed.
			reg, cancel := store.OnAnyReady(pending, notify)
			have += len(pending) - reg
			defer cancel()
		} else {
			for i, r := range refs {
				if !flags[i] {
					h := r.ref()
					reg, cancel := h.rt.store.OnAnyReady([]objstore.ID{h.id}, notify)
					have += 1 - reg
					defer cancel()
				}
			}
		}
		var deadline <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
	loop:
		for have < numReturns {
			select {
			case <-signal:
				have++
			case <-deadline:
				break loop
			}
		}
		isReady()
	}
	ready = make([]R, 0, numReturns)
	notReady = make([]R, 0, len(refs)-numReturns)
	for i, r := range refs {
		if flags[i] && len(ready) < numReturns {
			ready = append(ready, r)
		} else {
			notReady = append(notReady, r)
		}
	}
	return ready, notReady, nil
}

// duplicateRef returns the index of a ref given twice, or -1. Ids are
// unique within one store, so a sorted copy finds repeats without a map.
func duplicateRef[R Ref](refs []R, ids []objstore.ID, oneStore bool) int {
	if !oneStore {
		seen := make(map[*handle]bool, len(refs))
		for i, r := range refs {
			if seen[r.ref()] {
				return i
			}
			seen[r.ref()] = true
		}
		return -1
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			// Report the second occurrence in input order.
			first := -1
			for j, id := range ids {
				if id == sorted[i] {
					if first >= 0 {
						return j
					}
					first = j
				}
			}
		}
	}
	return -1
}

// Arg is an argument of type T for a remote call: an ObjectRef[T], whose
// value is fetched before the call runs (the scheduler waits for it), or a
// plain value wrapped by Value.
type Arg[T any] interface {
	typedArg(*T)
	slot() argSlot
}

type valueArg[T any] struct{ v T }

func (valueArg[T]) typedArg(*T)     {}
func (a valueArg[T]) slot() argSlot { return argSlot{value: a.v} }

// Value wraps a plain value as an Arg, for calls that mix values and refs.
func Value[T any](v T) Arg[T] { return valueArg[T]{v} }

// argSlot is one argument of a submitted call: a value, or a ref to resolve.
type argSlot struct {
	value any
	ref   *handle
}
