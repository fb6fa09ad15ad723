package data

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goray-dev/goray/raylib/display"
)

// OperatorStats is what one operator did in an execution.
type OperatorStats struct {
	Name     string
	Tasks    int
	Blocks   int
	Rows     int64
	Bytes    int64
	Wall     time.Duration // first task start to last task end
	TaskTime time.Duration // summed over tasks: the work done, across cores
	CPUTime  time.Duration // CPU time of the tasks' threads (Linux)

	blockRows  []int64
	firstStart time.Time
	lastEnd    time.Time
	taskTime   time.Duration
}

// Stats describes one execution of a dataset, per operator.
type Stats struct {
	DatasetID string
	Plan      []string
	Operators []OperatorStats
	Wall      time.Duration
}

// String formats the stats as Ray's Dataset.stats() does, one paragraph
// per operator.
func (s *Stats) String() string {
	if s == nil {
		return "(the dataset has not been executed)"
	}
	var b strings.Builder
	for i, op := range s.Operators {
		fmt.Fprintf(&b, "Operator %d %s: %d tasks executed, %d blocks produced in %s\n", i+1, op.Name,
			op.Tasks, op.Blocks, seconds(op.Wall))
		fmt.Fprintf(&b, "* Task wall time: %s in all, %s per task\n", seconds(op.TaskTime),
			seconds(op.TaskTime/time.Duration(max(op.Tasks, 1))))
		if op.CPUTime > 0 {
			fmt.Fprintf(&b, "* Task CPU time: %s in all, %s per task\n", seconds(op.CPUTime),
				seconds(op.CPUTime/time.Duration(max(op.Tasks, 1))))
		}
		if len(op.blockRows) > 0 {
			r := slices.Clone(op.blockRows)
			slices.Sort(r)
			fmt.Fprintf(&b, "* Output rows per block: %d min, %d max, %d mean, %d total\n", r[0], r[len(r)-1],
				op.Rows/int64(len(r)), op.Rows)
			fmt.Fprintf(&b, "* Output size per block: %s mean, %s total\n", display.HumanBytes(op.Bytes/int64(len(r))),
				display.HumanBytes(op.Bytes))
		}
		if op.Wall > 0 {
			fmt.Fprintf(&b, "* Throughput: %.0f rows/s, %s/s\n", float64(op.Rows)/op.Wall.Seconds(),
				display.HumanBytes(int64(float64(op.Bytes)/op.Wall.Seconds())))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "Dataset %s: %s in all", s.DatasetID, seconds(s.Wall))
	return b.String()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// statsBox keeps the stats of a dataset's last execution.
type statsBox struct {
	mu sync.Mutex
	s  *Stats
}

func (b *statsBox) set(s *Stats) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.s = s
	b.mu.Unlock()
}

func (b *statsBox) get() *Stats {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s
}

// Stats returns the stats of the dataset's last execution (nil before
// one); its String is Ray's stats() text.
func (d *Dataset) Stats() *Stats { return d.box.get() }
