package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The committed wrappers must be what the generator writes today.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("go", "run", ".", "-out", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	for _, name := range []string{"remote_gen.go", "actor_gen.go", "multi_gen.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./raylib/ray", name)
		}
	}
}
