package data

import (
	"context"
	"fmt"

	"github.com/goray-dev/goray/raylib/ray"
)

// BatchCaller is what an actor-pool UDF implements: Ray's callable class.
// Its constructor runs once per actor (load a model there); Call runs for
// every batch.
type BatchCaller interface {
	Call(ctx context.Context, b *Batch) (*Batch, error)
}

// ActorPoolUDF is a callable type to run on a pool of actors, made by
// ActorPool; pass it to MapBatches.
type ActorPoolUDF struct {
	name     string
	size     int
	min, max int
	ctor     func(ctx context.Context) (BatchCaller, error)
}

// ActorPool runs a callable type on size actors, each made once with ctor,
// as Ray's map_batches(Class, concurrency=size) does. The constructor may
// take arguments through a closure or ActorPool1.
func ActorPool[T any, PT interface {
	*T
	BatchCaller
}](ctor func() PT, size int) *ActorPoolUDF {
	return &ActorPoolUDF{name: typeNameOf[T](), size: size, min: size, max: size,
		ctor: func(context.Context) (BatchCaller, error) { return ctor(), nil }}
}

// ActorPool1 is ActorPool with one constructor argument (Ray's
// fn_constructor_args).
func ActorPool1[T, A1 any, PT interface {
	*T
	BatchCaller
}](ctor func(A1) PT, a1 A1, size int) *ActorPoolUDF {
	return &ActorPoolUDF{name: typeNameOf[T](), size: size, min: size, max: size,
		ctor: func(context.Context) (BatchCaller, error) { return ctor(a1), nil }}
}

// ActorPool2 is ActorPool with two constructor arguments.
func ActorPool2[T, A1, A2 any, PT interface {
	*T
	BatchCaller
}](ctor func(A1, A2) PT, a1 A1, a2 A2, size int) *ActorPoolUDF {
	return &ActorPoolUDF{name: typeNameOf[T](), size: size, min: size, max: size,
		ctor: func(context.Context) (BatchCaller, error) { return ctor(a1, a2), nil }}
}

// ActorPoolCtx makes each actor with a constructor that can fail (a model
// that does not load): the error fails the execution and names the
// operator.
func ActorPoolCtx[T any, PT interface {
	*T
	BatchCaller
}](ctor func(ctx context.Context) (PT, error), size int) *ActorPoolUDF {
	return &ActorPoolUDF{name: typeNameOf[T](), size: size, min: size, max: size,
		ctor: func(ctx context.Context) (BatchCaller, error) { return ctor(ctx) }}
}

// Autoscale lets the pool grow from min to max actors while inputs wait
// (Ray's concurrency=(min, max)).
func (p *ActorPoolUDF) Autoscale(min, max int) *ActorPoolUDF {
	cp := *p
	cp.min, cp.max, cp.size = min, max, max
	return &cp
}

// actorPool is how the executor starts the pool's actors.
type actorPool struct {
	udf *ActorPoolUDF
}

func (p *actorPool) start(opts ...ray.Option) (*ray.Actor[poolWorker], error) {
	ctor := p.udf.ctor
	return ray.NewActorCtx(func(ctx context.Context) (w *poolWorker, err error) {
		err = callUDF(func() error {
			u, err := ctor(ctx)
			if err != nil {
				return err
			}
			if u == nil {
				return fmt.Errorf("constructor of %s returned nil", p.udf.name)
			}
			w = &poolWorker{udf: u}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("constructor of %s: %w", p.udf.name, err)
		}
		return w, nil
	}, opts...)
}

// poolWorker is the actor: it holds the UDF's instance and runs tasks
// with it.
type poolWorker struct {
	udf BatchCaller
}

func (w *poolWorker) run(ctx context.Context, in taskInput) ([]BlockRef, error) {
	return runTask(ctx, in, w.udf)
}
