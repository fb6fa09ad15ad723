package ray

import (
	"sync"
	"time"
)

// goroutines counts the runtime's running goroutines. Unlike
// sync.WaitGroup, Add may race with Wait (work can still be starting while
// Shutdown waits): Wait returns whenever the count is zero.
type goroutines struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed while n == 0; replaced when n leaves 0
}

func (g *goroutines) Add(d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.zero == nil {
		g.zero = make(chan struct{})
		if g.n == 0 {
			close(g.zero)
		}
	}
	was := g.n
	g.n += d
	switch {
	case was == 0 && g.n > 0:
		g.zero = make(chan struct{})
	case was > 0 && g.n == 0:
		close(g.zero)
	}
}

func (g *goroutines) Done() { g.Add(-1) }

// Wait blocks until no goroutine is running.
func (g *goroutines) Wait() {
	g.mu.Lock()
	if g.zero == nil || g.n == 0 {
		g.mu.Unlock()
		return
	}
	ch := g.zero
	g.mu.Unlock()
	<-ch
}

// workerIdle is how long an idle worker goroutine waits for more work
// before it exits.
const workerIdle = 200 * time.Millisecond

// goWork runs f on an idle worker goroutine if one is waiting, else on a
// new one. Reusing workers keeps their grown stacks: a fresh goroutine per
// task spends a fifth of a no-op task's time growing its stack.
func (r *runtimeState) goWork(f func()) {
	select {
	case r.work <- f:
	default:
		r.wg.Add(1)
		go r.worker(f)
	}
}

func (r *runtimeState) worker(f func()) {
	defer r.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-r.work:
		case <-idle.C:
			return
		case <-r.ctx.Done():
			return
		}
	}
}
