package ray_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

// closer is an actor that counts its Close calls and can hold a call open.
type closer struct {
	closes             *atomic.Int32
	running            atomic.Bool
	closedWhileRunning *atomic.Bool
	entered            chan struct{}
	release            chan struct{}
}

func (c *closer) Close() error {
	if c.running.Load() {
		c.closedWhileRunning.Store(true)
	}
	c.closes.Add(1)
	return nil
}

func (c *closer) Ping() int { return 1 }

func (c *closer) Hold(ctx context.Context) (int, error) {
	c.running.Store(true)
	defer c.running.Store(false)
	c.entered <- struct{}{}
	<-c.release
	return 1, nil
}

func (c *closer) Boom() int { panic("closer boom") }

type closeCounts struct {
	closes, whileRunning atomic.Int32
	bad                  atomic.Bool
}

func newCloserFactory(cc *closeCounts, entered, release chan struct{}) func() *closer {
	return func() *closer {
		return &closer{closes: &cc.closes, closedWhileRunning: &cc.bad, entered: entered, release: release}
	}
}

func waitCount(t *testing.T, n *atomic.Int32, want int32, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestActorInstanceClosedWhenActorEnds(t *testing.T) {
	atInit(t, ray.NumCPUs(4))

	t.Run("kill", func(t *testing.T) {
		var cc closeCounts
		a, err := ray.NewActor(newCloserFactory(&cc, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		atGet(t, ray.Call(a, (*closer).Ping))
		if cc.closes.Load() != 0 {
			t.Fatal("closed while alive")
		}
		ray.Kill(a, true)
		waitCount(t, &cc.closes, 1, "closes after Kill")
		ray.Kill(a, true)
		time.Sleep(10 * time.Millisecond)
		if n := cc.closes.Load(); n != 1 {
			t.Errorf("closed %d times, want once", n)
		}
	})

	t.Run("kill during a call waits for it", func(t *testing.T) {
		var cc closeCounts
		entered, release := make(chan struct{}, 1), make(chan struct{})
		a, err := ray.NewActor(newCloserFactory(&cc, entered, release))
		if err != nil {
			t.Fatal(err)
		}
		ref := ray.CallCtx(a, (*closer).Hold)
		atRecv(t, entered, "Hold to start")
		ray.Kill(a, true)
		time.Sleep(20 * time.Millisecond)
		if n := cc.closes.Load(); n != 0 {
			t.Fatalf("closed %d times while a call still ran on it", n)
		}
		close(release)
		atDied(t, atGetErr(t, ref))
		waitCount(t, &cc.closes, 1, "closes after the call returned")
		if cc.bad.Load() {
			t.Error("Close ran while a call was running")
		}
	})

	t.Run("restart closes the old instance only", func(t *testing.T) {
		var cc closeCounts
		a, err := ray.NewActor(newCloserFactory(&cc, nil, nil), ray.MaxRestarts(2))
		if err != nil {
			t.Fatal(err)
		}
		atDied(t, atGetErr(t, ray.Call(a, (*closer).Boom)))
		waitCount(t, &cc.closes, 1, "closes after a crash and restart")
		atGet(t, ray.Call(a, (*closer).Ping))
		ray.Kill(a, false) // restart again
		waitCount(t, &cc.closes, 2, "closes after a restarting Kill")
		atGet(t, ray.Call(a, (*closer).Ping))
		if n := cc.closes.Load(); n != 2 {
			t.Errorf("closes = %d, want 2 (the live instance is open)", n)
		}
	})

	t.Run("shutdown", func(t *testing.T) {
		var cc closeCounts
		a, err := ray.NewActor(newCloserFactory(&cc, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		atGet(t, ray.Call(a, (*closer).Ping))
		if err := ray.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if n := cc.closes.Load(); n != 1 {
			t.Errorf("closes after Shutdown = %d, want 1", n)
		}
		atInit(t, ray.NumCPUs(4))
	})
}

func TestActorBuiltAfterDeathIsClosed(t *testing.T) {
	atInit(t, ray.NumCPUs(4))
	var cc closeCounts
	started, finish := make(chan struct{}), make(chan struct{})
	a, err := ray.NewActor(func() *closer {
		close(started)
		<-finish
		return newCloserFactory(&cc, nil, nil)()
	})
	if err != nil {
		t.Fatal(err)
	}
	atRecv(t, started, "the constructor to start")
	ray.Kill(a, true)
	close(finish)
	waitCount(t, &cc.closes, 1, "closes of an instance built for a dead actor")
}
