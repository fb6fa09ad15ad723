package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// smiSample is one reading of nvidia-smi: the GPU's memory and the memory
// of each process using it.
type smiSample struct {
	At      float64  `json:"t_s"` // seconds since the sampler started (0 for single readings)
	Phase   string   `json:"phase"`
	UsedMiB []int    `json:"used_mib"`  // per GPU (memory.used)
	TotalMB []int    `json:"total_mib"` // per GPU (memory.total)
	Apps    []smiApp `json:"apps,omitempty"`
	Raw     []string `json:"raw,omitempty"` // the two commands' CSV output, on a phase's first sample
	Err     string   `json:"error,omitempty"`
}

type smiApp struct {
	PID     int `json:"pid"`
	UsedMiB int `json:"used_mib"`
}

// The queries the issue asks for; the parsed readings use noheader,nounits.
var (
	smiGPUArgs  = []string{"--query-gpu=memory.used,memory.total", "--format=csv"}
	smiAppsArgs = []string{"--query-compute-apps=pid,used_memory", "--format=csv"}
)

func smiAvailable() bool {
	_, err := exec.LookPath("nvidia-smi")
	return err == nil
}

func runSMI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nvidia-smi", args...).Output()
	return string(out), err
}

// smiGPUName is nvidia-smi's name of GPU 0, or "".
func smiGPUName() string {
	if !smiAvailable() {
		return ""
	}
	out, err := runSMI("--query-gpu=name,memory.total,driver_version", "--format=csv,noheader")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
}

// readSMI takes one sample (both queries). With raw set the CSV output is
// kept as printed.
func readSMI(phase string, raw bool) smiSample {
	s := smiSample{Phase: phase}
	if !smiAvailable() {
		s.Err = "nvidia-smi not found"
		return s
	}
	g, err := runSMI(smiGPUArgs...)
	if err != nil {
		s.Err = fmt.Sprintf("nvidia-smi %s: %v", strings.Join(smiGPUArgs, " "), err)
		return s
	}
	a, err := runSMI(smiAppsArgs...)
	if err != nil {
		s.Err = fmt.Sprintf("nvidia-smi %s: %v", strings.Join(smiAppsArgs, " "), err)
	}
	if raw {
		s.Raw = []string{strings.TrimSpace(g), strings.TrimSpace(a)}
	}
	for _, row := range csvRows(g) {
		if len(row) >= 2 {
			s.UsedMiB = append(s.UsedMiB, atoiMiB(row[0]))
			s.TotalMB = append(s.TotalMB, atoiMiB(row[1]))
		}
	}
	for _, row := range csvRows(a) {
		if len(row) >= 2 {
			s.Apps = append(s.Apps, smiApp{PID: atoiMiB(row[0]), UsedMiB: atoiMiB(row[1])})
		}
	}
	return s
}

// csvRows splits nvidia-smi's CSV output, skipping the header line.
func csvRows(out string) [][]string {
	var rows [][]string
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 || strings.TrimSpace(line) == "" {
			continue // header
		}
		f := strings.Split(line, ",")
		for j := range f {
			f[j] = strings.TrimSpace(f[j])
		}
		rows = append(rows, f)
	}
	return rows
}

// atoiMiB reads "1234 MiB" or "1234"; -1 when it is not a number
// ("[N/A]", "[Not Supported]").
func atoiMiB(s string) int {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "MiB"))
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// appendSMI adds one reading when nvidia-smi is there.
func appendSMI(samples []smiSample, phase string) []smiSample {
	if !smiAvailable() {
		return samples
	}
	return append(samples, readSMI(phase, true))
}

// sampler reads nvidia-smi every interval in the background, labelling
// each sample with the current phase.
type sampler struct {
	start  time.Time
	active bool // a goroutine samples
	mu     sync.Mutex
	phase  string
	seen   map[string]bool
	all    []smiSample
	stop   chan struct{}
	done   chan struct{}
}

func startSampler(interval time.Duration, phase string) *sampler {
	s := &sampler{start: time.Now(), phase: phase, seen: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	if !smiAvailable() || interval <= 0 {
		close(s.done)
		return s
	}
	s.active = true
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.take()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) take() {
	s.mu.Lock()
	phase := s.phase
	raw := !s.seen[phase]
	s.seen[phase] = true
	s.mu.Unlock()
	x := readSMI(phase, raw)
	x.At = time.Since(s.start).Seconds()
	s.mu.Lock()
	s.all = append(s.all, x)
	s.mu.Unlock()
	if raw {
		if x.Err != "" {
			fmt.Printf("  nvidia-smi [%s]: %s\n", phase, x.Err)
		} else {
			fmt.Printf("  nvidia-smi [%s] at %.1fs:\n%s\n%s\n", phase, x.At, indent(x.Raw[0]), indent(x.Raw[1]))
		}
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// setPhase labels the following samples (and takes one now).
func (s *sampler) setPhase(p string) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
	if s.active {
		s.take()
	}
}

// snapshot returns the samples so far.
func (s *sampler) snapshot() []smiSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

// finish stops sampling and returns the samples.
func (s *sampler) finish() []smiSample {
	select {
	case <-s.done:
	default:
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}

// peakByPhase is the largest memory.used of GPU 0 and of each process, per
// phase, in phase order.
type phasePeak struct {
	Phase      string         `json:"phase"`
	Samples    int            `json:"samples"`
	GPUUsedMiB int            `json:"gpu_used_mib"`
	TotalMiB   int            `json:"total_mib"`
	AppsMiB    map[string]int `json:"apps_mib,omitempty"` // pid -> peak MiB
}

func peaks(samples []smiSample) []phasePeak {
	var out []phasePeak
	idx := map[string]int{}
	for _, x := range samples {
		if x.Err != "" && len(x.UsedMiB) == 0 {
			continue
		}
		i, ok := idx[x.Phase]
		if !ok {
			i = len(out)
			idx[x.Phase] = i
			out = append(out, phasePeak{Phase: x.Phase, GPUUsedMiB: -1})
		}
		p := &out[i]
		p.Samples++
		if len(x.UsedMiB) > 0 {
			p.GPUUsedMiB = max(p.GPUUsedMiB, x.UsedMiB[0])
			p.TotalMiB = x.TotalMB[0]
		}
		for _, a := range x.Apps {
			if p.AppsMiB == nil {
				p.AppsMiB = map[string]int{}
			}
			k := strconv.Itoa(a.PID)
			p.AppsMiB[k] = max(p.AppsMiB[k], a.UsedMiB)
		}
	}
	return out
}
