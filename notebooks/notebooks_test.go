package notebooks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goray-dev/goray/kernel/notebook"
)

var notebooks = []string{"VHOL.ipynb"}

var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)\)`)

// Images must load in JupyterLab, which serves only its root folder (make
// lab starts it on notebooks/): a diagram is linked through the assets
// symlink in this folder, never with "..", and the file must exist.
func TestImagesResolveInsideTheNotebooksFolder(t *testing.T) {
	for _, name := range notebooks {
		nb, err := notebook.Read(name)
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
				if strings.Contains(target, "..") || filepath.IsAbs(target) || strings.Contains(target, ":") {
					t.Errorf("%s cell %d: image %q must be a path inside notebooks/ (use assets/...)", name, i+1, target)
					continue
				}
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s cell %d: image %q: %v", name, i+1, target, err)
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
		nb, err := notebook.Read(name)
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
				t.Errorf("%s cell %d was not executed (run: bin/goray notebook run notebooks/%s --inplace)", name, i+1, name)
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
