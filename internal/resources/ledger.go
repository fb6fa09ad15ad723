package resources

import (
	"fmt"
	"sort"
)

// GPUShare is the part of one GPU device that a grant holds.
type GPUShare struct {
	Index  int    // device index, 0-based
	Amount Amount // Scale means the whole device
}

// Grant is what a Ledger handed out for one request; it must be returned
// with Release exactly once.
type Grant struct {
	Set  Set
	GPUs []GPUShare
}

// Ledger tracks the total and available resources of one node. GPUs are
// tracked per device so that fractional requests are packed onto device
// indices (a 0.6 and a 0.4 request share one device).
type Ledger struct {
	total     Set
	available Set
	gpuFree   []Amount // free units per GPU device
}

// NewLedger returns a ledger with everything available. The GPU amount of
// total must be whole: it is the number of devices.
func NewLedger(total Set) (*Ledger, error) {
	g := total[GPU]
	if !g.IsWhole() {
		return nil, fmt.Errorf("resource %q: a node's GPU count must be whole, got %v", GPU, g)
	}
	l := &Ledger{total: total.Clone(), available: total.Clone()}
	for i := int64(0); i < int64(g)/Scale; i++ {
		l.gpuFree = append(l.gpuFree, Scale)
	}
	return l, nil
}

// Total returns a copy of the node's resources.
func (l *Ledger) Total() Set { return l.total.Clone() }

// Available returns a copy of the resources not granted.
func (l *Ledger) Available() Set { return l.available.Clone() }

// Feasible reports whether req could ever be granted on an idle node; if
// not, the error names the request and the node's resources.
func (l *Ledger) Feasible(req Set) error {
	if err := ValidateRequest(req); err != nil {
		return err
	}
	for name, want := range req {
		if want > l.total[name] {
			return &InfeasibleError{Request: req.Clone(), Total: l.total.Clone(), Resource: name}
		}
	}
	return nil
}

// InfeasibleError says that no node can ever satisfy a request.
type InfeasibleError struct {
	Request  Set
	Total    Set
	Resource string // the first resource found short
}

func (e *InfeasibleError) Error() string {
	return fmt.Sprintf("infeasible resource request %v: the cluster has %v in all, so %q can never be satisfied",
		e.Request, e.Total, e.Resource)
}

// Fits reports whether req could be granted now, without granting it.
func (l *Ledger) Fits(req Set) bool {
	for name, want := range req {
		if want > l.available[name] {
			return false
		}
	}
	if g := req[GPU]; g > 0 {
		_, ok := l.packGPUs(g)
		return ok
	}
	return true
}

// TryAcquire grants req if it fits now.
func (l *Ledger) TryAcquire(req Set) (Grant, bool) {
	for name, want := range req {
		if want > l.available[name] {
			return Grant{}, false
		}
	}
	var shares []GPUShare
	if g := req[GPU]; g > 0 {
		var ok bool
		shares, ok = l.packGPUs(g)
		if !ok {
			return Grant{}, false
		}
		for _, s := range shares {
			l.gpuFree[s.Index] -= s.Amount
		}
	}
	for name, want := range req {
		l.available[name] -= want
	}
	return Grant{Set: req, GPUs: shares}, true
}

// packGPUs chooses devices for a GPU request without changing the ledger.
// A fraction goes to the device with the least free capacity that still
// fits it (best fit), which keeps whole devices free for whole requests;
// whole requests take fully free devices, lowest index first.
func (l *Ledger) packGPUs(want Amount) ([]GPUShare, bool) {
	if want < Scale {
		best := -1
		for i, free := range l.gpuFree {
			if free >= want && (best < 0 || free < l.gpuFree[best]) {
				best = i
			}
		}
		if best < 0 {
			return nil, false
		}
		return []GPUShare{{Index: best, Amount: want}}, true
	}
	n := int(want / Scale)
	var shares []GPUShare
	for i, free := range l.gpuFree {
		if free == Scale {
			shares = append(shares, GPUShare{Index: i, Amount: Scale})
			if len(shares) == n {
				return shares, true
			}
		}
	}
	return nil, false
}

// Release returns a grant's resources.
func (l *Ledger) Release(g Grant) {
	for name, a := range g.Set {
		l.available[name] += a
	}
	for _, s := range g.GPUs {
		l.gpuFree[s.Index] += s.Amount
	}
}

// GPUFree returns the free units of each device, for tests and the state API.
func (l *Ledger) GPUFree() []Amount {
	out := make([]Amount, len(l.gpuFree))
	copy(out, l.gpuFree)
	return out
}

// SortShares orders shares by device index.
func SortShares(s []GPUShare) {
	sort.Slice(s, func(i, j int) bool { return s[i].Index < s[j].Index })
}
