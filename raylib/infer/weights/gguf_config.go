package weights

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// hfArchitectures maps general.architecture to the Hugging Face class name.
var hfArchitectures = map[string]string{
	"llama":    "LlamaForCausalLM",
	"qwen2":    "Qwen2ForCausalLM",
	"qwen2moe": "Qwen2MoeForCausalLM",
	"qwen3":    "Qwen3ForCausalLM",
	"mistral":  "MistralForCausalLM",
}

// Config maps the architecture-prefixed metadata (llama.*, qwen2.*, ...) to
// a ModelConfig, the struct config.json gives:
//
//	general.architecture                      -> ModelType, Architectures
//	<arch>.embedding_length                   -> HiddenSize
//	<arch>.feed_forward_length                -> IntermediateSize
//	<arch>.block_count                        -> NumHiddenLayers
//	<arch>.attention.head_count               -> NumAttentionHeads
//	<arch>.attention.head_count_kv            -> NumKeyValueHeads (default: head_count)
//	<arch>.attention.key_length               -> HeadDim (default: hidden/heads)
//	<arch>.attention.layer_norm_rms_epsilon   -> RMSNormEps
//	<arch>.rope.freq_base                     -> RopeTheta (default 10000)
//	<arch>.rope.scaling.{type,factor,original_context_length} -> RopeScaling
//	<arch>.context_length                     -> MaxPositionEmbeddings
//	<arch>.vocab_size, else len(tokenizer.ggml.tokens),
//	else token_embd.weight's row count        -> VocabSize
//	tokenizer.ggml.{bos,eos,padding}_token_id -> BOSTokenID, EOSTokenIDs, PadTokenID
//	tokenizer.ggml.eot_token_id               -> appended to EOSTokenIDs
//	no output.weight tensor                   -> TieWordEmbeddings
//
// float32 values become the float64 of their shortest decimal form, so a
// stored 1e-5 reads as 1e-05, as config.json would have it. TorchDType stays
// empty (GGUF tensors each have their own type).
func (g *GGUF) Config() (*ModelConfig, error) {
	arch := g.Architecture()
	if arch == "" {
		return nil, fmt.Errorf("weights: %s has no general.architecture", g.Path)
	}
	c := &ModelConfig{ModelType: arch}
	if name, ok := hfArchitectures[arch]; ok {
		c.Architectures = []string{name}
	}
	var missing []string
	req := func(dst *int, key string) {
		v, err := g.Int(arch + "." + key)
		if err != nil {
			missing = append(missing, arch+"."+key)
			return
		}
		*dst = v
	}
	opt := func(dst *int, key string) {
		if v, err := g.Int(key); err == nil {
			*dst = v
		}
	}
	optF := func(dst *float64, key string) {
		if v, ok := g.Metadata[key].(float32); ok {
			*dst = float32Exact(v)
		} else if f, err := g.Float64(key); err == nil {
			*dst = f
		}
	}
	req(&c.HiddenSize, "embedding_length")
	req(&c.NumHiddenLayers, "block_count")
	req(&c.NumAttentionHeads, "attention.head_count")
	opt(&c.IntermediateSize, arch+".feed_forward_length")
	opt(&c.NumKeyValueHeads, arch+".attention.head_count_kv")
	opt(&c.HeadDim, arch+".attention.key_length")
	opt(&c.MaxPositionEmbeddings, arch+".context_length")
	optF(&c.RMSNormEps, arch+".attention.layer_norm_rms_epsilon")
	optF(&c.RopeTheta, arch+".rope.freq_base")
	if len(missing) > 0 {
		return nil, fmt.Errorf("weights: %s lacks metadata for a %s config: %s", g.Path, arch, strings.Join(missing, ", "))
	}
	opt(&c.VocabSize, arch+".vocab_size")
	if c.VocabSize == 0 {
		if toks, err := g.Strings("tokenizer.ggml.tokens"); err == nil {
			c.VocabSize = len(toks)
		} else if t, err := g.Tensor("token_embd.weight"); err == nil && len(t.Shape) == 2 {
			c.VocabSize = t.Shape[0]
		}
	}
	if t, err := g.String(arch + ".rope.scaling.type"); err == nil && t != "" && t != "none" {
		rs := &RopeScaling{Type: t, Raw: map[string]any{"rope_type": t}}
		optF(&rs.Factor, arch+".rope.scaling.factor")
		opt(&rs.OriginalMaxPositionEmbeddings, arch+".rope.scaling.original_context_length")
		rs.Raw["factor"] = rs.Factor
		if rs.OriginalMaxPositionEmbeddings != 0 {
			rs.Raw["original_max_position_embeddings"] = rs.OriginalMaxPositionEmbeddings
		}
		c.RopeScaling = rs
	}
	idPtr := func(key string) *int {
		if v, err := g.Int(key); err == nil {
			return &v
		}
		return nil
	}
	c.BOSTokenID = idPtr("tokenizer.ggml.bos_token_id")
	c.PadTokenID = idPtr("tokenizer.ggml.padding_token_id")
	if id := idPtr("tokenizer.ggml.eos_token_id"); id != nil {
		c.EOSTokenIDs = TokenIDs{*id}
	}
	if id := idPtr("tokenizer.ggml.eot_token_id"); id != nil && !c.EOSTokenIDs.Contains(*id) {
		c.EOSTokenIDs = append(c.EOSTokenIDs, *id)
	}
	_, err := g.Tensor("output.weight")
	c.TieWordEmbeddings = err != nil
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, g.Path)
	}
	return c, nil
}

// TokenizerConfig gathers the tokenizer settings stored in GGUF metadata:
// tokenizer.chat_template (and named tokenizer.chat_template.<name>), the
// BOS/EOS/padding/unknown tokens' text looked up in tokenizer.ggml.tokens,
// and tokenizer.ggml.add_bos_token / add_eos_token.
func (g *GGUF) TokenizerConfig() *TokenizerConfig {
	t := &TokenizerConfig{}
	t.ChatTemplate, _ = g.String("tokenizer.chat_template")
	for _, k := range g.keys {
		if name, ok := strings.CutPrefix(k, "tokenizer.chat_template."); ok {
			if s, err := g.String(k); err == nil {
				if t.ChatTemplates == nil {
					t.ChatTemplates = map[string]string{}
				}
				t.ChatTemplates[name] = s
			}
		}
	}
	toks, _ := g.Strings("tokenizer.ggml.tokens")
	text := func(key string) string {
		id, err := g.Int(key)
		if err != nil || id < 0 || id >= len(toks) {
			return ""
		}
		return toks[id]
	}
	t.BOSToken = text("tokenizer.ggml.bos_token_id")
	t.EOSToken = text("tokenizer.ggml.eos_token_id")
	t.PadToken = text("tokenizer.ggml.padding_token_id")
	t.UnkToken = text("tokenizer.ggml.unknown_token_id")
	if b, err := g.Bool("tokenizer.ggml.add_bos_token"); err == nil {
		t.AddBOSToken = &b
	}
	if b, err := g.Bool("tokenizer.ggml.add_eos_token"); err == nil {
		t.AddEOSToken = &b
	}
	return t
}

// float32Exact returns the float64 of f's shortest decimal representation
// (what Python prints for a numpy float32), e.g. 1e-05 for float32(1e-5).
func float32Exact(f float32) float64 {
	if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
		return float64(f)
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f)
	}
	return v
}

// QKPermuted reports whether llama.cpp's converter permutes the attn_q and
// attn_k rows of an architecture's GGUF files (see UnpermuteQK). known is
// false for architectures this package has not checked.
//
//   - "llama" (also Mistral and other Llama-family models converted as
//     llama): permuted; llama.cpp runs them with its "normal" RoPE on
//     adjacent pairs.
//   - "qwen2", "qwen2moe", "qwen3", "qwen3moe": not permuted; llama.cpp uses
//     NEOX RoPE (rotate halves), the same as Hugging Face.
func QKPermuted(arch string) (permuted, known bool) {
	switch arch {
	case "llama":
		return true, true
	case "qwen2", "qwen2moe", "qwen3", "qwen3moe":
		return false, true
	}
	return false, false
}

// UnpermuteQK undoes llama.cpp's Q/K row permutation and returns a new
// slice in Hugging Face order. w is row-major with rows = heads*headDim
// output rows of cols values each (use cols = 1 for a bias vector); heads is
// the number of query heads for attn_q and of key/value heads for attn_k.
// With d = rows/heads and half = d/2, for head h, i in {0, 1}, j < half:
//
//	out[h*d + i*half + j] = w[h*d + 2*j + i]    (whole rows of cols values)
//
// This is the inverse of convert_hf_to_gguf.py's
// w.reshape(heads, 2, half, cols).swapaxes(1, 2).reshape(rows, cols).
func UnpermuteQK(w []float32, rows, cols, heads int) ([]float32, error) {
	return permuteRows(w, rows, cols, heads, false)
}

// PermuteQK applies llama.cpp's permutation (HF order -> GGUF order); it is
// the inverse of UnpermuteQK.
func PermuteQK(w []float32, rows, cols, heads int) ([]float32, error) {
	return permuteRows(w, rows, cols, heads, true)
}

func permuteRows(w []float32, rows, cols, heads int, toGGUF bool) ([]float32, error) {
	if rows <= 0 || cols <= 0 || heads <= 0 {
		return nil, fmt.Errorf("weights: Q/K permutation needs positive rows, cols and heads, got %d, %d, %d", rows, cols, heads)
	}
	if rows%heads != 0 || (rows/heads)%2 != 0 {
		return nil, fmt.Errorf("weights: Q/K permutation: %d rows do not split into %d heads of even size", rows, heads)
	}
	if len(w) != rows*cols {
		return nil, fmt.Errorf("weights: Q/K permutation: %d values, want rows*cols = %d*%d = %d", len(w), rows, cols, rows*cols)
	}
	d := rows / heads
	half := d / 2
	out := make([]float32, len(w))
	for h := range heads {
		for i := range 2 {
			for j := range half {
				hf := h*d + i*half + j
				gg := h*d + 2*j + i
				src, dst := gg, hf
				if toGGUF {
					src, dst = hf, gg
				}
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out, nil
}
