package jupyter

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/goray-dev/goray/kernel"
)

// gonbSpec returns a kernelspec that runs bin/gonb of this module
// directly, with the module in the notebook's go.work; it skips the test
// when gonb has not been built.
func gonbSpec(t testing.TB) *kernel.Spec {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
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
