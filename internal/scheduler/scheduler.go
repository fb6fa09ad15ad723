package scheduler

import (
	"errors"
	"sync"

	"github.com/goray-dev/goray/internal/resources"
)

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("scheduler is shut down")

// Item is one unit of work waiting for resources. Start is called exactly
// once, outside the scheduler's lock, with the resources granted; the
// receiver must pass the grant back to Release when the work ends.
type Item struct {
	Request resources.Set
	Class   string // canonical key of Request; computed by Submit if empty
	Start   func(resources.Grant)

	seq    uint64
	queued bool
}

type class struct {
	key   string
	items []*Item // FIFO; items[head:] are waiting
	head  int
}

func (c *class) front() *Item {
	for c.head < len(c.items) && !c.items[c.head].queued {
		c.items[c.head] = nil
		c.head++
	}
	if c.head == len(c.items) {
		c.items, c.head = c.items[:0], 0
		return nil
	}
	return c.items[c.head]
}

func (c *class) pop() {
	c.items[c.head] = nil
	c.head++
	if c.head > 1024 && c.head*2 > len(c.items) {
		n := copy(c.items, c.items[c.head:])
		c.items, c.head = c.items[:n], 0
	}
}

// Scheduler grants resources of one node's Ledger to queued items.
type Scheduler struct {
	mu      sync.Mutex
	ledger  *resources.Ledger
	classes map[string]*class
	order   []*class
	seq     uint64
	waiting int
	closed  bool
}

// New returns a scheduler over ledger.
func New(ledger *resources.Ledger) *Scheduler {
	return &Scheduler{ledger: ledger, classes: make(map[string]*class)}
}

// Submit starts the item now if its request fits, queues it otherwise, and
// fails at once if the request can never fit on this node.
func (s *Scheduler) Submit(it *Item) error {
	if it.Class == "" {
		it.Class = it.Request.Key()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if err := s.ledger.Feasible(it.Request); err != nil {
		s.mu.Unlock()
		return err
	}
	c := s.classes[it.Class]
	if c == nil {
		c = &class{key: it.Class}
		s.classes[it.Class] = c
		s.order = append(s.order, c)
	}
	// Start at once only if nothing of this class waits ahead of it.
	if c.front() == nil {
		if g, ok := s.ledger.TryAcquire(it.Request); ok {
			s.mu.Unlock()
			it.Start(g)
			return nil
		}
	}
	s.seq++
	it.seq = s.seq
	it.queued = true
	c.items = append(c.items, it)
	s.waiting++
	s.mu.Unlock()
	return nil
}

// Release returns a grant and starts whatever now fits.
func (s *Scheduler) Release(g resources.Grant) {
	s.mu.Lock()
	s.ledger.Release(g)
	start := s.dispatchLocked()
	s.mu.Unlock()
	for _, it := range start {
		it.item.Start(it.grant)
	}
}

type started struct {
	item  *Item
	grant resources.Grant
}

// dispatchLocked grants resources to the oldest fitting heads of classes.
func (s *Scheduler) dispatchLocked() []started {
	if s.waiting == 0 {
		return nil
	}
	var out []started
	for {
		var best *class
		var bestItem *Item
		for _, c := range s.order {
			it := c.front()
			if it == nil {
				continue
			}
			if bestItem != nil && it.seq > bestItem.seq {
				continue
			}
			if s.ledger.Fits(it.Request) {
				best, bestItem = c, it
			}
		}
		if best == nil {
			return out
		}
		g, ok := s.ledger.TryAcquire(bestItem.Request)
		if !ok { // cannot happen after Fits; stop rather than spin
			return out
		}
		best.pop()
		bestItem.queued = false
		s.waiting--
		out = append(out, started{bestItem, g})
	}
}

// Cancel removes a queued item; it reports false if the item already
// started or was never queued.
func (s *Scheduler) Cancel(it *Item) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !it.queued {
		return false
	}
	it.queued = false
	s.waiting--
	return true
}

// Waiting returns how many items wait for resources.
func (s *Scheduler) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// Available returns the resources not granted.
func (s *Scheduler) Available() resources.Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.Available()
}

// GPUFree returns the free share of each GPU device.
func (s *Scheduler) GPUFree() []resources.Amount {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger.GPUFree()
}

// Close refuses further submissions and returns the items still queued, so
// that their owners can fail them.
func (s *Scheduler) Close() []*Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var out []*Item
	for _, c := range s.order {
		for _, it := range c.items[c.head:] {
			if it != nil && it.queued {
				it.queued = false
				out = append(out, it)
			}
		}
		c.items, c.head = nil, 0
	}
	s.waiting = 0
	return out
}
