package data

import (
	"io"
	"os"
	"sync"

	"github.com/goray-dev/goray/raylib/display"
)

// DataContext holds the settings every Dataset execution reads when it
// starts, as Ray Data's DataContext does. Change the current one with
// Current() (or give a Dataset its own with Dataset.WithDataContext);
// ResetContext restores the defaults.
type DataContext struct {
	// TargetMaxBlockSize caps the bytes of a block an operator outputs;
	// larger outputs are split. Ray's default: 128 MiB.
	TargetMaxBlockSize int64
	// TargetMinBlockSize is the smallest block reads aim for when they
	// split files. Ray's default: 1 MiB.
	TargetMinBlockSize int64
	// ReadMinBlocks is how many read tasks a read aims for at least, when
	// its files can be split (Ray's read_op_min_num_blocks).
	ReadMinBlocks int
	// MemoryBudget bounds the bytes of blocks queued between operators and
	// being produced; operators are held back (backpressure) when it is
	// reached. 0 means half of the object store's budget.
	MemoryBudget int64
	// OpReservationRatio is the share of the budget reserved to operators
	// evenly, so every operator can make progress (Ray: 0.5).
	OpReservationRatio float64
	// PreserveOrder makes operators release their outputs in input order.
	PreserveOrder bool
	// EagerFree releases a block from the object store as soon as the
	// next operator has consumed it.
	EagerFree bool
	// AutoLogStats prints Stats() after every execution.
	AutoLogStats bool
	// Progress shows progress bars during execution; OperatorProgress
	// adds one bar per operator (otherwise only the plan and the total).
	Progress         bool
	OperatorProgress bool
	// Display is where progress and plans go; the zero value means
	// display.Default() (HTML in a notebook, text on stdout otherwise).
	Display *display.Display
	// Log receives the execution log lines (start, plan, finish); nil
	// means standard error.
	Log io.Writer
}

// DefaultContext returns a fresh context with Ray's defaults.
func DefaultContext() *DataContext {
	return &DataContext{
		TargetMaxBlockSize: 128 << 20,
		TargetMinBlockSize: 1 << 20,
		ReadMinBlocks:      200,
		OpReservationRatio: 0.5,
		EagerFree:          true,
		Progress:           true,
		OperatorProgress:   true,
	}
}

var (
	currentMu sync.Mutex
	current   = DefaultContext()
)

// Current returns the context new executions use; changes to it apply to
// executions that start afterwards.
func Current() *DataContext {
	currentMu.Lock()
	defer currentMu.Unlock()
	return current
}

// ResetContext restores the default context (tests use it between cases).
func ResetContext() {
	currentMu.Lock()
	defer currentMu.Unlock()
	current = DefaultContext()
}

func (c *DataContext) display() display.Display {
	if c.Display != nil {
		return *c.Display
	}
	d := display.Default()
	if d.HTML == nil {
		// Outside a notebook progress is a log, as Ray's is: on standard
		// error, so a program's own output stays clean.
		d.Out = os.Stderr
		fi, err := os.Stderr.Stat()
		d.Terminal = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return d
}

func (c *DataContext) log() io.Writer {
	if c.Log != nil {
		return c.Log
	}
	return os.Stderr
}
