package weights

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTokenIDs(t *testing.T) {
	for in, want := range map[string]TokenIDs{`7`: {7}, `[1, 2]`: {1, 2}, `null`: nil, `[]`: {}} {
		var got TokenIDs
		if err := json.Unmarshal([]byte(in), &got); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s -> %v, %v; want %v", in, got, err, want)
		}
	}
	var got TokenIDs
	if err := json.Unmarshal([]byte(`"x"`), &got); err == nil {
		t.Error(`"x" parsed as token ids`)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{
		"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
		"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "vocab_size": 100, "eos_token_id": 5,
		"bos_token_id": null, "rope_scaling": null, "sliding_window": 4096
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.NumKeyValueHeads != 4 || c.HeadDim != 16 || c.RopeTheta != 10000 || c.RMSNormEps != 1e-6 ||
		c.BOSTokenID != nil || !slices.Equal(c.EOSTokenIDs, TokenIDs{5}) || c.RopeScaling != nil ||
		!c.HasQKVBias() || *c.SlidingWindow != 4096 {
		t.Errorf("config = %+v", c)
	}

	// rope_theta inside rope_parameters (newer transformers), old "type" key.
	c, err = ParseConfig([]byte(`{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
		"rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
		"rope_scaling": {"type": "linear", "factor": 4.0, "extra": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RopeTheta != 1e6 || c.RopeScaling.Type != "linear" || c.RopeScaling.Factor != 4 || c.RopeScaling.Raw["extra"] != true {
		t.Errorf("config = %+v, rope scaling %+v", c, c.RopeScaling)
	}
	c, err = ParseConfig([]byte(`{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
		"num_attention_heads": 4, "vocab_size": 100, "dtype": "bfloat16",
		"rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 32.0,
		"low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TorchDType != "bfloat16" || c.RopeTheta != 5e5 || c.RopeScaling == nil || c.RopeScaling.Type != "llama3" ||
		c.RopeScaling.Factor != 32 || c.RopeScaling.OriginalMaxPositionEmbeddings != 8192 {
		t.Errorf("v5 config = %+v, rope scaling %+v", c, c.RopeScaling)
	}

	for _, bad := range []string{
		`{"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 10}`,
		`{"hidden_size": 0, "num_attention_heads": 4}`,
		`{"hidden_size": "big"}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s): no error", bad)
		}
	}
}

func TestTokenizerConfigVariants(t *testing.T) {
	tc, err := ParseTokenizerConfig([]byte(`{
		"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}],
		"bos_token": null, "eos_token": {"content": "<|im_end|>", "lstrip": false},
		"unk_token": "<unk>", "model_max_length": 1e30}`))
	if err != nil {
		t.Fatal(err)
	}
	if tc.ChatTemplate != "D" || tc.ChatTemplates["tool_use"] != "T" || tc.BOSToken != "" || tc.EOSToken != "<|im_end|>" ||
		tc.UnkToken != "<unk>" || tc.ModelMaxLength != 1e30 || tc.AddBOSToken != nil {
		t.Errorf("tokenizer config = %+v", tc)
	}
	if _, err := ParseTokenizerConfig([]byte(`{"chat_template": 3}`)); err == nil {
		t.Error("numeric chat_template: no error")
	}

	// chat_template.jinja next to a tokenizer_config.json without one.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, TokenizerConfigFile), []byte(`{"eos_token": "</s>"}`), 0o644)
	os.WriteFile(filepath.Join(dir, ChatTemplateFile), []byte("{{ messages }}"), 0o644)
	tc, err = LoadTokenizerConfig(dir)
	if err != nil || tc.ChatTemplate != "{{ messages }}" {
		t.Errorf("LoadTokenizerConfig = %+v, %v", tc, err)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	err := CheckFiles(dir)
	var mf *MissingFilesError
	if !errors.As(err, &mf) {
		t.Fatalf("CheckFiles(empty) = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{dir, ConfigFile, SafetensorsFile, SafetensorsIndexFile, TokenizerFile, TokenizerModelFile,
		filepath.Join(dir, ConfigFile)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if len(mf.Missing) != 3 {
		t.Errorf("Missing = %q", mf.Missing)
	}

	err = CheckFiles(filepath.Join(dir, "absent"))
	if !errors.As(err, &mf) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("CheckFiles(absent) = %v", err)
	}

	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(dir, TokenizerModelFile), nil, 0o644)
	os.WriteFile(filepath.Join(dir, SafetensorsIndexFile), []byte(`not json`), 0o644)
	err = CheckFiles(dir)
	if !errors.As(err, &mf) || len(mf.Missing) != 1 || !strings.Contains(mf.Missing[0], "readable "+SafetensorsIndexFile) {
		t.Errorf("CheckFiles(bad index) = %v", err)
	}
	os.Remove(filepath.Join(dir, SafetensorsIndexFile))
	os.WriteFile(filepath.Join(dir, SafetensorsFile), nil, 0o644)
	if err := CheckFiles(dir); err != nil {
		t.Errorf("CheckFiles(complete) = %v", err)
	}
	// OpenHFModel then fails on the content, naming the file.
	if _, err := OpenHFModel(dir); err == nil || !strings.Contains(err.Error(), ConfigFile) {
		t.Errorf("OpenHFModel(bad config) = %v", err)
	}
}

// makeCache lays out <cache>/models--org--name with the given snapshots and
// refs.
func makeCache(t *testing.T, cache, repo string, snapshots []string, refs map[string]string) string {
	t.Helper()
	repoDir := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	for _, s := range snapshots {
		if err := os.MkdirAll(filepath.Join(repoDir, "snapshots", s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for ref, commit := range refs {
		p := filepath.Join(repoDir, "refs", ref)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(commit+"\n"), 0o644)
	}
	return repoDir
}

func clearHFEnv(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
}

func TestFindInHFCache(t *testing.T) {
	clearHFEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)

	// Default location, refs/main.
	def := filepath.Join(home, ".cache", "huggingface", "hub")
	repoDir := makeCache(t, def, "HuggingFaceTB/SmolLM2-135M-Instruct", []string{"aaa", "bbb"}, map[string]string{"main": "bbb", "v1": "aaa"})
	dir, err := FindInHFCache("HuggingFaceTB/SmolLM2-135M-Instruct")
	if err != nil || dir != filepath.Join(repoDir, "snapshots", "bbb") {
		t.Errorf("default cache: %q, %v", dir, err)
	}
	if dir, err := FindInHFCacheRevision("HuggingFaceTB/SmolLM2-135M-Instruct", "v1"); err != nil || filepath.Base(dir) != "aaa" {
		t.Errorf("revision v1: %q, %v", dir, err)
	}
	if dir, err := FindInHFCacheRevision("HuggingFaceTB/SmolLM2-135M-Instruct", "aaa"); err != nil || filepath.Base(dir) != "aaa" {
		t.Errorf("commit aaa: %q, %v", dir, err)
	}
	if _, err := FindInHFCacheRevision("HuggingFaceTB/SmolLM2-135M-Instruct", "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown revision: %v", err)
	}

	// XDG_CACHE_HOME, then HF_HOME, then HF_HUB_CACHE take precedence in turn.
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	makeCache(t, filepath.Join(xdg, "huggingface", "hub"), "org/m", []string{"x1"}, map[string]string{"main": "x1"})
	if dir, err := FindInHFCache("org/m"); err != nil || !strings.HasPrefix(dir, xdg) {
		t.Errorf("XDG: %q, %v", dir, err)
	}
	hfHome := t.TempDir()
	t.Setenv("HF_HOME", hfHome)
	makeCache(t, filepath.Join(hfHome, "hub"), "org/m", []string{"h1"}, map[string]string{"main": "h1"})
	if dir, err := FindInHFCache("org/m"); err != nil || dir != filepath.Join(hfHome, "hub", "models--org--m", "snapshots", "h1") {
		t.Errorf("HF_HOME: %q, %v", dir, err)
	}
	hub := t.TempDir()
	t.Setenv("HF_HUB_CACHE", hub)
	// No refs/main: the newest snapshot wins.
	rd := makeCache(t, hub, "org/m", []string{"old", "new"}, nil)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(rd, "snapshots", "old"), past, past)
	if dir, err := FindInHFCache("org/m"); err != nil || filepath.Base(dir) != "new" {
		t.Errorf("HF_HUB_CACHE without refs: %q, %v", dir, err)
	}

	// Not cached: the error names the cache and the paths looked at.
	_, err = FindInHFCache("org/absent")
	if err == nil || !strings.Contains(err.Error(), hub) || !strings.Contains(err.Error(), "models--org--absent") {
		t.Errorf("absent: %v", err)
	}
	// refs/main to a missing snapshot.
	makeCache(t, hub, "org/broken", nil, map[string]string{"main": "deadbeef"})
	if _, err := FindInHFCache("org/broken"); err == nil || !strings.Contains(err.Error(), "deadbeef") {
		t.Errorf("broken ref: %v", err)
	}
	// "~" expansion.
	t.Setenv("HF_HUB_CACHE", "~/hubcache")
	makeCache(t, filepath.Join(home, "hubcache"), "gpt2", []string{"c"}, map[string]string{"main": "c"})
	if dir, err := FindInHFCache("gpt2"); err != nil || dir != filepath.Join(home, "hubcache", "models--gpt2", "snapshots", "c") {
		t.Errorf("tilde: %q, %v", dir, err)
	}

	for _, bad := range []string{"", "a/b/c", "../x", "a/..", "a--b/c", "/abs"} {
		if _, err := FindInHFCache(bad); err == nil {
			t.Errorf("FindInHFCache(%q): no error", bad)
		}
	}
}
