// Command llmgpu measures goray's LLM inference stack (raylib/infer/llm on
// GoMLX/XLA) on a GPU: the Qwen2.5-0.5B architecture with random weights
// (speed does not depend on the values), greedy generation with a
// key/value cache, prefill and decode tokens/s at several batch sizes; and,
// with -actors, two goray actors holding fractions of GPU 0 (ray.NumGPUs)
// that each open their backend with device.OpenShare and generate at the
// same time while nvidia-smi is sampled. torch_peer.py is the transformers
// side of the comparison, run.sh the one script for a GPU machine,
// README.md the instructions.
//
// Throughput (the default mode), for each batch size n:
//
//	warm-up   m.Warmup(n, prompt, new): compiles the prefill and decode shapes
//	prefill   GenerateWith(MaxNewTokens: 1), -repeat times
//	generate  GenerateWith(MaxNewTokens: new), -repeat times, no early stop
//	decode    generate - prefill, for new-1 steps (the first new token comes
//	          from the prefill); also measured from OnToken time stamps
//
//	prefill tokens/s = n x prompt / median prefill
//	decode tokens/s  = n x (new-1) / (median generate - median prefill)
//
// The prompts are random token ids, every row prompt tokens long (a bucket
// size, so nothing is padded). The figures are written as JSON after each
// batch size (so a run cut short by a timeout keeps what it measured).
//
// A tiny configuration runs anywhere (CPU XLA or the pure-Go backend):
//
//	go run ./bench/llmgpu -layers 2 -hidden 64 -intermediate 128 -heads 4 -kv-heads 2 -head-dim 16 \
//	    -vocab 1000 -batches 1,2 -prompt 16 -new 4 -backend xla
//	go run ./bench/llmgpu -actors 0.6,0.4 ...   # the two-actor GPU-share test
//	go run ./bench/llmgpu -summary a.json,b.json # compare goray and torch_peer.py results
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/llm"
)

// modelShape is the architecture benchmarked (Qwen2.5-0.5B by default).
type modelShape struct {
	Arch         string  `json:"arch"`
	Hidden       int     `json:"hidden"`
	Intermediate int     `json:"intermediate"`
	Layers       int     `json:"layers"`
	Heads        int     `json:"heads"`
	KVHeads      int     `json:"kv_heads"`
	HeadDim      int     `json:"head_dim"`
	Vocab        int     `json:"vocab"`
	RopeTheta    float64 `json:"rope_theta"`
	Eps          float64 `json:"rms_eps"`
	Tied         bool    `json:"tied_embeddings"`
	QKVBias      bool    `json:"qkv_bias"`
	MaxPositions int     `json:"max_positions"`
	Params       int64   `json:"params"`
}

func (c modelShape) llmConfig() llm.Config {
	return llm.Config{
		Arch: c.Arch, Hidden: c.Hidden, Intermediate: c.Intermediate, Layers: c.Layers,
		Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim, Vocab: c.Vocab,
		RMSNormEps: c.Eps, RopeTheta: c.RopeTheta, TieWordEmbeddings: c.Tied,
		QKVBias: c.QKVBias, MaxPositions: c.MaxPositions,
	}
}

// flags holds the command line.
type flags struct {
	shape   modelShape
	batches []int
	prompt  int
	newTok  int
	repeat  int
	backend string
	plugin  string
	seed    uint64
	out     string

	actors        []float64
	actorBatch    int
	actorRounds   int
	gpu           int
	processShare  float64
	actorFallback string
	smiInterval   time.Duration
	probe         bool

	summary     []string
	summaryRef  string
	checkPlugin string
}

func parseFlags() (*flags, error) {
	f := &flags{}
	s := &f.shape
	flag.StringVar(&s.Arch, "arch", "qwen2", "architecture: qwen2 or llama")
	flag.IntVar(&s.Hidden, "hidden", 896, "hidden size")
	flag.IntVar(&s.Intermediate, "intermediate", 4864, "MLP intermediate size")
	flag.IntVar(&s.Layers, "layers", 24, "decoder layers")
	flag.IntVar(&s.Heads, "heads", 14, "attention heads")
	flag.IntVar(&s.KVHeads, "kv-heads", 2, "key/value heads")
	flag.IntVar(&s.HeadDim, "head-dim", 64, "head dimension")
	flag.IntVar(&s.Vocab, "vocab", 151936, "vocabulary size")
	flag.Float64Var(&s.RopeTheta, "rope-theta", 1e6, "RoPE theta")
	flag.Float64Var(&s.Eps, "eps", 1e-6, "RMSNorm epsilon")
	flag.BoolVar(&s.Tied, "tied", true, "tie the LM head to the embeddings")
	flag.BoolVar(&s.QKVBias, "qkv-bias", true, "q/k/v projection biases")
	flag.IntVar(&s.MaxPositions, "max-pos", 32768, "context length (max_position_embeddings)")
	batches := flag.String("batches", "1,8,32", "comma-separated batch sizes")
	flag.IntVar(&f.prompt, "prompt", 128, "prompt tokens per row")
	flag.IntVar(&f.newTok, "new", 64, "new tokens per row (no early stop)")
	flag.IntVar(&f.repeat, "repeat", 3, "timed runs per measurement (the median is reported)")
	flag.StringVar(&f.backend, "backend", "xla", "goray backend: xla, go or auto (device.Open)")
	flag.StringVar(&f.plugin, "plugin", "", "PJRT plugin .so (default: GORAY_PJRT_PLUGIN, then discovery)")
	seed := flag.Uint64("seed", 1, "seed of the random weights and prompts")
	flag.StringVar(&f.out, "out", "", "JSON output (default $OUT/llmgpu[-actors].json if OUT is set, else bench/out/llmgpu[-actors].json)")
	actors := flag.String("actors", "", "run the GPU-share test instead: comma-separated shares of GPU -gpu, one actor each (e.g. 0.6,0.4)")
	flag.IntVar(&f.actorBatch, "actor-batch", 8, "actor test: batch size of each actor")
	flag.IntVar(&f.actorRounds, "actor-rounds", 3, "actor test: generate calls per actor, all at once")
	flag.IntVar(&f.gpu, "gpu", 0, "actor test: the GPU the shares are of (the scheduler picks it; this only checks)")
	flag.Float64Var(&f.processShare, "process-share", 1, "actor test: device.Options.ProcessShare of the OpenShare calls (0: each share alone)")
	flag.StringVar(&f.actorFallback, "actor-fallback", "", "actor test: when OpenShare fails (no GPU), open this backend (xla, go) instead, to test the rest on a CPU")
	flag.DurationVar(&f.smiInterval, "smi-interval", 500*time.Millisecond, "actor test: nvidia-smi sampling interval")
	flag.BoolVar(&f.probe, "probe", true, "actor test: afterwards, probe the share registry (ProcessShare 0: 0.6 then 0.4; and over-subscription)")
	summary := flag.String("summary", "", "print a comparison of these JSON files (llmgpu and torch_peer.py outputs) and exit")
	flag.StringVar(&f.checkPlugin, "check-plugin", "", "load this PJRT plugin .so with go-xla, print its PJRT version and attributes, and exit (no GPU needed)")
	flag.StringVar(&f.summaryRef, "summary-ref", "torch float32", "-summary: the side the ratios are to (a prefix of its name)")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	f.seed = *seed
	var err error
	if f.batches, err = parseInts(*batches); err != nil {
		return nil, fmt.Errorf("-batches: %w", err)
	}
	if f.actors, err = parseFloats(*actors); err != nil {
		return nil, fmt.Errorf("-actors: %w", err)
	}
	if *summary != "" {
		f.summary = strings.Split(*summary, ",")
	}
	if f.prompt <= 0 || f.newTok < 2 || f.repeat <= 0 {
		return nil, fmt.Errorf("-prompt and -repeat must be positive and -new at least 2 (got %d, %d, %d)", f.prompt, f.repeat, f.newTok)
	}
	s.Params = s.numParams()
	return f, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v <= 1) {
			return nil, fmt.Errorf("%q is not a share in (0, 1]", p)
		}
		out = append(out, v)
	}
	return out, nil
}

// defaultOut is $OUT/name, or bench/out/name when OUT is unset.
func defaultOut(name string) string {
	if d := os.Getenv("OUT"); d != "" {
		return filepath.Join(d, name)
	}
	return filepath.Join("bench", "out", name)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("llmgpu: ")
	f, err := parseFlags()
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	switch {
	case f.checkPlugin != "":
		err = checkPlugin(f.checkPlugin)
	case len(f.summary) > 0:
		err = runSummary(os.Stdout, f.summary, f.summaryRef)
	case len(f.actors) > 0:
		if f.out == "" {
			f.out = defaultOut("llmgpu-actors.json")
		}
		err = runActors(f)
	default:
		if f.out == "" {
			f.out = defaultOut("llmgpu.json")
		}
		err = runThroughput(f)
	}
	if err != nil {
		log.Print(err)
		var ng *noGPUError
		if errors.As(err, &ng) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

// batchResult is the figures of one batch size. The same field names are
// used by torch_peer.py.
type batchResult struct {
	Batch         int       `json:"batch"`
	PromptLen     int       `json:"prompt_len"`
	NewTokens     int       `json:"new_tokens"`
	WarmupS       float64   `json:"warmup_s"`
	PrefillS      []float64 `json:"prefill_s"`
	GenerateS     []float64 `json:"generate_s"`
	DecodeStamped []float64 `json:"decode_s_stamped"` // first token to last, from OnToken
	PrefillTokS   float64   `json:"prefill_tok_s"`
	DecodeTokS    float64   `json:"decode_tok_s"`
	GenerateTokS  float64   `json:"generate_tok_s"` // n x new / median generate
	DecodeStepMS  float64   `json:"decode_step_ms"`
	Error         string    `json:"error,omitempty"`
}

// throughputReport is the JSON of the throughput mode.
type throughputReport struct {
	Tool       string        `json:"tool"`
	Side       string        `json:"side"`
	Started    string        `json:"started"`
	Complete   bool          `json:"complete"`
	Host       hostInfo      `json:"host"`
	Model      modelShape    `json:"model"`
	DType      string        `json:"dtype"`
	Backend    string        `json:"backend"`
	Reason     string        `json:"backend_reason"`
	Plugin     string        `json:"plugin,omitempty"`
	XLAFlags   string        `json:"xla_flags,omitempty"`
	WeightsS   float64       `json:"weights_s"` // random weights made and llm.New (upload, graph building)
	PromptLen  int           `json:"prompt_len"`
	NewTokens  int           `json:"new_tokens"`
	Repeat     int           `json:"repeat"`
	Results    []batchResult `json:"results"`
	Error      string        `json:"error,omitempty"`
	GPUMemory  []smiSample   `json:"gpu_memory,omitempty"`
	Definition string        `json:"definition"`
}

type hostInfo struct {
	Hostname string `json:"hostname"`
	CPUs     int    `json:"cpus"`
	Go       string `json:"go"`
	GPU      string `json:"gpu,omitempty"`
}

func getHost() hostInfo {
	h, _ := os.Hostname()
	return hostInfo{Hostname: h, CPUs: runtime.NumCPU(), Go: runtime.Version(), GPU: smiGPUName()}
}

const definition = "prefill tok/s = batch*prompt/median(GenerateWith MaxNewTokens=1); " +
	"decode tok/s = batch*(new-1)/(median(GenerateWith MaxNewTokens=new) - median(prefill)); " +
	"generate tok/s = batch*new/median(generate)"

func openBackend(f *flags) (*device.Backend, error) {
	var logLine strings.Builder
	b, err := device.Open(device.Options{Backend: f.backend, PluginPath: f.plugin, Log: &logLine})
	fmt.Fprint(os.Stderr, logLine.String())
	return b, err
}

func runThroughput(f *flags) error {
	rep := &throughputReport{
		Tool: "llmgpu", Started: time.Now().UTC().Format(time.RFC3339), Host: getHost(),
		Model: f.shape, DType: "float32", PromptLen: f.prompt, NewTokens: f.newTok, Repeat: f.repeat,
		Definition: definition,
	}
	save := func() {
		if err := writeJSON(f.out, rep); err != nil {
			log.Printf("writing %s: %v", f.out, err)
		}
	}
	fmt.Printf("model: %s\n", f.shape)
	b, err := openBackend(f)
	if err != nil {
		rep.Error = err.Error()
		save()
		return err
	}
	defer b.Close()
	rep.Backend, rep.Reason, rep.Plugin = b.Name(), b.Reason(), b.PluginPath()
	rep.XLAFlags = os.Getenv("XLA_FLAGS")
	rep.Side = "goray " + b.Name()
	fmt.Printf("backend: %s (%s)\n", b.Name(), b.Reason())
	if rep.XLAFlags != "" {
		fmt.Printf("XLA_FLAGS=%s\n", rep.XLAFlags)
	}

	t0 := time.Now()
	m, err := newModel(f.shape, f.seed, b)
	if err != nil {
		rep.Error = err.Error()
		save()
		return err
	}
	defer m.Close()
	rep.WeightsS = time.Since(t0).Seconds()
	fmt.Printf("weights: %.1fs (random, %d parameters, float32)\n", rep.WeightsS, f.shape.Params)
	rep.GPUMemory = appendSMI(rep.GPUMemory, "loaded")
	save()

	ctx := context.Background()
	rng := rand.New(rand.NewPCG(f.seed, 2))
	fmt.Printf("\n%6s %9s %11s %13s %14s %12s %13s\n", "batch", "warmup s", "prefill ms", "prefill tok/s", "decode ms/step", "decode tok/s", "gen tok/s")
	for _, n := range f.batches {
		r := measure(ctx, m, n, f.prompt, f.newTok, f.repeat, rng)
		rep.Results = append(rep.Results, r)
		rep.GPUMemory = appendSMI(rep.GPUMemory, fmt.Sprintf("after batch %d", n))
		save()
		if r.Error != "" {
			fmt.Printf("%6d  error: %s\n", n, r.Error)
			continue
		}
		fmt.Printf("%6d %9.2f %11.2f %13.0f %14.2f %12.0f %13.0f\n", n, r.WarmupS, 1e3*median(r.PrefillS),
			r.PrefillTokS, r.DecodeStepMS, r.DecodeTokS, r.GenerateTokS)
	}
	rep.Complete = true
	save()
	fmt.Printf("\nwrote %s\n", f.out)
	return nil
}

// newModel makes random weights of shape s and builds the model on b.
func newModel(s modelShape, seed uint64, b *device.Backend) (*llm.Model, error) {
	src, err := randomSource(s, seed)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return llm.New(s.llmConfig(), src, llm.Options{Backend: b})
}

func randomPrompts(rng *rand.Rand, n, length, vocab int) [][]int {
	rows := make([][]int, n)
	for i := range rows {
		rows[i] = make([]int, length)
		for j := range rows[i] {
			rows[i][j] = rng.IntN(vocab)
		}
	}
	return rows
}

// measure times one batch size; errors are reported in the result.
func measure(ctx context.Context, m *llm.Model, n, prompt, newTok, repeat int, rng *rand.Rand) batchResult {
	r := batchResult{Batch: n, PromptLen: prompt, NewTokens: newTok}
	t0 := time.Now()
	if err := m.Warmup(ctx, n, prompt, newTok); err != nil {
		r.Error = "warmup: " + err.Error()
		return r
	}
	r.WarmupS = time.Since(t0).Seconds()
	prompts := randomPrompts(rng, n, prompt, m.Config.Vocab)
	// One untimed run of each, after the warm-up's compile.
	if _, err := m.GenerateWith(ctx, prompts, llm.GenerateOptions{MaxNewTokens: 1}); err != nil {
		r.Error = "prefill: " + err.Error()
		return r
	}
	for range repeat {
		t := time.Now()
		if _, err := m.GenerateWith(ctx, prompts, llm.GenerateOptions{MaxNewTokens: 1}); err != nil {
			r.Error = "prefill: " + err.Error()
			return r
		}
		r.PrefillS = append(r.PrefillS, time.Since(t).Seconds())
	}
	for range repeat {
		var first, last time.Time
		opts := llm.GenerateOptions{MaxNewTokens: newTok, OnToken: func(row, _ int) bool {
			if row == 0 {
				now := time.Now()
				if first.IsZero() {
					first = now
				}
				last = now
			}
			return true
		}}
		t := time.Now()
		out, err := m.GenerateWith(ctx, prompts, opts)
		el := time.Since(t).Seconds()
		if err != nil {
			r.Error = "generate: " + err.Error()
			return r
		}
		for b, row := range out {
			if len(row) != newTok {
				r.Error = fmt.Sprintf("generate: row %d has %d new tokens, want %d", b, len(row), newTok)
				return r
			}
		}
		r.GenerateS = append(r.GenerateS, el)
		r.DecodeStamped = append(r.DecodeStamped, last.Sub(first).Seconds())
	}
	p, g := median(r.PrefillS), median(r.GenerateS)
	r.PrefillTokS = float64(n*prompt) / p
	if d := g - p; d > 0 {
		r.DecodeTokS = float64(n*(newTok-1)) / d
		r.DecodeStepMS = 1e3 * d / float64(newTok-1)
	}
	r.GenerateTokS = float64(n*newTok) / g
	return r
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// noGPUError marks the actor test's "no GPU here" outcome (exit code 3).
type noGPUError struct{ err error }

func (e *noGPUError) Error() string { return e.err.Error() }
func (e *noGPUError) Unwrap() error { return e.err }
