package pyenv

import (
	"os"
	"path/filepath"
	"slices"
)

// Dirs returns $VIRTUAL_ENV and the nearest .venv at or above each of
// from (absolute, existing, deduplicated, in that order).
func Dirs(from ...string) []string {
	var out []string
	add := func(d string) {
		if d == "" || !isDir(d) {
			return
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	add(os.Getenv("VIRTUAL_ENV"))
	for _, dir := range from {
		add(above(dir))
	}
	return out
}

// DefaultFrom is where a program looks for a .venv: its working directory
// and the directory of its executable.
func DefaultFrom() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	return dirs
}

// Glob returns the files matching pattern (relative to a venv, e.g.
// "lib/python3*/site-packages/pkg/file") in each of venvs, in order.
func Glob(venvs []string, pattern string) []string {
	var out []string
	for _, v := range venvs {
		m, _ := filepath.Glob(filepath.Join(v, pattern))
		for _, f := range m {
			if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
				out = append(out, f)
			}
		}
	}
	return out
}

// above returns the first dir/.venv going up from dir, or "".
func above(dir string) string {
	for {
		if v := filepath.Join(dir, ".venv"); isDir(v) {
			return v
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
