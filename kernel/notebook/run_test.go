package notebook

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/internal/kerneltest"
	"github.com/goray-dev/goray/kernel/jupyter"
)

func code(src string, tags ...string) *Cell {
	c := &Cell{CellType: Code, Source: src, Metadata: map[string]any{}}
	if len(tags) > 0 {
		list := make([]any, len(tags))
		for i, t := range tags {
			list[i] = t
		}
		c.Metadata["tags"] = list
	}
	return c
}

func text(outs []jupyter.Output) string {
	var b strings.Builder
	for _, o := range outs {
		b.WriteString(o.Text)
		for _, v := range o.Data {
			if s, ok := v.(string); ok {
				b.WriteString(s)
			}
		}
		b.WriteString(o.EValue)
	}
	return b.String()
}

func TestRun(t *testing.T) {
	spec := kerneltest.GonbSpec(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "test.ipynb")
	stale := 41
	nb := &Notebook{NBFormat: 4, NBFormatMinor: 5, Metadata: map[string]any{"custom": map[string]any{"keep": true}},
		Cells: []*Cell{
			{CellType: Markdown, Source: "# A test notebook", Metadata: map[string]any{}},
			// GoNB's `go get` after goimports needs the network; gonbui is
			// in the workspace already.
			code("%noautoget"),
			code("%%\nfmt.Println(\"hello\")\nfmt.Fprintln(os.Stderr, \"warn\")"),
			code("  \n"),
			// GoNB publishes display data from a pipe, asynchronously: without
			// gonbui.Sync, the last displays of a cell can come after the
			// kernel reported the cell done, or never.
			code("%%\ngonbui.UpdateHTML(\"progress\", \"step 1\")\ngonbui.Sync()"),
			code("%%\ngonbui.UpdateHTML(\"progress\", \"done\")\ngonbui.DisplayHTML(\"<b>hi</b>\")\ngonbui.Sync()"),
			code("%%\npanic(\"expected\")", TagRaisesException),
			code("%%\nfmt.Println(\"skipped\")", TagSkipExecution),
			code("!pwd"),
			code("%%\nundefinedThing()"),
			{CellType: Code, Source: "%%\nfmt.Println(\"never\")", ExecutionCount: &stale, Metadata: map[string]any{},
				Outputs: []jupyter.Output{{OutputType: "stream", Name: "stdout", Text: "old\n"}}},
		}}
	if err := nb.Write(path); err != nil {
		t.Fatal(err)
	}
	nb, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}

	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	err = Run(ctx, nb, RunOptions{Spec: spec, Dir: dir, CellTimeout: time.Minute, Log: &log})
	t.Logf("Run took %s; its log:\n%s", time.Since(start).Round(time.Millisecond), log.String())

	var ce *CellError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CellError", err)
	}
	if ce.Index != 9 || ce.Err != nil || ce.EValue == "" {
		t.Errorf("CellError = %+v, want the kernel's error of cell index 9", ce)
	}
	if msg := err.Error(); !strings.Contains(msg, "cell 10") || !strings.Contains(msg, "`undefinedThing()`") {
		t.Errorf("error %q does not name cell 10 and its first line", msg)
	}
	if err := nb.Write(path); err != nil {
		t.Fatal(err)
	}
	nb, err = Read(path)
	if err != nil {
		t.Fatal(err)
	}
	c := nb.Cells

	counts := []int{}
	for _, i := range []int{1, 2, 4, 5, 6, 8, 9} {
		if c[i].ExecutionCount == nil {
			t.Errorf("cell %d has no execution count", i)
			continue
		}
		counts = append(counts, *c[i].ExecutionCount)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] <= counts[i-1] {
			t.Errorf("execution counts %v do not increase", counts)
		}
	}
	var stdout, stderr string
	for _, o := range c[2].Outputs {
		if o.Name == "stdout" {
			stdout += o.Text
		} else {
			stderr += o.Text
		}
	}
	if stdout != "hello\n" || stderr != "warn\n" {
		t.Errorf("cell 2 streams: stdout %q, stderr %q", stdout, stderr)
	}
	if c[3].ExecutionCount != nil || len(c[3].Outputs) != 0 {
		t.Errorf("blank cell was run: %+v", c[3])
	}
	// The display of cell 4 was updated from cell 5, in place.
	if len(c[4].Outputs) != 1 || c[4].Outputs[0].Data["text/html"] != "done" {
		t.Errorf("cell 4 outputs = %+v, want the display updated to \"done\"", c[4].Outputs)
	}
	if len(c[5].Outputs) != 1 || c[5].Outputs[0].Data["text/html"] != "<b>hi</b>" {
		t.Errorf("cell 5 outputs = %+v, want only <b>hi</b>", c[5].Outputs)
	}
	if !strings.Contains(text(c[6].Outputs), "panic: expected") {
		t.Errorf("raises-exception cell outputs: %s", text(c[6].Outputs))
	}
	if c[7].ExecutionCount != nil || len(c[7].Outputs) != 0 {
		t.Errorf("skip-execution cell was run: %+v", c[7])
	}
	wd, _ := filepath.EvalSymlinks(dir)
	if got := strings.TrimSpace(text(c[8].Outputs)); got != wd && got != dir {
		t.Errorf("kernel working folder = %q, want the notebook's folder %q", got, dir)
	}
	if !strings.Contains(text(c[9].Outputs), "undefinedThing") {
		t.Errorf("failing cell outputs lack the compiler error: %s", text(c[9].Outputs))
	}
	if *c[10].ExecutionCount != stale || text(c[10].Outputs) != "old\n" {
		t.Errorf("cell after the failure was changed: %+v", c[10])
	}
	if li, _ := nb.Metadata["language_info"].(map[string]any); li["name"] != "go" {
		t.Errorf("language_info = %v", nb.Metadata["language_info"])
	}
	if _, ok := nb.Metadata["custom"]; !ok {
		t.Error("unknown metadata lost")
	}
	for _, want := range []string{"cell 3/11 `fmt.Println(\"hello\")` ... ok (", "cell 7/11 `panic(\"expected\")` ... error, as its tag raises-exception expects", "cell 10/11 `undefinedThing()` ... error ("} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestRunCellTimeout(t *testing.T) {
	nb := &Notebook{NBFormat: 4, NBFormatMinor: 5, Cells: []*Cell{
		code("%%\nfmt.Println(\"warm\")"),
		code("%%\nfor {}"),
		code("%%\nfmt.Println(\"after\")"),
	}}
	start := time.Now()
	err := Run(context.Background(), nb, RunOptions{Spec: kerneltest.GonbSpec(t), CellTimeout: 3 * time.Second})
	t.Logf("Run took %s: %v", time.Since(start).Round(time.Millisecond), err)
	var ce *CellError
	if !errors.As(err, &ce) || ce.Index != 1 || !errors.Is(err, jupyter.ErrCellTimeout) {
		t.Fatalf("err = %v, want a CellError for cell index 1 wrapping the cell timeout", err)
	}
	if !strings.Contains(err.Error(), "cell 2") || !strings.Contains(err.Error(), "interrupted after 3") {
		t.Errorf("error %q", err)
	}
	if nb.Cells[2].ExecutionCount != nil {
		t.Error("the run went on after the timeout")
	}
}

func TestRunStartFailure(t *testing.T) {
	nb := &Notebook{NBFormat: 4, Cells: []*Cell{code("1")}}
	spec := &kernel.Spec{Argv: []string{"/bin/sh", "-c", "echo no kernel here >&2; exit 1"}}
	err := Run(context.Background(), nb, RunOptions{Spec: spec})
	if err == nil || !strings.Contains(err.Error(), "no kernel here") {
		t.Fatalf("err = %v, want the kernel's stderr", err)
	}
	if err := Run(context.Background(), nb, RunOptions{}); err == nil {
		t.Error("Run without a kernelspec succeeded")
	}
}

func TestCellErrorMessage(t *testing.T) {
	e := &CellError{Index: 2, ExecutionCount: 5, Source: "%%\n\n  x := 1  \ny", EName: "ERROR", EValue: "exit status 2",
		Traceback: []string{"exit status 2"}, Stderr: "panic: boom"}
	want := "cell 3 (In [5]) `x := 1`: ERROR: exit status 2\nstderr:\npanic: boom"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	long := &CellError{Index: 0, Source: strings.Repeat("é", 80), Err: context.Canceled}
	if got := long.Error(); !strings.HasSuffix(got, "…`: context canceled") || !errors.Is(long, context.Canceled) {
		t.Errorf("Error() = %q", got)
	}
	if got := stderrTail([]jupyter.Output{{OutputType: "stream", Name: "stderr", Text: "a\n\x1b[7mb\x1b[0m\nc\n"}}, 2); got != "b\nc" {
		t.Errorf("stderrTail = %q", got)
	}
}
