package llm

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/goray-dev/goray/raylib/infer/weights"
)

// Config is the shape of a Llama/Qwen2 decoder.
type Config struct {
	// Arch is "llama" or "qwen2".
	Arch              string
	Hidden            int // hidden_size
	Intermediate      int // intermediate_size
	Layers            int // num_hidden_layers
	Heads             int // num_attention_heads
	KVHeads           int // num_key_value_heads
	HeadDim           int // head_dim
	Vocab             int // vocab_size
	RMSNormEps        float64
	RopeTheta         float64
	TieWordEmbeddings bool
	// QKVBias: the q/k/v projections have biases (always for Qwen2; Llama's
	// attention_bias).
	QKVBias bool
	// RopeScaling is nil, or a "linear" or "llama3" scaling.
	RopeScaling *weights.RopeScaling
	// MaxPositions is the context length the model was trained for
	// (max_position_embeddings, GGUF <arch>.context_length); 0 means
	// unknown, and then no limit is enforced. See ContextLengthError.
	MaxPositions int
}

// ContextLengthError reports a prompt that does not fit the model's
// context. The policy: a prompt of MaxPositions tokens or more is an error
// (nothing is truncated silently, since cutting either end of a chat prompt
// changes its meaning); a prompt that fits but leaves less room than
// MaxNewTokens has its generation cut at the context's end, as Hugging
// Face's generate does when max_length is reached.
type ContextLengthError struct {
	Row, Tokens, MaxPositions int
}

func (e *ContextLengthError) Error() string {
	return fmt.Sprintf("llm: prompt %d has %d tokens, which leaves no room in the model's context of %d positions (shorten the prompt)",
		e.Row, e.Tokens, e.MaxPositions)
}

// architectures maps the config.json "architectures" entries and
// "model_type" values this package runs to Config.Arch.
var architectures = map[string]string{
	"LlamaForCausalLM": "llama",
	"Qwen2ForCausalLM": "qwen2",
	"llama":            "llama",
	"qwen2":            "qwen2",
}

// UnsupportedArchitectureError names an architecture this package cannot run.
type UnsupportedArchitectureError struct {
	Architecture string
}

func (e *UnsupportedArchitectureError) Error() string {
	return fmt.Sprintf("llm: unsupported architecture %q (supported: LlamaForCausalLM, Qwen2ForCausalLM)", e.Architecture)
}

// ConfigFrom converts a parsed config.json into a Config, rejecting
// architectures, activations and RoPE scalings this package does not
// implement.
func ConfigFrom(mc *weights.ModelConfig) (Config, error) {
	if mc == nil {
		return Config{}, fmt.Errorf("llm: nil model config")
	}
	name := mc.ModelType
	if len(mc.Architectures) > 0 {
		name = mc.Architectures[0]
	}
	arch, ok := architectures[name]
	if !ok {
		if name == "" {
			name = "(none: config.json has neither architectures nor model_type)"
		}
		return Config{}, &UnsupportedArchitectureError{Architecture: name}
	}
	if act := strings.ToLower(mc.HiddenAct); act != "" && act != "silu" && act != "swish" {
		return Config{}, fmt.Errorf("llm: unsupported hidden_act %q (only silu)", mc.HiddenAct)
	}
	if err := mc.Validate(); err != nil {
		return Config{}, err
	}
	c := Config{
		Arch:              arch,
		Hidden:            mc.HiddenSize,
		Intermediate:      mc.IntermediateSize,
		Layers:            mc.NumHiddenLayers,
		Heads:             mc.NumAttentionHeads,
		KVHeads:           mc.NumKeyValueHeads,
		HeadDim:           mc.HeadDim,
		Vocab:             mc.VocabSize,
		RMSNormEps:        mc.RMSNormEps,
		RopeTheta:         mc.RopeTheta,
		TieWordEmbeddings: mc.TieWordEmbeddings,
		QKVBias:           mc.AttentionBias || arch == "qwen2",
		MaxPositions:      mc.MaxPositionEmbeddings,
	}
	if rs := mc.RopeScaling; rs != nil && rs.Type != "" && rs.Type != "default" {
		if !slices.Contains([]string{"linear", "llama3"}, rs.Type) {
			return Config{}, fmt.Errorf("llm: unsupported rope_scaling type %q (supported: default, linear, llama3)", rs.Type)
		}
		c.RopeScaling = rs
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var bad []string
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden", c.Hidden}, {"intermediate", c.Intermediate}, {"layers", c.Layers}, {"heads", c.Heads},
		{"kv heads", c.KVHeads}, {"head_dim", c.HeadDim}, {"vocab", c.Vocab}} {
		if f.v <= 0 {
			bad = append(bad, fmt.Sprintf("%s = %d", f.name, f.v))
		}
	}
	if c.KVHeads > 0 && c.Heads%c.KVHeads != 0 {
		bad = append(bad, fmt.Sprintf("heads %d not a multiple of kv heads %d", c.Heads, c.KVHeads))
	}
	if c.HeadDim%2 != 0 {
		bad = append(bad, fmt.Sprintf("head_dim %d is odd", c.HeadDim))
	}
	if c.RopeTheta <= 0 {
		bad = append(bad, fmt.Sprintf("rope_theta = %g", c.RopeTheta))
	}
	if len(bad) > 0 {
		return fmt.Errorf("llm: invalid config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// invFreq returns the RoPE inverse frequencies (head_dim/2 of them) the way
// Hugging Face computes them in float32, including the linear and llama3
// scalings.
func (c Config) invFreq() []float32 {
	half := c.HeadDim / 2
	out := make([]float32, half)
	for i := range half {
		exp := float32(2*i) / float32(c.HeadDim)
		out[i] = float32(1 / math.Pow(c.RopeTheta, float64(exp)))
	}
	rs := c.RopeScaling
	if rs == nil {
		return out
	}
	switch rs.Type {
	case "linear":
		for i := range out {
			out[i] = float32(float64(out[i]) / rs.Factor)
		}
	case "llama3":
		low, high := rs.LowFreqFactor, rs.HighFreqFactor
		if low == 0 {
			low = 1
		}
		if high == 0 {
			high = 4
		}
		orig := float64(rs.OriginalMaxPositionEmbeddings)
		if orig == 0 {
			orig = 8192
		}
		lowWave, highWave := orig/low, orig/high
		for i, f := range out {
			wave := 2 * math.Pi / float64(f)
			switch {
			case wave > lowWave:
				out[i] = float32(float64(f) / rs.Factor)
			case wave >= highWave:
				smooth := (orig/wave - low) / (high - low)
				out[i] = float32((1-smooth)*float64(f)/rs.Factor + smooth*float64(f))
			}
		}
	}
	return out
}
