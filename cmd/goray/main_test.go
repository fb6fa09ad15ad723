package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goray-dev/goray/kernel/notebook"
)

// repoRoot is the goray module this test belongs to.
func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// gorayBin builds this command into a temporary bin folder beside links to
// the tools `make tools` built, which is the layout an install has.
func gorayBin(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	bin := t.TempDir()
	for _, tool := range []string{"gonb", "goimports", "gopls"} {
		src := filepath.Join(root, "bin", tool)
		if _, err := os.Stat(src); err != nil {
			t.Skipf("%s is missing: run `make tools` first", src)
		}
		if err := os.Symlink(src, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "goray"), ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(bin, "goray")
}

type cellSpec struct {
	source string
	tags   []string
}

func writeNotebook(t *testing.T, dir string, cells ...cellSpec) string {
	t.Helper()
	var raw []map[string]any
	for i, c := range cells {
		md := map[string]any{}
		if c.tags != nil {
			md["tags"] = c.tags
		}
		raw = append(raw, map[string]any{"cell_type": "code", "id": string(rune('a' + i)), "metadata": md,
			"outputs": []any{}, "execution_count": nil, "source": c.source})
	}
	nb := map[string]any{"cells": raw, "nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{
		"kernelspec": map[string]any{"name": "goray", "display_name": "Go (goray)", "language": "go"}}}
	b, _ := json.Marshal(nb)
	path := filepath.Join(dir, "nb.ipynb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runGoray runs the built binary with no kernelspec installed anywhere, so
// `notebook run` falls back to the built-in goray kernel.
func runGoray(t *testing.T, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot(t)
	empty := t.TempDir()
	cmd.Env = append(os.Environ(), "JUPYTER_PATH="+empty, "JUPYTER_DATA_DIR="+empty, "VIRTUAL_ENV=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// runNotebook writes cells as a notebook, runs it with `goray notebook run`
// (plus extra flags) and reads back the executed notebook, which the
// runner writes even when a cell fails.
func runNotebook(t *testing.T, bin string, extra []string, cells ...cellSpec) (*notebook.Notebook, string, error) {
	t.Helper()
	dir := t.TempDir()
	in := writeNotebook(t, dir, cells...)
	out := filepath.Join(dir, "out.ipynb")
	log, runErr := runGoray(t, bin, append([]string{"notebook", "run", in, "-o", out}, extra...)...)
	nb, err := notebook.Read(out)
	if err != nil {
		t.Fatalf("read the executed notebook: %v\n%s", err, log)
	}
	return nb, log, runErr
}

func outputText(c *notebook.Cell) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		b.WriteString(o.Text)
		if h, ok := o.Data["text/html"].(string); ok {
			b.WriteString(h)
		}
		if p, ok := o.Data["text/plain"].(string); ok {
			b.WriteString(p)
		}
		b.WriteString(o.EValue)
	}
	return b.String()
}

// The acceptance path in small: cells use ray. and display. with no import
// line, import gonbui with no network, and the outputs land in the file.
func TestNotebookRunOnTheGorayKernel(t *testing.T) {
	nb, log, err := runNotebook(t, gorayBin(t), []string{"--timeout", "2m"},
		cellSpec{source: "func double(x int) int { return 2 * x }"},
		cellSpec{source: "%%\nv, err := ray.Remote1(double).Remote(21).Get()\nfmt.Println(\"answer:\", v, err)"},
		cellSpec{source: "%%\nt := &display.Table{Columns: []display.Column{{Name: \"id\", Type: \"int64\"}}}\nt.AddRow(7)\ndisplay.Show(t)"},
		cellSpec{source: "%%\ngonbui.DisplayHTML(\"<i>direct</i>\")\ngonbui.Sync()"},
	)
	if err != nil {
		t.Fatalf("notebook run: %v\n%s", err, log)
	}
	if got := outputText(nb.Cells[1]); !strings.Contains(got, "answer: 42 <nil>") {
		t.Errorf("task cell printed %q", got)
	}
	if got := outputText(nb.Cells[2]); !strings.Contains(got, "<table") || !strings.Contains(got, ">7<") {
		t.Errorf("display cell output %q, want an HTML table holding 7", got)
	}
	if got := outputText(nb.Cells[3]); !strings.Contains(got, "<i>direct</i>") {
		t.Errorf("gonbui cell output %q", got)
	}
	for i, c := range nb.Cells[1:] {
		if c.ExecutionCount == nil {
			t.Errorf("cell %d has no execution count", i+2)
		}
	}
}

// A failing cell stops the run with a non-zero exit that names the cell,
// and the executed part is still written for the user to read.
func TestNotebookRunStopsAtFirstError(t *testing.T) {
	nb, log, err := runNotebook(t, gorayBin(t), nil,
		cellSpec{source: "%%\nfmt.Println(\"first\")"},
		cellSpec{source: "%%\nvar m map[string]int\nm[\"boom\"] = 1"},
		cellSpec{source: "%%\nfmt.Println(\"never\")"},
	)
	if err == nil {
		t.Fatalf("notebook run succeeded on a panicking cell:\n%s", log)
	}
	// GoNB marks the stack's cell line ("[[ Cell [2] Line 3 ]]") on a best
	// effort basis (it can miss under load), so only the cell and the
	// panic are required here.
	if !strings.Contains(log, "cell 2") || !strings.Contains(log, "assignment to entry in nil map") {
		t.Errorf("error does not name the cell and the panic:\n%s", log)
	}
	if got := outputText(nb.Cells[1]); !strings.Contains(got, "assignment to entry in nil map") {
		t.Errorf("panicking cell's outputs %q lack the panic", got)
	}
	if len(nb.Cells[2].Outputs) != 0 || nb.Cells[2].ExecutionCount != nil {
		t.Error("the cell after the failure ran")
	}
}

// Work a cell leaves behind (a task still sleeping, an actor) ends with
// the cell: the cell returns as soon as its code does.
func TestCellDoesNotWaitForLeftoverWork(t *testing.T) {
	bin := gorayBin(t)
	dir := t.TempDir()
	in := writeNotebook(t, dir, cellSpec{source: "%%\n" +
		"ray.Remote(func() int { time.Sleep(time.Hour); return 1 }).Remote()\n" +
		"type C struct{}\n" +
		"a, _ := ray.NewActor(func() *C { return &C{} })\n" +
		"_ = a\n" +
		"fmt.Println(\"returned\")"})
	start := time.Now()
	log, err := runGoray(t, bin, "notebook", "run", in, "--timeout", "60s")
	if err != nil {
		t.Fatalf("notebook run: %v\n%s", err, log)
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Fatalf("the run took %v: leftover work kept the cell running", d)
	}
}

// Text printed around a displayed table keeps its place in the output.
func TestDisplayKeepsOrderWithStdout(t *testing.T) {
	nb, log, err := runNotebook(t, gorayBin(t), nil, cellSpec{source: "%%\n" +
		"for i := range 3 {\n" +
		"\tfmt.Println(\"before\", i)\n" +
		"\tt := &display.Table{Columns: []display.Column{{Name: \"i\"}}}\n" +
		"\tt.AddRow(i)\n" +
		"\tdisplay.Show(t)\n" +
		"}\n" +
		"fmt.Println(\"end\")"})
	if err != nil {
		t.Fatalf("notebook run: %v\n%s", err, log)
	}
	var kinds []string
	for _, o := range nb.Cells[0].Outputs {
		if o.OutputType == "stream" {
			kinds = append(kinds, "text:"+strings.TrimSpace(o.Text))
		} else {
			kinds = append(kinds, o.OutputType)
		}
	}
	want := []string{"text:before 0", "display_data", "text:before 1", "display_data", "text:before 2", "display_data", "text:end"}
	if strings.Join(kinds, "|") != strings.Join(want, "|") {
		t.Fatalf("outputs in order %q, want %q", kinds, want)
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{
		{},
		{"kernel"},
		{"kernel", "nope"},
		{"notebook", "run"},
		{"notebook", "run", "a.ipynb", "b.ipynb"},
		{"notebook", "run", "a.ipynb", "-o", "x", "--inplace"},
		{"kernel", "install", "--user", "--prefix", "p"},
	} {
		err := run(context.Background(), args, &out, &errOut)
		if _, ok := err.(usageError); !ok {
			t.Errorf("goray %q: err = %v (%T), want a usage error", args, err, err)
		}
	}
	err := run(context.Background(), []string{"notebook", "run", filepath.Join(t.TempDir(), "missing.ipynb")}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "missing.ipynb") {
		t.Errorf("missing notebook: err = %v, want it named", err)
	}
}

// Install then uninstall through the CLI, into a prefix.
func TestKernelInstallCLI(t *testing.T) {
	bin := gorayBin(t)
	prefix := t.TempDir()
	log, err := runGoray(t, bin, "kernel", "install", "--prefix", prefix, "--no-prewarm")
	if err != nil {
		t.Fatalf("install: %v\n%s", err, log)
	}
	raw, err := os.ReadFile(filepath.Join(prefix, "share", "jupyter", "kernels", "goray", "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Argv        []string `json:"argv"`
		DisplayName string   `json:"display_name"`
	}
	json.Unmarshal(raw, &spec)
	if spec.Argv[0] != bin || spec.DisplayName != "Go (goray)" {
		t.Errorf("kernel.json = %s", raw)
	}
	if log, err := runGoray(t, bin, "kernel", "uninstall", "--prefix", prefix); err != nil || !strings.Contains(log, "removed") {
		t.Fatalf("uninstall: %v\n%s", err, log)
	}
}

// Progress redraws in place in a real notebook: one output, updated with
// update_display_data, whose final state is the finished plan.
func TestProgressUpdatesInPlace(t *testing.T) {
	nb, log, err := runNotebook(t, gorayBin(t), nil, cellSpec{source: "%%\n" +
		"p := display.NewProgress(display.Default(), \"Execution plan: ReadCSV -> MapBatches(Double)\", []string{\"ReadCSV\", \"MapBatches(Double)\"})\n" +
		"for i := int64(1); i <= 5; i++ {\n" +
		"\tp.Update(0, display.OperatorState{Rows: i * 20, TotalRows: 100, ActiveTasks: 1})\n" +
		"\tp.Update(1, display.OperatorState{Rows: i * 10, TotalRows: 100, ActiveTasks: 2})\n" +
		"\ttime.Sleep(250 * time.Millisecond)\n" +
		"}\n" +
		"p.Update(0, display.OperatorState{Rows: 100, TotalRows: 100, Done: true})\n" +
		"p.Update(1, display.OperatorState{Rows: 100, TotalRows: 100, Done: true})\n" +
		"p.Finish(0)\n" +
		"gonbui.Sync()"})
	if err != nil {
		t.Fatalf("notebook run: %v\n%s", err, log)
	}
	outs := nb.Cells[0].Outputs
	if len(outs) != 1 {
		t.Fatalf("progress left %d outputs, want 1 updated in place: %+v", len(outs), outs)
	}
	html := outputText(nb.Cells[0])
	for _, want := range []string{"ReadCSV", "MapBatches(Double)", "execution finished in"} {
		if !strings.Contains(html, want) {
			t.Errorf("final progress output lacks %q:\n%s", want, html)
		}
	}
}
