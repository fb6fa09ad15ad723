package llm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/weights"
)

// The goldens come from tests/golden/llm/make_golden.py (Hugging Face
// transformers on tiny random checkpoints); see that script to regenerate.
var goldenDir = filepath.Join("..", "..", "..", "tests", "golden", "llm")

const logitsTol = 1e-4

type golden struct {
	Versions map[string]string `json:"versions"`
	MaxNew   int               `json:"max_new"`
	Models   map[string]struct {
		Architecture string `json:"architecture"`
		Single       []struct {
			IDs    []int     `json:"ids"`
			Logits []float32 `json:"logits"`
			Greedy []int     `json:"greedy"`
		} `json:"single"`
		Batch struct {
			Logits [][]float32 `json:"logits"`
			Greedy [][]int     `json:"greedy"`
		} `json:"batch"`
	} `json:"models"`
}

var (
	goldenOnce sync.Once
	goldenData *golden
	goldenErr  error
)

func loadGolden(t *testing.T) *golden {
	t.Helper()
	goldenOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
		if err != nil {
			goldenErr = err
			return
		}
		goldenData = &golden{}
		goldenErr = json.Unmarshal(b, goldenData)
	})
	if goldenErr != nil {
		t.Fatalf("golden.json: %v", goldenErr)
	}
	return goldenData
}

var modelNames = []string{"tiny-qwen2", "tiny-llama"}

// testBackend is a backend the tests load models on.
type testBackend struct {
	name string
	opts Options
}

func (b testBackend) Name() string { return b.name }

// openBackend opens the named backend, skipping the test when "xla" has
// no plugin. Under the race detector the pure-Go backend runs its ops
// sequentially: SimpleGo's parallel op scheduler (gomlx v0.26.0) reads its
// use counts without its lock, which -race reports inside simplego.
func openBackend(t *testing.T, name string) testBackend {
	t.Helper()
	if name == "go" && raceEnabled {
		gb, err := simplego.New("ops_sequential")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(gb.Finalize)
		return testBackend{name: "go (ops_sequential)", opts: Options{GoMLX: gb}}
	}
	b, err := device.Open(device.Options{Backend: name, Log: io.Discard})
	if err != nil {
		if name == "xla" {
			t.Skipf("xla backend unavailable (no PJRT CPU plugin found; install it into the project's .venv): %v", err)
		}
		t.Fatalf("device.Open(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return testBackend{name: b.Name(), opts: Options{Backend: b}}
}

func loadModel(t *testing.T, name string, be testBackend) *Model {
	t.Helper()
	m, err := Load(filepath.Join(goldenDir, name), be.opts)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func maxAbsDiff(t *testing.T, got [][]float32, want []float32) float64 {
	t.Helper()
	var flat []float32
	for _, r := range got {
		flat = append(flat, r...)
	}
	if len(flat) != len(want) {
		t.Fatalf("got %d logits, want %d", len(flat), len(want))
	}
	d := 0.0
	for i := range flat {
		d = math.Max(d, math.Abs(float64(flat[i])-float64(want[i])))
	}
	return d
}

func TestConfigFromGoldens(t *testing.T) {
	for _, tc := range []struct {
		name        string
		arch        string
		tied, qbias bool
	}{{"tiny-qwen2", "qwen2", true, true}, {"tiny-llama", "llama", false, false}} {
		mc, err := weights.LoadConfig(filepath.Join(goldenDir, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := ConfigFrom(mc)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Arch: tc.arch, Hidden: 64, Intermediate: 128, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16,
			Vocab: 256, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: tc.tied, QKVBias: tc.qbias, MaxPositions: 128}
		if fmt.Sprint(c) != fmt.Sprint(want) {
			t.Errorf("%s: config %+v, want %+v", tc.name, c, want)
		}
	}
}

func TestInvFreqLlama3(t *testing.T) {
	// Values from transformers' _compute_llama3_parameters for head_dim 64,
	// theta 500000, factor 32, low 1, high 4, original 8192 (Llama 3.2).
	c := Config{HeadDim: 64, RopeTheta: 500000, RopeScaling: &weights.RopeScaling{
		Type: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}}
	f := c.invFreq()
	if len(f) != 32 || f[0] != 1 {
		t.Fatalf("invFreq = %v", f)
	}
	base := Config{HeadDim: 64, RopeTheta: 500000}.invFreq()
	// Low-frequency tail is divided by the factor; high frequencies kept.
	if d := math.Abs(float64(f[31]) - float64(base[31])/32); d > 1e-12 {
		t.Errorf("low frequency not scaled: %g vs %g", f[31], base[31]/32)
	}
	if f[1] != base[1] {
		t.Errorf("high frequency changed: %g vs %g", f[1], base[1])
	}
}

func backendsToTest() []string { return []string{"go", "xla"} }

func TestLogitsParity(t *testing.T) {
	g := loadGolden(t)
	for _, bn := range backendsToTest() {
		t.Run(bn, func(t *testing.T) {
			be := openBackend(t, bn)
			for _, name := range modelNames {
				gm := g.Models[name]
				m := loadModel(t, name, be)
				worst := 0.0
				var prompts [][]int
				for i, s := range gm.Single {
					prompts = append(prompts, s.IDs)
					got, err := m.Logits([][]int{s.IDs})
					if err != nil {
						t.Fatal(err)
					}
					d := maxAbsDiff(t, got[0], s.Logits)
					worst = math.Max(worst, d)
					if d > logitsTol {
						t.Errorf("%s/%s prompt %d: max |logit diff| %g > %g", bn, name, i, d, logitsTol)
					}
				}
				got, err := m.Logits(prompts)
				if err != nil {
					t.Fatal(err)
				}
				for i := range prompts {
					d := maxAbsDiff(t, got[i], gm.Batch.Logits[i])
					worst = math.Max(worst, d)
					if d > logitsTol {
						t.Errorf("%s/%s left-padded batch row %d: max |logit diff| %g > %g", bn, name, i, d, logitsTol)
					}
				}
				t.Logf("%s on %s: max |logit diff| vs transformers %s = %.3g", name, be.Name(), g.Versions["transformers"], worst)
			}
		})
	}
}

func TestGreedyParity(t *testing.T) {
	g := loadGolden(t)
	for _, bn := range backendsToTest() {
		t.Run(bn, func(t *testing.T) {
			be := openBackend(t, bn)
			for _, name := range modelNames {
				gm := g.Models[name]
				m := loadModel(t, name, be)
				var prompts [][]int
				for i, s := range gm.Single {
					prompts = append(prompts, s.IDs)
					got, err := m.Generate([][]int{s.IDs}, g.MaxNew, nil)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got[0], s.Greedy) {
						t.Errorf("%s/%s prompt %d greedy:\n got %v\nwant %v", bn, name, i, got[0], s.Greedy)
					}
				}
				got, err := m.Generate(prompts, g.MaxNew, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range prompts {
					if !slices.Equal(got[i], gm.Batch.Greedy[i]) {
						t.Errorf("%s/%s batch row %d greedy:\n got %v\nwant %v", bn, name, i, got[i], gm.Batch.Greedy[i])
					}
				}
			}
		})
	}
}

func TestCachedMatchesUncached(t *testing.T) {
	for _, bn := range backendsToTest() {
		t.Run(bn, func(t *testing.T) { testCachedMatchesUncached(t, bn) })
	}
}

// testCachedMatchesUncached covers both cache writes: DynamicUpdateSlice
// (xla) and the one-hot fallback (go).
func testCachedMatchesUncached(t *testing.T, bn string) {
	g := loadGolden(t)
	be := openBackend(t, bn)
	for _, name := range modelNames {
		gm := g.Models[name]
		m := loadModel(t, name, be)
		var prompts [][]int
		for _, s := range gm.Single {
			prompts = append(prompts, s.IDs)
		}
		// A stop token that ends row 0 early, so rows finish at different steps.
		stop := []int{gm.Single[0].Greedy[5]}
		for _, st := range [][]int{nil, stop} {
			maxNew := g.MaxNew
			if st != nil {
				maxNew = 12 // the stop token is among the first 6
			}
			cached, err := m.Generate(prompts, maxNew, st)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := m.GenerateNoCache(prompts, maxNew, st)
			if err != nil {
				t.Fatal(err)
			}
			for i := range prompts {
				if !slices.Equal(cached[i], plain[i]) {
					t.Errorf("%s stop %v row %d: cached %v, uncached %v", name, st, i, cached[i], plain[i])
				}
			}
			if st != nil {
				want := gm.Single[0].Greedy[:slices.Index(gm.Single[0].Greedy, stop[0])+1]
				if !slices.Equal(cached[0], want) {
					t.Errorf("%s with stop %v: got %v, want %v", name, stop, cached[0], want)
				}
			}
		}
	}
}

// TestLogitsOfContinuation checks that a single uncached forward pass over
// prompt+greedy continuation predicts every golden greedy token.
func TestLogitsOfContinuation(t *testing.T) {
	g := loadGolden(t)
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-llama", be)
	s := g.Models["tiny-llama"].Single[1]
	seq := append(slices.Clone(s.IDs), s.Greedy...)
	got, err := m.Logits([][]int{seq})
	if err != nil {
		t.Fatal(err)
	}
	for j := len(s.IDs) - 1; j < len(seq)-1; j++ {
		row := got[0][j]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		if best != seq[j+1] {
			t.Fatalf("position %d: argmax %d, greedy token %d", j, best, seq[j+1])
		}
	}
}

func TestBadInputs(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-qwen2", be)
	if _, err := m.Logits(nil); err == nil {
		t.Error("empty batch accepted")
	}
	if _, err := m.Logits([][]int{{1, 2}, {}}); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("empty row: %v", err)
	}
	if _, err := m.Generate([][]int{{1, 256}}, 4, nil); err == nil || !strings.Contains(err.Error(), "256") {
		t.Errorf("out-of-range id: %v", err)
	}
}

// readTensors reads every tensor of a golden checkpoint as float32.
func readTensors(t *testing.T, name string) (map[string][]float32, map[string][]int) {
	t.Helper()
	st, err := weights.OpenDir(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data, shapes := map[string][]float32{}, map[string][]int{}
	for _, tt := range st.Tensors() {
		v, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		data[tt.Name], shapes[tt.Name] = v, tt.Shape
	}
	return data, shapes
}

// writeSafetensors writes tensors as F32 or BF16 (truncating) into a
// model.safetensors.
func writeSafetensors(t *testing.T, path string, data map[string][]float32, shapes map[string][]int, bf16 bool) {
	t.Helper()
	names := make([]string, 0, len(data))
	for n := range data {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	var body []byte
	for _, n := range names {
		off := len(body)
		for _, v := range data[n] {
			bits := math.Float32bits(v)
			if bf16 {
				body = binary.LittleEndian.AppendUint16(body, uint16(bits>>16))
			} else {
				body = binary.LittleEndian.AppendUint32(body, bits)
			}
		}
		dt := "F32"
		if bf16 {
			dt = "BF16"
		}
		header[n] = map[string]any{"dtype": dt, "shape": shapes[n], "data_offsets": []int{off, len(body)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), body...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// modelDir makes a model folder with the given config.json and tensors.
func modelDir(t *testing.T, config []byte, data map[string][]float32, shapes map[string][]int, bf16 bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), data, shapes, bf16)
	return dir
}

func goldenConfig(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadErrors(t *testing.T) {
	be := openBackend(t, "go")
	data, shapes := readTensors(t, "tiny-qwen2")
	cfg := goldenConfig(t, "tiny-qwen2")

	t.Run("missing files", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Load(dir, be.opts)
		var mf *weights.MissingFilesError
		if !errors.As(err, &mf) || !strings.Contains(err.Error(), "config.json") ||
			!strings.Contains(err.Error(), "model.safetensors.index.json") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("want a MissingFilesError listing config.json and the weights in %s, got %v", dir, err)
		}
		if strings.Contains(strings.Join(mf.Missing, ";"), "tokenizer") {
			t.Errorf("Load does not need a tokenizer: %v", mf.Missing)
		}
	})

	t.Run("missing tensor", func(t *testing.T) {
		const gone = "model.layers.1.self_attn.k_proj.bias"
		d := maps(data)
		delete(d, gone)
		_, err := Load(modelDir(t, cfg, d, shapes, false), be.opts)
		var miss *weights.MissingTensorError
		if !errors.As(err, &miss) || miss.Name != gone || !strings.Contains(err.Error(), gone) {
			t.Fatalf("want a MissingTensorError naming %s, got %v", gone, err)
		}
	})
	t.Run("shape mismatch", func(t *testing.T) {
		const bad = "model.layers.0.mlp.up_proj.weight"
		d, s := maps(data), mapsI(shapes)
		d[bad] = d[bad][:64*64]
		s[bad] = []int{64, 64}
		_, err := Load(modelDir(t, cfg, d, s, false), be.opts)
		var mis *weights.ShapeMismatchError
		if !errors.As(err, &mis) || mis.Name != bad || !strings.Contains(err.Error(), "[64 64]") {
			t.Fatalf("want a ShapeMismatchError naming %s, got %v", bad, err)
		}
	})
	t.Run("unknown architecture", func(t *testing.T) {
		c := strings.Replace(string(cfg), "Qwen2ForCausalLM", "MambaForCausalLM", 1)
		_, err := Load(modelDir(t, []byte(c), data, shapes, false), be.opts)
		var ua *UnsupportedArchitectureError
		if !errors.As(err, &ua) || !strings.Contains(err.Error(), "MambaForCausalLM") {
			t.Fatalf("want an UnsupportedArchitectureError naming MambaForCausalLM, got %v", err)
		}
	})
	t.Run("untied config without lm_head", func(t *testing.T) {
		c := strings.Replace(string(cfg), `"tie_word_embeddings": true`, `"tie_word_embeddings": false`, 1)
		_, err := Load(modelDir(t, []byte(c), data, shapes, false), be.opts)
		if err == nil || !strings.Contains(err.Error(), "lm_head.weight") {
			t.Fatalf("want an error naming lm_head.weight, got %v", err)
		}
	})
}

// TestBF16Weights loads a bf16 checkpoint and checks it gives exactly the
// logits of the f32 checkpoint holding the same (truncated) values.
func TestBF16Weights(t *testing.T) {
	be := openBackend(t, "go")
	data, shapes := readTensors(t, "tiny-llama")
	cfg := goldenConfig(t, "tiny-llama")
	trunc := maps(data)
	for n, v := range trunc {
		w := make([]float32, len(v))
		for i, x := range v {
			w[i] = math.Float32frombits(math.Float32bits(x) &^ 0xffff)
		}
		trunc[n] = w
	}
	prompt := [][]int{{3, 1, 4, 1, 5, 9, 2, 6}}
	var results [2][][][]float32
	for i, bf := range []bool{false, true} {
		m, err := Load(modelDir(t, cfg, trunc, shapes, bf), be.opts)
		if err != nil {
			t.Fatal(err)
		}
		if results[i], err = m.Logits(prompt); err != nil {
			t.Fatal(err)
		}
		_ = m.Close()
	}
	for j := range results[0][0] {
		if !slices.Equal(results[0][0][j], results[1][0][j]) {
			t.Fatalf("position %d: bf16 logits differ from f32 logits of the same values", j)
		}
	}
}

func maps(m map[string][]float32) map[string][]float32 {
	out := make(map[string][]float32, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mapsI(m map[string][]int) map[string][]int {
	out := make(map[string][]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// BenchmarkGenerate measures cached greedy decoding of the tiny model
// (batch 3, 32 new tokens). Run with -bench Generate; GORAY_BENCH_BACKEND
// picks the backend (default go).
func BenchmarkGenerate(b *testing.B) {
	bn := os.Getenv("GORAY_BENCH_BACKEND")
	if bn == "" {
		bn = "go"
	}
	be, err := device.Open(device.Options{Backend: bn, Log: io.Discard})
	if err != nil {
		b.Skip(err)
	}
	defer be.Close()
	m, err := Load(filepath.Join(goldenDir, "tiny-llama"), Options{Backend: be})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	prompts := [][]int{{1, 17, 42, 99, 3, 250, 7, 8}, {5, 6, 7}, {200, 100, 50, 25, 12, 6, 3, 1, 0, 128, 64}}
	if _, err := m.Generate(prompts, 32, nil); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Generate(prompts, 32, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*3*32)/b.Elapsed().Seconds(), "tokens/s")
}

func TestContextLengthPolicy(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-qwen2", be)
	ctxLen := m.Config.MaxPositions
	if ctxLen != 128 {
		t.Fatalf("MaxPositions = %d, want the config's 128", ctxLen)
	}
	prompt := func(n int) []int {
		p := make([]int, n)
		for i := range p {
			p[i] = 1 + i%200
		}
		return p
	}

	// A prompt that fills the context is refused by every entry point.
	var cle *ContextLengthError
	if _, err := m.Generate([][]int{prompt(3), prompt(ctxLen)}, 4, nil); !errors.As(err, &cle) || cle.Row != 1 || cle.Tokens != ctxLen {
		t.Errorf("Generate: %v", err)
	}
	if _, err := m.GenerateNoCache([][]int{prompt(ctxLen + 5)}, 4, nil); !errors.As(err, &cle) || !strings.Contains(err.Error(), "133 tokens") {
		t.Errorf("GenerateNoCache: %v", err)
	}
	if _, err := m.Logits([][]int{prompt(ctxLen + 1)}); !errors.As(err, &cle) {
		t.Errorf("Logits over the context: %v", err)
	}
	if _, err := m.Logits([][]int{prompt(ctxLen)}); err != nil {
		t.Errorf("Logits of exactly the context: %v", err)
	}

	// A prompt that fits gets at most the room left; others are unaffected.
	rows := [][]int{prompt(ctxLen - 6), prompt(10)}
	got, err := m.Generate(rows, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 6 || len(got[1]) != 20 {
		t.Errorf("lengths %d and %d, want 6 (context end) and 20", len(got[0]), len(got[1]))
	}
	ref, err := m.GenerateNoCache(rows, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0], ref[0]) || !slices.Equal(got[1], ref[1]) {
		t.Errorf("cached %v, uncached %v", got, ref)
	}
}

func TestWarmupLeavesResultsAlone(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-llama", be)
	rows := [][]int{{1, 2, 3, 4, 5}, {9, 8, 7}}
	before, err := m.Generate(rows, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Warmup(context.Background(), 2, 5, 12); err != nil {
		t.Fatal(err)
	}
	after, err := m.Generate(rows, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("Generate after Warmup %v, before %v", after, before)
	}
	if err := m.Warmup(context.Background(), 0, 5, 12); err == nil {
		t.Error("Warmup of 0 prompts accepted")
	}
	// A prompt as long as the context is cut to fit rather than refused.
	if err := m.Warmup(context.Background(), 1, 500, 4); err != nil {
		t.Errorf("Warmup past the context: %v", err)
	}
}
