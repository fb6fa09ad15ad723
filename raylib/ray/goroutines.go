package ray

import "sync"

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
