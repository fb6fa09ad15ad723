package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/llm"
	"github.com/goray-dev/goray/raylib/ray"
)

// actorInfo is what an actor reports after its constructor: where it runs
// and what its PJRT client was configured with.
type actorInfo struct {
	Name   string          `json:"name"`
	Share  float64         `json:"share"` // ray.NumGPUs asked for
	GPUs   []ray.GPUShare  `json:"gpus"`  // what the scheduler granted
	PID    int             `json:"pid"`
	Open   string          `json:"open"` // "device.OpenShare" or the fallback
	Name2  string          `json:"backend"`
	Reason string          `json:"backend_reason"`
	Plugin string          `json:"plugin,omitempty"`
	Client *clientSettings `json:"client,omitempty"` // OpenShare only
	LoadS  float64         `json:"load_s"`
	WarmS  float64         `json:"warmup_s"`
}

// clientSettings is the PJRT client of a share: the share it was created
// for (max of the first share and ProcessShare, see device.OpenShare) and
// the create options device.CUDAOptions gives for it.
type clientSettings struct {
	CreatedForShare float64        `json:"created_for_share"`
	MemoryFraction  float32        `json:"memory_fraction"`
	ProcessShare    float64        `json:"process_share"`
	Options         map[string]any `json:"pjrt_options"`
	NewClient       bool           `json:"new_client"` // this share created it (else reused)
}

// genActor holds one model on its share of the GPU.
type genActor struct {
	info    actorInfo
	model   *llm.Model
	backend *device.Backend
	prompts [][]int
	newTok  int
}

// Info returns what the constructor set up.
func (a *genActor) Info() actorInfo { return a.info }

// runResult is one actor's generation under load.
type runResult struct {
	Name    string    `json:"name"`
	Start   float64   `json:"start_unix_s"`
	End     float64   `json:"end_unix_s"`
	RoundsS []float64 `json:"rounds_s"`
	Tokens  int       `json:"tokens"` // new tokens, all rounds and rows
	TokS    float64   `json:"tok_s"`
}

// Run generates rounds batches one after the other.
func (a *genActor) Run(ctx context.Context, rounds int) (runResult, error) {
	r := runResult{Name: a.info.Name, Start: unixS(time.Now())}
	t0 := time.Now()
	for range rounds {
		t := time.Now()
		out, err := a.model.GenerateWith(ctx, a.prompts, llm.GenerateOptions{MaxNewTokens: a.newTok})
		if err != nil {
			return r, err
		}
		for _, row := range out {
			r.Tokens += len(row)
		}
		r.RoundsS = append(r.RoundsS, time.Since(t).Seconds())
	}
	r.End = unixS(time.Now())
	r.TokS = float64(r.Tokens) / time.Since(t0).Seconds()
	return r, nil
}

// actorClosed receives an actor's name once its Close has given its share
// back, so that the probe starts on an empty share registry.
var actorClosed = make(chan string, 64)

// Close frees the model and gives the share back (ray calls it when the
// actor dies).
func (a *genActor) Close() error {
	if a.model != nil {
		_ = a.model.Close()
	}
	if a.backend != nil {
		_ = a.backend.Close()
	}
	select {
	case actorClosed <- a.info.Name:
	default:
	}
	return nil
}

func unixS(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

var reNewClient = regexp.MustCompile(`new client for share ([0-9.eE+-]+)`)

// newGenActor is the constructor of actor i.
func newGenActor(f *flags, i int, share float64) func(context.Context) (*genActor, error) {
	return func(ctx context.Context) (*genActor, error) {
		name := fmt.Sprintf("actor%d(%.2g)", i, share)
		a := &genActor{info: actorInfo{Name: name, Share: share, PID: os.Getpid()}, newTok: f.newTok}
		rc, _ := ray.GetRuntimeContext(ctx)
		a.info.GPUs = rc.GPUs
		if len(rc.GPUs) == 0 {
			return nil, fmt.Errorf("%s: the scheduler granted no GPU", name)
		}
		g := rc.GPUs[0]
		var logLine strings.Builder
		opts := device.Options{ProcessShare: f.processShare, PluginPath: f.plugin, Log: &logLine}
		b, _, err := device.OpenShare(opts, g.ID, g.Fraction)
		if err == nil {
			a.info.Open = fmt.Sprintf("device.OpenShare(Options{ProcessShare: %g}, gpu %d, share %g)", f.processShare, g.ID, g.Fraction)
			created := math.Max(g.Fraction, f.processShare)
			cs := &clientSettings{ProcessShare: f.processShare, CreatedForShare: created}
			if m := reNewClient.FindStringSubmatch(b.Reason()); m != nil {
				cs.NewClient = true
			}
			cs.MemoryFraction = device.MemoryFraction(math.Min(created, 1))
			cs.Options = map[string]any{}
			for k, v := range device.CUDAOptions(g.ID, math.Min(created, 1)) {
				cs.Options[k] = v
			}
			a.info.Client = cs
		} else {
			if f.actorFallback == "" {
				return nil, fmt.Errorf("%s: device.OpenShare(gpu %d, share %g): %w", name, g.ID, g.Fraction, err)
			}
			fmt.Printf("  %s: device.OpenShare failed (%v); falling back to device.Open(backend %s) as -actor-fallback says\n", name, err, f.actorFallback)
			b, err = device.Open(device.Options{Backend: f.actorFallback, PluginPath: f.plugin, Log: &logLine})
			if err != nil {
				return nil, fmt.Errorf("%s: fallback backend %s: %w", name, f.actorFallback, err)
			}
			a.info.Open = "fallback device.Open(" + f.actorFallback + ")"
		}
		fmt.Printf("  %s: %s", name, logLine.String())
		a.backend = b
		a.info.Name2, a.info.Reason, a.info.Plugin = b.Name(), b.Reason(), b.PluginPath()
		t := time.Now()
		a.model, err = newModel(f.shape, f.seed, b)
		if err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("%s: load: %w", name, err)
		}
		a.info.LoadS = time.Since(t).Seconds()
		t = time.Now()
		if err := a.model.Warmup(ctx, f.actorBatch, f.prompt, f.newTok); err != nil {
			_ = a.Close()
			return nil, fmt.Errorf("%s: warm-up: %w", name, err)
		}
		a.info.WarmS = time.Since(t).Seconds()
		a.prompts = randomPrompts(rand.New(rand.NewPCG(f.seed, uint64(10+i))), f.actorBatch, f.prompt, f.shape.Vocab)
		return a, nil
	}
}

// actorsReport is the JSON of the actor test.
type actorsReport struct {
	Tool         string        `json:"tool"`
	Mode         string        `json:"mode"`
	Started      string        `json:"started"`
	Complete     bool          `json:"complete"`
	Host         hostInfo      `json:"host"`
	Model        modelShape    `json:"model"`
	Shares       []float64     `json:"shares"`
	ProcessShare float64       `json:"process_share"`
	Fallback     string        `json:"fallback,omitempty"`
	NodeGPUs     int           `json:"node_gpus"`
	LogicalGPU   bool          `json:"logical_gpu,omitempty"` // none detected: ray.Init(NumGPUs(1)) so that the actors are placed
	Batch        int           `json:"batch"`
	PromptLen    int           `json:"prompt_len"`
	NewTokens    int           `json:"new_tokens"`
	Rounds       int           `json:"rounds"`
	XLAFlags     string        `json:"xla_flags,omitempty"`
	Actors       []actorInfo   `json:"actors"`
	ActorErrors  []string      `json:"actor_errors,omitempty"`
	Runs         []runResult   `json:"runs,omitempty"`
	RunErrors    []string      `json:"run_errors,omitempty"`
	WallS        float64       `json:"concurrent_wall_s"`
	OverlapS     float64       `json:"overlap_s"` // time both actors were generating
	TotalTokS    float64       `json:"total_tok_s"`
	Probe        []probeResult `json:"probe,omitempty"`
	SMI          []smiSample   `json:"nvidia_smi,omitempty"`
	Peaks        []phasePeak   `json:"nvidia_smi_peaks,omitempty"`
	Error        string        `json:"error,omitempty"`
}

type probeResult struct {
	Step   string  `json:"step"`
	OK     bool    `json:"ok"`
	Reason string  `json:"reason,omitempty"`
	Error  string  `json:"error,omitempty"`
	GiB    float64 `json:"allocated_gib,omitempty"`
}

// countGPUs counts /dev/nvidiaN, as ray.Init does.
func countGPUs() int {
	ents, err := os.ReadDir("/dev")
	if err != nil {
		return 0
	}
	re := regexp.MustCompile(`^nvidia[0-9]+$`)
	n := 0
	for _, e := range ents {
		if re.MatchString(e.Name()) {
			n++
		}
	}
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		v = strings.TrimSpace(v)
		if v == "" || v == "-1" {
			return 0
		}
		return len(strings.Split(v, ","))
	}
	return n
}

func runActors(f *flags) error {
	var sum float64
	for _, s := range f.actors {
		sum += s
	}
	rep := &actorsReport{
		Tool: "llmgpu", Mode: "actors", Started: time.Now().UTC().Format(time.RFC3339), Host: getHost(),
		Model: f.shape, Shares: f.actors, ProcessShare: f.processShare, Fallback: f.actorFallback,
		Batch: f.actorBatch, PromptLen: f.prompt, NewTokens: f.newTok, Rounds: f.actorRounds,
		XLAFlags: os.Getenv("XLA_FLAGS"),
	}
	smp := startSampler(f.smiInterval, "start")
	save := func() {
		rep.SMI = smp.snapshot()
		rep.Peaks = peaks(rep.SMI)
		if err := writeJSON(f.out, rep); err != nil {
			log.Printf("writing %s: %v", f.out, err)
		}
	}
	fmt.Printf("model: %s\n", f.shape)
	fmt.Printf("actor test: shares %v of GPU %d (sum %.3g), ProcessShare %g, batch %d x %d+%d tokens, %d rounds each\n",
		f.actors, f.gpu, sum, f.processShare, f.actorBatch, f.prompt, f.newTok, f.actorRounds)
	if !smiAvailable() {
		fmt.Println("nvidia-smi: not found (no GPU memory readings)")
	}

	save() // a run killed while loading still leaves its settings
	gpus := countGPUs()
	rep.NodeGPUs = gpus
	if gpus == 0 {
		rep.LogicalGPU = true
		gpus = 1
		fmt.Println("no NVIDIA GPU device (/dev/nvidiaN): ray.Init(NumGPUs(1)) with a logical GPU so the actors are placed; OpenShare will say no")
	}
	if err := ray.Init(ray.NumGPUs(float64(gpus))); err != nil {
		rep.Error = err.Error()
		save()
		return err
	}
	defer func() { _ = ray.Shutdown() }()

	smp.setPhase("load+warmup")
	actors := make([]*ray.Actor[genActor], len(f.actors))
	for i, s := range f.actors {
		a, err := ray.NewActorCtx(newGenActor(f, i, s), ray.NumGPUs(s))
		if err != nil {
			rep.ActorErrors = append(rep.ActorErrors, fmt.Sprintf("actor%d(%.2g): %v", i, s, err))
			continue
		}
		actors[i] = a
	}
	var live []*ray.Actor[genActor]
	for i, a := range actors {
		if a == nil {
			continue
		}
		info, err := ray.Call(a, (*genActor).Info).Get()
		if err != nil {
			rep.ActorErrors = append(rep.ActorErrors, fmt.Sprintf("actor%d(%.2g): %v", i, f.actors[i], err))
			continue
		}
		rep.Actors = append(rep.Actors, info)
		live = append(live, a)
	}
	fmt.Println()
	for _, info := range rep.Actors {
		printActor(info)
	}
	for _, e := range rep.ActorErrors {
		fmt.Printf("  FAILED %s\n", e)
	}
	save()

	if len(live) > 0 {
		smp.setPhase("generate")
		refs := make([]ray.ObjectRef[runResult], len(live))
		t0 := time.Now()
		for i, a := range live {
			refs[i] = ray.Call1Ctx(a, (*genActor).Run, f.actorRounds)
		}
		for _, r := range refs {
			res, err := r.Get()
			if err != nil {
				rep.RunErrors = append(rep.RunErrors, err.Error())
				continue
			}
			rep.Runs = append(rep.Runs, res)
		}
		rep.WallS = time.Since(t0).Seconds()
		var tokens int
		start, end := math.Inf(-1), math.Inf(1)
		for _, r := range rep.Runs {
			tokens += r.Tokens
			start, end = math.Max(start, r.Start), math.Min(end, r.End)
		}
		if len(rep.Runs) > 1 && end > start {
			rep.OverlapS = end - start
		}
		rep.TotalTokS = float64(tokens) / rep.WallS
		fmt.Printf("\nconcurrent generation: %.2fs wall, %d actors, %.0f tok/s together (generated tokens / wall)\n", rep.WallS, len(rep.Runs), rep.TotalTokS)
		for _, r := range rep.Runs {
			fmt.Printf("  %s: rounds %s s, %.0f tok/s\n", r.Name, fmtFloats(r.RoundsS), r.TokS)
		}
		if rep.OverlapS > 0 {
			fmt.Printf("  both generating for %.2fs\n", rep.OverlapS)
		}
		for _, e := range rep.RunErrors {
			fmt.Printf("  FAILED run: %s\n", e)
		}
		smp.setPhase("loaded, idle")
		time.Sleep(2 * f.smiInterval)
		for _, a := range live {
			_ = ray.Kill(a, true)
		}
		timeout := time.After(30 * time.Second)
	wait:
		for range live {
			select {
			case <-actorClosed:
			case <-timeout:
				fmt.Println("  (an actor did not close within 30s; the probe may find its share still held)")
				break wait
			}
		}
		smp.setPhase("actors killed")
		time.Sleep(2 * f.smiInterval)
	}
	save()

	if f.probe {
		smp.setPhase("probe")
		rep.Probe = probeShares(f)
		smp.setPhase("probe done")
	}
	rep.Complete = true
	_ = smp.finish()
	save()
	printPeaks(rep.Peaks)
	fmt.Printf("\nwrote %s\n", f.out)

	if len(rep.Actors) == 0 {
		err := fmt.Errorf("no actor started: %s", strings.Join(rep.ActorErrors, "; "))
		if rep.LogicalGPU {
			return &noGPUError{fmt.Errorf("no GPU: %w", err)}
		}
		return err
	}
	if len(rep.ActorErrors) > 0 || len(rep.RunErrors) > 0 {
		return errors.New("some actors failed (see above)")
	}
	return nil
}

func printActor(a actorInfo) {
	fmt.Printf("  %s: GPUs %v, pid %d, %s\n", a.Name, a.GPUs, a.PID, a.Open)
	fmt.Printf("      backend %s (%s)\n", a.Name2, a.Reason)
	if c := a.Client; c != nil {
		keys := make([]string, 0, len(c.Options))
		for k := range c.Options {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, fmt.Sprintf("%s=%v", k, c.Options[k]))
		}
		how := "reused the process's client"
		if c.NewClient {
			how = "created the process's client"
		}
		fmt.Printf("      %s: created for share %g (ProcessShare %g), memory_fraction %.3g, PJRT options {%s}\n",
			how, c.CreatedForShare, c.ProcessShare, c.MemoryFraction, strings.Join(kv, ", "))
	}
	fmt.Printf("      load %.1fs, warm-up %.1fs\n", a.LoadS, a.WarmS)
}

func printPeaks(ps []phasePeak) {
	if len(ps) == 0 {
		return
	}
	fmt.Println("\nnvidia-smi peaks by phase (GPU 0 memory.used; per process used_memory):")
	for _, p := range ps {
		fmt.Printf("  %-14s %3d samples  GPU %6d / %d MiB  apps %v\n", p.Phase, p.Samples, p.GPUUsedMiB, p.TotalMiB, p.AppsMiB)
	}
}

func fmtFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, ", ")
}

// probeShares checks the share registry's policy and the memory cap on
// the real device, after the actors have given their shares back:
//
//  1. ProcessShare 0, share 0.6: a client of its own, memory_fraction 0.57;
//     then 1 GiB buffers are allocated on it until one fails, to show the
//     cap (about 0.57 of the GPU);
//  2. ProcessShare 0, share 0.4 next to it: refused (the client was sized
//     for 0.6);
//  3. ProcessShare 1: 0.6 and 0.4 fit one client; 0.1 more is refused as
//     over-subscription.
func probeShares(f *flags) []probeResult {
	var out []probeResult
	add := func(step string, b *device.Backend, err error) bool {
		r := probeResult{Step: step, OK: err == nil}
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Reason = b.Reason()
		}
		out = append(out, r)
		fmt.Printf("  probe %s: ok=%v %s%s\n", step, r.OK, r.Reason, r.Error)
		return err == nil
	}
	fmt.Println("\nshare registry probe:")
	q := func(ps float64) device.Options {
		return device.Options{ProcessShare: ps, PluginPath: f.plugin, Log: ioDiscard{}}
	}
	b1, rel1, err := device.OpenShare(q(0), f.gpu, 0.6)
	if add("ProcessShare 0: share 0.6", b1, err) {
		gib, aerr := fillUntilFull(b1, 1<<30, 200)
		r := probeResult{Step: "allocate 1 GiB buffers on the 0.6 client until one fails", OK: aerr != nil, GiB: gib}
		if aerr != nil {
			r.Error = firstLine(aerr.Error())
		}
		out = append(out, r)
		fmt.Printf("  probe %s: %.0f GiB allocated; then: %s\n", r.Step, gib, r.Error)
		b2, rel2, err := device.OpenShare(q(0), f.gpu, 0.4)
		if add("ProcessShare 0: share 0.4 beside it (expected: refused)", b2, err) {
			rel2()
		}
		rel1()
	} else {
		return out // no GPU: the rest would say the same
	}
	var rels []func()
	for _, s := range []float64{0.6, 0.4, 0.1} {
		b, rel, err := device.OpenShare(q(1), f.gpu, s)
		if add(fmt.Sprintf("ProcessShare 1: share %g (0.1 expected: refused)", s), b, err) {
			rels = append(rels, rel)
		}
	}
	for _, r := range rels {
		r()
	}
	return out
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// fillUntilFull allocates zero-filled float32 buffers of chunk bytes on
// b's device until one fails or limit are held, then frees them. It
// returns the GiB held before the failure.
func fillUntilFull(b *device.Backend, chunk int64, limit int) (gib float64, err error) {
	exec, err := graph.NewExec(b.GoMLX(), func(g *graph.Graph) *graph.Node {
		return graph.Zeros(g, shapes.Make(dtypes.Float32, int(chunk/4)))
	})
	if err != nil {
		return 0, err
	}
	defer exec.Finalize()
	var held []*tensors.Tensor
	defer func() {
		for _, t := range held {
			_ = t.FinalizeAll()
		}
	}()
	for range limit {
		out, err := execSafe(exec)
		if err != nil {
			return float64(int64(len(held))*chunk) / (1 << 30), err
		}
		held = append(held, out...)
	}
	return float64(int64(len(held))*chunk) / (1 << 30), fmt.Errorf("stopped after %d buffers without a failure", limit)
}

func execSafe(e *graph.Exec) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return e.Exec()
}
