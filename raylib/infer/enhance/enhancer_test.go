package enhance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/goray-dev/goray/raylib/data"
	"github.com/goray-dev/goray/raylib/infer/enhance"
	"github.com/goray-dev/goray/raylib/infer/llm"
	"github.com/goray-dev/goray/raylib/infer/tokenizer"
)

var tinyQwen2 = filepath.Join("..", "..", "..", "tests", "golden", "llm", "tiny-qwen2")

// byteLevelChars is GPT-2's bytes_to_unicode: the character that stands
// for each byte in a byte-level BPE vocabulary.
func byteLevelChars() [256]rune {
	var out [256]rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			out[b] = rune(b)
		} else {
			out[b] = rune(256 + n)
			n++
		}
	}
	return out
}

// tinyTokenizer is a ChatML byte-level tokenizer whose ids fit the tiny
// test model's 256-token vocabulary: the 254 bytes that can occur in UTF-8
// text (all but 0xC0 and 0xC1) are ids 0-253, with no merges, and
// <|im_start|> and <|im_end|> are 254 and 255. (The repository's test
// tokenizers have 2000+ ids, which the tiny model cannot embed.)
func tinyTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	chars := byteLevelChars()
	vocab := map[string]int{}
	for b := range 256 {
		if b == 0xC0 || b == 0xC1 {
			continue
		}
		vocab[string(chars[b])] = len(vocab)
	}
	added := []map[string]any{}
	for i, s := range []string{"<|im_start|>", "<|im_end|>"} {
		added = append(added, map[string]any{"id": 254 + i, "content": s, "special": true})
	}
	js, err := json.Marshal(map[string]any{
		"added_tokens":  added,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 256 {
		t.Fatalf("test tokenizer has %d ids", tok.VocabSize())
	}
	return tok
}

// testConfig runs the tiny Qwen2 model on the pure-Go backend with
// sequential ops (required under -race; see llm's tests). The short system
// prompt keeps the byte-per-token prompts, and so the tests, short.
func testConfig(t *testing.T) enhance.Config {
	t.Helper()
	gb, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gb.Finalize)
	return enhance.Config{
		Model:        tinyQwen2,
		Tokenizer:    tinyTokenizer(t),
		Seed:         42,
		MaxNewTokens: 8,
		SystemPrompt: "Add {season}.",
		LLM:          llm.Options{GoMLX: gb},
	}
}

var prompts = []string{
	"a fox in a red scarf, watercolor",
	"an owl wearing a top hat, oil painting",
	"a cat in a raincoat, pencil sketch",
	"a bear in overalls, linocut print",
	"a rabbit with a bow tie, pixel art",
}

func TestTinyTokenizerRoundTrip(t *testing.T) {
	tok := tinyTokenizer(t)
	ids, err := llm.ChatPrompt(tok, enhance.Messages("a fox, café <|im_end|>", "winter"), llm.FamilyQwen2)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := llm.FormatChat(enhance.Messages("a fox, café <|im_end|>", "winter"), llm.FamilyQwen2, true)
	if got := tok.Decode(ids, false); got != want {
		t.Fatalf("decode %q, want %q", got, want)
	}
	if n := strings.Count(fmt.Sprint(ids), "255"); n != 2 { // system and user <|im_end|>
		t.Fatalf("%d <|im_end|> ids in %v", n, ids)
	}
}

func TestSeasonFor(t *testing.T) {
	count := map[string]int{}
	for i := range 200 {
		p := fmt.Sprintf("prompt %d", i)
		s := enhance.SeasonFor(1, p)
		if s != enhance.SeasonFor(1, p) {
			t.Fatal("season not stable")
		}
		count[s]++
	}
	for _, s := range enhance.Seasons {
		if count[s] < 20 {
			t.Fatalf("season counts %v", count)
		}
	}
	if !strings.Contains(enhance.SystemPrompt("autumn"), "autumn") || !strings.Contains(enhance.Messages("x", "spring")[0].Content, "spring") {
		t.Fatal("system prompt lacks the season")
	}
}

func runPipeline(t *testing.T, cfg enhance.Config) []data.Row {
	t.Helper()
	data.ResetContext()
	data.Current().Progress = false
	data.Current().Log = io.Discard
	items := make([]data.Row, len(prompts))
	for i, p := range prompts {
		items[i] = data.Row{"id": int64(i), "prompt": p}
	}
	rows, err := data.FromItems(items).
		MapBatches(data.ActorPool1(enhance.FromConfig, cfg, 1), data.BatchSize(4)).
		TakeAll()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b data.Row) int { return int(a["id"].(int64) - b["id"].(int64)) })
	return rows
}

func TestEnhancerPipeline(t *testing.T) {
	cfg := testConfig(t)
	a := runPipeline(t, cfg)
	if len(a) != len(prompts) {
		t.Fatalf("%d rows, want %d", len(a), len(prompts))
	}
	for i, r := range a {
		if r["season"] != enhance.SeasonFor(cfg.Seed, prompts[i]) {
			t.Errorf("row %d season %v, want %v", i, r["season"], enhance.SeasonFor(cfg.Seed, prompts[i]))
		}
		if s, _ := r["prompt"].(string); s == "" {
			t.Errorf("row %d: empty prompt", i)
		}
	}
	b := runPipeline(t, cfg)
	for i := range a {
		if a[i]["prompt"] != b[i]["prompt"] || a[i]["season"] != b[i]["season"] {
			t.Fatalf("row %d differs between runs: %q vs %q", i, a[i]["prompt"], b[i]["prompt"])
		}
	}
	cfg.Seed = 43
	c := runPipeline(t, cfg)
	same := 0
	for i := range a {
		if a[i]["prompt"] == c[i]["prompt"] {
			same++
		}
	}
	if same == len(a) {
		t.Fatalf("seeds 42 and 43 gave the same text")
	}
}

func TestEnhancerDirect(t *testing.T) {
	cfg := testConfig(t)
	cfg.GenBatch = 3
	e, err := enhance.NewEnhancer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out, seasons, err := e.Enhance(context.Background(), prompts)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(prompts) || len(seasons) != len(prompts) {
		t.Fatalf("lengths %d %d", len(out), len(seasons))
	}
	// A prompt's text does not depend on its batch: each row samples from
	// a seed of its own.
	one, _, err := e.Enhance(context.Background(), prompts[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if one[0] != out[1] {
		t.Logf("note: prompt 1 alone %q, in a batch %q (padding changed the logits)", one[0], out[1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := e.Enhance(ctx, prompts); err == nil {
		t.Fatal("cancelled context: no error")
	}
}

func TestEnhancerErrors(t *testing.T) {
	if _, err := enhance.NewEnhancer(enhance.Config{}); err == nil {
		t.Fatal("empty Model accepted")
	}
	// GGUF paths go to llm.LoadGGUF (no end-to-end GGUF chat test yet).
	if _, err := enhance.NewEnhancer(enhance.Config{Model: filepath.Join(t.TempDir(), "x.gguf")}); err == nil {
		t.Fatal("missing gguf accepted")
	}
	e := enhance.FromConfig(enhance.Config{Model: filepath.Join(t.TempDir(), "missing")})
	if _, err := e.Call(context.Background(), nil); err == nil {
		t.Fatal("FromConfig error not returned by Call")
	}
	cfg := testConfig(t)
	cfg.PromptColumn = "text"
	e, err := enhance.NewEnhancer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	data.ResetContext()
	data.Current().Progress = false
	data.Current().Log = io.Discard
	_, err = data.FromItems([]data.Row{{"prompt": "x"}}).MapBatches(func(b *data.Batch) (*data.Batch, error) {
		return e.Call(context.Background(), b)
	}).TakeAll()
	if err == nil || !strings.Contains(err.Error(), `"text"`) {
		t.Fatalf("missing column: %v", err)
	}
}
