package device

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/gomlx/go-xla/pkg/pjrt"
)

// MemoryHeadroom scales a GPU share into the PJRT memory_fraction: a share
// s of a device may allocate s*MemoryHeadroom of its memory, so a full
// share is capped at 0.95 and shares in different processes leave room for
// each process's CUDA context, which lives outside the allocator's pool.
const MemoryHeadroom = 0.95

// shareEpsilon absorbs float rounding when shares are summed (0.1+0.2+0.7).
const shareEpsilon = 1e-9

// MemoryFraction is the PJRT memory_fraction for a GPU share in (0, 1]:
// share*MemoryHeadroom, so at most 0.95.
func MemoryFraction(share float64) float32 {
	return float32(math.Min(share, 1) * MemoryHeadroom)
}

// CUDAOptions returns the PJRT client create options for a share of GPU
// gpu: the BFC allocator capped at MemoryFraction(share) of the device's
// memory, no preallocation, and only that device visible (so the client's
// device 0 is that GPU). The value types are the ones the CUDA plugin
// expects (float32, bool, []int64); go-xla rejects float64.
func CUDAOptions(gpu int, share float64) pjrt.NamedValuesMap {
	return pjrt.NamedValuesMap{
		"allocator":       "bfc",
		"memory_fraction": MemoryFraction(share),
		"preallocate":     false,
		"visible_devices": []int64{int64(gpu)},
	}
}

// Sharer hands out fractional holds on GPUs. The implementation used by
// OpenShare keeps one PJRT client per device in this process; a later one
// may put each share in a process of its own.
type Sharer interface {
	// Share opens a backend on GPU gpu limited to share (0, 1] of its
	// memory. release (also the Backend's Close) gives the share back.
	Share(opts Options, gpu int, share float64) (b *Backend, release func(), err error)
}

// DefaultSharer is the process-wide registry OpenShare uses.
var DefaultSharer Sharer = newRegistry(openGPUClient)

// OpenShare opens a backend on GPU gpu for an actor holding share (0, 1] of
// it, through DefaultSharer; see "GPU shares" in the package documentation.
// It always opens XLA with a CUDA plugin (Options.Backend and Devices are
// ignored; Options.PluginPath and GORAY_PJRT_PLUGIN, when set, must name
// the CUDA plugin).
// It writes one line to opts.Log on success. release, like the Backend's
// Close, gives the share back; the device's client is closed with the last
// share.
func OpenShare(opts Options, gpu int, share float64) (*Backend, func(), error) {
	b, release, err := DefaultSharer.Share(opts, gpu, share)
	if err != nil {
		return nil, nil, err
	}
	logChoice(opts.Log, b)
	return b, release, nil
}

// clientOpener creates the client of one GPU sized for share (the capacity
// of the registry entry). The real one loads the CUDA plugin; tests inject
// a fake because no GPU client can be created on a machine without a GPU.
type clientOpener func(opts Options, gpu int, share float64) (*Backend, error)

// registry is the in-process Sharer: one client per device, reference
// counted, shared by the shares taken in this process.
//
// Policy: the first share on a device creates its client for
// capacity = max(share, opts.ProcessShare) (capped at 1). A later share is
// refused when the shares held would sum above 1 (over-subscription), and
// also when they would sum above the capacity (the client cannot grow its
// memory cap once created); otherwise it reuses the client. The client is
// closed when the last share is released; the next share creates a new one.
type registry struct {
	open clientOpener

	mu   sync.Mutex
	gpus map[int]*gpuClient
}

type gpuClient struct {
	backend  *Backend // the client; closed when refs drops to 0
	capacity float64  // share the client was created for
	held     float64  // sum of the live shares
	refs     int
}

func newRegistry(open clientOpener) *registry {
	return &registry{open: open, gpus: make(map[int]*gpuClient)}
}

// Share implements Sharer.
func (r *registry) Share(opts Options, gpu int, share float64) (*Backend, func(), error) {
	if gpu < 0 {
		return nil, nil, fmt.Errorf("device: GPU index %d is negative", gpu)
	}
	if !(share > 0 && share <= 1) {
		return nil, nil, fmt.Errorf("device: GPU share %v of GPU %d is not in (0, 1]", share, gpu)
	}
	if ps := opts.ProcessShare; ps != 0 && !(ps > 0 && ps <= 1) {
		return nil, nil, fmt.Errorf("device: Options.ProcessShare %v is not in (0, 1]", ps)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.gpus[gpu]
	var reason string
	if c == nil {
		capacity := math.Max(share, opts.ProcessShare)
		b, err := r.open(opts, gpu, capacity)
		if err != nil {
			return nil, nil, err
		}
		c = &gpuClient{backend: b, capacity: capacity}
		r.gpus[gpu] = c
		reason = fmt.Sprintf("GPU %d share %.3g, new client for share %.3g (memory_fraction %.3g); %s",
			gpu, share, capacity, MemoryFraction(capacity), b.reason)
	} else {
		total := c.held + share
		switch {
		case total > 1+shareEpsilon:
			return nil, nil, fmt.Errorf("device: GPU %d over-subscribed: shares %.3g already held in this process, plus %.3g makes %.3g > 1",
				gpu, c.held, share, total)
		case total > c.capacity+shareEpsilon:
			return nil, nil, fmt.Errorf("device: GPU %d: this process's client was created for share %.3g (memory_fraction %.3g) and holds %.3g; "+
				"share %.3g would make %.3g, beyond what it may allocate: pass the process's total in Options.ProcessShare on the first OpenShare, "+
				"or release the other shares first",
				gpu, c.capacity, MemoryFraction(c.capacity), c.held, share, total)
		}
		reason = fmt.Sprintf("GPU %d share %.3g on this process's client for share %.3g (%.3g held)",
			gpu, share, c.capacity, total)
	}
	c.held += share
	c.refs++

	var once sync.Once
	release := func() {
		once.Do(func() { r.release(gpu, c, share) })
	}
	h := &Backend{
		gomlx:      c.backend.gomlx,
		kind:       c.backend.kind,
		name:       c.backend.name,
		reason:     reason,
		pluginPath: c.backend.pluginPath,
		numDevices: c.backend.numDevices,
		closeFn:    release,
	}
	return h, func() { _ = h.Close() }, nil
}

func (r *registry) release(gpu int, c *gpuClient, share float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.held -= share
	c.refs--
	if c.refs > 0 {
		return
	}
	if r.gpus[gpu] == c {
		delete(r.gpus, gpu)
	}
	_ = c.backend.Close()
}

// held reports the shares held and the capacity on gpu (for tests).
func (r *registry) held(gpu int) (held, capacity float64, refs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.gpus[gpu]; c != nil {
		return c.held, c.capacity, c.refs
	}
	return 0, 0, 0
}

// openGPUClient is the real clientOpener: the CUDA plugin (explicit, or
// discovered as for Open), with CUDAOptions(gpu, share).
func openGPUClient(opts Options, gpu int, share float64) (*Backend, error) {
	disableAutoInstall()
	if !gpuVisible() {
		return nil, errNoGPU
	}
	found, err := findPlugin(opts, true)
	if err != nil {
		return nil, err
	}
	if found.plugin == nil || found.plugin.platform != "cuda" {
		if found.plugin != nil {
			return nil, fmt.Errorf("%w: %s is a %s plugin", errNoGPU, found.plugin.path, found.plugin.platform)
		}
		return nil, fmt.Errorf("%w: none found, looked in %s (the PyPI wheel jax-cuda13-pjrt, with the NVIDIA CUDA wheels, provides one)",
			errNoGPU, strings.Join(found.looked, "; "))
	}
	return openXLA(*found.plugin, CUDAOptions(gpu, share))
}
