package pyenv

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDirsAndGlob(t *testing.T) {
	root := t.TempDir()
	venv := filepath.Join(root, ".venv")
	pkg := filepath.Join(venv, "lib", "python3.11", "site-packages", "pkg")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "model.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir() // no .venv above it (in a temp dir)
	t.Setenv("VIRTUAL_ENV", "")

	got := Dirs(deep, root, other)
	if !slices.Equal(got, []string{venv}) {
		t.Fatalf("Dirs = %v, want [%s] once", got, venv)
	}
	files := Glob(got, "lib/python3*/site-packages/pkg/model.bin")
	if len(files) != 1 || files[0] != filepath.Join(pkg, "model.bin") {
		t.Errorf("Glob = %v", files)
	}
	if files := Glob(got, "lib/python3*/site-packages/pkg"); len(files) != 0 {
		t.Errorf("Glob returned a folder: %v", files)
	}

	explicit := t.TempDir()
	t.Setenv("VIRTUAL_ENV", explicit)
	if got := Dirs(deep); !slices.Equal(got, []string{explicit, venv}) {
		t.Errorf("with VIRTUAL_ENV: %v", got)
	}
}
