package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// sideRows is one side of the comparison: a name and its figures by batch.
type sideRows struct {
	name    string
	byBatch map[int]batchResult
	note    string
}

// summaryFile is the union of the fields the summary reads from an
// llmgpu JSON (throughput or actors) and a torch_peer.py JSON.
type summaryFile struct {
	Tool     string        `json:"tool"`
	Mode     string        `json:"mode"`
	Side     string        `json:"side"`
	Complete bool          `json:"complete"`
	Backend  string        `json:"backend"`
	Device   string        `json:"device"`
	GPU      string        `json:"gpu"`
	Torch    string        `json:"torch"`
	Error    string        `json:"error"`
	Results  []batchResult `json:"results"`
	Variants []struct {
		Name    string        `json:"name"`
		Error   string        `json:"error"`
		Results []batchResult `json:"results"`
	} `json:"variants"`
	// actors
	Actors      []actorInfo   `json:"actors"`
	ActorErrors []string      `json:"actor_errors"`
	Runs        []runResult   `json:"runs"`
	WallS       float64       `json:"concurrent_wall_s"`
	OverlapS    float64       `json:"overlap_s"`
	TotalTokS   float64       `json:"total_tok_s"`
	Peaks       []phasePeak   `json:"nvidia_smi_peaks"`
	Probe       []probeResult `json:"probe"`
	Host        hostInfo      `json:"host"`
}

// runSummary prints the figures of the given JSON files side by side:
// prefill and decode tokens/s per batch for every side, and each side's
// ratio to the first side whose name starts with ref; then the actor test, if given.
func runSummary(w io.Writer, paths []string, ref string) error {
	var sides []sideRows
	var actorFiles []summaryFile
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(w, "%s: missing (%v)\n", p, err)
			continue
		}
		var f summaryFile
		if err := json.Unmarshal(data, &f); err != nil {
			fmt.Fprintf(w, "%s: not JSON (%v)\n", p, err)
			continue
		}
		status := "complete"
		if !f.Complete {
			status = "INCOMPLETE (cut short?)"
		}
		if f.Error != "" {
			status += "; error: " + firstLine(f.Error)
		}
		fmt.Fprintf(w, "%s: %s %s\n", p, f.Tool, status)
		switch {
		case f.Tool == "llmgpu" && f.Mode == "actors":
			actorFiles = append(actorFiles, f)
		case f.Tool == "llmgpu":
			name := f.Side
			if name == "" {
				name = "goray " + f.Backend
			}
			sides = append(sides, sideRows{name: name, byBatch: byBatch(f.Results)})
		case f.Tool == "torch_peer":
			for _, v := range f.Variants {
				s := sideRows{name: v.Name + " (" + f.Device + ")", byBatch: byBatch(v.Results)}
				if v.Error != "" {
					s.note = firstLine(v.Error)
				}
				sides = append(sides, s)
			}
		}
	}
	if len(sides) > 0 {
		printComparison(w, sides, ref)
	}
	for _, f := range actorFiles {
		printActorSummary(w, f)
	}
	return nil
}

func byBatch(rs []batchResult) map[int]batchResult {
	m := map[int]batchResult{}
	for _, r := range rs {
		m[r.Batch] = r
	}
	return m
}

func printComparison(w io.Writer, sides []sideRows, refName string) {
	batchSet := map[int]bool{}
	for _, s := range sides {
		for b := range s.byBatch {
			batchSet[b] = true
		}
	}
	var batches []int
	for b := range batchSet {
		batches = append(batches, b)
	}
	sort.Ints(batches)
	if len(batches) == 0 {
		fmt.Fprintln(w, "\nno throughput figures (see the errors above)")
		return
	}
	ref := -1
	for i, s := range sides {
		if strings.HasPrefix(s.name, refName) {
			ref = i
			break
		}
	}
	width := 10
	for _, s := range sides {
		width = max(width, len(s.name))
	}
	fmt.Fprintln(w)
	for _, what := range []string{"prefill", "decode"} {
		fmt.Fprintf(w, "%s tokens/s", what)
		if ref >= 0 {
			fmt.Fprintf(w, " (x = ratio to %s)", sides[ref].name)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %-*s", width, "side")
		for _, b := range batches {
			fmt.Fprintf(w, " %18s", fmt.Sprintf("batch %d", b))
		}
		fmt.Fprintln(w)
		for _, s := range sides {
			fmt.Fprintf(w, "  %-*s", width, s.name)
			for _, b := range batches {
				r, ok := s.byBatch[b]
				v := value(r, what)
				cell := "-"
				switch {
				case ok && r.Error != "":
					cell = "error"
				case ok && v > 0:
					cell = fmt.Sprintf("%.0f", v)
					if ref >= 0 {
						if rv := value(sides[ref].byBatch[b], what); rv > 0 {
							cell += fmt.Sprintf(" (%.2fx)", v/rv)
						}
					}
				}
				fmt.Fprintf(w, " %18s", cell)
			}
			if s.note != "" {
				fmt.Fprintf(w, "  %s", s.note)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
}

func value(r batchResult, what string) float64 {
	if what == "prefill" {
		return r.PrefillTokS
	}
	return r.DecodeTokS
}

func printActorSummary(w io.Writer, f summaryFile) {
	fmt.Fprintf(w, "actor test (%s):\n", f.Host.GPU)
	for _, a := range f.Actors {
		line := fmt.Sprintf("  %s on %v: %s", a.Name, a.GPUs, a.Name2)
		if c := a.Client; c != nil {
			line += fmt.Sprintf(", client for share %g, memory_fraction %.3g", c.CreatedForShare, c.MemoryFraction)
		} else {
			line += ", " + a.Open
		}
		fmt.Fprintln(w, line)
	}
	for _, e := range f.ActorErrors {
		fmt.Fprintf(w, "  FAILED %s\n", firstLine(e))
	}
	for _, r := range f.Runs {
		fmt.Fprintf(w, "  %s: %.0f tok/s\n", r.Name, r.TokS)
	}
	if f.WallS > 0 {
		fmt.Fprintf(w, "  together %.0f tok/s, %.2fs wall, both generating %.2fs\n", f.TotalTokS, f.WallS, f.OverlapS)
	}
	for _, p := range f.Peaks {
		fmt.Fprintf(w, "  nvidia-smi %-14s GPU %d / %d MiB, apps %v\n", p.Phase, p.GPUUsedMiB, p.TotalMiB, p.AppsMiB)
	}
	for _, p := range f.Probe {
		msg := p.Reason
		if p.Error != "" {
			msg = firstLine(p.Error)
		}
		if p.GiB > 0 {
			msg = fmt.Sprintf("%.0f GiB, then %s", p.GiB, msg)
		}
		fmt.Fprintf(w, "  probe %s: ok=%v %s\n", p.Step, p.OK, msg)
	}
}
