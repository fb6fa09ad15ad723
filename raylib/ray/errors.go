package ray

import (
	"errors"
	"fmt"
	"time"

	"github.com/goray-dev/goray/internal/objstore"
	"github.com/goray-dev/goray/internal/resources"
)

// ErrNotInitialized is returned by calls that need a running runtime when
// it was shut down.
var ErrNotInitialized = errors.New("ray: runtime is not initialized (call ray.Init, or use the API to start it automatically)")

// ErrAlreadyInitialized is returned by a second Init without
// IgnoreReinitError.
var ErrAlreadyInitialized = errors.New("ray: Init called twice; pass ray.IgnoreReinitError() to allow it, or call ray.Shutdown first")

// ErrObjectReleased is returned by Get on an object that was released.
var ErrObjectReleased = objstore.ErrReleased

// ErrNilRef is returned when a zero ObjectRef is used.
var ErrNilRef = errors.New("ray: nil ObjectRef (a zero value, never returned by Put or a remote call)")

// InfeasibleError reports a resource request that no node can ever satisfy.
type InfeasibleError = resources.InfeasibleError

// ObjectStoreFullError reports an object that fits neither in memory nor on
// disk.
type ObjectStoreFullError = objstore.FullError

// TaskError is a task's failure: the error it returned or the panic it
// raised, with the task's name and, for a panic, the stack.
type TaskError struct {
	Task     string // function name
	TaskID   string
	Attempts int    // how many times it ran
	Panic    any    // the panic value, nil if the task returned an error
	Stack    string // goroutine stack at the panic
	Err      error  // the returned error, or the panic as an error
}

func (e *TaskError) Error() string {
	if e.Panic != nil {
		return fmt.Sprintf("task %s (%s) panicked: %v\n%s", e.Task, e.TaskID, e.Panic, e.Stack)
	}
	return fmt.Sprintf("task %s (%s) failed: %v", e.Task, e.TaskID, e.Err)
}

func (e *TaskError) Unwrap() error { return e.Err }

// TaskCancelledError is returned by Get on the result of a cancelled task.
type TaskCancelledError struct {
	Task   string
	TaskID string
}

func (e *TaskCancelledError) Error() string {
	return fmt.Sprintf("task %s (%s) was cancelled", e.Task, e.TaskID)
}

// GetTimeoutError is returned when Get or GetAll times out.
type GetTimeoutError struct {
	Timeout time.Duration
	Object  string
}

func (e *GetTimeoutError) Error() string {
	return fmt.Sprintf("ray.Get timed out after %v waiting for object %s", e.Timeout, e.Object)
}

// ActorDiedError is returned by calls on an actor that died: killed, or
// crashed with no restarts left, or its constructor failed.
type ActorDiedError struct {
	Actor   string // class and name
	ActorID string
	Cause   error
}

func (e *ActorDiedError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("actor %s (%s) died: %v", e.Actor, e.ActorID, e.Cause)
	}
	return fmt.Sprintf("actor %s (%s) died", e.Actor, e.ActorID)
}

func (e *ActorDiedError) Unwrap() error { return e.Cause }

// ErrActorKilled is the cause of an ActorDiedError after Kill.
var ErrActorKilled = errors.New("killed by ray.Kill")
