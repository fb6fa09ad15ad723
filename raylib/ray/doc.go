// Package ray is goray's core: Ray's programming model for Go.
//
// Remote functions (tasks) run asynchronously and return typed object
// references; actors are stateful workers whose method calls run in
// submission order; objects live in an object store with reference counting
// and spilling; a resource-aware scheduler places work by CPUs, GPUs (with
// fractions packed onto devices), memory and custom resources.
//
// The runtime behind the package-level functions is the embedded local
// backend: tasks and actors are goroutines in this process, started by Init
// or automatically on first use, and stopped by Shutdown. Names follow Ray
// (Remote, Get, Wait, Put, Cancel, Kill, GetActor) so that a Ray user finds
// every call; see the README for the full Ray to goray table.
//
// An actor's instance that implements io.Closer is closed when the actor
// dies (Kill, a crash, Shutdown) or restarts, once no call runs on it: a
// Ray actor's process takes its resources with it, and in one process
// Close is how a model, file or connection held by an actor is released.
//
// Values passed to and returned from remote calls are stored without
// copying. Treat them as immutable once submitted, as Ray's zero-copy
// arrays are read-only; a later backend with worker processes will
// serialise them (gob), so they should be gob-encodable.
package ray
