package jupyter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/internal/kerneltest"
)

// startGoNB starts GoNB for a test and shuts it down at the end.
func startGoNB(t *testing.T, spec *kernel.Spec, opts *Options) *Client {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.Log == nil {
		opts.Log = testLog{t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	c, err := Start(ctx, spec, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("kernel started in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return c
}

// testLog sends the kernel's log to the test's log, shown on failure or
// with -v. Writes after the test ended are dropped.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	defer func() { recover() }() // t.Log panics once the test is over
	if testing.Verbose() {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func execute(t *testing.T, c *Client, code string) Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	r, err := c.Execute(ctx, code, nil)
	if err != nil {
		t.Fatalf("Execute(%q): %v", code, err)
	}
	t.Logf("Execute(%q): %s in %s", code, r.Status, time.Since(start).Round(time.Millisecond))
	return r
}

// allText returns the text of every output: streams, text MIME data,
// error values and tracebacks.
func allText(outs []Output) string {
	var b strings.Builder
	for _, o := range outs {
		b.WriteString(o.Text)
		for _, v := range o.Data {
			if s, ok := v.(string); ok {
				b.WriteString(s)
			}
		}
		b.WriteString(o.EValue)
		b.WriteString(strings.Join(o.Traceback, "\n"))
	}
	return b.String()
}

// checkNoLeaks waits for the goroutine count to come back to before.
func checkNoLeaks(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Shutdown, %d before:\n%s", runtime.NumGoroutine(), before, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

func TestKernelInfoAndShutdown(t *testing.T) {
	spec := kerneltest.GonbSpec(t)
	before := runtime.NumGoroutine()
	ctx := context.Background()
	c, err := Start(ctx, spec, &Options{Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	info := c.KernelInfo()
	if info["implementation"] != "gonb" {
		t.Errorf("implementation = %v, want gonb", info["implementation"])
	}
	li, _ := info["language_info"].(map[string]any)
	if li["name"] != "go" {
		t.Errorf("language_info.name = %v, want go", li["name"])
	}
	pid := c.Pid()
	children := descendants(pid)
	if len(children) == 0 {
		t.Error("GoNB runs gopls, but the kernel has no child process")
	}
	connDir := c.connDir
	if _, err := os.Stat(filepath.Join(connDir, "kernel.json")); err != nil {
		t.Errorf("connection file: %v", err)
	}
	fi, _ := os.Stat(filepath.Join(connDir, "kernel.json"))
	if fi != nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("connection file mode = %v, want 0600", fi.Mode().Perm())
	}

	start := time.Now()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("Shutdown took %s", time.Since(start).Round(time.Millisecond))
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if !processGone(pid) {
		t.Errorf("kernel process %d still exists after Shutdown", pid)
	}
	for _, p := range children {
		if p.alive() {
			t.Errorf("kernel child %d still runs after Shutdown", p.pid)
		}
	}
	if _, err := os.Stat(connDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("connection folder not removed: %v", err)
	}
	if _, err := c.Execute(ctx, "%%\n", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Execute after Shutdown: err = %v, want ErrClosed", err)
	}
	checkNoLeaks(t, before)
}

func TestExecuteStdoutStderr(t *testing.T) {
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	var events []Output
	r, err := c.Execute(context.Background(), "%%\nfmt.Println(\"hello\")\nfmt.Print(\"a\")\nfmt.Println(\"b\")\nfmt.Fprintln(os.Stderr, \"oops\")", func(o Output) {
		events = append(events, o)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "ok" || r.ExecutionCount != 1 {
		t.Errorf("reply = %+v, want status ok, execution count 1", r)
	}
	// GoNB copies the cell's stdout and stderr in two goroutines, so
	// their order is not kept; chunks of one stream in a row are merged.
	streams := map[string]string{}
	for i, o := range r.Outputs {
		if o.OutputType != "stream" {
			t.Errorf("unexpected output %+v", o)
			continue
		}
		if i > 0 && r.Outputs[i-1].Name == o.Name {
			t.Errorf("consecutive %s chunks not merged into one output: %+v", o.Name, r.Outputs)
		}
		streams[o.Name] += o.Text
	}
	if streams["stdout"] != "hello\nab\n" || streams["stderr"] != "oops\n" {
		t.Errorf("streams = %q", streams)
	}
	if len(events) == 0 {
		t.Error("onOutput was not called")
	}

	// The execution count goes on.
	if r := execute(t, c, "%%\nfmt.Println(1)"); r.ExecutionCount != 2 {
		t.Errorf("second cell: execution count %d, want 2", r.ExecutionCount)
	}
}

func TestExecuteCompileError(t *testing.T) {
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	r := execute(t, c, "%%\nx := 1\nundefinedThing()")
	if r.Status != "error" {
		t.Fatalf("status = %q, want error", r.Status)
	}
	if r.EValue == "" {
		t.Error("reply has no evalue")
	}
	var sawError bool
	for _, o := range r.Outputs {
		sawError = sawError || o.OutputType == "error"
	}
	if !sawError {
		t.Errorf("no error output in %+v", r.Outputs)
	}
	text := allText(r.Outputs)
	for _, want := range []string{"undefinedThing", "Line 3", "declared and not used: x", "Line 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("outputs lack %q:\n%s", want, text)
		}
	}
}

func TestExecutePanic(t *testing.T) {
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	r := execute(t, c, "%%\npanic(\"boom\")")
	if r.Status != "error" {
		t.Fatalf("status = %q, want error", r.Status)
	}
	text := allText(r.Outputs)
	for _, want := range []string{"panic: boom", "Line 2", "exit status 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("outputs lack %q:\n%s", want, text)
		}
	}
	// The kernel survives its cells.
	if r := execute(t, c, "%%\nfmt.Println(\"alive\")"); r.Status != "ok" {
		t.Errorf("cell after the panic: %+v", r)
	}
}

func TestExecuteTimeoutInterrupts(t *testing.T) {
	const timeout = 3 * time.Second
	c := startGoNB(t, kerneltest.GonbSpec(t), &Options{CellTimeout: timeout})
	// Build once, so the timed cell spends its time running, not compiling.
	execute(t, c, "%%\nfmt.Println(\"warm\")")

	start := time.Now()
	r, err := c.Execute(context.Background(), "%%\nfor {}", nil)
	took := time.Since(start)
	t.Logf("endless cell returned after %s: %v", took.Round(time.Millisecond), err)
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, ErrCellTimeout) {
		t.Fatalf("err = %v, want an *InterruptedError for the cell timeout", err)
	}
	if !ie.Finished {
		t.Error("the kernel did not finish the cell after the interrupt")
	}
	if !strings.Contains(err.Error(), "interrupted after 3") {
		t.Errorf("error %q does not say how long the cell ran", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("Execute returned after %s, want promptly after %s", took, timeout)
	}
	if r.Status != "error" {
		t.Errorf("reply status %q, want error", r.Status)
	}

	// Cancelling the context interrupts too.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = c.Execute(ctx, "%%\nfor {}", nil)
	if !errors.As(err, &ie) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want an *InterruptedError for the context", err)
	}

	// The kernel runs the next cell as usual.
	if r := execute(t, c, "%%\nfmt.Println(\"next\")"); r.Status != "ok" || allText(r.Outputs) != "next\n" {
		t.Errorf("next cell: %+v", r)
	}
}

func TestInterruptBySignal(t *testing.T) {
	spec := kerneltest.GonbSpec(t)
	spec.InterruptMode = "signal" // SIGINT to the process group
	c := startGoNB(t, spec, &Options{CellTimeout: 2 * time.Second})
	execute(t, c, "%%\nfmt.Println(\"warm\")")
	_, err := c.Execute(context.Background(), "%%\nfor {}", nil)
	var ie *InterruptedError
	if !errors.As(err, &ie) || !ie.Finished {
		t.Fatalf("err = %v, want a cell interrupted and finished", err)
	}
	if r := execute(t, c, "%%\nfmt.Println(\"next\")"); r.Status != "ok" {
		t.Errorf("next cell: %+v", r)
	}
}

func TestDisplayData(t *testing.T) {
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	// GoNB's `go get` after goimports needs the network; gonbui is in the
	// workspace already.
	execute(t, c, "%noautoget")
	// GoNB publishes display data from a pipe, asynchronously: without
	// gonbui.Sync, the last displays of a cell can come after the kernel
	// reported the cell done, or never.
	r := execute(t, c, "%%\ngonbui.DisplayHTML(\"<b>hi</b>\")\ngonbui.Sync()")
	if r.Status != "ok" || len(r.Outputs) != 1 {
		t.Fatalf("reply %+v, want one output", r)
	}
	o := r.Outputs[0]
	if o.OutputType != "display_data" || o.Data["text/html"] != "<b>hi</b>" {
		t.Errorf("output = %+v, want display_data of <b>hi</b>", o)
	}
}

func TestUpdateDisplayData(t *testing.T) {
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	execute(t, c, "%noautoget")
	var kinds []string
	r, err := c.Execute(context.Background(),
		"%%\ngonbui.UpdateHTML(\"counter\", \"one\")\nfmt.Println(\"between\")\ngonbui.UpdateHTML(\"counter\", \"two\")\ngonbui.Sync()",
		func(o Output) { kinds = append(kinds, o.OutputType) })
	if err != nil {
		t.Fatal(err)
	}
	var displays []Output
	for _, o := range r.Outputs {
		if o.OutputType == "display_data" {
			displays = append(displays, o)
		}
	}
	if len(displays) != 1 || displays[0].Data["text/html"] != "two" || displays[0].DisplayID != "counter" {
		t.Errorf("display outputs = %+v, want one showing \"two\"", displays)
	}
	if !strings.Contains(strings.Join(kinds, ","), "update_display_data") {
		t.Errorf("onOutput saw %v, want an update_display_data", kinds)
	}
}

func TestKernelDiesDuringExecute(t *testing.T) {
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	pid := c.Pid()
	children := c.children
	// `!` runs a shell whose parent is the kernel.
	_, err := c.Execute(context.Background(), "!kill -9 $PPID", nil)
	if !errors.Is(err, ErrKernelExited) {
		t.Fatalf("err = %v, want ErrKernelExited", err)
	}
	if !strings.Contains(err.Error(), "signal: killed") {
		t.Errorf("error %q does not say how the kernel ended", err)
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Error("kernel process still exists")
	}
	// Its gopls, in a process group of its own, was orphaned: Shutdown
	// still knew it from the start.
	for _, p := range children {
		if p.alive() {
			t.Errorf("orphaned child %d still runs", p.pid)
		}
	}
}

func TestInspectAndComplete(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: GoNB takes about 12 s to connect to gopls")
	}
	t.Parallel()
	c := startGoNB(t, kerneltest.GonbSpec(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := "%%\nfmt.Println(1)"
	ir, err := c.Inspect(ctx, code, strings.Index(code, "Println")+2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ir.Status != "ok" || !ir.Found || !strings.Contains(allText([]Output{{Data: ir.Data}}), "Println") {
		t.Errorf("inspect_reply = %+v", ir)
	}
	code = "%%\nfmt.Printl"
	cr, err := c.Complete(ctx, code, len(code))
	if err != nil {
		t.Fatal(err)
	}
	if cr.Status != "ok" || cr.CursorEnd != len(code) {
		t.Errorf("complete_reply = %+v", cr)
	}
	t.Logf("completions of fmt.Printl: %v", cr.Matches)
}

func TestStartFailureReportsStderr(t *testing.T) {
	before := runtime.NumGoroutine()
	spec := &kernel.Spec{Argv: []string{"/bin/sh", "-c", "echo starting; echo 'cannot read {connection_file}' >&2; exit 3"}}
	start := time.Now()
	_, err := Start(context.Background(), spec, nil)
	if err == nil {
		t.Fatal("Start succeeded")
	}
	t.Logf("Start failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, ErrKernelExited) || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.Contains(err.Error(), "cannot read /") || !strings.Contains(err.Error(), "kernel.json") {
		t.Errorf("error %q lacks the exit status or the kernel's stderr", err)
	}
	checkNoLeaks(t, before)

	spec.Argv = []string{"/nonexistent/kernel", "{connection_file}"}
	if _, err := Start(context.Background(), spec, nil); err == nil || !strings.Contains(err.Error(), "/nonexistent/kernel") {
		t.Errorf("missing binary: err = %v", err)
	}
	if _, err := Start(context.Background(), &kernel.Spec{}, nil); err == nil {
		t.Error("empty argv: no error")
	}
}

func TestStartTimeoutKillsKernel(t *testing.T) {
	before := runtime.NumGoroutine()
	pidFile := filepath.Join(t.TempDir(), "pid")
	spec := &kernel.Spec{Argv: []string{"/bin/sh", "-c", "echo $$ > " + pidFile + "; exec sleep 60"}}
	start := time.Now()
	_, err := Start(context.Background(), spec, &Options{StartTimeout: time.Second})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "within 1s") {
		t.Fatalf("err = %v, want a start timeout", err)
	}
	if took > 3*time.Second {
		t.Errorf("Start took %s with a 1 s timeout", took)
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, ch := range strings.TrimSpace(string(raw)) {
		pid = pid*10 + int(ch-'0')
	}
	if !processGone(pid) {
		t.Errorf("kernel %d still runs after the failed start", pid)
	}
	checkNoLeaks(t, before)

	// Cancelling the context stops the start as well.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := Start(ctx, spec, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled start: err = %v", err)
	}
}
