package llm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/weights"
)

// Model is a Llama/Qwen2 decoder with its weights as float32 tensors, ready
// to run on a GoMLX backend. Its methods are safe for concurrent use (calls
// are serialised).
type Model struct {
	Config Config

	backend backends.Backend
	owned   *device.Backend // opened by New, closed by Close
	// params are the weights in paramNames order.
	params []*tensors.Tensor
	names  []string

	mu sync.Mutex
	// fwdAll returns the logits of every position, fwdLast only the last
	// position's; both also return the updated caches.
	fwdAll, fwdLast *graph.Exec
}

// Options configure Load.
type Options struct {
	// Backend runs the model; nil opens device.Open(device.Options{}).
	// Model.Close does not close a backend given here.
	Backend *device.Backend
	// GoMLX, when set, is used instead of Backend: a GoMLX backend opened
	// by the caller (e.g. simplego.New("ops_sequential")).
	GoMLX backends.Backend
}

// Load opens a Hugging Face model folder (config.json plus
// model.safetensors or a sharded index) and loads its weights, converting
// f16/bf16 to float32.
func Load(dir string, opts Options) (*Model, error) {
	if err := checkModelFiles(dir); err != nil {
		return nil, err
	}
	mc, err := weights.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFrom(mc)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	st, err := weights.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return New(cfg, st, opts)
}

// checkModelFiles reports, in one error, every file of dir that Load needs
// and lacks (config.json, the weights, the shards of an index) and every
// path it looked at. A tokenizer is not Load's business.
func checkModelFiles(dir string) error {
	var mf *weights.MissingFilesError
	if err := weights.CheckFiles(dir); !errors.As(err, &mf) {
		return nil // complete, or a problem the loaders report better
	}
	missing := slices.DeleteFunc(slices.Clone(mf.Missing), func(m string) bool {
		return strings.HasPrefix(m, "a tokenizer")
	})
	if len(missing) == 0 {
		return nil
	}
	return &weights.MissingFilesError{Dir: mf.Dir, Missing: missing, Looked: mf.Looked}
}

// paramNames lists the tensors a model of this config needs, in the order
// the graph takes them, with their expected shapes.
func (c Config) paramNames() (names []string, shapes [][]int) {
	add := func(name string, shape ...int) {
		names = append(names, name)
		shapes = append(shapes, shape)
	}
	add("model.embed_tokens.weight", c.Vocab, c.Hidden)
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	for l := range c.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", c.Hidden)
		add(p+"self_attn.q_proj.weight", q, c.Hidden)
		add(p+"self_attn.k_proj.weight", kv, c.Hidden)
		add(p+"self_attn.v_proj.weight", kv, c.Hidden)
		if c.QKVBias {
			add(p+"self_attn.q_proj.bias", q)
			add(p+"self_attn.k_proj.bias", kv)
			add(p+"self_attn.v_proj.bias", kv)
		}
		add(p+"self_attn.o_proj.weight", c.Hidden, q)
		add(p+"post_attention_layernorm.weight", c.Hidden)
		add(p+"mlp.gate_proj.weight", c.Intermediate, c.Hidden)
		add(p+"mlp.up_proj.weight", c.Intermediate, c.Hidden)
		add(p+"mlp.down_proj.weight", c.Hidden, c.Intermediate)
	}
	add("model.norm.weight", c.Hidden)
	if !c.TieWordEmbeddings {
		add("lm_head.weight", c.Vocab, c.Hidden)
	}
	return names, shapes
}

// New builds a Model from a weight source (safetensors, or GGUF already
// mapped to Hugging Face names) on the backend opts names (device.Open's
// default when none).
// Every missing tensor and shape mismatch is reported, each naming the
// tensor.
func New(cfg Config, src weights.Source, opts Options) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	names, shapes := cfg.paramNames()
	params := make([]*tensors.Tensor, len(names))
	var errs []error
	for i, name := range names {
		t, err := src.Expect(name, shapes[i]...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		data, err := t.Float32s()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		params[i] = tensors.FromFlatDataAndDimensions(data, shapes[i]...)
	}
	if len(errs) > 0 {
		for _, p := range params {
			if p != nil {
				_ = p.FinalizeAll()
			}
		}
		return nil, fmt.Errorf("llm: cannot load %s model: %w", cfg.Arch, errors.Join(errs...))
	}
	m := &Model{Config: cfg, backend: opts.GoMLX, params: params, names: names}
	if m.backend == nil {
		db := opts.Backend
		if db == nil {
			var err error
			if db, err = device.Open(device.Options{}); err != nil {
				_ = m.Close()
				return nil, err
			}
			m.owned = db
		}
		m.backend = db.GoMLX()
	}
	var err error
	if m.fwdAll, err = graph.NewExec(m.backend, m.graphFn(false)); err != nil {
		_ = m.Close()
		return nil, err
	}
	if m.fwdLast, err = graph.NewExec(m.backend, m.graphFn(true)); err != nil {
		_ = m.Close()
		return nil, err
	}
	// Each (batch, prompt length, cache length) bucket compiles once.
	m.fwdAll.SetMaxCache(256)
	m.fwdLast.SetMaxCache(256)
	return m, nil
}

// Backend is the GoMLX backend the model runs on.
func (m *Model) Backend() backends.Backend { return m.backend }

// Close frees the weights and compiled programs. A backend passed in
// Options is not closed; one New opened itself is.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range []*graph.Exec{m.fwdAll, m.fwdLast} {
		if e != nil {
			e.Finalize()
		}
	}
	m.fwdAll, m.fwdLast = nil, nil
	var first error
	for _, p := range m.params {
		if err := p.FinalizeAll(); err != nil && first == nil {
			first = err
		}
	}
	m.params = nil
	if m.owned != nil {
		_ = m.owned.Close()
		m.owned = nil
	}
	return first
}
