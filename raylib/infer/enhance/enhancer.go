package enhance

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goray-dev/goray/raylib/data"
	"github.com/goray-dev/goray/raylib/infer/device"
	"github.com/goray-dev/goray/raylib/infer/llm"
	"github.com/goray-dev/goray/raylib/infer/tokenizer"
	"github.com/goray-dev/goray/raylib/ray"
)

// Seasons are the seasons an Enhancer chooses from.
var Seasons = []string{"spring", "summer", "autumn", "winter"}

// Sampling settings of the enhancer.
const (
	Temperature = 0.7
	TopP        = 0.9
)

// SeasonColumn is the column Call adds.
const SeasonColumn = "season"

// Config configures an Enhancer.
type Config struct {
	// Model names the model (see ResolveModel): a Hugging Face repo id
	// such as "Qwen/Qwen2.5-0.5B-Instruct" (from the HF cache), a model
	// folder (config.json, safetensors, tokenizer.json) or a llama.cpp
	// .gguf file (its tokenizer comes from the file's metadata).
	Model string
	// TokenizerPath is the tokenizer.json of a folder model; "" means the
	// folder's tokenizer.json. Tokenizer, when set, is used instead (for
	// GGUF models too).
	TokenizerPath string
	Tokenizer     *tokenizer.Tokenizer
	// PromptColumn holds the prompts and receives the enhanced ones
	// (default "prompt").
	PromptColumn string
	// Seed makes the season choice and the sampling reproducible.
	Seed uint64
	// MaxNewTokens bounds each answer (default 200).
	MaxNewTokens int
	// GenBatch is how many prompts are generated together (default 2).
	GenBatch int
	// ChatFamily is the chat template family (llm.FamilyQwen2,
	// llm.FamilySmolLM2, llm.FamilyChatML); "" picks qwen2 for Qwen2
	// models and chatml otherwise. The enhancer always sends a system
	// message, so it only matters for templates that differ beyond that.
	ChatFamily string
	// SystemPrompt, when set, replaces the built-in instruction (see
	// SystemPrompt); "{season}" in it is replaced by the chosen season.
	SystemPrompt string
	// LLM selects the backend the model runs on (llm.Options).
	LLM llm.Options
}

func (c *Config) defaults() {
	if c.PromptColumn == "" {
		c.PromptColumn = "prompt"
	}
	if c.MaxNewTokens <= 0 {
		c.MaxNewTokens = 200
	}
	if c.GenBatch <= 0 {
		c.GenBatch = 2
	}
}

// Enhancer rewrites prompts with an LLM; see the package documentation.
// Call is safe for concurrent use (generation is serialised by the model).
type Enhancer struct {
	cfg    Config
	model  *llm.Model
	tok    *tokenizer.Tokenizer
	family string
	stop   []int
	err    error  // from FromConfig: returned by every Call
	free   func() // gives back the GPU share Open took, if any
}

// NewEnhancer loads the model and tokenizer of cfg.
func NewEnhancer(cfg Config) (*Enhancer, error) {
	return open(context.Background(), cfg)
}

// Open is NewEnhancer for an actor: its method value is the constructor
// of data.ActorPoolCtx, so that a model that does not load fails the
// pipeline with the operator's name, and an actor holding a GPU share
// (data.NumGPUs(0.6)) runs its model on that GPU with that share of the
// memory (device.OpenShare) unless cfg.LLM names a backend:
//
//	ds.MapBatches(data.ActorPoolCtx(cfg.Open, 2), data.NumGPUs(0.6), data.BatchSize(4))
func (cfg Config) Open(ctx context.Context) (*Enhancer, error) {
	return open(ctx, cfg)
}

func open(ctx context.Context, cfg Config) (*Enhancer, error) {
	cfg.defaults()
	if cfg.Model == "" {
		return nil, errors.New("enhance: Config.Model is empty")
	}
	path, err := ResolveModel(ctx, cfg.Model)
	if err != nil {
		return nil, err
	}
	var free func()
	if rc, ok := ray.GetRuntimeContext(ctx); ok && len(rc.GPUs) > 0 && cfg.LLM.Backend == nil && cfg.LLM.GoMLX == nil {
		g := rc.GPUs[0]
		// In the embedded runtime this process owns the whole GPU: its
		// one client may use all of it, and the actors' shares add up.
		b, release, err := device.OpenShare(device.Options{ProcessShare: 1}, g.ID, g.Fraction)
		if err != nil {
			return nil, fmt.Errorf("enhance: GPU %d share %.2g: %w", g.ID, g.Fraction, err)
		}
		cfg.LLM.Backend, free = b, release
	}
	e, err := load(cfg, path)
	if err == nil {
		err = e.warmup(ctx)
		if err != nil {
			_ = e.model.Close()
		}
	}
	if err != nil {
		if free != nil {
			free()
		}
		return nil, err
	}
	e.free = free
	return e, nil
}

// warmup compiles the model's programs for a batch of GenBatch prompts as
// long as a typical one (the buckets round lengths up), so that the work
// happens once, in the actor's constructor, not in its first batch.
func (e *Enhancer) warmup(ctx context.Context) error {
	ids, err := llm.ChatPrompt(e.tok, e.messages("a watercolor painting of a red fox", Seasons[0]), e.family)
	if err != nil {
		return fmt.Errorf("enhance: %w", err)
	}
	if err := e.model.Warmup(ctx, e.cfg.GenBatch, len(ids), e.cfg.MaxNewTokens); err != nil {
		return fmt.Errorf("enhance: warming the model up: %w", err)
	}
	return nil
}

// load loads the model at path (resolved from cfg.Model).
func load(cfg Config, path string) (*Enhancer, error) {
	var (
		err error
		m   *llm.Model
		tok = cfg.Tokenizer
	)
	if strings.HasSuffix(strings.ToLower(path), ".gguf") {
		var gt *tokenizer.Tokenizer
		if m, gt, err = llm.LoadGGUF(path, cfg.LLM); err != nil {
			return nil, fmt.Errorf("enhance: %w", err)
		}
		if tok == nil {
			tok = gt
		}
	} else {
		if tok == nil {
			p := cfg.TokenizerPath
			if p == "" {
				p = filepath.Join(path, "tokenizer.json")
			}
			if tok, err = tokenizer.FromFile(p); err != nil {
				return nil, fmt.Errorf("enhance: tokenizer: %w", err)
			}
		}
		if m, err = llm.Load(path, cfg.LLM); err != nil {
			return nil, fmt.Errorf("enhance: %w", err)
		}
	}
	e, err := newEnhancer(cfg, m, tok)
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	return e, nil
}

func newEnhancer(cfg Config, m *llm.Model, tok *tokenizer.Tokenizer) (*Enhancer, error) {
	family := cfg.ChatFamily
	if family == "" {
		family = llm.FamilyChatML
		if m.Config.Arch == "qwen2" {
			family = llm.FamilyQwen2
		}
	}
	if _, err := llm.DefaultSystemPrompt(family); err != nil {
		return nil, fmt.Errorf("enhance: %w", err)
	}
	if _, ok := tok.TokenID("<|im_end|>"); !ok {
		return nil, errors.New("enhance: the tokenizer has no <|im_end|> token: the model is not a ChatML chat model")
	}
	if v := tok.VocabSize(); v > m.Config.Vocab {
		return nil, fmt.Errorf("enhance: tokenizer has %d ids but the model only %d", v, m.Config.Vocab)
	}
	return &Enhancer{cfg: cfg, model: m, tok: tok, family: family, stop: llm.ChatStopIDs(tok)}, nil
}

// FromConfig is NewEnhancer for data.ActorPool1, whose constructors cannot
// fail: a loading error is returned by every Call instead.
func FromConfig(cfg Config) *Enhancer {
	e, err := NewEnhancer(cfg)
	if err != nil {
		return &Enhancer{err: err}
	}
	return e
}

// Close releases the model and the GPU share it ran on. An actor pool
// calls it when its actors end.
func (e *Enhancer) Close() error {
	var err error
	if e.model != nil {
		err = e.model.Close()
		e.model = nil
	}
	if e.free != nil {
		e.free()
		e.free = nil
	}
	return err
}

// promptHash hashes the seed and the prompt text.
func promptHash(seed uint64, prompt, salt string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(salt))
	h.Write([]byte(prompt))
	return h.Sum64()
}

// SeasonFor is the season chosen for prompt under seed.
func SeasonFor(seed uint64, prompt string) string {
	return Seasons[promptHash(seed, prompt, "season")%uint64(len(Seasons))]
}

// SystemPrompt is the instruction given to the model for season.
func SystemPrompt(season string) string {
	// Short and direct: the CPU stand-in model, SmolLM2-135M, follows a
	// one-line instruction far better than a paragraph.
	return "Rewrite the user's image prompt so that it takes place in " + season +
		". Add two short details typical of " + season +
		". Keep the animal, its clothing and the art medium. Reply with the new prompt only, in one sentence."
}

// Messages is the chat sent to the model for prompt and season with the
// built-in system prompt.
func Messages(prompt, season string) []llm.Message {
	return []llm.Message{{Role: "system", Content: SystemPrompt(season)}, {Role: "user", Content: prompt}}
}

// messages is Messages with the configured system prompt.
func (e *Enhancer) messages(prompt, season string) []llm.Message {
	if e.cfg.SystemPrompt == "" {
		return Messages(prompt, season)
	}
	sys := strings.ReplaceAll(e.cfg.SystemPrompt, "{season}", season)
	return []llm.Message{{Role: "system", Content: sys}, {Role: "user", Content: prompt}}
}

// Call enhances the batch's prompts: it replaces PromptColumn with the
// model's answers (the original prompt where the answer is empty) and adds
// the "season" column.
func (e *Enhancer) Call(ctx context.Context, b *data.Batch) (*data.Batch, error) {
	if e.err != nil {
		return nil, e.err
	}
	if !slices.Contains(b.Columns(), e.cfg.PromptColumn) {
		return nil, fmt.Errorf("enhance: batch has no %q column (columns: %v)", e.cfg.PromptColumn, b.Columns())
	}
	prompts := b.Strings(e.cfg.PromptColumn)
	out, seasons, err := e.Enhance(ctx, prompts)
	if err != nil {
		return nil, err
	}
	b.SetColumn(e.cfg.PromptColumn, out)
	b.SetColumn(SeasonColumn, seasons)
	return b, nil
}

// Enhance rewrites prompts, returning the new prompts and the season each
// one was given.
func (e *Enhancer) Enhance(ctx context.Context, prompts []string) (out, seasons []string, err error) {
	if e.err != nil {
		return nil, nil, e.err
	}
	if e.model == nil {
		return nil, nil, errors.New("enhance: the Enhancer is closed")
	}
	out = make([]string, len(prompts))
	seasons = make([]string, len(prompts))
	for lo := 0; lo < len(prompts); lo += e.cfg.GenBatch {
		hi := min(lo+e.cfg.GenBatch, len(prompts))
		ids := make([][]int, 0, hi-lo)
		seeds := make([]uint64, 0, hi-lo)
		for i := lo; i < hi; i++ {
			seasons[i] = SeasonFor(e.cfg.Seed, prompts[i])
			p, err := llm.ChatPrompt(e.tok, e.messages(prompts[i], seasons[i]), e.family)
			if err != nil {
				return nil, nil, fmt.Errorf("enhance: %w", err)
			}
			ids = append(ids, p)
			seeds = append(seeds, promptHash(e.cfg.Seed, prompts[i], "sample"))
		}
		gen, err := e.model.GenerateWith(ctx, ids, llm.GenerateOptions{
			MaxNewTokens: e.cfg.MaxNewTokens,
			Temperature:  Temperature,
			TopP:         TopP,
			Seeds:        seeds,
			Stop:         e.stop,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("enhance: %w", err)
		}
		for j, g := range gen {
			for len(g) > 0 && slices.Contains(e.stop, g[len(g)-1]) {
				g = g[:len(g)-1]
			}
			text := strings.TrimSpace(e.tok.Decode(g, true))
			if text == "" {
				text = prompts[lo+j]
			}
			out[lo+j] = text
		}
	}
	return out, seasons, nil
}
