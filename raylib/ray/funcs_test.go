package ray_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/goray-dev/goray/raylib/ray"
)

func divmod(a, b int) (int, int) { return a / b, a % b }

func TestReturns2GivesTwoRefs(t *testing.T) {
	atInit(t, ray.NumCPUs(2))
	q, r := ray.Remote2Returns2(divmod).Remote(17, 5)
	if v, err := q.Get(); err != nil || v != 3 {
		t.Fatalf("quotient %v %v", v, err)
	}
	if v, err := r.Get(); err != nil || v != 2 {
		t.Fatalf("remainder %v %v", v, err)
	}
	if len(ray.ListObjects()) < 2 {
		t.Fatal("two results should be two objects")
	}
}

func TestReturns3CtxErrorFailsEveryResult(t *testing.T) {
	atInit(t, ray.NumCPUs(2))
	boom := errors.New("boom")
	split := ray.Remote1Returns3Ctx(func(_ context.Context, s string) (string, string, int, error) {
		if s == "" {
			return "", "", 0, boom
		}
		a, b, _ := strings.Cut(s, ",")
		return a, b, len(s), nil
	})
	a, b, n := split.Remote("x,yz")
	if v, _ := a.Get(); v != "x" {
		t.Fatal(v)
	}
	if v, _ := b.Get(); v != "yz" {
		t.Fatal(v)
	}
	if v, _ := n.Get(); v != 4 {
		t.Fatal(v)
	}
	a, b, n = split.Remote("")
	for i, err := range []error{getErr(a), getErr(b), getErr(n)} {
		if !errors.Is(err, boom) {
			t.Errorf("result %d: %v", i, err)
		}
	}
}

func getErr[T any](r ray.ObjectRef[T]) error { _, err := r.Get(); return err }

func sum7(a, b, c, d, e, f, g int) int { return a + b + c + d + e + f + g }

func TestRemoteFuncAnyArity(t *testing.T) {
	atInit(t, ray.NumCPUs(2))
	refs := ray.RemoteFunc(sum7).Remote(1, 2, 3, 4, 5, 6, 7)
	if len(refs) != 1 {
		t.Fatalf("%d refs", len(refs))
	}
	v, err := ray.Typed[int](refs[0]).Get()
	if err != nil || v != 28 {
		t.Fatalf("%v %v", v, err)
	}
	// A ref argument is resolved first.
	refs = ray.RemoteFunc(sum7).Remote(ray.Put(10), 0, 0, 0, 0, 0, 1)
	if v, _ := ray.Typed[int](refs[0]).Get(); v != 11 {
		t.Fatalf("with a ref argument: %v", v)
	}
	// Wrong types are typed back.
	if _, err := ray.Typed[string](refs[0]).Get(); err == nil || !strings.Contains(err.Error(), "not a string") {
		t.Fatalf("typed view mismatch: %v", err)
	}
}

func TestRemoteFuncContextErrorsAndResults(t *testing.T) {
	atInit(t, ray.NumCPUs(2))
	three := ray.RemoteFunc(func(ctx context.Context, s string, n int) (string, int, []byte, error) {
		if _, ok := ray.GetRuntimeContext(ctx); !ok {
			return "", 0, nil, errors.New("no runtime context")
		}
		if n < 0 {
			return "", 0, nil, errors.New("negative")
		}
		return strings.Repeat(s, n), n * 2, []byte(s), nil
	})
	refs := three.Remote("ab", 2)
	if len(refs) != 3 {
		t.Fatalf("%d refs", len(refs))
	}
	if v, _ := ray.Typed[string](refs[0]).Get(); v != "abab" {
		t.Fatal(v)
	}
	if v, _ := ray.Typed[int](refs[1]).Get(); v != 4 {
		t.Fatal(v)
	}
	if v, _ := ray.Typed[[]byte](refs[2]).Get(); string(v) != "ab" {
		t.Fatal(v)
	}
	refs = three.Remote("ab", -1)
	if _, err := refs[2].Get(); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("error: %v", err)
	}
}

func TestRemoteFuncBadInput(t *testing.T) {
	atInit(t, ray.NumCPUs(2))
	if err := ray.RemoteFunc(42).Err(); err == nil || !strings.Contains(err.Error(), "not a function") {
		t.Fatalf("non-function: %v", err)
	}
	if err := ray.RemoteFunc(nil).Err(); err == nil {
		t.Fatal("nil function accepted")
	}
	if err := ray.RemoteFunc(func(xs ...int) int { return len(xs) }).Err(); err == nil || !strings.Contains(err.Error(), "variadic") {
		t.Fatalf("variadic: %v", err)
	}
	refs := ray.RemoteFunc(sum7).Remote(1, 2)
	if _, err := refs[0].Get(); err == nil || !strings.Contains(err.Error(), "2 arguments given, it takes 7") {
		t.Fatalf("arity: %v", err)
	}
	refs = ray.RemoteFunc(divmod).Remote("a", 1)
	if _, err := refs[0].Get(); err == nil || !strings.Contains(err.Error(), "argument 1 is a string, it takes a int") {
		t.Fatalf("type: %v", err)
	}
	// A ref holding the wrong type fails when resolved, naming the argument.
	refs = ray.RemoteFunc(divmod).Remote(ray.Put("x"), 1)
	if _, err := refs[0].Get(); err == nil || !strings.Contains(err.Error(), "argument 1 is a string") {
		t.Fatalf("ref type: %v", err)
	}
	// No result still gives a ref to wait on.
	refs = ray.RemoteFunc(func() {}).Remote()
	if len(refs) != 1 {
		t.Fatalf("%d refs", len(refs))
	}
	if _, err := refs[0].Get(); err != nil {
		t.Fatal(err)
	}
}
