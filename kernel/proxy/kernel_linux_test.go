package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/internal/wire"
	"github.com/goray-dev/goray/kernel/jupyter"
)

// These tests start the real kernel: bin/goray kernel launch, built from
// this tree, serving GoNB through the proxy. They need `make tools`.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// layout builds the goray command into a temporary bin folder beside links
// to the tools `make tools` built, the layout an install has; under the
// race detector, goray is built with it too. It skips the test when the
// tools are missing.
func layout(t *testing.T) kernel.Layout {
	t.Helper()
	root := moduleRoot()
	for _, tool := range []string{"gonb", "goimports", "gopls"} {
		if _, err := os.Stat(filepath.Join(root, "bin", tool)); err != nil {
			t.Skipf("skipping: %s is missing (run `make tools`)", filepath.Join(root, "bin", tool))
		}
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "goray-proxy-test-"); buildErr != nil {
			return
		}
		for _, tool := range []string{"gonb", "goimports", "gopls"} {
			if buildErr = os.Symlink(filepath.Join(root, "bin", tool), filepath.Join(binDir, tool)); buildErr != nil {
				return
			}
		}
		args := []string{"build", "-o", filepath.Join(binDir, "goray")}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/goray-dev/goray/cmd/goray")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	l, err := kernel.DetectLayout(kernel.Layout{Module: root, BinDir: binDir})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testLog shows the kernel's output with -v, as long as the test runs.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	defer func() { recover() }() // t.Log panics once the test is over
	if testing.Verbose() {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func startClient(t *testing.T) *jupyter.Client {
	t.Helper()
	l := layout(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := jupyter.Start(ctx, l.Spec(), &jupyter.Options{Log: testLog{t}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(context.Background()) })
	return c
}

func execute(t *testing.T, c *jupyter.Client, code string) jupyter.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := c.Execute(ctx, code, nil)
	if err != nil {
		t.Fatalf("Execute(%q): %v", code, err)
	}
	return r
}

func errorOutput(t *testing.T, r jupyter.Reply) jupyter.Output {
	t.Helper()
	var errs []jupyter.Output
	for _, o := range r.Outputs {
		if o.OutputType == "error" {
			errs = append(errs, o)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("%d error outputs, want 1: %+v", len(errs), r.Outputs)
	}
	return errs[0]
}

func TestErrorOutputs(t *testing.T) {
	c := startClient(t)

	t.Run("panic", func(t *testing.T) {
		r := execute(t, c, "%%\nfmt.Println(\"before\")\npanic(\"goray test panic\")")
		o := errorOutput(t, r)
		// GoNB marks the cell line in a stack frame ("[[ Cell [N] Line 3 ]]")
		// only when the frame arrives in one read of the pipe, which load
		// can break: the frame itself is what must be there.
		stack := regexp.MustCompile(`\[\[ Cell \[` + strconv.Itoa(r.ExecutionCount) + `\] Line 3 \]\]|main\.go:\d+`)
		for _, e := range []struct {
			where         string
			ename, evalue string
			traceback     []string
		}{
			{"error output", o.EName, o.EValue, o.Traceback},
			{"execute_reply", r.EName, r.EValue, r.Traceback},
		} {
			if e.ename != "panic" || e.evalue != "goray test panic" {
				t.Errorf("%s: %q: %q, want panic: goray test panic", e.where, e.ename, e.evalue)
			}
			tb := strings.Join(e.traceback, "\n")
			if !strings.HasPrefix(tb, "panic: goray test panic\n") || !strings.Contains(tb, "goroutine 1 [running]:\nmain.main()") ||
				!stack.MatchString(tb) || strings.Contains(tb, "exit status") {
				t.Errorf("%s: traceback %q: want the panic and its stack mapped to the cell's line 3", e.where, tb)
			}
		}
	})

	t.Run("compile error", func(t *testing.T) {
		r := execute(t, c, "%%\nx := 1\ny := undefinedThing + x\nfmt.Println(y)")
		o := errorOutput(t, r)
		want := fmt.Sprintf("Cell[%d]: Line 3: undefined: undefinedThing", r.ExecutionCount)
		if r.Status != "error" || o.EValue != want || r.EValue != want {
			t.Errorf("evalue %q (reply %q, status %s), want %q", o.EValue, r.EValue, r.Status, want)
		}
		tb := strings.Join(o.Traceback, "\n")
		if !strings.HasPrefix(tb, fmt.Sprintf("Cell[%d]: Line 3\n", r.ExecutionCount)) ||
			!strings.Contains(tb, "y := undefinedThing + x\n") || !strings.HasSuffix(tb, "undefined: undefinedThing") {
			t.Errorf("traceback %q: want the cell's line, the code and the message", tb)
		}
	})

	t.Run("other errors unchanged", func(t *testing.T) {
		r := execute(t, c, "%cd /nonexistent-goray-test-dir")
		if o := errorOutput(t, r); o.EName != "ERROR" || !strings.Contains(o.EValue, "nonexistent-goray-test-dir") {
			t.Errorf("error output %q: %q", o.EName, o.EValue)
		}
	})

	t.Run("the kernel still works", func(t *testing.T) {
		if r := execute(t, c, "%%\nfmt.Println(\"ok\")"); r.Status != "ok" {
			t.Errorf("status %s", r.Status)
		}
	})
}

// rawKernel is a kernel started like Jupyter starts it, spoken to with
// raw messages: the requests and orders the client does not send.
type rawKernel struct {
	t       *testing.T
	cmd     *exec.Cmd
	exited  chan struct{}
	signer  wire.Signer
	session string
	shell   zmq4.Socket
	control zmq4.Socket
	stdin   zmq4.Socket
	iopub   zmq4.Socket
	hb      zmq4.Socket
	cancel  context.CancelFunc

	mu   sync.Mutex
	got  []rawMsg
	news chan struct{}
}

type rawMsg struct {
	channel string
	header  wire.Header
	parent  wire.Header
	content map[string]any
}

func startRaw(t *testing.T) *rawKernel {
	t.Helper()
	l := layout(t)
	ports, err := wire.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	key := wire.NewID()
	ci := &wire.ConnectionInfo{ShellPort: ports[0], IOPubPort: ports[1], StdinPort: ports[2], ControlPort: ports[3], HBPort: ports[4],
		IP: "127.0.0.1", Key: key, Transport: "tcp", SignatureScheme: "hmac-sha256", KernelName: "goray"}
	connFile := filepath.Join(t.TempDir(), "kernel-"+wire.NewID()+".json")
	if err := ci.Write(connFile); err != nil {
		t.Fatal(err)
	}
	k := &rawKernel{t: t, exited: make(chan struct{}), session: wire.NewID(), news: make(chan struct{}, 1)}
	k.signer, _ = wire.NewSigner(ci.SignatureScheme, key)
	argv := l.Spec().Command(connFile)
	k.cmd = exec.Command(argv[0], argv[1:]...)
	k.cmd.Dir = t.TempDir()
	k.cmd.Stdout, k.cmd.Stderr = testLog{t}, testLog{t}
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as jupyter_client does
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		k.cmd.Wait()
		close(k.exited)
	}()
	t.Cleanup(k.close)

	ctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	quiet := zmq4.WithLogger(log.New(io.Discard, "", 0))
	opts := []zmq4.Option{quiet, zmq4.WithDialerRetry(20 * time.Millisecond), zmq4.WithDialerMaxRetries(-1)}
	// As in jupyter_client, shell and stdin share the session's identity.
	id := zmq4.WithID(zmq4.SocketIdentity(k.session))
	k.shell = zmq4.NewDealer(ctx, append(opts, id)...)
	k.control = zmq4.NewDealer(ctx, opts...)
	k.stdin = zmq4.NewDealer(ctx, append(opts, id)...)
	k.iopub = zmq4.NewSub(ctx, opts...)
	k.iopub.SetOption(zmq4.OptionSubscribe, "")
	for _, d := range []struct {
		s    zmq4.Socket
		port int
		name string
	}{
		{k.iopub, ci.IOPubPort, "iopub"}, {k.shell, ci.ShellPort, "shell"}, {k.control, ci.ControlPort, "control"}, {k.stdin, ci.StdinPort, "stdin"}} {
		if err := d.s.Dial(ci.Endpoint(d.port)); err != nil {
			t.Fatal(err)
		}
		go k.read(ctx, d.name, d.s)
	}
	k.hb = zmq4.NewReq(ctx, opts...)
	if err := k.hb.Dial(ci.Endpoint(ci.HBPort)); err != nil {
		t.Fatal(err)
	}
	// Like jupyter_client: kernel_info_request until both its reply and
	// an iopub message for it come.
	deadline := time.Now().Add(time.Minute)
	for {
		id := k.send(k.shell, "kernel_info_request", map[string]any{}, "")
		if k.wait(500*time.Millisecond, func(m rawMsg) bool { return m.channel == "iopub" && m.parent.MsgID == id }) {
			k.wait(10*time.Second, func(m rawMsg) bool { return m.channel == "shell" && m.parent.MsgID == id })
			return k
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel did not answer kernel_info_request within a minute")
		}
	}
}

func (k *rawKernel) read(ctx context.Context, channel string, s zmq4.Socket) {
	for {
		zm, err := s.Recv()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			continue
		}
		m, err := wire.Parse(zm.Frames)
		if err != nil {
			k.t.Errorf("%s: %v", channel, err)
			continue
		}
		if !k.signer.Verify(m) {
			k.t.Errorf("%s: a message with a bad signature", channel)
		}
		rm := rawMsg{channel: channel}
		rm.header, _ = wire.ParseHeader(m.Header)
		rm.parent, _ = wire.ParseHeader(m.ParentHeader)
		json.Unmarshal(m.Content, &rm.content)
		k.mu.Lock()
		k.got = append(k.got, rm)
		k.mu.Unlock()
		select {
		case k.news <- struct{}{}:
		default:
		}
	}
}

// send sends a request in session (empty: the kernel's default session)
// and returns its msg_id.
func (k *rawKernel) send(s zmq4.Socket, msgType string, content any, session string) string {
	k.t.Helper()
	if session == "" {
		session = k.session
	}
	m, err := wire.NewRequest(session, "test", msgType, content)
	if err != nil {
		k.t.Fatal(err)
	}
	k.signer.Sign(m)
	if err := s.SendMulti(zmq4.NewMsgFrom(m.Frames()...)); err != nil {
		k.t.Fatal(err)
	}
	h, _ := wire.ParseHeader(m.Header)
	return h.MsgID
}

// wait waits until a received message satisfies ok.
func (k *rawKernel) wait(timeout time.Duration, ok func(rawMsg) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		found := slices.ContainsFunc(k.got, ok)
		k.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-k.news:
		case <-deadline.C:
			return false
		case <-k.exited:
			return false
		}
	}
}

// reply waits for the reply to request id and for the kernel to report
// itself idle for it; it returns the reply and the iopub messages about
// the request, statuses written as "status:busy".
func (k *rawKernel) reply(id string, timeout time.Duration) (rawMsg, []string) {
	k.t.Helper()
	isReply := func(m rawMsg) bool { return (m.channel == "shell" || m.channel == "control") && m.parent.MsgID == id }
	isIdle := func(m rawMsg) bool {
		return m.channel == "iopub" && m.parent.MsgID == id && m.header.MsgType == "status" && m.content["execution_state"] == "idle"
	}
	if !k.wait(timeout, isReply) || !k.wait(timeout, isIdle) {
		k.t.Fatalf("no reply and idle status for request %s within %s", id, timeout)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var reply rawMsg
	var iopub []string
	for _, m := range k.got {
		switch {
		case isReply(m):
			reply = m
		case m.channel == "iopub" && m.parent.MsgID == id:
			typ := m.header.MsgType
			if typ == "status" {
				typ += ":" + m.content["execution_state"].(string)
			}
			iopub = append(iopub, typ)
		}
	}
	return reply, iopub
}

func (k *rawKernel) execute(code string, stopOnError bool, session string) string {
	return k.send(k.shell, "execute_request", map[string]any{"code": code, "silent": false, "store_history": true,
		"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": stopOnError}, session)
}

func (k *rawKernel) close() {
	select {
	case <-k.exited:
	default:
		syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.exited
	}
	k.cancel()
	for _, s := range []zmq4.Socket{k.shell, k.control, k.stdin, k.iopub, k.hb} {
		s.Close()
	}
}

func TestRequestsGoNBIgnores(t *testing.T) {
	k := startRaw(t)
	busyIdle := []string{"status:busy", "status:idle"}

	r, iopub := k.reply(k.send(k.shell, "history_request", map[string]any{"output": false, "raw": true, "hist_access_type": "tail", "n": 10}, ""), 10*time.Second)
	if r.header.MsgType != "history_reply" || r.content["status"] != "ok" || len(r.content["history"].([]any)) != 0 || !slices.Equal(iopub, busyIdle) {
		t.Errorf("history: %s %v, iopub %q", r.header.MsgType, r.content, iopub)
	}
	if r.header.Session != k.session {
		t.Errorf("reply in session %q, want the request's %q", r.header.Session, k.session)
	}

	for code, want := range map[string]string{
		"func f() {":      "incomplete",
		"x := 1":          "complete",
		"fmt.Println(1))": "invalid",
	} {
		r, iopub := k.reply(k.send(k.shell, "is_complete_request", map[string]any{"code": code}, ""), 10*time.Second)
		if r.header.MsgType != "is_complete_reply" || r.content["status"] != want || !slices.Equal(iopub, busyIdle) {
			t.Errorf("is_complete(%q): %s %v, iopub %q; want %s", code, r.header.MsgType, r.content, iopub, want)
		}
		if want == "incomplete" && r.content["indent"] != "\t" {
			t.Errorf("is_complete(%q): indent %q", code, r.content["indent"])
		}
	}

	r, iopub = k.reply(k.send(k.shell, "comm_info_request", map[string]any{}, ""), 10*time.Second)
	if comms, _ := r.content["comms"].(map[string]any); r.header.MsgType != "comm_info_reply" || r.content["status"] != "ok" ||
		comms == nil || !slices.Equal(iopub, busyIdle) {
		t.Errorf("comm_info: %s %v, iopub %q", r.header.MsgType, r.content, iopub)
	}
}

func TestStopOnErrorAbortsQueuedCells(t *testing.T) {
	k := startRaw(t)
	other := wire.NewID()
	// Back to back: the proxy has them all before the first one fails.
	fail := k.execute("%%\npanic(\"stop here\")", true, "")
	queued := k.execute("%%\nfmt.Println(\"must not run\")", true, "")
	otherSession := k.execute("%%\nfmt.Println(\"other session\")", true, other)

	r, _ := k.reply(fail, 3*time.Minute)
	if r.content["status"] != "error" || r.content["ename"] != "panic" {
		t.Fatalf("failing cell: %v", r.content)
	}
	r, iopub := k.reply(queued, time.Minute)
	if r.header.MsgType != "execute_reply" || r.content["status"] != "aborted" || !slices.Equal(iopub, []string{"status:busy", "status:idle"}) {
		t.Errorf("queued cell: %s %v, iopub %q; want aborted without running", r.header.MsgType, r.content, iopub)
	}
	r, iopub = k.reply(otherSession, time.Minute)
	if r.content["status"] != "ok" || !slices.Contains(iopub, "stream") {
		t.Errorf("another session's cell: %v, iopub %q; want it run", r.content, iopub)
	}

	// The abort ends with the queue: a cell sent now runs.
	r, _ = k.reply(k.execute("%%\nfmt.Println(\"after\")", true, ""), time.Minute)
	if r.content["status"] != "ok" {
		t.Errorf("cell after the abort: %v", r.content)
	}

	// Without stop_on_error, the queue goes on.
	fail = k.execute("%%\npanic(\"go on\")", false, "")
	next := k.execute("%%\nfmt.Println(\"runs\")", true, "")
	if r, _ := k.reply(fail, time.Minute); r.content["status"] != "error" {
		t.Errorf("failing cell: %v", r.content)
	}
	if r, _ := k.reply(next, time.Minute); r.content["status"] != "ok" {
		t.Errorf("cell after a failure without stop_on_error: %v", r.content)
	}
}

// Input requests reach the client that ran the cell, and its answer
// reaches the cell (GoNB prompts for the input of shell commands only);
// the heartbeat answers.
func TestStdinAndHeartbeat(t *testing.T) {
	k := startRaw(t)
	if err := k.hb.Send(zmq4.NewMsgString("ping")); err != nil {
		t.Fatal(err)
	}
	if pong, err := k.hb.Recv(); err != nil || string(pong.Bytes()) != "ping" {
		t.Errorf("heartbeat: %q, %v", pong.Bytes(), err)
	}

	id := k.send(k.shell, "execute_request", map[string]any{"code": "%with_inputs\n!read s && echo got $s",
		"silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": true, "stop_on_error": true}, "")
	var req rawMsg
	if !k.wait(3*time.Minute, func(m rawMsg) bool { req = m; return m.channel == "stdin" && m.parent.MsgID == id }) {
		t.Fatal("no input_request on stdin")
	}
	if req.header.MsgType != "input_request" {
		t.Fatalf("stdin: %s", req.header.MsgType)
	}
	// GoNB registers the input's recipient just after it sends
	// input_request, and drops input that comes before: answer as a
	// person would, not at once.
	time.Sleep(500 * time.Millisecond)
	k.send(k.stdin, "input_reply", map[string]any{"value": "hello"}, "")
	r, _ := k.reply(id, time.Minute)
	k.mu.Lock()
	defer k.mu.Unlock()
	var out string
	for _, m := range k.got {
		if m.channel == "iopub" && m.parent.MsgID == id && m.header.MsgType == "stream" {
			out += m.content["text"].(string)
		}
	}
	if r.content["status"] != "ok" || !strings.Contains(out, "got hello") {
		t.Errorf("cell: %v, stdout %q", r.content, out)
	}
}

// token is a sleep argument no other process uses.
func token() string { return fmt.Sprintf("3000.%09d", rand.IntN(1e9)) }

// sleepers lists the live processes running `sleep tok`.
func sleepers(tok string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if string(cmdline) == "sleep\x00"+tok+"\x00" && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// An interrupted cell's subprocesses end with it; a background process
// an earlier cell started on purpose survives, until the kernel exits.
func TestInterruptAndExitLeaveNoProcess(t *testing.T) {
	k := startRaw(t)
	server, sub := token(), token()
	t.Cleanup(func() {
		for _, pid := range append(sleepers(server), sleepers(sub)...) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	// setsid: in a session of its own, out of reach of any group kill, like
	// a daemon; the kernel must still find it at exit.
	r, _ := k.reply(k.execute("!setsid sleep "+server+" >/dev/null 2>&1 &", true, ""), time.Minute)
	if r.content["status"] != "ok" || !waitFor(5*time.Second, func() bool { return len(sleepers(server)) == 1 }) {
		t.Fatalf("background process: %v, sleepers %v", r.content, sleepers(server))
	}

	code := "%%\ncmd := exec.Command(\"sleep\", \"" + sub + "\")\nif err := cmd.Start(); err != nil { panic(err) }\nfor {}"
	id := k.execute(code, true, "")
	if !waitFor(3*time.Minute, func() bool { return len(sleepers(sub)) == 1 }) {
		t.Fatal("the cell's subprocess never started")
	}
	start := time.Now()
	k.send(k.control, "interrupt_request", map[string]any{}, "")
	if !waitFor(2*time.Second, func() bool { return len(sleepers(sub)) == 0 }) {
		t.Errorf("the cell's subprocess %v outlived the interrupt by 2 s", sleepers(sub))
	}
	if !k.wait(5*time.Second, func(m rawMsg) bool { return m.channel == "control" && m.header.MsgType == "interrupt_reply" }) {
		t.Error("no interrupt_reply on the control channel")
	}
	r, _ = k.reply(id, 10*time.Second)
	t.Logf("interrupted cell: %v after %s", r.content["evalue"], time.Since(start).Round(time.Millisecond))
	if r.content["status"] != "error" {
		t.Errorf("interrupted cell: %v", r.content)
	}
	if len(sleepers(server)) != 1 {
		t.Error("the interrupt killed a process an earlier cell started")
	}
	if r, _ := k.reply(k.execute("%%\nfmt.Println(1)", true, ""), time.Minute); r.content["status"] != "ok" {
		t.Errorf("cell after the interrupt: %v", r.content)
	}

	// A graceful shutdown: the kernel exits 0 and takes everything along.
	below := descendants(k.cmd.Process.Pid)
	k.send(k.control, "shutdown_request", map[string]any{"restart": false}, "")
	start = time.Now()
	select {
	case <-k.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the kernel did not exit within 10 s of shutdown_request")
	}
	t.Logf("the kernel exited %s after shutdown_request", time.Since(start).Round(time.Millisecond))
	if code := k.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	k.mu.Lock()
	replied := slices.ContainsFunc(k.got, func(m rawMsg) bool { return m.channel == "control" && m.header.MsgType == "shutdown_reply" })
	k.mu.Unlock()
	if !replied {
		t.Error("no shutdown_reply on the control channel before the kernel exited")
	}
	if pids := sleepers(server); len(pids) != 0 {
		t.Errorf("the background process %v outlived the kernel", pids)
	}
	for _, p := range below {
		if p.alive() {
			t.Errorf("%s (%d) outlived the kernel", p.comm, p.pid)
		}
	}
}

// A kernel killed with SIGKILL (its pid alone, not its group) takes GoNB,
// gopls, the running cell and the cell's subprocess along.
func TestKilledKernelLeavesNoProcess(t *testing.T) {
	c := startClient(t)
	sub := token()
	t.Cleanup(func() {
		for _, pid := range sleepers(sub) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	go c.Execute(context.Background(), "%%\ncmd := exec.Command(\"sleep\", \""+sub+"\")\nif err := cmd.Start(); err != nil { panic(err) }\nfor {}", nil)
	if !waitFor(3*time.Minute, func() bool { return len(sleepers(sub)) == 1 }) {
		t.Fatal("the cell's subprocess never started")
	}
	var below []process
	if !waitFor(30*time.Second, func() bool {
		below = descendants(c.Pid())
		return slices.ContainsFunc(below, func(p process) bool { return p.comm == "gopls" })
	}) {
		t.Fatalf("no gopls below the kernel: %v", below)
	}
	comms := make(map[string]bool)
	for _, p := range below {
		comms[p.comm] = true
	}
	for _, want := range []string{"gonb", "gopls", "sleep"} {
		if !comms[want] {
			t.Errorf("no %s below the kernel: %v", want, below)
		}
	}

	// GoNB's connection file is in the proxy's private folder, which holds
	// the key: it must go too.
	var private string
	for _, p := range below {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
		if args := strings.Split(string(cmdline), "\x00"); p.comm == "gonb" && len(args) > 2 && args[1] == "--kernel" {
			private = filepath.Dir(args[2])
		}
	}
	if fi, err := os.Stat(private); err != nil || !fi.IsDir() {
		t.Fatalf("no private folder %q for GoNB's connection file: %v", private, err)
	}

	if err := syscall.Kill(c.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := os.Stat(private); err == nil {
			t.Errorf("the private folder %s outlived the killed kernel", private)
		}
	}()
	if !waitFor(3*time.Second, func() bool { return !slices.ContainsFunc(below, process.alive) }) {
		for _, p := range below {
			if p.alive() {
				t.Errorf("%s (%d) outlived the killed kernel", p.comm, p.pid)
			}
		}
	}
}

// process is a process with its start time, so that a reused pid is not
// taken for it.
type process struct {
	pid   int
	start string
	comm  string
}

func (p process) alive() bool {
	q, ok := readProcess(p.pid)
	return ok && q.start == p.start && alive(p.pid)
}

func (p process) String() string { return fmt.Sprintf("%s(%d)", p.comm, p.pid) }

func readProcess(pid int) (process, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return process{}, false
	}
	s := string(raw)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	f := strings.Fields(s[end+1:])
	if open < 0 || len(f) < 20 {
		return process{}, false
	}
	return process{pid: pid, start: f[19], comm: s[open+1 : end]}, true
}

// descendants lists the processes below pid.
func descendants(pid int) []process {
	children := make(map[int][]int)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []process
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			if p, ok := readProcess(c); ok {
				out = append(out, p)
			}
			queue = append(queue, c)
		}
	}
	return out
}

// The launcher exits with GoNB's status, and fails clearly without a
// usable connection file.
func TestLaunchExitStatus(t *testing.T) {
	l := layout(t)
	fake := t.TempDir()
	for _, tool := range []string{"goimports", "gopls"} {
		if err := os.Symlink(filepath.Join(l.BinDir, tool), filepath.Join(fake, tool)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fake, "gonb"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ports, err := wire.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	ci := &wire.ConnectionInfo{ShellPort: ports[0], IOPubPort: ports[1], StdinPort: ports[2], ControlPort: ports[3], HBPort: ports[4],
		IP: "127.0.0.1", Key: "k", Transport: "tcp", SignatureScheme: "hmac-sha256"}
	connFile := filepath.Join(t.TempDir(), "kernel-1.json")
	if err := ci.Write(connFile); err != nil {
		t.Fatal(err)
	}
	launch := func(connFile string) (string, int) {
		cmd := exec.Command(filepath.Join(l.BinDir, "goray"), "kernel", "launch", "--module", l.Module, "--bin", fake, "--go", l.GoDir, connFile)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := launch(connFile); code != 3 {
		t.Errorf("exit status %d, want gonb's 3; output:\n%s", code, out)
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	if out, code := launch(missing); code != 1 || !strings.Contains(out, "kernel launch: connection file") || !strings.Contains(out, "missing.json") {
		t.Errorf("missing connection file: exit status %d, output %q", code, out)
	}
}
