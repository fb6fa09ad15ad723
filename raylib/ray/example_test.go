package ray_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime"
	"strings"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

func atSquare(x int) int { return x * x }

func atSum(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total
}

func atDouble(x int) int { return 2 * x }

// atExCounter is the actor of the examples.
type atExCounter struct{ value int }

func atNewExCounter() *atExCounter            { return &atExCounter{} }
func atNewExCounterAt(start int) *atExCounter { return &atExCounter{value: start} }

func (c *atExCounter) Increment() int { c.value++; return c.value }
func (c *atExCounter) Add(n int) int  { c.value += n; return c.value }

func ExampleRemote1() {
	defer ray.Shutdown()

	// The runtime starts on first use, with this machine's resources.
	square := ray.Remote1(atSquare)
	refs := make([]ray.ObjectRef[int], 4)
	for i := range refs {
		refs[i] = square.Remote(i) // returns at once
	}
	squares, err := ray.GetAll(refs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(squares)
	// Output: [0 1 4 9]
}

func ExamplePut() {
	defer ray.Shutdown()

	data := ray.Put([]int{1, 2, 3, 4})
	// A ref argument is fetched from the object store before the task runs.
	total, err := ray.Remote1(atSum).RemoteArgs(data).Get()
	if err != nil {
		log.Fatal(err)
	}
	back, err := data.Get()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(total, back)
	// Output: 10 [1 2 3 4]
}

func ExampleWait() {
	if err := ray.Init(ray.NumCPUs(4)); err != nil {
		log.Fatal(err)
	}
	defer ray.Shutdown()

	gate := make(chan struct{})
	slow := ray.RemoteCtx(func(ctx context.Context) (string, error) {
		select {
		case <-gate:
			return "slow", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	fast := ray.Remote(func() string { return "fast" })
	refs := []ray.ObjectRef[string]{slow.Remote(), fast.Remote()}

	// Wait for the first one to finish.
	ready, notReady, err := ray.Wait(refs, 1, 10*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	first, _ := ready[0].Get()
	fmt.Println(len(ready), len(notReady), first)

	// A zero timeout only looks.
	ready, _, _ = ray.Wait(refs, 2, 0)
	fmt.Println(len(ready))

	// A negative timeout waits as long as it takes.
	close(gate)
	ready, notReady, _ = ray.Wait(refs, 2, -1)
	fmt.Println(len(ready), len(notReady))
	// Output:
	// 1 1 fast
	// 1
	// 2 0
}

func ExampleNewActor() {
	defer ray.Shutdown()

	counter, err := ray.NewActor(atNewExCounter)
	if err != nil {
		log.Fatal(err)
	}
	// Calls to one actor run one at a time, in the order they were made.
	refs := make([]ray.ObjectRef[int], 3)
	for i := range refs {
		refs[i] = ray.Call(counter, (*atExCounter).Increment)
	}
	counts, err := ray.GetAll(refs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(counts, counter.State())

	// Killed, the actor fails every later call.
	ray.Kill(counter, true)
	_, err = ray.Call(counter, (*atExCounter).Increment).Get()
	var died *ray.ActorDiedError
	fmt.Println(counter.State(), errors.As(err, &died), errors.Is(err, ray.ErrActorKilled))
	// Output:
	// [1 2 3] ALIVE
	// DEAD true true
}

func ExampleCall1() {
	defer ray.Shutdown()

	counter, err := ray.NewActor1(atNewExCounterAt, 10)
	if err != nil {
		log.Fatal(err)
	}
	plain := ray.Call1(counter, (*atExCounter).Add, 5)
	// Call1Args takes a ref (or ray.Value): the call waits for the object,
	// and later calls wait behind it.
	fromRef := ray.Call1Args(counter, (*atExCounter).Add, ray.Put(100))
	fromValue := ray.Call1Args(counter, (*atExCounter).Add, ray.Value(1000))
	results, err := ray.GetAll([]ray.ObjectRef[int]{plain, fromRef, fromValue})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(results)
	// Output: [15 115 1115]
}

func ExampleGetActor() {
	if err := ray.Init(ray.Namespace("shop")); err != nil {
		log.Fatal(err)
	}
	defer ray.Shutdown()

	if _, err := ray.NewActor(atNewExCounter, ray.Name("visits")); err != nil {
		log.Fatal(err)
	}

	// Elsewhere, find the actor by its name.
	visits, err := ray.GetActor[atExCounter]("visits")
	if err != nil {
		log.Fatal(err)
	}
	n, err := ray.Call(visits, (*atExCounter).Increment).Get()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(visits.Name(), n)

	// GetIfExists returns the live actor instead of failing on the name.
	same, err := ray.NewActor(atNewExCounter, ray.Name("visits"), ray.GetIfExists())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(same.ID() == visits.ID())

	_, err = ray.GetActor[atExCounter]("orders")
	fmt.Println(err)
	// Output:
	// visits 1
	// true
	// ray.GetActor: no live actor named "orders" in namespace "shop"
}

func ExampleTask1_Options() {
	if err := ray.Init(ray.NumCPUs(4)); err != nil {
		log.Fatal(err)
	}
	defer ray.Shutdown()

	double := ray.Remote1(atDouble)
	heavy := double.Options(ray.NumCPUs(2), ray.Name("double-heavy"))
	v, err := heavy.Remote(21).Get()
	fmt.Println(heavy.Name(), v, err)
	fmt.Println(double.Name()) // the original handle is unchanged

	// An option that does not apply is reported by Err and by every call.
	bad := double.Options(ray.MaxConcurrency(2))
	fmt.Println(bad.Err())
	_, err = bad.Remote(1).Get()
	fmt.Println(err != nil)
	// Output:
	// double-heavy 42 <nil>
	// atDouble
	// ray.Remote atDouble: option MaxConcurrency does not apply to a remote function
	// true
}

// atExModel holds a share of a GPU.
type atExModel struct {
	gpus  []int
	share float64
}

func atNewExModel(ctx context.Context) (*atExModel, error) {
	rc, _ := ray.GetRuntimeContext(ctx)
	return &atExModel{gpus: ray.GPUIDs(ctx), share: rc.GPUs[0].Fraction}, nil
}

func (m *atExModel) Describe() string {
	return fmt.Sprintf("actor: GPUs %v, share %v", m.gpus, m.share)
}

func ExampleGPUIDs() {
	if err := ray.Init(ray.NumCPUs(4), ray.NumGPUs(1)); err != nil {
		log.Fatal(err)
	}
	defer ray.Shutdown()

	// Fractions of one device are packed together: 0.4 + 0.6 share GPU 0.
	model, err := ray.NewActorCtx(atNewExModel, ray.NumGPUs(0.4))
	if err != nil {
		log.Fatal(err)
	}
	desc, err := ray.Call(model, (*atExModel).Describe).Get()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(desc)

	infer := ray.RemoteCtx(func(ctx context.Context) (string, error) {
		rc, _ := ray.GetRuntimeContext(ctx)
		return fmt.Sprintf("task: GPUs %v, share %v, free now %v",
			ray.GPUIDs(ctx), rc.GPUs[0].Fraction, ray.GPUFree()), nil
	}, ray.NumGPUs(0.6))
	s, err := infer.Remote().Get()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s)
	fmt.Println("free after the task:", ray.GPUFree())
	// Output:
	// actor: GPUs [0], share 0.4
	// task: GPUs [0], share 0.6, free now [0]
	// free after the task: [0.6]
}

func ExampleListObjects() {
	if err := ray.Init(ray.NumCPUs(2)); err != nil {
		log.Fatal(err)
	}
	defer ray.Shutdown()

	greeting := ray.Put("hello")
	square := ray.Remote1(atSquare).Remote(7)
	if _, err := square.Get(); err != nil {
		log.Fatal(err)
	}
	for _, o := range ray.ListObjects() {
		// CallSite is "file:line function"; print the function only.
		fields := strings.Fields(o.CallSite)
		fmt.Println(o.Source, o.Status, o.Type, o.Size, o.ReferenceType, fields[len(fields)-1])
	}
	runtime.KeepAlive(greeting)
	runtime.KeepAlive(square)
	// Output:
	// PUT IN_MEMORY string 5 LOCAL_REFERENCE ray_test.ExampleListObjects
	// TASK IN_MEMORY int 8 LOCAL_REFERENCE ray_test.ExampleListObjects
}
