package llm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goray-dev/goray/raylib/infer/tokenizer"
	"github.com/goray-dev/goray/raylib/infer/weights"
)

// LoadGGUF opens a llama.cpp GGUF file of a "llama" or "qwen2" model and
// returns the model (its weights dequantised to float32 on the backend
// opts names) and the tokenizer built from the file's tokenizer.* metadata.
//
// The config comes from the GGUF metadata (weights.GGUF.Config); tensors
// are renamed from llama.cpp's names to the Hugging Face ones New expects,
// and llama files' attn_q/attn_k rows are un-permuted (weights.QKPermuted).
// Unknown architectures give an *UnsupportedArchitectureError; tensors of a
// type this module cannot dequantise give an *UnsupportedQuantizationError
// naming the tensor and its type (all of them, joined).
func LoadGGUF(path string, opts Options) (*Model, *tokenizer.Tokenizer, error) {
	g, err := weights.OpenGGUF(path)
	if err != nil {
		return nil, nil, err
	}
	defer g.Close()
	src, err := NewGGUFSource(g)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.FromGGUFMetadata(tokenizer.MetaMap(g.Metadata))
	if err != nil {
		return nil, nil, fmt.Errorf("llm: tokenizer of %s: %w", path, err)
	}
	m, err := New(src.Config, src, opts)
	if err != nil {
		return nil, nil, err
	}
	return m, tok, nil
}

// UnsupportedQuantizationError reports a GGUF tensor whose type this
// module cannot dequantise to float32.
type UnsupportedQuantizationError struct {
	File   string
	Tensor string // the llama.cpp name, e.g. blk.0.attn_q.weight
	HFName string // the Hugging Face name it maps to
	DType  weights.DType
}

func (e *UnsupportedQuantizationError) Error() string {
	return fmt.Sprintf("llm: GGUF tensor %q (%s) in %s has quantisation type %s, which is not supported",
		e.Tensor, e.HFName, e.File, e.DType)
}

// GGUFSource is a weights.Source presenting a GGUF file's tensors under the
// Hugging Face names New expects: token_embd.weight is
// model.embed_tokens.weight, blk.N.attn_q.weight is
// model.layers.N.self_attn.q_proj.weight, and so on. Tensors are read on
// demand; Q/K projections of Q/K-permuted architectures (llama) are
// dequantised and un-permuted when asked for. Closing it closes the GGUF.
type GGUFSource struct {
	// Config is the model config derived from the GGUF metadata.
	Config Config

	g        *weights.GGUF
	permuted bool
	toGGUF   map[string]string // HF name -> GGUF name, only tensors present
	names    []string          // HF names, sorted
}

var _ weights.Source = (*GGUFSource)(nil)

// ggufLayerNames maps the per-layer llama.cpp suffixes to the HF ones.
var ggufLayerNames = map[string]string{
	"attn_norm.weight":   "input_layernorm.weight",
	"attn_q.weight":      "self_attn.q_proj.weight",
	"attn_k.weight":      "self_attn.k_proj.weight",
	"attn_v.weight":      "self_attn.v_proj.weight",
	"attn_q.bias":        "self_attn.q_proj.bias",
	"attn_k.bias":        "self_attn.k_proj.bias",
	"attn_v.bias":        "self_attn.v_proj.bias",
	"attn_output.weight": "self_attn.o_proj.weight",
	"ffn_norm.weight":    "post_attention_layernorm.weight",
	"ffn_gate.weight":    "mlp.gate_proj.weight",
	"ffn_up.weight":      "mlp.up_proj.weight",
	"ffn_down.weight":    "mlp.down_proj.weight",
}

var ggufGlobalNames = map[string]string{
	"token_embd.weight":  "model.embed_tokens.weight",
	"output_norm.weight": "model.norm.weight",
	"output.weight":      "lm_head.weight",
}

// GGUFToHFName returns the Hugging Face name of a llama.cpp tensor name,
// and false for names this package does not use (e.g. rope_freqs.weight).
func GGUFToHFName(name string) (string, bool) {
	if hf, ok := ggufGlobalNames[name]; ok {
		return hf, true
	}
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return "", false
	}
	n, suffix, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	if l, err := strconv.Atoi(n); err != nil || l < 0 || strconv.Itoa(l) != n {
		return "", false
	}
	hf, ok := ggufLayerNames[suffix]
	if !ok {
		return "", false
	}
	return "model.layers." + n + "." + hf, true
}

// NewGGUFSource derives the config from g's metadata and wraps g. g stays
// owned by the caller (or is closed by GGUFSource.Close).
func NewGGUFSource(g *weights.GGUF) (*GGUFSource, error) {
	arch := g.Architecture()
	if _, ok := architectures[arch]; !ok {
		if arch == "" {
			arch = "(none: no general.architecture)"
		}
		return nil, fmt.Errorf("%w (in %s)", &UnsupportedArchitectureError{Architecture: arch}, g.Path)
	}
	permuted, known := weights.QKPermuted(arch)
	if !known {
		return nil, fmt.Errorf("%w (in %s: Q/K layout unknown)", &UnsupportedArchitectureError{Architecture: arch}, g.Path)
	}
	mc, err := g.Config()
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFrom(mc)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, g.Path)
	}
	s := &GGUFSource{Config: cfg, g: g, permuted: permuted, toGGUF: map[string]string{}}
	for _, n := range g.Names() {
		if hf, ok := GGUFToHFName(n); ok {
			s.toGGUF[hf] = n
			s.names = append(s.names, hf)
		}
	}
	slices.Sort(s.names)
	return s, nil
}

// Names lists the HF names of the mapped tensors, sorted.
func (s *GGUFSource) Names() []string { return slices.Clone(s.names) }

// Tensors lists the mapped tensors, sorted by HF name. Q/K tensors of
// permuted files are materialised (dequantised and un-permuted) here.
func (s *GGUFSource) Tensors() []*weights.Tensor {
	out := make([]*weights.Tensor, 0, len(s.names))
	for _, n := range s.names {
		if t, err := s.Tensor(n); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// Tensor returns the tensor with Hugging Face name name.
func (s *GGUFSource) Tensor(name string) (*weights.Tensor, error) {
	gn, ok := s.toGGUF[name]
	if !ok {
		return nil, &weights.MissingTensorError{Name: name, Where: s.g.Path, Available: len(s.names), Similar: ggufSimilar(name, s.names)}
	}
	t, err := s.g.Tensor(gn)
	if err != nil {
		return nil, err
	}
	if !t.DType.CanFloat32() {
		return nil, &UnsupportedQuantizationError{File: s.g.Path, Tensor: gn, HFName: name, DType: t.DType}
	}
	if s.permuted {
		heads := 0
		switch {
		case strings.HasSuffix(name, ".q_proj.weight"), strings.HasSuffix(name, ".q_proj.bias"):
			heads = s.Config.Heads
		case strings.HasSuffix(name, ".k_proj.weight"), strings.HasSuffix(name, ".k_proj.bias"):
			heads = s.Config.KVHeads
		}
		if heads > 0 {
			return ggufUnpermuted(t, name, heads)
		}
	}
	c := *t
	c.Name = name
	c.Shape = slices.Clone(t.Shape)
	return &c, nil
}

// Expect is Tensor with a shape check (-1 matches any size).
func (s *GGUFSource) Expect(name string, shape ...int) (*weights.Tensor, error) {
	t, err := s.Tensor(name)
	if err != nil {
		return nil, err
	}
	ok := len(t.Shape) == len(shape)
	for i := 0; ok && i < len(shape); i++ {
		ok = shape[i] == -1 || shape[i] == t.Shape[i]
	}
	if !ok {
		return nil, &weights.ShapeMismatchError{Name: name + " (GGUF " + s.toGGUF[name] + ")", Where: s.g.Path,
			DType: t.DType, Got: slices.Clone(t.Shape), Want: slices.Clone(shape)}
	}
	return t, nil
}

// Close closes the underlying GGUF file.
func (s *GGUFSource) Close() error { return s.g.Close() }

// ggufUnpermuted dequantises a llama.cpp-permuted attn_q/attn_k tensor, undoes
// the permutation and returns it as an in-memory F32 tensor named name.
func ggufUnpermuted(t *weights.Tensor, name string, heads int) (*weights.Tensor, error) {
	w, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	rows, cols := 0, 1
	switch len(t.Shape) {
	case 1:
		rows = t.Shape[0]
	case 2:
		rows, cols = t.Shape[0], t.Shape[1]
	default:
		return nil, fmt.Errorf("llm: GGUF tensor %q (%s) has shape %v, want 1 or 2 dimensions", t.Name, name, t.Shape)
	}
	u, err := weights.UnpermuteQK(w, rows, cols, heads)
	if err != nil {
		return nil, fmt.Errorf("llm: GGUF tensor %q (%s): %w", t.Name, name, err)
	}
	return ggufF32Tensor(name, t.File, u, t.Shape)
}

// ggufF32Tensor wraps data as a weights.Tensor by way of an in-memory
// safetensors file (the only way to make a Tensor outside package weights).
func ggufF32Tensor(name, file string, data []float32, shape []int) (*weights.Tensor, error) {
	hdr, err := json.Marshal(map[string]any{name: map[string]any{
		"dtype": "F32", "shape": shape, "data_offsets": []int{0, 4 * len(data)},
	}})
	if err != nil {
		return nil, err
	}
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	buf := make([]byte, 8+len(hdr)+4*len(data))
	binary.LittleEndian.PutUint64(buf, uint64(len(hdr)))
	copy(buf[8:], hdr)
	if _, err := binary.Encode(buf[8+len(hdr):], binary.LittleEndian, data); err != nil {
		return nil, err
	}
	st, err := weights.ReadSafetensors(file+" (un-permuted "+name+")", bytes.NewReader(buf), int64(len(buf)))
	if err != nil {
		return nil, err
	}
	return st.Tensor(name)
}

// ggufSimilar returns up to three names sharing name's last two dot-separated
// parts, for missing-tensor errors.
func ggufSimilar(name string, names []string) []string {
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return nil
	}
	tail := "." + strings.Join(parts[len(parts)-2:], ".")
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, tail) && len(out) < 3 {
			out = append(out, n)
		}
	}
	return out
}
