package weights

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// HFCacheDir returns the Hugging Face hub cache folder the way
// huggingface_hub (constants.py) resolves it: $HF_HUB_CACHE, else the legacy
// $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. As there,
// a leading "~" and then $VAR or ${VAR} references to set variables are
// expanded, so the Python tools and this package agree on one folder. An
// empty variable counts as unset. The folder need not exist.
func HFCacheDir() (string, error) {
	if v := os.Getenv("HF_HUB_CACHE"); v != "" {
		return expandPath(v)
	}
	if v := os.Getenv("HUGGINGFACE_HUB_CACHE"); v != "" {
		return expandPath(v)
	}
	home, err := hfHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "hub"), nil
}

// hfHomeDir is huggingface_hub's HF_HOME: $HF_HOME, else
// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. The token file
// lives there, beside the hub cache.
func hfHomeDir() (string, error) {
	if v := os.Getenv("HF_HOME"); v != "" {
		return expandPath(v)
	}
	if v := os.Getenv("XDG_CACHE_HOME"); v != "" {
		x, err := expandPath(v)
		if err != nil {
			return "", err
		}
		return filepath.Join(x, "huggingface"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("weights: cannot find the Hugging Face cache: %w", err)
	}
	return filepath.Join(home, ".cache", "huggingface"), nil
}

// expandPath is Python's os.path.expandvars(os.path.expanduser(p)), which
// huggingface_hub applies to HF_HOME, HF_HUB_CACHE and HF_TOKEN_PATH.
func expandPath(p string) (string, error) {
	p, err := expandHome(p)
	if err != nil {
		return "", err
	}
	return expandVars(p), nil
}

func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("weights: cannot expand %q: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// envRef is posixpath.expandvars' pattern: $name or ${name}.
var envRef = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)

// expandVars replaces $NAME and ${NAME} with the variable's value and, like
// Python (and unlike os.ExpandEnv), leaves references to unset variables as
// they are.
func expandVars(p string) string {
	if !strings.Contains(p, "$") {
		return p
	}
	return envRef.ReplaceAllStringFunc(p, func(ref string) string {
		name := strings.TrimSuffix(strings.TrimPrefix(ref[1:], "{"), "}")
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return ref
	})
}

// FindInHFCache returns the snapshot folder of a model in the local Hugging
// Face cache, at the revision that refs/main points to:
// <cache>/models--Org--Name/snapshots/<commit>/. It never downloads. If
// refs/main is missing, a single snapshot is used; with several, the most
// recently modified. The error says which paths it looked at.
func FindInHFCache(repoID string) (string, error) {
	return FindInHFCacheRevision(repoID, "main")
}

// FindInHFCacheRevision is FindInHFCache for a branch or tag name (resolved
// through refs/<revision>) or a commit hash (a snapshots/ folder name).
func FindInHFCacheRevision(repoID, revision string) (string, error) {
	if err := validRepoID(repoID); err != nil {
		return "", err
	}
	if revision == "" {
		revision = "main"
	}
	if strings.Contains(revision, "..") || strings.ContainsAny(revision, `\`) {
		return "", fmt.Errorf("weights: invalid revision %q", revision)
	}
	cache, err := HFCacheDir()
	if err != nil {
		return "", err
	}
	repoDir := filepath.Join(cache, "models--"+strings.ReplaceAll(repoID, "/", "--"))
	snapshots := filepath.Join(repoDir, "snapshots")
	var looked []string
	notFound := func(why string) error {
		return fmt.Errorf("weights: %s is not in the Hugging Face cache (%s): %s; looked at %s (FindInHFCache never downloads: fetch it first with weights.Download or `hf download %s`)",
			repoID, cache, why, strings.Join(looked, ", "), repoID)
	}

	looked = append(looked, repoDir)
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		return "", notFound("no folder for the repository")
	}
	// A commit hash names its snapshot folder directly.
	if revision != "main" && !strings.Contains(revision, "/") {
		p := filepath.Join(snapshots, revision)
		looked = append(looked, p)
		if isDir(p) {
			return p, nil
		}
	}
	ref := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	looked = append(looked, ref)
	if b, err := os.ReadFile(ref); err == nil {
		commit := strings.TrimSpace(string(b))
		if commit == "" || strings.ContainsAny(commit, `/\`) || commit == ".." {
			return "", fmt.Errorf("weights: %s holds no valid commit hash", ref)
		}
		p := filepath.Join(snapshots, commit)
		looked = append(looked, p)
		if isDir(p) {
			return p, nil
		}
		return "", notFound(fmt.Sprintf("refs/%s points to commit %s but its snapshot is missing", revision, commit))
	}
	if revision != "main" {
		return "", notFound(fmt.Sprintf("no ref or snapshot named %q", revision))
	}
	// No refs/main: fall back to the snapshots present.
	looked = append(looked, snapshots)
	entries, err := os.ReadDir(snapshots)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("weights: %w", err)
	}
	type snap struct {
		path string
		mod  int64
	}
	var snaps []snap
	for _, e := range entries {
		p := filepath.Join(snapshots, e.Name())
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			snaps = append(snaps, snap{p, st.ModTime().UnixNano()})
		}
	}
	if len(snaps) == 0 {
		return "", notFound("no refs/main and no snapshots")
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].mod > snaps[j].mod })
	return snaps[0].path, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// validRepoID accepts "name" or "org/name" with no path tricks.
func validRepoID(id string) error {
	parts := strings.Split(id, "/")
	if id == "" || len(parts) > 2 {
		return fmt.Errorf("weights: invalid repository id %q, want \"org/name\"", id)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, `\`) || strings.Contains(p, "--") {
			return fmt.Errorf("weights: invalid repository id %q, want \"org/name\"", id)
		}
	}
	return nil
}
