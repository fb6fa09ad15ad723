package notebooks

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goray-dev/goray/kernel/notebook"
)

// -update re-embeds assets/*.svg into the notebooks' attachments:
//
//	go test ./notebooks -update
var update = flag.Bool("update", false, "re-embed the diagrams from assets/ into the notebooks")

var notebooks = []string{"VHOL.ipynb"}

// Markdown images either name an attachment or a file; files outside the
// notebooks folder do not load in JupyterLab (it serves its root only),
// so diagrams travel inside the notebook as attachments.
var imageLink = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)\)`)

func TestDiagramsAreEmbeddedFromAssets(t *testing.T) {
	for _, name := range notebooks {
		nb, err := notebook.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		changed := false
		for i, c := range nb.Cells {
			if c.CellType != "markdown" {
				continue
			}
			for _, m := range imageLink.FindAllStringSubmatch(c.Source, -1) {
				target := m[1]
				if rel, ok := strings.CutPrefix(target, "../assets/"); ok && *update {
					c.Source = strings.ReplaceAll(c.Source, "("+target+")", "(attachment:"+rel+")")
					target = "attachment:" + rel
				}
				att, ok := strings.CutPrefix(target, "attachment:")
				if !ok {
					t.Errorf("%s cell %d: image %q is a link; embed it (go test ./notebooks -update)", name, i+1, target)
					continue
				}
				want, err := os.ReadFile(filepath.Join("..", "assets", att))
				if err != nil {
					t.Errorf("%s cell %d: attachment %q has no source in assets/: %v", name, i+1, att, err)
					continue
				}
				if *update {
					if c.Attachments == nil {
						c.Attachments = map[string]any{}
					}
					c.Attachments[att] = map[string]any{"image/svg+xml": base64.StdEncoding.EncodeToString(want)}
					changed = true
					continue
				}
				bundle, _ := c.Attachments[att].(map[string]any)
				enc, _ := bundle["image/svg+xml"].(string)
				got, err := base64.StdEncoding.DecodeString(enc)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s cell %d: attachment %q differs from assets/%s (go test ./notebooks -update)", name, i+1, att, att)
				}
			}
		}
		if changed {
			if err := nb.Write(name); err != nil {
				t.Fatal(err)
			}
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
