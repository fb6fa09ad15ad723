package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/internal/wire"
)

// Options configure a Client. The zero value is ready to use.
type Options struct {
	// Dir is the kernel's working folder; empty means ours.
	Dir string
	// Log receives the kernel's stdout and stderr. Whatever it is, the
	// last lines are also kept for the error of a kernel that fails.
	Log io.Writer
	// StartTimeout bounds the wait for the kernel to answer its first
	// kernel_info_request (default 60 s).
	StartTimeout time.Duration
	// CellTimeout bounds every Execute; zero means no limit.
	CellTimeout time.Duration
	// InterruptGrace is how long Execute waits for the kernel to finish
	// the cell after interrupting it (default 10 s).
	InterruptGrace time.Duration
}

const (
	defaultStartTimeout   = 60 * time.Second
	defaultInterruptGrace = 10 * time.Second
	// shutdownGrace is how long the kernel has to exit after a
	// shutdown_request before its process group is killed.
	shutdownGrace = 5 * time.Second
	// kernelInfoRetry is how often kernel_info_request is resent while
	// starting: the first ones may go out before the kernel listens, or
	// their iopub status before our subscription reached the kernel.
	kernelInfoRetry = 500 * time.Millisecond
)

// ErrKernelExited reports a kernel process that exited while the client
// needed it.
var ErrKernelExited = errors.New("kernel exited")

// ErrClosed reports a call on a Client after Shutdown.
var ErrClosed = errors.New("jupyter: client is shut down")

// Client is a connection to a kernel process that it started. Its methods
// are safe for concurrent use; the kernel runs execute requests one at a
// time, in the order they were sent.
type Client struct {
	spec     *kernel.Spec
	opts     Options
	session  string
	username string
	signer   wire.Signer
	connDir  string // holds the connection file

	cmd     *exec.Cmd
	log     *logWriter
	exited  chan struct{} // closed once the process has exited
	waitErr error         // set before exited is closed

	sockets     map[channel]zmq4.Socket
	stopSockets context.CancelFunc
	readers     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]*inbox // by msg_id of the request waiting for answers
	closed  bool

	info map[string]any // content of the kernel_info_reply
	// children are the kernel's descendants once it was ready, such as
	// GoNB's gopls, which lives in a process group of its own: if the
	// kernel dies, Shutdown still knows them.
	children []proc

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start starts the kernel that spec describes and connects to it. It
// returns once the kernel has answered a kernel_info_request and its
// iopub messages reach us. ctx bounds the start only: the kernel lives
// until Shutdown, which the caller must call.
func Start(ctx context.Context, spec *kernel.Spec, opts *Options) (*Client, error) {
	if spec == nil || len(spec.Argv) == 0 {
		return nil, errors.New("jupyter: start kernel: empty kernelspec argv")
	}
	c := &Client{
		spec:     spec,
		session:  wire.NewID(),
		username: username(),
		exited:   make(chan struct{}),
		pending:  make(map[string]*inbox),
	}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.StartTimeout <= 0 {
		c.opts.StartTimeout = defaultStartTimeout
	}
	if c.opts.InterruptGrace <= 0 {
		c.opts.InterruptGrace = defaultInterruptGrace
	}
	c.log = &logWriter{w: c.opts.Log}

	name := spec.DisplayName
	if spec.Dir != "" {
		name = filepath.Base(spec.Dir)
	}
	ci, err := newConnectionInfo(name)
	if err != nil {
		return nil, fmt.Errorf("jupyter: start kernel: %w", err)
	}
	if c.signer, err = wire.NewSigner(ci.SignatureScheme, ci.Key); err != nil {
		return nil, fmt.Errorf("jupyter: start kernel: %w", err)
	}
	connFile, err := writeConnectionFile(ci)
	if err != nil {
		return nil, fmt.Errorf("jupyter: start kernel: %w", err)
	}
	c.connDir = filepath.Dir(connFile)

	if err := c.start(ctx, ci, connFile); err != nil {
		c.kill()
		return nil, fmt.Errorf("jupyter: start kernel %s: %w", spec.Argv[0], err)
	}
	return c, nil
}

func (c *Client) start(ctx context.Context, ci *wire.ConnectionInfo, connFile string) error {
	argv := c.spec.Command(connFile)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = mergeEnv(os.Environ(), c.spec.Env)
	cmd.Dir = c.opts.Dir
	// The same comparable writer for both makes os/exec copy them in one
	// goroutine, so the log keeps their interleaving.
	cmd.Stdout, cmd.Stderr = c.log, c.log
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the kernel's stdout must not keep Wait from
	// returning once the kernel itself has exited.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		close(c.exited)
		return err
	}
	c.cmd = cmd
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.StartTimeout, errStartTimeout)
	defer cancel()
	if err := c.connect(ctx, ci); err != nil {
		return err
	}
	if err := c.handshake(ctx); err != nil {
		return err
	}
	c.children = descendants(cmd.Process.Pid)
	return nil
}

// connect dials the kernel's sockets, retrying while the kernel starts.
func (c *Client) connect(ctx context.Context, ci *wire.ConnectionInfo) error {
	sockCtx, stop := context.WithCancel(context.Background())
	c.stopSockets = stop
	// zmq4 logs to stderr by default; its failures reach us as errors.
	quiet := zmq4.WithLogger(log.New(io.Discard, "", 0))
	common := []zmq4.Option{
		quiet,
		zmq4.WithDialerMaxRetries(-1), // until sockCtx is cancelled
		zmq4.WithDialerRetry(50 * time.Millisecond),
		zmq4.WithTimeout(30 * time.Second),
	}
	// The stdin socket must have the shell socket's identity: the
	// kernel sends input_request to the identity of the execute_request.
	withID := append(slices.Clip(common), zmq4.WithID(zmq4.SocketIdentity(c.session)))
	c.sockets = map[channel]zmq4.Socket{
		shellChannel:   zmq4.NewDealer(sockCtx, withID...),
		controlChannel: zmq4.NewDealer(sockCtx, common...),
		stdinChannel:   zmq4.NewDealer(sockCtx, withID...),
		iopubChannel:   zmq4.NewSub(sockCtx, common...),
	}
	if err := c.sockets[iopubChannel].SetOption(zmq4.OptionSubscribe, ""); err != nil {
		return fmt.Errorf("subscribe to iopub: %w", err)
	}
	ports := map[channel]int{
		shellChannel:   ci.ShellPort,
		controlChannel: ci.ControlPort,
		stdinChannel:   ci.StdinPort,
		iopubChannel:   ci.IOPubPort,
	}
	dialed := make(chan error, 1)
	go func() {
		for _, ch := range []channel{iopubChannel, shellChannel, controlChannel, stdinChannel} {
			if err := c.sockets[ch].Dial(ci.Endpoint(ports[ch])); err != nil {
				dialed <- fmt.Errorf("connect %s channel: %w", ch, err)
				return
			}
		}
		dialed <- nil
	}()
	var err error
	select {
	case err = <-dialed:
	case <-c.exited:
		stop()
		<-dialed
		err = c.exitError()
	case <-ctx.Done():
		stop()
		<-dialed
		err = c.startTimeoutError(ctx)
	}
	if err != nil {
		return err
	}
	for ch, s := range c.sockets {
		c.readers.Add(1)
		go c.read(sockCtx, ch, s)
	}
	return nil
}

// handshake sends kernel_info_request until the kernel has answered one
// on shell and published on iopub for one, as jupyter_client does: until
// then, the first outputs of a cell could be lost.
func (c *Client) handshake(ctx context.Context) error {
	box := newInbox()
	var ids []string
	defer func() { c.forget(ids...) }()
	send := func() error {
		m := &message{Header: c.newHeader("kernel_info_request")}
		ids = append(ids, m.Header.MsgID)
		if err := c.register(m.Header.MsgID, box); err != nil {
			return err
		}
		return c.send(shellChannel, m)
	}
	if err := send(); err != nil {
		return err
	}
	retry := time.NewTicker(kernelInfoRetry)
	defer retry.Stop()
	var replied, published bool
	for !replied || !published {
		select {
		case <-box.ready:
			for _, ev := range box.take() {
				if ev.err != nil {
					return ev.err
				}
				switch {
				case ev.ch == iopubChannel:
					published = true
				case ev.msg.Header.MsgType == "kernel_info_reply" && !replied:
					if err := json.Unmarshal(ev.msg.Content, &c.info); err != nil {
						return fmt.Errorf("kernel_info_reply: %w", err)
					}
					replied = true
				}
			}
		case <-retry.C:
			if err := send(); err != nil {
				return err
			}
		case <-c.exited:
			return c.exitError()
		case <-ctx.Done():
			return c.startTimeoutError(ctx)
		}
	}
	return nil
}

// errStartTimeout is the cause of the end of Start's context when
// Options.StartTimeout has passed.
var errStartTimeout = errors.New("start timeout")

// startTimeoutError describes why the start's ctx ended.
func (c *Client) startTimeoutError(ctx context.Context) error {
	if cause := context.Cause(ctx); !errors.Is(cause, errStartTimeout) {
		return cause
	}
	return fmt.Errorf("kernel did not answer kernel_info_request within %s%s",
		c.opts.StartTimeout, c.log.lastLines(20))
}

// exitError describes the exit of the kernel process, with its last
// lines of output. It must be called once c.exited is closed.
func (c *Client) exitError() error {
	status := "exit status 0"
	if c.waitErr != nil {
		status = c.waitErr.Error()
	}
	return fmt.Errorf("%w (%s)%s", ErrKernelExited, status, c.log.lastLines(20))
}

// KernelInfo returns the content of the kernel's kernel_info_reply:
// protocol_version, implementation, language_info, banner...
func (c *Client) KernelInfo() map[string]any {
	return c.info
}

// Pid returns the process id of the kernel.
func (c *Client) Pid() int {
	return c.cmd.Process.Pid
}

// Interrupt asks the kernel to stop what it runs: with an
// interrupt_request on the control channel when the kernelspec's
// interrupt_mode is "message", else with SIGINT to its process group.
func (c *Client) Interrupt() error {
	if c.spec.InterruptMode == "message" {
		m := &message{Header: c.newHeader("interrupt_request")}
		if err := c.send(controlChannel, m); err != nil {
			return fmt.Errorf("jupyter: interrupt: %w", err)
		}
		return nil
	}
	if err := signalGroup(c.cmd.Process.Pid, interruptSignal); err != nil {
		return fmt.Errorf("jupyter: interrupt: %w", err)
	}
	return nil
}

// Shutdown asks the kernel to exit with a shutdown_request on the control
// channel, gives it 5 seconds (less if ctx ends first), then kills its
// process group and whatever else it started. It closes the sockets and
// removes the connection file. Calling it again returns the first result.
func (c *Client) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() {
		c.shutdownErr = c.shutdown(ctx)
	})
	return c.shutdownErr
}

func (c *Client) shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	// Remember the kernel's descendants while they are still its own:
	// once it exits, they are orphans nobody knows about.
	children := append(descendants(c.cmd.Process.Pid), c.children...)
	select {
	case <-c.exited:
	default:
		m := &message{Header: c.newHeader("shutdown_request")}
		m.Content, _ = json.Marshal(map[string]any{"restart": false})
		if err := c.send(controlChannel, m); err == nil {
			timer := time.NewTimer(shutdownGrace)
			select {
			case <-c.exited:
			case <-timer.C:
			case <-ctx.Done():
			}
			timer.Stop()
		}
	}
	killAll(c.cmd.Process.Pid, children)
	<-c.exited
	c.closeSockets()
	if err := os.RemoveAll(c.connDir); err != nil {
		return fmt.Errorf("jupyter: shutdown: remove connection file: %w", err)
	}
	return nil
}

// kill ends a kernel whose start failed.
func (c *Client) kill() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if c.cmd != nil {
		killAll(c.cmd.Process.Pid, descendants(c.cmd.Process.Pid))
	}
	<-c.exited
	c.closeSockets()
	os.RemoveAll(c.connDir)
}

func (c *Client) closeSockets() {
	if c.stopSockets == nil {
		return
	}
	c.stopSockets()
	for _, s := range c.sockets {
		s.Close()
	}
	c.readers.Wait()
}

// send signs m and sends it on ch.
func (c *Client) send(ch channel, m *message) error {
	frames, err := encode(c.signer, m)
	if err != nil {
		return err
	}
	if err := c.sockets[ch].SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		return fmt.Errorf("send %s on %s channel: %w", m.Header.MsgType, ch, err)
	}
	return nil
}

// read receives the messages of one socket until it is closed, and hands
// each to the request it answers.
func (c *Client) read(ctx context.Context, ch channel, s zmq4.Socket) {
	defer c.readers.Done()
	for {
		zm, err := s.Recv()
		if ctx.Err() != nil {
			return
		}
		if err != nil || zm.Type == zmq4.CmdMsg {
			// A lost connection: the process watcher reports why.
			continue
		}
		m, err := decode(c.signer, ch, zm.Frames)
		c.dispatch(event{ch: ch, msg: m, err: err})
	}
}

// dispatch delivers ev to the request its message answers. An error that
// cannot be tied to a request goes to all of them: a message that fails
// its signature check means the connection cannot be trusted.
func (c *Client) dispatch(ev event) {
	c.mu.Lock()
	var boxes []*inbox
	if ev.msg != nil {
		if b := c.pending[ev.msg.ParentHeader.MsgID]; b != nil {
			boxes = append(boxes, b)
		}
	}
	if ev.err != nil && len(boxes) == 0 {
		seen := make(map[*inbox]bool)
		for _, b := range c.pending {
			if !seen[b] {
				seen[b] = true
				boxes = append(boxes, b)
			}
		}
		if len(boxes) == 0 {
			fmt.Fprintf(c.log, "jupyter: dropped a message: %v\n", ev.err)
		}
	}
	c.mu.Unlock()
	for _, b := range boxes {
		b.put(ev)
	}
}

// register makes the answers to request id go to b.
func (c *Client) register(id string, b *inbox) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.pending[id] = b
	return nil
}

func (c *Client) forget(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.pending, id)
	}
}

// request sends a request of type msgType on ch and returns its reply.
func (c *Client) request(ctx context.Context, ch channel, msgType string, content any) (*message, error) {
	m := &message{Header: c.newHeader(msgType)}
	var err error
	if m.Content, err = json.Marshal(content); err != nil {
		return nil, fmt.Errorf("jupyter: %s: %w", msgType, err)
	}
	box := newInbox()
	if err := c.register(m.Header.MsgID, box); err != nil {
		return nil, err
	}
	defer c.forget(m.Header.MsgID)
	if err := c.send(ch, m); err != nil {
		return nil, fmt.Errorf("jupyter: %w", err)
	}
	for {
		select {
		case <-box.ready:
			for _, ev := range box.take() {
				if ev.err != nil {
					return nil, fmt.Errorf("jupyter: %s: %w", msgType, ev.err)
				}
				if ev.ch == ch {
					return ev.msg, nil
				}
			}
		case <-c.exited:
			return nil, fmt.Errorf("jupyter: %s: %w", msgType, c.exitError())
		case <-ctx.Done():
			return nil, fmt.Errorf("jupyter: %s: %w", msgType, ctx.Err())
		}
	}
}

// CompleteReply is the content of a complete_reply.
type CompleteReply struct {
	Status      string         `json:"status"`
	Matches     []string       `json:"matches"`
	CursorStart int            `json:"cursor_start"`
	CursorEnd   int            `json:"cursor_end"`
	Metadata    map[string]any `json:"metadata"`
}

// Complete asks the kernel for completions of code at cursorPos (in
// Unicode code points).
func (c *Client) Complete(ctx context.Context, code string, cursorPos int) (CompleteReply, error) {
	var r CompleteReply
	m, err := c.request(ctx, shellChannel, "complete_request",
		map[string]any{"code": code, "cursor_pos": cursorPos})
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(m.Content, &r); err != nil {
		return r, fmt.Errorf("jupyter: complete_reply: %w", err)
	}
	return r, nil
}

// InspectReply is the content of an inspect_reply.
type InspectReply struct {
	Status   string         `json:"status"`
	Found    bool           `json:"found"`
	Data     map[string]any `json:"data"`
	Metadata map[string]any `json:"metadata"`
}

// Inspect asks the kernel about the object at cursorPos in code;
// detailLevel is 0 or 1.
func (c *Client) Inspect(ctx context.Context, code string, cursorPos, detailLevel int) (InspectReply, error) {
	var r InspectReply
	m, err := c.request(ctx, shellChannel, "inspect_request",
		map[string]any{"code": code, "cursor_pos": cursorPos, "detail_level": detailLevel})
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(m.Content, &r); err != nil {
		return r, fmt.Errorf("jupyter: inspect_reply: %w", err)
	}
	return r, nil
}

// event is a message, or the error of one that could not be read,
// received on ch.
type event struct {
	ch  channel
	msg *message
	err error
}

// inbox collects the events for one request. put never blocks, so a slow
// caller cannot stall the socket readers.
type inbox struct {
	mu     sync.Mutex
	events []event
	ready  chan struct{} // holds a token while events is not empty
}

func newInbox() *inbox {
	return &inbox{ready: make(chan struct{}, 1)}
}

func (b *inbox) put(ev event) {
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []event {
	b.mu.Lock()
	defer b.mu.Unlock()
	evs := b.events
	b.events = nil
	return evs
}

// logWriter passes the kernel's output on to w and keeps its tail for
// error messages. It never fails: a failing Log must not break the
// kernel's stdout pipe.
type logWriter struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte
}

const logTail = 16 << 10

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, p...)
	if len(l.tail) > 2*logTail {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-logTail:]...)
	}
	if l.w != nil {
		l.w.Write(p)
	}
	return len(p), nil
}

// lastLines returns the last n lines the kernel wrote, indented, after a
// colon and a line break; or nothing if it wrote nothing.
func (l *logWriter) lastLines(n int) string {
	l.mu.Lock()
	text := strings.TrimRight(string(l.tail), "\n")
	l.mu.Unlock()
	if text == "" {
		return ""
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return ": kernel output:\n\t" + strings.Join(lines, "\n\t")
}

// mergeEnv returns base with env set over it, as Jupyter starts kernels:
// the kernelspec's values win. A value may refer to the environment as
// ${NAME}, which jupyter_client substitutes too.
func mergeEnv(base []string, env map[string]string) []string {
	if len(env) == 0 {
		return base
	}
	lookup := make(map[string]string, len(base))
	out := make([]string, 0, len(base)+len(env))
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		lookup[k] = v
		if _, override := env[k]; !override {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+expandEnv(env[k], lookup))
	}
	return out
}

// expandEnv replaces ${NAME} with the value of NAME in vars, leaving
// names that are not set untouched (Python's Template.safe_substitute).
func expandEnv(s string, vars map[string]string) string {
	var sb strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+2 : i+j]
		v, ok := vars[name]
		if !ok {
			v = s[i : i+j+1]
		}
		sb.WriteString(s[:i])
		sb.WriteString(v)
		s = s[i+j+1:]
	}
	sb.WriteString(s)
	return sb.String()
}

func username() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "goray"
}
