package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names of a Hugging Face model folder.
const (
	ConfigFile           = "config.json"
	GenerationConfigFile = "generation_config.json"
	TokenizerConfigFile  = "tokenizer_config.json"
	TokenizerFile        = "tokenizer.json"
	TokenizerModelFile   = "tokenizer.model"
	ChatTemplateFile     = "chat_template.jinja"
)

// TokenIDs is a token id field that Hugging Face files write either as one
// integer or as a list (eos_token_id); null gives an empty list.
type TokenIDs []int

// UnmarshalJSON accepts an integer, a list of integers or null.
func (t *TokenIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*t = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var ids []int
		if err := json.Unmarshal(b, &ids); err != nil {
			return fmt.Errorf("token id list: %w", err)
		}
		*t = ids
		return nil
	}
	var id int
	if err := json.Unmarshal(b, &id); err != nil {
		return fmt.Errorf("token id must be an integer or a list of integers: %s", b)
	}
	*t = TokenIDs{id}
	return nil
}

// Contains reports whether id is in t.
func (t TokenIDs) Contains(id int) bool {
	for _, x := range t {
		if x == id {
			return true
		}
	}
	return false
}

// RopeScaling is config.json's rope_scaling (nil when absent or null).
type RopeScaling struct {
	// Type is rope_type (or the older "type"): "linear", "dynamic", "yarn",
	// "llama3", "longrope", ...
	Type                          string
	Factor                        float64
	LowFreqFactor                 float64 // llama3
	HighFreqFactor                float64 // llama3
	OriginalMaxPositionEmbeddings int
	// Raw holds every field as parsed, including those not mapped above.
	Raw map[string]any
}

// UnmarshalJSON fills the known fields and keeps everything in Raw.
func (r *RopeScaling) UnmarshalJSON(b []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("rope_scaling: %w", err)
	}
	var f struct {
		RopeType string   `json:"rope_type"`
		Type     string   `json:"type"`
		Factor   *float64 `json:"factor"`
		Low      *float64 `json:"low_freq_factor"`
		High     *float64 `json:"high_freq_factor"`
		Orig     *float64 `json:"original_max_position_embeddings"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("rope_scaling: %w", err)
	}
	*r = RopeScaling{Type: f.RopeType, Raw: raw}
	if r.Type == "" {
		r.Type = f.Type
	}
	if f.Factor != nil {
		r.Factor = *f.Factor
	}
	if f.Low != nil {
		r.LowFreqFactor = *f.Low
	}
	if f.High != nil {
		r.HighFreqFactor = *f.High
	}
	if f.Orig != nil {
		r.OriginalMaxPositionEmbeddings = int(*f.Orig)
	}
	return nil
}

// ModelConfig is the part of config.json that Llama and Qwen2 inference
// needs. GGUF.Config fills the same struct from GGUF metadata.
type ModelConfig struct {
	Architectures         []string     `json:"architectures"`
	ModelType             string       `json:"model_type"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"` // defaults to NumAttentionHeads
	HeadDim               int          `json:"head_dim"`            // defaults to HiddenSize/NumAttentionHeads
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`   // defaults to 10000
	RopeScaling           *RopeScaling `json:"rope_scaling"` // nil when absent
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	VocabSize             int          `json:"vocab_size"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	BOSTokenID            *int         `json:"bos_token_id"`
	EOSTokenIDs           TokenIDs     `json:"eos_token_id"`
	PadTokenID            *int         `json:"pad_token_id"`
	TorchDType            string       `json:"torch_dtype"` // "bfloat16", "float16", "float32"
	HiddenAct             string       `json:"hidden_act"`
	// AttentionBias is Llama's attention_bias; Qwen2 always has Q/K/V biases
	// (see HasQKVBias).
	AttentionBias bool `json:"attention_bias"`
	// Qwen2's sliding window settings (unused by most checkpoints).
	UseSlidingWindow bool `json:"use_sliding_window"`
	SlidingWindow    *int `json:"sliding_window"`
	MaxWindowLayers  int  `json:"max_window_layers"`
}

// HasQKVBias reports whether the q/k/v projections carry biases.
func (c *ModelConfig) HasQKVBias() bool {
	return c.AttentionBias || c.ModelType == "qwen2"
}

// applyDefaults fills the fields that Hugging Face also defaults.
func (c *ModelConfig) applyDefaults() {
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.RMSNormEps == 0 {
		c.RMSNormEps = 1e-6
	}
}

// Validate checks that the dimensions are usable for a Llama/Qwen2 decoder.
func (c *ModelConfig) Validate() error {
	var bad []string
	pos := func(name string, v int) {
		if v <= 0 {
			bad = append(bad, fmt.Sprintf("%s = %d, want > 0", name, v))
		}
	}
	pos("hidden_size", c.HiddenSize)
	pos("num_hidden_layers", c.NumHiddenLayers)
	pos("num_attention_heads", c.NumAttentionHeads)
	pos("num_key_value_heads", c.NumKeyValueHeads)
	pos("intermediate_size", c.IntermediateSize)
	pos("vocab_size", c.VocabSize)
	if c.NumAttentionHeads > 0 && c.NumKeyValueHeads > 0 && c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		bad = append(bad, fmt.Sprintf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads))
	}
	if c.HeadDim <= 0 || c.HeadDim%2 != 0 {
		bad = append(bad, fmt.Sprintf("head_dim = %d, want a positive even number", c.HeadDim))
	}
	if len(bad) > 0 {
		return fmt.Errorf("weights: invalid model config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// ParseConfig parses config.json bytes, applies Hugging Face's defaults
// (num_key_value_heads, head_dim, rope_theta 10000, rms_norm_eps 1e-6) and
// validates the result. transformers v5 files (dtype instead of torch_dtype,
// rope_theta and scaling inside rope_parameters) are understood too.
func ParseConfig(data []byte) (*ModelConfig, error) {
	var c ModelConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	// transformers v5 writes dtype for torch_dtype and moves rope_theta and
	// the scaling settings into rope_parameters.
	var extra struct {
		DType          string          `json:"dtype"`
		RopeParameters json.RawMessage `json:"rope_parameters"`
	}
	if json.Unmarshal(data, &extra) == nil {
		if c.TorchDType == "" {
			c.TorchDType = extra.DType
		}
		if rp := bytes.TrimSpace(extra.RopeParameters); len(rp) > 0 && rp[0] == '{' {
			var p struct {
				RopeTheta float64 `json:"rope_theta"`
			}
			var rs RopeScaling
			if json.Unmarshal(rp, &p) == nil && c.RopeTheta == 0 {
				c.RopeTheta = p.RopeTheta
			}
			if c.RopeScaling == nil && json.Unmarshal(rp, &rs) == nil && rs.Type != "" && rs.Type != "default" {
				c.RopeScaling = &rs
			}
		}
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadConfig reads and parses a config.json (a file, or a folder holding one).
func LoadConfig(path string) (*ModelConfig, error) {
	data, path, err := readInDir(path, ConfigFile)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	return c, nil
}

// GenerationConfig is generation_config.json. Pointer fields are nil when
// the file does not set them, so callers can apply their own defaults.
type GenerationConfig struct {
	BOSTokenID        *int     `json:"bos_token_id"`
	EOSTokenIDs       TokenIDs `json:"eos_token_id"` // int or list in the file
	PadTokenID        *int     `json:"pad_token_id"`
	DoSample          *bool    `json:"do_sample"`
	Temperature       *float64 `json:"temperature"`
	TopP              *float64 `json:"top_p"`
	TopK              *int     `json:"top_k"`
	MinP              *float64 `json:"min_p"`
	RepetitionPenalty *float64 `json:"repetition_penalty"`
	MaxNewTokens      *int     `json:"max_new_tokens"`
	MaxLength         *int     `json:"max_length"`
}

// LoadGenerationConfig reads generation_config.json (a file, or a folder
// holding one).
func LoadGenerationConfig(path string) (*GenerationConfig, error) {
	data, path, err := readInDir(path, GenerationConfigFile)
	if err != nil {
		return nil, err
	}
	var g GenerationConfig
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	return &g, nil
}

// TokenizerConfig is the part of tokenizer_config.json that inference needs.
type TokenizerConfig struct {
	// ChatTemplate is the default chat template: chat_template when it is a
	// string, the entry named "default" when it is a list, or the contents
	// of chat_template.jinja next to the file when the JSON has none.
	ChatTemplate string
	// ChatTemplates holds every named template when chat_template is a list.
	ChatTemplates map[string]string
	// Special tokens as text; the files write them as strings or as
	// {"content": ...} objects. Empty when unset or null.
	BOSToken, EOSToken, PadToken, UnkToken string
	AddBOSToken, AddEOSToken               *bool
	TokenizerClass                         string
	ModelMaxLength                         float64 // often a huge sentinel (1e30)
}

type tokenText string

func (t *tokenText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
		return nil
	case len(b) > 0 && b[0] == '{':
		var obj struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*t = tokenText(obj.Content)
		return nil
	default:
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("special token must be a string or an object with content: %s", b)
		}
		*t = tokenText(s)
		return nil
	}
}

// ParseTokenizerConfig parses tokenizer_config.json bytes.
func ParseTokenizerConfig(data []byte) (*TokenizerConfig, error) {
	var f struct {
		ChatTemplate   json.RawMessage `json:"chat_template"`
		BOS            tokenText       `json:"bos_token"`
		EOS            tokenText       `json:"eos_token"`
		Pad            tokenText       `json:"pad_token"`
		Unk            tokenText       `json:"unk_token"`
		AddBOS         *bool           `json:"add_bos_token"`
		AddEOS         *bool           `json:"add_eos_token"`
		TokenizerClass string          `json:"tokenizer_class"`
		ModelMaxLength *float64        `json:"model_max_length"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	t := &TokenizerConfig{
		BOSToken: string(f.BOS), EOSToken: string(f.EOS), PadToken: string(f.Pad), UnkToken: string(f.Unk),
		AddBOSToken: f.AddBOS, AddEOSToken: f.AddEOS, TokenizerClass: f.TokenizerClass,
	}
	if f.ModelMaxLength != nil {
		t.ModelMaxLength = *f.ModelMaxLength
	}
	ct := bytes.TrimSpace(f.ChatTemplate)
	switch {
	case len(ct) == 0 || bytes.Equal(ct, []byte("null")):
	case ct[0] == '"':
		if err := json.Unmarshal(ct, &t.ChatTemplate); err != nil {
			return nil, fmt.Errorf("chat_template: %w", err)
		}
	case ct[0] == '[':
		var list []struct {
			Name     string `json:"name"`
			Template string `json:"template"`
		}
		if err := json.Unmarshal(ct, &list); err != nil {
			return nil, fmt.Errorf("chat_template list: %w", err)
		}
		t.ChatTemplates = map[string]string{}
		for _, e := range list {
			t.ChatTemplates[e.Name] = e.Template
		}
		t.ChatTemplate = t.ChatTemplates["default"]
	default:
		return nil, fmt.Errorf("chat_template must be a string or a list, got %s", firstBytes(ct, 40))
	}
	return t, nil
}

func firstBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// LoadTokenizerConfig reads tokenizer_config.json (a file, or a folder
// holding one). When it has no chat_template, chat_template.jinja next to it
// is used if present.
func LoadTokenizerConfig(path string) (*TokenizerConfig, error) {
	data, path, err := readInDir(path, TokenizerConfigFile)
	if err != nil {
		return nil, err
	}
	t, err := ParseTokenizerConfig(data)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	if t.ChatTemplate == "" {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(path), ChatTemplateFile)); err == nil {
			t.ChatTemplate = string(b)
		}
	}
	return t, nil
}

// readInDir reads path, or path/name when path is a folder.
func readInDir(path, name string) ([]byte, string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("weights: %w", err)
	}
	return data, path, nil
}

// MissingFilesError is CheckFiles' report on an incomplete model folder.
type MissingFilesError struct {
	Dir     string
	Missing []string // what is missing, one entry per item
	Looked  []string // every path that was checked
}

func (e *MissingFilesError) Error() string {
	return fmt.Sprintf("weights: model folder %s is incomplete: missing %s; looked for: %s",
		e.Dir, strings.Join(e.Missing, "; "), strings.Join(e.Looked, ", "))
}

// CheckFiles checks that dir holds what inference needs: config.json,
// weights (model.safetensors, or model.safetensors.index.json and every shard
// it lists) and a tokenizer (tokenizer.json or tokenizer.model). The error,
// a *MissingFilesError, lists everything missing and every path looked at.
// generation_config.json and tokenizer_config.json are optional.
func CheckFiles(dir string) error {
	e := &MissingFilesError{Dir: dir}
	look := func(name string) bool {
		p := filepath.Join(dir, name)
		e.Looked = append(e.Looked, p)
		return fileExists(p)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		e.Looked = append(e.Looked, dir)
		if errors.Is(err, fs.ErrNotExist) {
			e.Missing = append(e.Missing, "the folder itself (it does not exist)")
		} else {
			e.Missing = append(e.Missing, "the folder itself (not a readable folder)")
		}
		return e
	}
	if !look(ConfigFile) {
		e.Missing = append(e.Missing, ConfigFile)
	}
	switch {
	case look(SafetensorsFile):
	case look(SafetensorsIndexFile):
		ip := filepath.Join(dir, SafetensorsIndexFile)
		data, err := os.ReadFile(ip)
		var ix SafetensorsIndex
		if err == nil {
			err = json.Unmarshal(data, &ix)
		}
		if err != nil {
			e.Missing = append(e.Missing, fmt.Sprintf("a readable %s (%v)", SafetensorsIndexFile, err))
			break
		}
		var shards []string
		for _, s := range ix.Shards() {
			if !look(s) {
				shards = append(shards, s)
			}
		}
		if len(shards) > 0 {
			e.Missing = append(e.Missing, fmt.Sprintf("%d of %d shards listed in %s: %s",
				len(shards), len(ix.Shards()), SafetensorsIndexFile, strings.Join(firstN(shards, 10), ", ")))
		}
		if len(ix.WeightMap) == 0 {
			e.Missing = append(e.Missing, "a weight_map in "+SafetensorsIndexFile)
		}
	default:
		e.Missing = append(e.Missing, fmt.Sprintf("weights (%s or %s)", SafetensorsFile, SafetensorsIndexFile))
	}
	if !look(TokenizerFile) && !look(TokenizerModelFile) {
		e.Missing = append(e.Missing, fmt.Sprintf("a tokenizer (%s or %s)", TokenizerFile, TokenizerModelFile))
	}
	if len(e.Missing) > 0 {
		return e
	}
	return nil
}

// HFModel is a Hugging Face model folder, opened.
type HFModel struct {
	Dir        string
	Config     *ModelConfig
	Generation *GenerationConfig // nil when generation_config.json is absent
	Tokenizer  *TokenizerConfig  // nil when tokenizer_config.json is absent
	Weights    *Safetensors
}

// OpenHFModel runs CheckFiles, then loads the configs and opens the weights.
func OpenHFModel(dir string) (*HFModel, error) {
	if err := CheckFiles(dir); err != nil {
		return nil, err
	}
	m := &HFModel{Dir: dir}
	var err error
	if m.Config, err = LoadConfig(filepath.Join(dir, ConfigFile)); err != nil {
		return nil, err
	}
	if p := filepath.Join(dir, GenerationConfigFile); fileExists(p) {
		if m.Generation, err = LoadGenerationConfig(p); err != nil {
			return nil, err
		}
	}
	if p := filepath.Join(dir, TokenizerConfigFile); fileExists(p) {
		if m.Tokenizer, err = LoadTokenizerConfig(p); err != nil {
			return nil, err
		}
	}
	if m.Weights, err = OpenDir(dir); err != nil {
		return nil, err
	}
	return m, nil
}

// EOSTokenIDs returns the end-of-sequence ids: generation_config.json's when
// set, otherwise config.json's.
func (m *HFModel) EOSTokenIDs() TokenIDs {
	if m.Generation != nil && len(m.Generation.EOSTokenIDs) > 0 {
		return m.Generation.EOSTokenIDs
	}
	return m.Config.EOSTokenIDs
}

// Close closes the weights.
func (m *HFModel) Close() error {
	if m.Weights == nil {
		return nil
	}
	return m.Weights.Close()
}
