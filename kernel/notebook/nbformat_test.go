package notebook

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goray-dev/goray/kernel/jupyter"
)

// testdata/jupyter.ipynb was written with the settings nbformat writes
// with: json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False),
// then a newline.
func TestRoundTripIsByteExact(t *testing.T) {
	want, err := os.ReadFile("testdata/jupyter.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	nb, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Parse then Marshal changed the file:\n%s", lineDiff(string(want), string(got)))
	}

	// What the types hold.
	code := nb.Cells[1]
	if code.Source != "%%\nfmt.Println(\"hello\")" || *code.ExecutionCount != 1 || code.ID != "a1b2c3d4" {
		t.Errorf("code cell = %+v", code)
	}
	if got := code.Outputs[0].Text; got != "hello\nworld\r\nprogress\rdone\n" {
		t.Errorf("stream text = %q", got)
	}
	if got := code.Outputs[1].Data["text/html"]; got != "<b>hi</b>\nthere" {
		t.Errorf("text/html = %q", got)
	}
	if !code.HasTag("keep") || code.HasTag("other") {
		t.Errorf("tags = %v", code.Tags())
	}
	if nb.Cells[2].ExecutionCount != nil || nb.Cells[2].Source != "" {
		t.Errorf("empty cell = %+v", nb.Cells[2])
	}
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return "(same lines)"
}

func TestParseAcceptsStringSourceAndAddsIDs(t *testing.T) {
	nb, err := Parse([]byte(`{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": "# One\ntwo"},
  {"cell_type": "code", "metadata": {}, "source": ["a\n", "b"], "outputs": [{"output_type": "stream", "name": "stdout", "text": "x\ny\n"}], "execution_count": 3},
  {"cell_type": "code", "id": "same", "metadata": {}, "source": "", "outputs": [], "execution_count": null},
  {"cell_type": "code", "id": "same", "metadata": {}, "source": "", "outputs": [], "execution_count": null},
  {"cell_type": "raw", "id": "bad id!", "metadata": {}, "source": ""}
 ],
 "metadata": {"x": 1},
 "nbformat": 4,
 "nbformat_minor": 2
}`))
	if err != nil {
		t.Fatal(err)
	}
	if nb.Cells[0].Source != "# One\ntwo" || nb.Cells[1].Source != "a\nb" || nb.Cells[1].Outputs[0].Text != "x\ny\n" {
		t.Errorf("sources and text not read: %+v %+v", nb.Cells[0], nb.Cells[1])
	}
	seen := map[string]bool{}
	for i, c := range nb.Cells {
		if !validID.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("cell %d: id %q missing, invalid or repeated", i, c.ID)
		}
		seen[c.ID] = true
	}
	if nb.Cells[2].ID != "same" {
		t.Errorf("first of two equal ids changed to %q", nb.Cells[2].ID)
	}
	if nb.NBFormatMinor != 5 {
		t.Errorf("nbformat_minor = %d, want 5 once cells have ids", nb.NBFormatMinor)
	}
	out, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\"source\": [\n    \"# One\\n\",\n    \"two\"\n   ]", "\"text\": [\n      \"x\\n\",\n      \"y\\n\"\n     ]", "\"x\": 1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		`{"cells": [], "metadata": {}, "nbformat": 3, "nbformat_minor": 0}`,
		`{"cells": [null], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`,
		`{"cells": [{"cell_type": "code", "source": 7}], "nbformat": 4}`,
		`not json`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) succeeded", in)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.ipynb")); err == nil {
		t.Error("Read of a missing file succeeded")
	}
}

func TestCellKeysByType(t *testing.T) {
	nb := &Notebook{NBFormat: 4, NBFormatMinor: 5, Cells: []*Cell{
		{ID: "m", CellType: Markdown, Source: "text"},
		{ID: "c", CellType: Code, Source: "x"},
	}}
	out, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Cells    []map[string]any `json:"cells"`
		Metadata map[string]any   `json:"metadata"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Cells[0]["outputs"]; ok {
		t.Error("a markdown cell has outputs")
	}
	if _, ok := raw.Cells[0]["execution_count"]; ok {
		t.Error("a markdown cell has an execution count")
	}
	if v, ok := raw.Cells[1]["execution_count"]; !ok || v != nil {
		t.Error("a code cell needs execution_count, null when not run")
	}
	if v, ok := raw.Cells[1]["outputs"].([]any); !ok || len(v) != 0 {
		t.Error("a code cell needs outputs, [] when none")
	}
	if raw.Metadata == nil {
		t.Error("metadata must be {}")
	}
	if !bytes.HasSuffix(out, []byte("}\n")) || !bytes.HasPrefix(out, []byte("{\n \"cells\"")) {
		t.Errorf("not indented by one space with a trailing newline:\n%s", out)
	}
}

func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nb.ipynb")
	nb := &Notebook{NBFormat: 4, NBFormatMinor: 5, Metadata: map[string]any{"a": "b"},
		Cells: []*Cell{{ID: "x", CellType: Code, Source: "1", Outputs: []jupyter.Output{{OutputType: "stream", Name: "stdout", Text: "1\n"}}}}}
	if err := nb.Write(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	// A value JSON cannot hold: the write must fail before touching anything.
	bad := *nb
	bad.Metadata = map[string]any{"x": math.Inf(1)}
	if err := bad.Write(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Write of an Inf: err = %v, want an error naming the file", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed Write changed the file")
	}
	assertOnlyFile(t, dir, "nb.ipynb")

	// A failure after the temporary file was written: the rename onto a
	// folder fails, and the temporary file must go.
	sub := filepath.Join(dir, "folder.ipynb")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := nb.Write(sub); err == nil {
		t.Error("Write over a folder succeeded")
	}
	os.Remove(sub)
	assertOnlyFile(t, dir, "nb.ipynb")

	nb.Cells[0].Source = "2"
	if err := nb.Write(path); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640 kept", fi.Mode().Perm())
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Cells[0].Source != "2" || back.Cells[0].Outputs[0].Text != "1\n" || back.Metadata["a"] != "b" {
		t.Errorf("read back %+v", back.Cells[0])
	}
	assertOnlyFile(t, dir, "nb.ipynb")

	// Writing through a symbolic link replaces its target.
	link := filepath.Join(dir, "link.ipynb")
	if err := os.Symlink("nb.ipynb", link); err != nil {
		t.Fatal(err)
	}
	nb.Cells[0].Source = "3"
	if err := nb.Write(link); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if back, err := Read(path); err != nil || back.Cells[0].Source != "3" {
		t.Errorf("target not written through the link: %v", err)
	}

	// Writing into a folder that does not exist fails cleanly.
	if err := nb.Write(filepath.Join(dir, "no", "nb.ipynb")); err == nil {
		t.Error("Write into a missing folder succeeded")
	}
}

func assertOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only %s", names, name)
	}
}
