package kerneltest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goray-dev/goray/kernel"
)

// GonbSpec returns a kernelspec that runs bin/gonb of this module
// directly, with the module in the notebook's go.work; it skips the test
// when gonb has not been built. The module root is the first folder at or
// above the test's working directory that holds a go.mod.
func GonbSpec(t testing.TB) *kernel.Spec {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	gonb := filepath.Join(bin, "gonb")
	if _, err := os.Stat(gonb); err != nil {
		t.Skipf("skipping: %s is missing (run `make tools`)", gonb)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipping: the go command is not on PATH")
	}
	if goBin, err = filepath.EvalSymlinks(goBin); err != nil {
		t.Fatal(err)
	}
	return &kernel.Spec{
		Argv:          []string{gonb, "--kernel", kernel.ConnectionFileArg, "-go_work=" + root},
		DisplayName:   "Go (test)",
		Language:      "go",
		InterruptMode: "message",
		Env: map[string]string{
			"PATH": bin + string(filepath.ListSeparator) + filepath.Dir(goBin) +
				string(filepath.ListSeparator) + os.Getenv("PATH"),
		},
	}
}

// moduleRoot returns the folder of the go.mod nearest above the working
// directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root not found: no go.mod above the working directory")
		}
		dir = parent
	}
}
