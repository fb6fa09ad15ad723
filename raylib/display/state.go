package display

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/goray-dev/goray/raylib/ray"
)

// Objects renders objs, as from ray.ListObjects, like `ray list objects`.
//
//	display.Show(display.Objects(ray.ListObjects()))
func Objects(objs []ray.ObjectInfo) *Table {
	t := &Table{
		Title: "Objects in the object store",
		Columns: []Column{{Name: "object id"}, {Name: "size"}, {Name: "status"}, {Name: "reference type"},
			{Name: "call site"}, {Name: "type"}, {Name: "source"}},
	}
	var total int64
	for _, o := range objs {
		total += o.Size
		t.AddRow(o.ID, HumanBytes(o.Size), o.Status, o.ReferenceType, o.CallSite, o.Type, o.Source)
	}
	if len(objs) == 0 {
		t.Footer = "no objects"
	} else {
		t.Footer = "total size " + HumanBytes(total)
	}
	return t
}

// Resources renders the node's resources, as from ray.ClusterResources
// and ray.AvailableResources: total, available and in use. Memory
// resources are shown in bytes with units, and fractions (0.6 GPU) keep
// their decimals.
//
//	display.Show(display.Resources(ray.ClusterResources(), ray.AvailableResources()))
func Resources(total, available map[string]float64) *Table {
	t := &Table{
		Title:   "Resources",
		Columns: []Column{{Name: "resource"}, {Name: "total"}, {Name: "available"}, {Name: "in use"}},
	}
	names := make([]string, 0, len(total))
	for k := range total {
		names = append(names, k)
	}
	for k := range available {
		if _, ok := total[k]; !ok {
			names = append(names, k)
		}
	}
	// CPU and GPU first, as Ray's status does, then by name.
	rank := func(k string) int {
		switch k {
		case "CPU":
			return 0
		case "GPU":
			return 1
		}
		return 2
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	for _, k := range names {
		f := formatAmount
		if k == "memory" || k == "object_store_memory" {
			f = func(v float64) string { return HumanBytes(int64(v)) }
		}
		t.AddRow(k, f(total[k]), f(available[k]), f(total[k]-available[k]))
	}
	if len(names) == 0 {
		t.Footer = "no resources (is the runtime initialised?)"
	}
	return t
}

// formatAmount rounds to four decimals, the resource ledger's precision, so
// that 1 - 0.4 shows as 0.6 and not 0.6000000000000001.
func formatAmount(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// taskStates is the order of Ray's task states, from submitted to done.
var taskStates = []ray.TaskState{ray.PendingArgsAvail, ray.PendingNodeAssignment, ray.Running, ray.Finished, ray.FailedState}

// TaskSummary renders sums, as from ray.SummarizeTasks, like `ray summary
// tasks`: one row per function or actor method, one count column per
// state that occurs, and the total.
//
//	display.Show(display.TaskSummary(ray.SummarizeTasks()))
func TaskSummary(sums []ray.TaskSummary) *Table {
	// Known states first in life order, then any others by name, so that a
	// state added to ray later still shows.
	seen := map[ray.TaskState]bool{}
	for _, s := range sums {
		for st := range s.States {
			seen[st] = true
		}
	}
	var states []ray.TaskState
	for _, st := range taskStates {
		if seen[st] {
			states = append(states, st)
			delete(seen, st)
		}
	}
	var other []ray.TaskState
	for st := range seen {
		other = append(other, st)
	}
	sort.Slice(other, func(i, j int) bool { return other[i] < other[j] })
	states = append(states, other...)

	t := &Table{Title: "Task summary", Columns: []Column{{Name: "name"}, {Name: "type"}}}
	for _, st := range states {
		t.Columns = append(t.Columns, Column{Name: string(st)})
	}
	t.Columns = append(t.Columns, Column{Name: "total"})
	all := 0
	for _, s := range sums {
		row := []any{s.Name, string(s.Kind)}
		n := 0
		for _, st := range states {
			row = append(row, s.States[st])
			n += s.States[st]
		}
		all += n
		t.AddRow(append(row, n)...)
	}
	t.Footer = plural(all, "task")
	return t
}

// StoreStats renders the object store's counters, as from ray.StoreStats.
//
//	display.Show(display.StoreStats(ray.StoreStats()))
func StoreStats(s ray.ObjectStoreStats) *Table {
	t := &Table{Title: "Object store", Columns: []Column{{Name: "stat"}, {Name: "value"}}}
	used := HumanBytes(s.InMemoryBytes)
	if s.BudgetBytes > 0 {
		used += fmt.Sprintf(" (%.1f%% of budget)", 100*float64(s.InMemoryBytes)/float64(s.BudgetBytes))
	}
	t.AddRow("objects", s.Objects)
	t.AddRow("in memory", used)
	t.AddRow("budget", HumanBytes(s.BudgetBytes))
	t.AddRow("spilled", HumanBytes(s.SpilledBytes))
	t.AddRow("spills", s.SpillCount)
	t.AddRow("restores", s.RestoreCount)
	if s.SpillDir != "" {
		t.AddRow("spill directory", s.SpillDir)
	}
	return t
}

// HumanBytes writes n with binary units, as Ray's CLI does: 512 B, 1.5 KiB.
func HumanBytes(n int64) string {
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v /= 1024
		if math.Abs(v) < 1024 || unit == "PiB" {
			return fmt.Sprintf("%.1f %s", v, unit)
		}
	}
	return "" // not reached
}
