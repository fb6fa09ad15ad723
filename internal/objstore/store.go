package objstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ID identifies an object within one store.
type ID uint64

// State is where an object is in its life.
type State int

// The states an object goes through. Freed objects are forgotten; the state
// exists so that a late reader gets a clear error.
const (
	Pending State = iota // its task has not finished
	Ready                // in memory
	Spilled              // on disk, restored on access
	Failed               // its task failed; reading returns the error
	Freed                // released; reading is an error
)

func (s State) String() string {
	switch s {
	case Pending:
		return "PENDING"
	case Ready:
		return "IN_MEMORY"
	case Spilled:
		return "SPILLED"
	case Failed:
		return "FAILED"
	case Freed:
		return "FREED"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Source says how an object came to be.
type Source int

// Sources of objects.
const (
	FromPut Source = iota
	FromTask
)

// ErrReleased is returned when reading an object after it was released.
var ErrReleased = errors.New("object was released")

// ErrClosed is returned by a store after Close.
var ErrClosed = errors.New("object store is shut down")

// FullError reports that a value cannot be stored within the budget and
// cannot be spilled.
type FullError struct {
	Size, Used, Budget int64
	Type               string
}

func (e *FullError) Error() string {
	return fmt.Sprintf("object store full: a %s of %d bytes does not fit (%d of %d bytes in use) and cannot be spilled to disk (its type is not gob-encodable); raise ObjectStoreMemory or release objects",
		e.Type, e.Size, e.Used, e.Budget)
}

type object struct {
	id       ID
	state    State
	value    any
	err      error
	size     int64
	codec    Codec
	typeName string
	source   Source
	callSite uintptr
	created  time.Time

	done      chan struct{} // closed when the object leaves Pending
	callbacks []callback    // run once when the object leaves Pending

	handles     int // live references held by user code
	pendingUses int // pending tasks that take it as an argument

	spillPath string
	spilling  bool          // being written to disk; value still readable
	restoring chan struct{} // non-nil while being read back

	prev, next *object // LRU list of in-memory ready objects, oldest first
}

// Options configure a store.
type Options struct {
	Budget   int64  // bytes held in memory before spilling; <= 0 means no limit
	SpillDir string // where spilled objects go; created on first spill

	// Collect, if set, is called before the store spills: objects whose
	// last reference became unreachable are freed only once the garbage
	// collector notices, and spilling them would be wasted work. After a
	// collection that freed nothing the store waits CollectEvery before
	// the next. It must not call into the store.
	Collect      func()
	CollectEvery time.Duration // default 100ms
}

// Store holds objects. All methods are safe for concurrent use.
type Store struct {
	mu          sync.Mutex
	opts        Options
	objects     map[ID]*object
	nextID      ID
	inMemory    int64
	onDisk      int64
	spills      int64
	restores    int64
	closed      bool
	closing     atomic.Bool    // set with closed; read by spill writes without the lock
	closeDone   chan struct{}  // closed once Close has removed the spill directory
	writes      sync.WaitGroup // spill writes in flight; Close waits for them
	lruHead     *object
	lruTail     *object
	spillDir    string
	deferred    []func() // callbacks to run once the lock is released
	collectMu   sync.Mutex
	lastCollect time.Time
	// freedTotal counts bytes freed from memory ever; collect compares it
	// with its value at the last collection to see whether cleanups that
	// ran late (after the collection looked) freed objects since.
	freedTotal     atomic.Int64
	freedAtCollect int64
	nextKey        uint64 // keys of batches registered by OnAnyReady
}

// New returns an empty store.
func New(opts Options) *Store {
	return &Store{opts: opts, objects: make(map[ID]*object)}
}

// Create registers a pending object that a task will fill, with one handle.
func (s *Store) Create(source Source, callSite uintptr) (ID, error) {
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return 0, ErrClosed
	}
	s.nextID++
	o := &object{id: s.nextID, state: Pending, source: source, callSite: callSite,
		created: time.Now(), done: make(chan struct{}), handles: 1}
	s.objects[o.id] = o
	return o.id, nil
}

// Seal stores the value of a pending object. It spills older objects when
// the budget is exceeded. If the object was released meanwhile the value is
// dropped.
func (s *Store) Seal(id ID, value any, size int64, codec Codec, typeName string) error {
	return s.seal(id, value, size, codec, typeName, true)
}

func (s *Store) seal(id ID, value any, size int64, codec Codec, typeName string, mayCollect bool) error {
	s.mu.Lock()
	o, ok := s.objects[id]
	if !ok || o.state != Pending {
		s.unlock()
		return nil
	}
	if s.opts.Budget > 0 && s.inMemory+size > s.opts.Budget {
		if mayCollect && s.opts.Collect != nil {
			// Unreachable objects may be what fills the budget: let the
			// collector free them, then decide what to spill.
			s.unlock()
			s.collect()
			return s.seal(id, value, size, codec, typeName, false)
		}
		victims := s.pickVictimsLocked(s.inMemory + size - s.opts.Budget)
		if freed := victimBytes(victims); s.inMemory-freed+size > s.opts.Budget {
			// Even spilling every candidate leaves no room: the object
			// goes to disk itself (Ray's fallback allocation) if it can.
			for _, v := range victims {
				v.spilling = false
			}
			if codec == nil {
				err := &FullError{Size: size, Used: s.inMemory, Budget: s.opts.Budget, Type: typeName}
				s.unlock()
				return err
			}
			o.value, o.size, o.codec, o.typeName = value, size, codec, typeName
			o.spilling = true
			s.writes.Add(1) // not closed: Close empties s.objects
			s.unlock()
			return s.spillNew(o)
		}
		o.value, o.size, o.codec, o.typeName = value, size, codec, typeName
		s.markReadyLocked(o)
		victims = s.beginSpillLocked(victims)
		s.unlock()
		s.spill(victims)
		return nil
	}
	o.value, o.size, o.codec, o.typeName = value, size, codec, typeName
	s.markReadyLocked(o)
	s.unlock()
	return nil
}

// spillNew writes a sealed-but-unpublished object straight to disk. The
// caller registered the write in s.writes.
func (s *Store) spillNew(o *object) error {
	path, err := s.writeSpill(o)
	s.mu.Lock()
	defer s.unlock()
	// Ended under the lock, once the file is in place or removed, and
	// before the callbacks that unlock runs: Close waits for the cleanup,
	// not for them.
	defer s.writes.Done()
	o.spilling = false
	if o.state != Pending { // released, or the store closed, while writing
		if err == nil {
			os.Remove(path)
		}
		return nil
	}
	if err != nil {
		o.value = nil
		o.state = Failed
		o.err = fmt.Errorf("spill object %x: %w", o.id, err)
		s.finishLocked(o)
		return o.err
	}
	o.value = nil
	o.spillPath = path
	o.state = Spilled
	s.onDisk += o.size
	s.spills++
	s.finishLocked(o)
	s.maybeFreeLocked(o)
	return nil
}

func (s *Store) markReadyLocked(o *object) {
	o.state = Ready
	s.inMemory += o.size
	s.lruPush(o)
	s.finishLocked(o)
	s.maybeFreeLocked(o)
}

// Fail marks a pending object as failed with err.
func (s *Store) Fail(id ID, err error) {
	s.mu.Lock()
	defer s.unlock()
	o, ok := s.objects[id]
	if !ok || o.state != Pending {
		return
	}
	o.state = Failed
	o.err = err
	s.finishLocked(o)
	s.maybeFreeLocked(o)
}

func (s *Store) finishLocked(o *object) {
	close(o.done)
	// Callbacks may call back into the store (a task whose last argument
	// became ready can fail and fail its own results): they run after the
	// lock is released, in unlock.
	for _, cb := range o.callbacks {
		s.deferred = append(s.deferred, cb.f)
	}
	o.callbacks = nil
}

// callback is a function waiting for an object to leave Pending; key lets
// a batch registered together be removed together.
type callback struct {
	f   func()
	key uint64
}

// unlock releases the store's lock, then runs the callbacks collected
// while it was held.
func (s *Store) unlock() {
	cbs := s.deferred
	s.deferred = nil
	s.mu.Unlock()
	for _, cb := range cbs {
		cb()
	}
}

// OnReady runs cb once when the object is no longer pending (immediately if
// it already is). It reports false if the object is unknown.
func (s *Store) OnReady(id ID, cb func()) bool {
	s.mu.Lock()
	o, ok := s.objects[id]
	if !ok {
		s.unlock()
		return false
	}
	if o.state == Pending {
		o.callbacks = append(o.callbacks, callback{f: cb})
		s.unlock()
		return true
	}
	s.unlock()
	cb()
	return true
}

// IsReady reports whether the object has left Pending (ready, spilled,
// failed or freed).
func (s *Store) IsReady(id ID) bool {
	s.mu.Lock()
	defer s.unlock()
	o, ok := s.objects[id]
	return !ok || o.state != Pending
}

// collect asks for a garbage collection, so that unreachable objects are
// freed instead of spilled. Calls are rate-limited; concurrent callers do
// not queue up.
func (s *Store) collect() {
	if !s.collectMu.TryLock() {
		return
	}
	defer s.collectMu.Unlock()
	every := s.opts.CollectEvery
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	// Within the back-off, collect again only if the last collection
	// turned out productive: its cleanups may run after it looked.
	if time.Since(s.lastCollect) < every && s.freedTotal.Load() == s.freedAtCollect {
		return
	}
	before := s.freedTotal.Load()
	s.opts.Collect()
	s.freedAtCollect = s.freedTotal.Load()
	if s.freedAtCollect > before {
		// It freed something: the next overflow may collect again at once.
		s.lastCollect = time.Time{}
	} else {
		// Everything is live: back off rather than collect on every put.
		s.lastCollect = time.Now()
	}
}

// OnAnyReady registers cb on each of ids that is still pending, under one
// lock, and returns how many it registered and a function that removes
// the registrations that have not fired (call it when no longer waiting,
// so that abandoned waits leave nothing behind).
func (s *Store) OnAnyReady(ids []ID, cb func()) (registered int, cancel func()) {
	s.mu.Lock()
	s.nextKey++
	key := s.nextKey
	for _, id := range ids {
		if o, ok := s.objects[id]; ok && o.state == Pending {
			o.callbacks = append(o.callbacks, callback{f: cb, key: key})
			registered++
		}
	}
	s.unlock()
	return registered, func() {
		s.mu.Lock()
		for _, id := range ids {
			o, ok := s.objects[id]
			if !ok || o.state != Pending {
				continue
			}
			kept := o.callbacks[:0]
			for _, c := range o.callbacks {
				if c.key != key {
					kept = append(kept, c)
				}
			}
			clear(o.callbacks[len(kept):])
			o.callbacks = kept
		}
		s.unlock()
	}
}

// ReadyFlags reports, under one lock, which of ids have left Pending
// (unknown ids count as ready: they were freed).
func (s *Store) ReadyFlags(ids []ID, flags []bool) {
	s.mu.Lock()
	for i, id := range ids {
		o, ok := s.objects[id]
		flags[i] = !ok || o.state != Pending
	}
	s.unlock()
}

// Done returns a channel closed once the object leaves Pending, or nil if it
// is unknown.
func (s *Store) Done(id ID) <-chan struct{} {
	s.mu.Lock()
	defer s.unlock()
	if o, ok := s.objects[id]; ok {
		return o.done
	}
	return nil
}

// Get waits until the object is ready and returns its value, restoring it
// from disk if it was spilled.
func (s *Store) Get(ctx context.Context, id ID) (any, error) {
	s.mu.Lock()
	o, ok := s.objects[id]
	if !ok {
		closed := s.closed
		s.unlock()
		if closed {
			return nil, ErrClosed
		}
		return nil, ErrReleased
	}
	done := o.done
	s.unlock()
	select {
	case <-done:
	default:
		if ctx.Done() == nil {
			<-done
		} else {
			select {
			case <-done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	for {
		s.mu.Lock()
		switch o.state {
		case Ready:
			v := o.value
			s.lruTouch(o)
			s.unlock()
			return v, nil
		case Failed:
			err := o.err
			s.unlock()
			return nil, err
		case Freed:
			s.unlock()
			return nil, ErrReleased
		case Spilled:
			if o.restoring != nil {
				ch := o.restoring
				s.unlock()
				select {
				case <-ch:
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if s.opts.Budget > 0 && o.size > s.opts.Budget {
				// Larger than the whole budget: read it through, leave it on disk.
				path, codec := o.spillPath, o.codec
				s.unlock()
				v, err := readSpill(path, codec, id)
				if err != nil && s.isClosed() { // Close removed the file
					return nil, ErrClosed
				}
				return v, err
			}
			o.restoring = make(chan struct{})
			s.unlock()
			return s.restore(o)
		default:
			s.unlock()
			return nil, fmt.Errorf("object %x in unexpected state %v", id, o.state)
		}
	}
}

func readSpill(path string, codec Codec, id ID) (any, error) {
	f, err := os.Open(path)
	var v any
	if err == nil {
		v, err = codec.Decode(bufio.NewReaderSize(f, 1<<20))
		f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("restore spilled object %x from %s: %w", id, path, err)
	}
	return v, nil
}

// restore reads a spilled object back into memory and returns its value.
func (s *Store) restore(o *object) (any, error) {
	v, err := readSpill(o.spillPath, o.codec, o.id)
	s.mu.Lock()
	ch := o.restoring
	o.restoring = nil
	defer close(ch)
	if err != nil {
		if o.state == Freed {
			os.Remove(o.spillPath)
		}
		closed := s.closed
		s.unlock()
		if closed { // Close removed the file
			return nil, ErrClosed
		}
		return nil, err
	}
	if o.state != Spilled { // freed, or the store closed, while restoring
		if o.state == Freed {
			os.Remove(o.spillPath)
		}
		closed := s.closed
		s.unlock()
		if closed {
			return nil, ErrClosed
		}
		return nil, ErrReleased
	}
	os.Remove(o.spillPath)
	o.spillPath = ""
	s.onDisk -= o.size
	s.restores++
	o.value = v
	o.state = Ready
	s.inMemory += o.size
	s.lruPush(o)
	var victims []*object
	if s.opts.Budget > 0 && s.inMemory > s.opts.Budget {
		victims = s.beginSpillLocked(s.pickVictimsLocked(s.inMemory - s.opts.Budget))
	}
	s.unlock()
	s.spill(victims)
	return v, nil
}

// pickVictimsLocked marks the oldest spillable ready objects, other than
// those already spilling, until need bytes are covered.
func (s *Store) pickVictimsLocked(need int64) []*object {
	var out []*object
	var got int64
	for o := s.lruHead; o != nil && got < need; o = o.next {
		if o.spilling || o.codec == nil || o.size == 0 {
			continue
		}
		o.spilling = true
		out = append(out, o)
		got += o.size
	}
	return out
}

func victimBytes(vs []*object) int64 {
	var n int64
	for _, v := range vs {
		n += v.size
	}
	return n
}

// beginSpillLocked registers the spill of victims as a write in flight, for
// spill to end. If the store is closed it unmarks them and returns nil.
func (s *Store) beginSpillLocked(victims []*object) []*object {
	if len(victims) == 0 {
		return nil
	}
	if s.closed {
		for _, v := range victims {
			v.spilling = false
		}
		return nil
	}
	s.writes.Add(1)
	return victims
}

// spill writes victims to disk; beginSpillLocked registered the write.
func (s *Store) spill(victims []*object) {
	if len(victims) == 0 {
		return
	}
	defer s.writes.Done()
	for _, o := range victims {
		path, err := s.writeSpill(o)
		s.mu.Lock()
		o.spilling = false
		if err == nil && o.state == Ready {
			o.value = nil
			o.spillPath = path
			o.state = Spilled
			s.inMemory -= o.size
			s.onDisk += o.size
			s.spills++
			s.lruRemove(o)
		} else if err == nil {
			os.Remove(path) // freed, or the store closed, meanwhile
		}
		// A failed spill leaves the object in memory: over budget beats
		// losing data.
		s.unlock()
	}
}

func (s *Store) writeSpill(o *object) (string, error) {
	dir, err := s.ensureSpillDir()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("obj-%x-*.spill", o.id))
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(closingWriter{f, &s.closing}, 1<<20)
	s.mu.Lock()
	v := o.value
	s.unlock()
	err = o.codec.Encode(w, v)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && s.closing.Load() {
		err = ErrClosed
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// closingWriter fails writes once the store is closing, so that Close does
// not wait for a large spill to finish being written.
type closingWriter struct {
	f       *os.File
	closing *atomic.Bool
}

func (w closingWriter) Write(p []byte) (int, error) {
	if w.closing.Load() {
		return 0, ErrClosed
	}
	return w.f.Write(p)
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.unlock()
	return s.closed
}

// ensureSpillDir returns the spill directory, creating it on first use. It
// fails once the store is closed: a directory made then would outlive it.
func (s *Store) ensureSpillDir() (string, error) {
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.spillDir != "" {
		return s.spillDir, nil
	}
	base := s.opts.SpillDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("spill directory: %w", err)
	}
	dir, err := os.MkdirTemp(base, "goray-spill-")
	if err != nil {
		return "", fmt.Errorf("spill directory: %w", err)
	}
	s.spillDir = dir
	return dir, nil
}

// AddHandle counts one more live reference.
func (s *Store) AddHandle(id ID) {
	s.mu.Lock()
	if o, ok := s.objects[id]; ok {
		o.handles++
	}
	s.unlock()
}

// DropHandle counts one reference gone; the object is freed when none is
// left and no pending task needs it.
func (s *Store) DropHandle(id ID) {
	s.mu.Lock()
	if o, ok := s.objects[id]; ok && o.handles > 0 {
		o.handles--
		s.maybeFreeLocked(o)
	}
	s.unlock()
}

// AddUse counts a pending task that takes the object as an argument.
func (s *Store) AddUse(id ID) {
	s.mu.Lock()
	if o, ok := s.objects[id]; ok {
		o.pendingUses++
	}
	s.unlock()
}

// DropUse undoes AddUse.
func (s *Store) DropUse(id ID) {
	s.mu.Lock()
	if o, ok := s.objects[id]; ok && o.pendingUses > 0 {
		o.pendingUses--
		s.maybeFreeLocked(o)
	}
	s.unlock()
}

// Release frees an object now, whatever refers to it; later reads fail with
// ErrReleased.
func (s *Store) Release(id ID) {
	s.mu.Lock()
	if o, ok := s.objects[id]; ok {
		s.freeLocked(o)
	}
	s.unlock()
}

func (s *Store) maybeFreeLocked(o *object) {
	if o.handles == 0 && o.pendingUses == 0 && o.state != Pending {
		s.freeLocked(o)
	}
}

func (s *Store) freeLocked(o *object) {
	switch o.state {
	case Ready:
		s.inMemory -= o.size
		s.freedTotal.Add(o.size)
		s.lruRemove(o)
	case Spilled:
		s.onDisk -= o.size
		if o.restoring == nil {
			os.Remove(o.spillPath)
		}
	case Pending:
		o.state = Freed
		s.finishLocked(o) // wake readers and waiters: they see ErrReleased
	}
	o.state = Freed
	o.value = nil
	delete(s.objects, o.id)
}

// Info describes one object for the state API.
type Info struct {
	ID          ID
	Size        int64
	State       State
	Source      Source
	Type        string
	CallSite    string
	Handles     int
	PendingUses int
	Created     time.Time
}

// ReferenceType names the strongest kind of reference, as `ray list
// objects` does.
func (i Info) ReferenceType() string {
	switch {
	case i.PendingUses > 0:
		return "USED_BY_PENDING_TASK"
	case i.Handles > 0:
		return "LOCAL_REFERENCE"
	}
	return "PINNED_IN_MEMORY"
}

// List returns every live object, oldest first.
func (s *Store) List() []Info {
	s.mu.Lock()
	out := make([]Info, 0, len(s.objects))
	pcs := make([]uintptr, 0, len(s.objects))
	for _, o := range s.objects {
		out = append(out, Info{ID: o.id, Size: o.size, State: o.state, Source: o.source,
			Type: o.typeName, Handles: o.handles, PendingUses: o.pendingUses, Created: o.created})
		pcs = append(pcs, o.callSite)
	}
	s.unlock()
	for i := range out {
		out[i].CallSite = describeCallSite(pcs[i])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func describeCallSite(pc uintptr) string {
	if pc == 0 {
		return "disabled"
	}
	frames := runtime.CallersFrames([]uintptr{pc})
	f, _ := frames.Next()
	if f.File == "" {
		return "unknown"
	}
	return fmt.Sprintf("%s:%d %s", filepath.Base(f.File), f.Line, shortFunc(f.Function))
}

func shortFunc(name string) string {
	if i := lastSlash(name); i >= 0 {
		return name[i+1:]
	}
	return name
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// Stats summarises the store.
type Stats struct {
	Objects       int
	InMemoryBytes int64
	SpilledBytes  int64
	BudgetBytes   int64
	SpillCount    int64
	RestoreCount  int64
	SpillDir      string
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.unlock()
	return Stats{Objects: len(s.objects), InMemoryBytes: s.inMemory, SpilledBytes: s.onDisk,
		BudgetBytes: s.opts.Budget, SpillCount: s.spills, RestoreCount: s.restores, SpillDir: s.spillDir}
}

// Close frees every object, fails pending readers and removes spill files
// and the spill directory. Spill writes in flight are cancelled (their next
// write to disk fails) and Close waits for them to return and remove their
// files, so that nothing is written under the spill directory once Close has
// returned. A second Close waits for the first to finish. Close must not be
// called from a Codec or from a callback registered with OnReady.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		done := s.closeDone
		s.unlock()
		<-done
		return nil
	}
	s.closed = true
	s.closing.Store(true)
	s.closeDone = make(chan struct{})
	defer close(s.closeDone)
	for _, o := range s.objects {
		wasPending := o.state == Pending
		o.state = Failed
		o.err = ErrClosed
		if wasPending {
			s.finishLocked(o)
		}
		o.value = nil
	}
	s.objects = make(map[ID]*object)
	s.lruHead, s.lruTail = nil, nil
	s.inMemory, s.onDisk = 0, 0
	s.unlock()
	// No write can start now (the objects are gone and ensureSpillDir
	// refuses), so the spill directory is final once these return.
	s.writes.Wait()
	s.mu.Lock()
	dir := s.spillDir
	s.unlock()
	if dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}

func (s *Store) lruPush(o *object) {
	o.prev, o.next = s.lruTail, nil
	if s.lruTail != nil {
		s.lruTail.next = o
	} else {
		s.lruHead = o
	}
	s.lruTail = o
}

func (s *Store) lruRemove(o *object) {
	if o.prev != nil {
		o.prev.next = o.next
	} else if s.lruHead == o {
		s.lruHead = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else if s.lruTail == o {
		s.lruTail = o.prev
	}
	o.prev, o.next = nil, nil
}

func (s *Store) lruTouch(o *object) {
	if s.lruTail == o {
		return
	}
	s.lruRemove(o)
	s.lruPush(o)
}
