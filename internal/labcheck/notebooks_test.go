package labcheck

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goray-dev/goray/kernel/notebook"
)

// notebooks are the lab's notebooks, relative to the repository root.
var notebooks = []string{"notebooks/VHOL.ipynb"}

// repoRoot is where `make lab` starts JupyterLab: its root folder.
const repoRoot = "../.."

var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)\)`)

// Images must load in JupyterLab, which serves only files under its root
// (the repository; it refuses links leading outside): a diagram is a
// relative path that stays inside the repository and names a real file.
func TestImagesResolveInsideTheRepository(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range notebooks {
		nb, err := notebook.Read(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		images := 0
		for i, c := range nb.Cells {
			if c.CellType != "markdown" {
				continue
			}
			for _, m := range imageLink.FindAllStringSubmatch(c.Source, -1) {
				images++
				target := m[1]
				if filepath.IsAbs(target) || strings.Contains(target, ":") {
					t.Errorf("%s cell %d: image %q must be a relative path", name, i+1, target)
					continue
				}
				path := filepath.Join(root, filepath.Dir(name), target)
				real, err := filepath.EvalSymlinks(path)
				if err != nil {
					t.Errorf("%s cell %d: image %q: %v", name, i+1, target, err)
					continue
				}
				if rel, err := filepath.Rel(root, real); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s cell %d: image %q resolves outside the repository (%s)", name, i+1, target, real)
				}
			}
		}
		if images == 0 {
			t.Errorf("%s shows no diagram", name)
		}
	}
}

// The committed notebook shows a real run: every code cell executed, in
// order, with no error output, on the goray kernel, and nothing in the
// outputs names the machine it ran on.
func TestCommittedOutputsAreFromACleanRun(t *testing.T) {
	machinePath := regexp.MustCompile(`(/tmp/gonb_|/home/|/root/|/work/)`)
	for _, name := range notebooks {
		nb, err := notebook.Read(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		ks, _ := nb.Metadata["kernelspec"].(map[string]any)
		if ks["name"] != "goray" {
			t.Errorf("%s: kernelspec %v, want goray", name, ks)
		}
		last := 0
		for i, c := range nb.Cells {
			if c.CellType != "code" || strings.TrimSpace(c.Source) == "" {
				continue
			}
			if c.ExecutionCount == nil {
				t.Errorf("%s cell %d was not executed (run: bin/goray notebook run %s --inplace)", name, i+1, name)
				continue
			}
			if *c.ExecutionCount <= last {
				t.Errorf("%s cell %d: execution count %d after %d: not one run in order", name, i+1, *c.ExecutionCount, last)
			}
			last = *c.ExecutionCount
			for _, o := range c.Outputs {
				if o.OutputType == "error" {
					t.Errorf("%s cell %d has an error output: %s: %s", name, i+1, o.EName, o.EValue)
				}
				text := o.Text
				for _, v := range o.Data {
					if s, ok := v.(string); ok {
						text += s
					}
				}
				if loc := machinePath.FindString(text); loc != "" {
					t.Errorf("%s cell %d: output names a machine path (%s)", name, i+1, loc)
				}
			}
		}
	}
}
