// Command core is goray's side-by-side core benchmark: it times four cases
// on goray's local runtime, then runs the same cases on Ray (ray_core.py,
// embedded here, run with the -python interpreter) on the same machine, and
// prints one line per case with both figures and goray's ratio to Ray.
//
//	(a) submit N no-op tasks, then get them all            tasks/s
//	(b) submit N calls on one actor, then get them all      calls/s
//	(c) loop: put a 1 MiB []byte, get it back, release it   GB/s (1e9 bytes)
//	(d) Ray's "single client wait 1k refs": submit 1000
//	    small tasks, then Wait(notReady, 1) 1000 times,
//	    each taking one ready ref; a round is all of that   rounds/s
//
// Both runtimes get the same number of CPUs (-cpus, the machine's by
// default) and are warmed up before timing; goray runs first and is shut
// down before Ray starts, so the two never compete for the cores. The
// counts are the same on both sides, except that goray repeats case (c) in
// batches until half a second has been timed, as one batch takes only
// milliseconds there.
//
// Run it from the repository root:
//
//	go run ./bench/core                     # full run, about 2 minutes on 2 cores
//	go run ./bench/core -n 5000             # quick run
//	go run ./bench/core -skip-ray           # goray only
//	go run ./bench/core -cases ab           # some cases only
//	go run ./bench/core -skip-ray -cpuprofile cpu.out   # profile goray
//
// See bench/README.md for what each case means and a recorded run.
package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/goray-dev/goray/raylib/ray"
)

// putMinSeconds is how long goray's case (c) is timed at least.
const putMinSeconds = 0.5

//go:embed ray_core.py
var rayScript []byte

// config is what the flags fix.
type config struct {
	tasks      int // (a)
	calls      int // (b)
	puts       int // (c)
	putBytes   int // (c)
	waitRefs   int // (d)
	waitRounds int // (d)
	warmup     int
	cpus       int
	python     string
	skipRay    bool
	rayTimeout time.Duration
	cpuprofile string
	cases      string // which of a, b, c, d to run
	load       string // 1-minute load average when the run started
}

// has reports whether case x is to run.
func (c config) has(x string) bool { return strings.Contains(c.cases, x) }

// result holds one runtime's figures; the JSON names are ray_core.py's.
type result struct {
	RayVersion    string `json:"ray_version"`
	PythonVersion string `json:"python_version"`
	Payload       string `json:"payload"`
	Tasks         struct {
		N       int     `json:"n"`
		Seconds float64 `json:"seconds"`
		PerSec  float64 `json:"per_sec"`
	} `json:"tasks"`
	ActorCalls struct {
		N       int     `json:"n"`
		Seconds float64 `json:"seconds"`
		PerSec  float64 `json:"per_sec"`
	} `json:"actor_calls"`
	PutGet struct {
		N        int     `json:"n"`
		Bytes    int     `json:"bytes"`
		Seconds  float64 `json:"seconds"`
		GBPerSec float64 `json:"gb_per_sec"`
	} `json:"put_get"`
	// PutGetCopy is goray only: case (c) with a copy of the payload made
	// on every put, as Ray copies into its store.
	PutGetCopy struct {
		N        int     `json:"n"`
		Seconds  float64 `json:"seconds"`
		GBPerSec float64 `json:"gb_per_sec"`
	} `json:"put_get_copy"`
	Wait struct {
		Refs         int     `json:"refs"`
		Rounds       int     `json:"rounds"`
		Seconds      float64 `json:"seconds"`
		RoundsPerSec float64 `json:"rounds_per_sec"`
	} `json:"wait"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/core: ")
	var c config
	n := flag.Int("n", 100_000, "no-op tasks for (a) and actor calls for (b); (c) does n/50 put+gets, (d) max(1, n/20000) rounds")
	flag.IntVar(&c.cpus, "cpus", runtime.NumCPU(), "CPUs given to both runtimes (goray NumCPUs, Ray num_cpus)")
	flag.StringVar(&c.python, "python", ".venv/bin/python", "Python interpreter that has ray installed")
	flag.BoolVar(&c.skipRay, "skip-ray", false, "run the goray side only")
	flag.DurationVar(&c.rayTimeout, "ray-timeout", 10*time.Minute, "give up on the Ray side after this long")
	flag.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the goray cases to this file")
	flag.StringVar(&c.cases, "cases", "abcd", "the cases to run, a subset of abcd")
	flag.Parse()
	if *n < 1 || c.cpus < 1 {
		log.Fatal("-n and -cpus must be positive")
	}
	if c.cases == "" || strings.Trim(c.cases, "abcd") != "" {
		log.Fatalf("-cases %q: want letters from abcd", c.cases)
	}
	c.tasks, c.calls = *n, *n
	c.puts = max(20, *n/50)
	c.putBytes = 1 << 20
	c.waitRefs = 1000
	c.waitRounds = max(1, *n/20_000)
	c.warmup = min(1000, *n)

	c.load = loadAvg()
	if l, err := strconv.ParseFloat(c.load, 64); err == nil && l > float64(runtime.NumCPU()) {
		log.Printf("warning: load average %s on %d cores: other work will skew the figures", c.load, runtime.NumCPU())
	}
	g, err := runGoray(c)
	if err != nil {
		log.Fatal(err)
	}
	var r *result
	if !c.skipRay {
		if r, err = runRay(c); err != nil {
			log.Fatal(err)
		}
	}
	report(os.Stdout, c, g, r)
}

// runGoray times the four cases on goray's local runtime.
func runGoray(c config) (*result, error) {
	if err := ray.Init(ray.NumCPUs(float64(c.cpus))); err != nil {
		return nil, err
	}
	defer ray.Shutdown()

	noop := ray.Remote(func() struct{} { return struct{}{} })
	small := ray.Remote(func() []byte { return []byte("ok") })
	actor, err := ray.NewActor(func() *benchActor { return &benchActor{} })
	if err != nil {
		return nil, err
	}
	payload := make([]byte, c.putBytes)

	// Warm-up: grow the scheduler's and store's tables, start the actor.
	if err := runTasks(noop, c.warmup); err != nil {
		return nil, err
	}
	if err := runCalls(actor, c.warmup); err != nil {
		return nil, err
	}
	if err := putGet(payload, 20, false); err != nil {
		return nil, err
	}
	if err := waitRound(small, c.waitRefs); err != nil {
		return nil, err
	}

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}

	var g result
	g.Payload = "[]byte"
	if c.has("a") {
		secs, err := timed(func() error { return runTasks(noop, c.tasks) })
		if err != nil {
			return nil, fmt.Errorf("(a): %w", err)
		}
		g.Tasks.N, g.Tasks.Seconds, g.Tasks.PerSec = c.tasks, secs, float64(c.tasks)/secs
	}
	if c.has("b") {
		secs, err := timed(func() error { return runCalls(actor, c.calls) })
		if err != nil {
			return nil, fmt.Errorf("(b): %w", err)
		}
		g.ActorCalls.N, g.ActorCalls.Seconds, g.ActorCalls.PerSec = c.calls, secs, float64(c.calls)/secs
	}
	if c.has("c") {
		// A batch of c.puts takes milliseconds on goray, too short to time
		// steadily: repeat batches until putMinSeconds have been timed.
		secs, puts := 0.0, 0
		for puts == 0 || secs < putMinSeconds {
			s, err := timed(func() error { return putGet(payload, c.puts, false) })
			if err != nil {
				return nil, fmt.Errorf("(c): %w", err)
			}
			secs, puts = secs+s, puts+c.puts
		}
		g.PutGet.N, g.PutGet.Bytes, g.PutGet.Seconds = puts, c.putBytes, secs
		g.PutGet.GBPerSec = float64(puts) * float64(c.putBytes) / secs / 1e9

		// (c') the same with a copy per put: what Ray's semantics cost.
		secs, puts = 0.0, 0
		for puts == 0 || secs < putMinSeconds {
			s, err := timed(func() error { return putGet(payload, c.puts, true) })
			if err != nil {
				return nil, fmt.Errorf("(c'): %w", err)
			}
			secs, puts = secs+s, puts+c.puts
		}
		g.PutGetCopy.N, g.PutGetCopy.Seconds = puts, secs
		g.PutGetCopy.GBPerSec = float64(puts) * float64(c.putBytes) / secs / 1e9
	}
	if c.has("d") {
		secs, err := timed(func() error {
			for range c.waitRounds {
				if err := waitRound(small, c.waitRefs); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("(d): %w", err)
		}
		g.Wait.Refs, g.Wait.Rounds, g.Wait.Seconds = c.waitRefs, c.waitRounds, secs
		g.Wait.RoundsPerSec = float64(c.waitRounds) / secs
	}
	return &g, nil
}

// benchActor is the actor of case (b).
type benchActor struct{}

// Noop does nothing.
func (*benchActor) Noop() struct{} { return struct{}{} }

// timed runs f after a garbage collection, so that one case does not pay
// for the previous one's garbage, and returns its duration in seconds.
func timed(f func() error) (float64, error) {
	runtime.GC()
	start := time.Now()
	err := f()
	return time.Since(start).Seconds(), err
}

// runTasks is case (a): submit n no-op tasks, then get them all.
func runTasks(noop *ray.Task[struct{}], n int) error {
	refs := make([]ray.ObjectRef[struct{}], n)
	for i := range refs {
		refs[i] = noop.Remote()
	}
	_, err := ray.GetAll(refs)
	return err
}

// runCalls is case (b): submit n calls on one actor, then get them all.
func runCalls(a *ray.Actor[benchActor], n int) error {
	refs := make([]ray.ObjectRef[struct{}], n)
	for i := range refs {
		refs[i] = ray.Call(a, (*benchActor).Noop)
	}
	_, err := ray.GetAll(refs)
	return err
}

// putGet is case (c), and (c') when clone is set: put the payload (or a
// fresh copy of it, the memory traffic Ray's put has), get it back, release
// the object. Release frees it at once, as dropping the last ObjectRef does
// in Ray; without it the object would wait for the garbage collector.
func putGet(payload []byte, n int, clone bool) error {
	for range n {
		v := payload
		if clone {
			v = bytes.Clone(payload)
		}
		ref := ray.Put(v)
		got, err := ref.Get()
		if err != nil {
			return err
		}
		if len(got) != len(payload) {
			return fmt.Errorf("got %d bytes back, put %d", len(got), len(payload))
		}
		ray.Release(ref)
	}
	return nil
}

// waitRound is one round of case (d), as Ray's ray_perf.py
// wait_multiple_refs: submit refs small tasks, then wait for one ready ref
// at a time until none is left.
func waitRound(small *ray.Task[[]byte], refs int) error {
	notReady := make([]ray.ObjectRef[[]byte], refs)
	for i := range notReady {
		notReady[i] = small.Remote()
	}
	for range refs {
		var err error
		_, notReady, err = ray.Wait(notReady, 1, -1)
		if err != nil {
			return err
		}
	}
	if len(notReady) != 0 {
		return fmt.Errorf("%d refs still not ready", len(notReady))
	}
	return nil
}

// runRay runs ray_core.py with the same counts and parses its JSON. Ray's
// stderr is kept aside and shown only if the script fails.
func runRay(c config) (*result, error) {
	dir, err := os.MkdirTemp("", "goray-bench-core-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "ray_core.py")
	if err := os.WriteFile(script, rayScript, 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.rayTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.python, script,
		"--num-cpus", strconv.Itoa(c.cpus),
		"--tasks", strconv.Itoa(c.tasks),
		"--calls", strconv.Itoa(c.calls),
		"--puts", strconv.Itoa(c.puts),
		"--put-bytes", strconv.Itoa(c.putBytes),
		"--wait-refs", strconv.Itoa(c.waitRefs),
		"--wait-rounds", strconv.Itoa(c.waitRounds),
		"--warmup", strconv.Itoa(c.warmup),
		"--cases", c.cases)
	cmd.Env = append(os.Environ(), "RAY_USAGE_STATS_ENABLED=0", "RAY_AUTH_MODE=disabled")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	fmt.Fprintf(os.Stderr, "bench/core: running the Ray side (%s)...\n", c.python)
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no Python at %s (make venv, or pass -python, or -skip-ray): %w", c.python, err)
		}
		return nil, fmt.Errorf("ray side failed: %w\n%s", err, tail(stderr.String(), 4000))
	}
	// The JSON object is the last line that looks like one.
	var r result
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				return nil, fmt.Errorf("ray side output: %w", err)
			}
			return &r, nil
		}
	}
	return nil, fmt.Errorf("ray side printed no JSON:\n%s\n%s", tail(stdout.String(), 2000), tail(stderr.String(), 2000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// report prints the header and one line per case.
func report(w io.Writer, c config, g, r *result) {
	rayVer := "ray skipped"
	if r != nil {
		rayVer = fmt.Sprintf("ray %s (Python %s)", r.RayVersion, r.PythonVersion)
	}
	fmt.Fprintf(w, "machine: %d cores, %s memory, %s/%s, load %s at start | %s | %s | both runtimes given %d CPUs\n",
		runtime.NumCPU(), memTotal(), runtime.GOOS, runtime.GOARCH, c.load, runtime.Version(), rayVer, c.cpus)

	type row struct {
		label    string
		g, r     float64
		unit     string
		prec     int
		target   float64
		rayExtra string
	}
	all := []row{
		{label: fmt.Sprintf("(a) %d no-op tasks", c.tasks), g: g.Tasks.PerSec, unit: "tasks/s", target: 50},
		{label: fmt.Sprintf("(b) %d calls on one actor", c.calls), g: g.ActorCalls.PerSec, unit: "calls/s", target: 50},
		{label: fmt.Sprintf("(c) put+get of 1 MiB (goray %d, ray %d times)", g.PutGet.N, c.puts), g: g.PutGet.GBPerSec, unit: "GB/s", prec: 2, target: 2},
		{label: fmt.Sprintf("(d) wait 1k refs, %d rounds", c.waitRounds), g: g.Wait.RoundsPerSec, unit: "rounds/s", prec: 2},
	}
	if r != nil {
		all[0].r, all[1].r = r.Tasks.PerSec, r.ActorCalls.PerSec
		all[2].r, all[2].rayExtra = r.PutGet.GBPerSec, " ("+r.Payload+")"
		all[3].r = r.Wait.RoundsPerSec
	}
	for i, x := range all {
		if !c.has(string(rune('a' + i))) {
			continue
		}
		line := fmt.Sprintf("  %s: goray %s %s", x.label, commas(x.g, x.prec), x.unit)
		if r == nil {
			fmt.Fprintln(w, line+" | ray skipped")
			if i == 2 {
				fmt.Fprintf(w, "  (c') the same, goray copying each payload: goray %s GB/s | ray skipped\n", commas(g.PutGetCopy.GBPerSec, 2))
			}
			continue
		}
		ratio := x.g / x.r
		line += fmt.Sprintf(" | ray %s %s%s | %.1fx", commas(x.r, x.prec), x.unit, x.rayExtra, ratio)
		if x.target > 0 {
			verdict := "met"
			if ratio < x.target {
				verdict = "NOT met"
			}
			line += fmt.Sprintf(" (target %gx: %s)", x.target, verdict)
		}
		fmt.Fprintln(w, line)
		if i == 2 {
			line = fmt.Sprintf("  (c') the same, goray copying each payload: goray %s GB/s", commas(g.PutGetCopy.GBPerSec, 2))
			if r != nil {
				line += fmt.Sprintf(" | ray %s GB/s | %.1fx (target 2x: %s)", commas(r.PutGet.GBPerSec, 2),
					g.PutGetCopy.GBPerSec/r.PutGet.GBPerSec, map[bool]string{true: "met", false: "NOT met"}[g.PutGetCopy.GBPerSec >= 2*r.PutGet.GBPerSec])
			}
			fmt.Fprintln(w, line)
		}
	}
}

// commas formats v with prec decimals and thousands separators.
func commas(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

// memTotal returns the machine's memory from /proc/meminfo, in GiB.
func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseFloat(fields[1], 64); err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

// loadAvg returns the 1-minute load average from /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
