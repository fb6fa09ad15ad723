package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/goray-dev/goray/kernel/internal/wire"
)

// Supported reports whether Run works on this system.
const Supported = true

const (
	// stopGrace is how long GoNB has to exit after the proxy forwarded
	// SIGTERM or SIGHUP to it, before it is killed.
	stopGrace = 5 * time.Second
	// replyGrace is how long the proxy waits, once GoNB has exited after a
	// shutdown_request, for the shutdown_reply to be passed on.
	replyGrace = time.Second
	// reapGrace bounds the wait for killed descendants to be gone at exit.
	reapGrace = 2 * time.Second
)

// Run serves the kernel: it starts GoNB behind the proxy and returns
// GoNB's exit status once GoNB has exited (128+N if signal N killed it)
// and everything it started is gone. SIGTERM and SIGHUP are passed on to
// GoNB; SIGINT is ignored (interrupts come as interrupt_request
// messages). An error means the kernel could not start.
func Run(cfg Config) (int, error) {
	logw := cfg.Log
	if logw == nil {
		logw = os.Stderr
	}
	p := &proxy{
		log:      log.New(logw, "goray kernel proxy: ", 0),
		cells:    make(map[string]*cell),
		comms:    make(map[string]string),
		replied:  make(chan struct{}),
		identity: "goray-proxy-" + wire.NewID(),
	}
	outer, err := wire.ReadConnectionFile(cfg.ConnectionFile)
	if err != nil {
		return 0, err
	}
	if p.signer, err = wire.NewSigner(outer.SignatureScheme, outer.Key); err != nil {
		return 0, fmt.Errorf("connection file %s: %w", cfg.ConnectionFile, err)
	}

	// Before anything is started, so that no orphan escapes.
	if err := becomeSubreaper(); err != nil {
		p.log.Printf("cannot become a child subreaper (orphans of cells go to init): %v", err)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGCHLD)
	defer signal.Stop(sigs)

	tmp, err := os.MkdirTemp("", "goray-kernel-")
	if err != nil {
		return 0, fmt.Errorf("kernel folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	inner, innerFile, err := writeInnerConnection(outer, cfg.ConnectionFile, tmp)
	if err != nil {
		return 0, err
	}
	env := cfg.Env
	if cfg.Gopls != "" {
		if env, err = installGoplsShim(cfg, tmp, env); err != nil {
			return 0, err
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.ctx = ctx
	if err := p.bind(outer, logw); err != nil {
		p.closeSockets()
		return 0, err
	}
	defer p.closeSockets()
	go p.heartbeat()

	gonb := exec.Command(cfg.Gonb, append([]string{"--kernel", innerFile}, cfg.Args...)...)
	gonb.Env = env
	gonb.Stdin, gonb.Stdout, gonb.Stderr = os.Stdin, os.Stdout, os.Stderr
	// GoNB leads a process group of its own, with the cells it runs:
	// the guard kills that group if the proxy dies without cleaning up,
	// and GoNB itself dies with the proxy.
	gonb.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := gonb.Start(); err != nil {
		return 0, fmt.Errorf("start gonb: %w", err)
	}
	p.gonbPID = gonb.Process.Pid
	exited := make(chan struct{})
	go func() {
		_ = gonb.Wait()
		close(exited)
	}()
	if err := p.startGuard(cfg, tmp); err != nil {
		p.log.Printf("no guard (if the proxy is killed, cells may outlive it): %v", err)
	}

	p.inner = p.innerSockets()
	connected := make(chan error, 1)
	go func() { connected <- p.dial(inner) }()

	// Serve until GoNB exits.
	var stopTimer <-chan time.Time
	for done := false; !done; {
		select {
		case err := <-connected:
			if err != nil && ctx.Err() == nil {
				p.log.Printf("%v", err)
				_ = gonb.Process.Kill()
				continue
			}
			p.serve()
		case sig := <-sigs:
			switch sig {
			case syscall.SIGCHLD:
				p.reap()
			case syscall.SIGTERM, syscall.SIGHUP:
				_ = gonb.Process.Signal(sig)
				if stopTimer == nil {
					stopTimer = time.After(stopGrace)
				}
			}
		case <-stopTimer:
			p.log.Printf("gonb did not exit within %s of the signal: killing it", stopGrace)
			_ = gonb.Process.Kill()
		case <-exited:
			done = true
		}
	}

	if p.shutdownRequested.Load() {
		select {
		case <-p.replied:
		case <-time.After(replyGrace):
		}
	}
	cancel()
	p.killDescendants()
	return exitCode(gonb.ProcessState), nil
}

// writeInnerConnection writes GoNB's connection file: the same key and
// signature scheme as Jupyter's, new ports on 127.0.0.1. It has the same
// name as Jupyter's, from which GoNB takes the kernel id it gives its
// browser-side code.
func writeInnerConnection(outer *wire.ConnectionInfo, outerFile, dir string) (*wire.ConnectionInfo, string, error) {
	ports, err := wire.FreePorts(5)
	if err != nil {
		return nil, "", err
	}
	inner := &wire.ConnectionInfo{
		ShellPort:       ports[0],
		IOPubPort:       ports[1],
		StdinPort:       ports[2],
		ControlPort:     ports[3],
		HBPort:          ports[4],
		IP:              "127.0.0.1",
		Key:             outer.Key,
		Transport:       "tcp",
		SignatureScheme: outer.SignatureScheme,
		KernelName:      outer.KernelName,
	}
	path := filepath.Join(dir, filepath.Base(outerFile))
	if err := inner.Write(path); err != nil {
		return nil, "", err
	}
	return inner, path, nil
}

// installGoplsShim puts a gopls first on GoNB's PATH that is the proxy's
// own binary (see Helper) and tells it where the real gopls is.
func installGoplsShim(cfg Config, dir string, env []string) ([]string, error) {
	self := cfg.Self
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("gopls shim: %w", err)
		}
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		return nil, fmt.Errorf("gopls shim: %w", err)
	}
	if err := os.Symlink(self, filepath.Join(bin, goplsShim)); err != nil {
		return nil, fmt.Errorf("gopls shim: %w", err)
	}
	out := make([]string, 0, len(env)+2)
	path := bin
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH":
			path = bin + string(os.PathListSeparator) + v
			continue
		case realGoplsEnv:
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path, realGoplsEnv+"="+cfg.Gopls), nil
}

// startGuard starts the guard in GoNB's process group (see Helper); it
// removes dir if the proxy dies without doing it.
func (p *proxy) startGuard(cfg Config, dir string) error {
	self := cfg.Self
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return err
		}
	}
	cmd := &exec.Cmd{
		Path:   self,
		Args:   []string{guardName, strconv.Itoa(os.Getpid()), dir},
		Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pgid:      p.gonbPID,
			Pdeathsig: syscall.SIGTERM,
		},
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.guardPID = cmd.Process.Pid
	go func() { _ = cmd.Wait() }()
	return nil
}

// bind creates the sockets Jupyter connects to.
func (p *proxy) bind(ci *wire.ConnectionInfo, logw io.Writer) error {
	zlog := zmq4.WithLogger(log.New(logw, "goray kernel proxy: zmq: ", 0))
	p.outer = sockets{
		shell:   zmq4.NewRouter(p.ctx, zlog),
		control: zmq4.NewRouter(p.ctx, zlog),
		stdin:   zmq4.NewRouter(p.ctx, zlog),
		iopub:   zmq4.NewPub(p.ctx, zlog),
		hb:      zmq4.NewRep(p.ctx, zlog),
	}
	for _, b := range []struct {
		s    zmq4.Socket
		port int
		name string
	}{
		{p.outer.shell, ci.ShellPort, "shell"},
		{p.outer.control, ci.ControlPort, "control"},
		{p.outer.stdin, ci.StdinPort, "stdin"},
		{p.outer.iopub, ci.IOPubPort, "iopub"},
		{p.outer.hb, ci.HBPort, "heartbeat"},
	} {
		if err := b.s.Listen(ci.Endpoint(b.port)); err != nil {
			return fmt.Errorf("bind the %s socket: %w", b.name, err)
		}
	}
	return nil
}

// innerSockets creates the sockets that connect to GoNB's.
func (p *proxy) innerSockets() sockets {
	quiet := zmq4.WithLogger(log.New(io.Discard, "", 0))
	retry := []zmq4.Option{quiet, zmq4.WithDialerRetry(10 * time.Millisecond), zmq4.WithDialerMaxRetries(-1)}
	// GoNB sends input_request on stdin to the identity of the
	// execute_request's shell socket, so both have the same.
	// GoNB sends every reply on its shell socket, those to control
	// requests included: the control socket needs the same identity for
	// them to reach the proxy.
	withID := append(slices.Clip(retry), zmq4.WithID(zmq4.SocketIdentity(p.identity)))
	return sockets{
		shell:   zmq4.NewDealer(p.ctx, withID...),
		control: zmq4.NewDealer(p.ctx, withID...),
		stdin:   zmq4.NewDealer(p.ctx, withID...),
		iopub:   zmq4.NewSub(p.ctx, retry...),
	}
}

// dial connects to GoNB's sockets, retrying while GoNB starts, until
// they are all connected or the proxy stops.
func (p *proxy) dial(ci *wire.ConnectionInfo) error {
	if err := p.inner.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		return fmt.Errorf("subscribe to gonb's iopub: %w", err)
	}
	// IOPub first, so that its subscription is in place when requests go.
	for _, d := range []struct {
		s    zmq4.Socket
		port int
		name string
	}{
		{p.inner.iopub, ci.IOPubPort, "iopub"},
		{p.inner.shell, ci.ShellPort, "shell"},
		{p.inner.control, ci.ControlPort, "control"},
		{p.inner.stdin, ci.StdinPort, "stdin"},
	} {
		if err := d.s.Dial(ci.Endpoint(d.port)); err != nil {
			return fmt.Errorf("connect to gonb's %s socket: %w", d.name, err)
		}
	}
	return nil
}

func (p *proxy) closeSockets() {
	for _, s := range []zmq4.Socket{
		p.outer.shell, p.outer.control, p.outer.stdin, p.outer.iopub, p.outer.hb,
		p.inner.shell, p.inner.control, p.inner.stdin, p.inner.iopub,
	} {
		if s != nil {
			s.Close()
		}
	}
}

// reap waits for the orphans that ended as our children: os/exec waits
// for GoNB and the guard, nobody else for the rest.
func (p *proxy) reap() {
	self := os.Getpid()
	t := readProcTable()
	for _, pid := range t.children[self] {
		if pid == p.gonbPID || pid == p.guardPID || t.byPID[pid].state != 'Z' {
			continue
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}

// killDescendants kills every process below the proxy, which as a
// subreaper includes the orphans of everything GoNB ran, and waits a
// little for them to be gone.
func (p *proxy) killDescendants() {
	self := os.Getpid()
	var procs []proc
	for _, d := range readProcTable().descendants(nil, self) {
		procs = append(procs, d.proc)
		d.proc.kill() // checks the start time: the pid may be reused
	}
	deadline := time.Now().Add(reapGrace)
	for _, d := range procs {
		for d.alive() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	p.reap()
}

// exitCode is GoNB's exit status, or 128+N for a death by signal N, as
// shells report it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// proxy is a running kernel proxy.
type proxy struct {
	ctx      context.Context
	log      *log.Logger
	signer   wire.Signer
	identity string // of the inner shell and stdin sockets
	outer    sockets
	inner    sockets
	gonbPID  int
	guardPID int

	// outerShell, outerControl and outerIOPub serialize writes to those
	// sockets, which several goroutines send on.
	outerShell, outerControl, outerIOPub sync.Mutex

	mu      sync.Mutex
	queue   []*cell          // execute requests waiting for GoNB
	running *cell            // the execute request GoNB has
	cells   map[string]*cell // by msg_id, until GoNB reports them idle
	comms   map[string]string
	// control holds the msg_ids of the last control requests, whose
	// replies GoNB sends on shell.
	control [64]string
	nextCtl int

	shutdownRequested atomic.Bool
	replied           chan struct{} // closed once a shutdown_reply was passed on
	repliedOnce       sync.Once
}

// sockets are one side's sockets; the inner side has no heartbeat.
type sockets struct {
	shell, control, stdin, iopub, hb zmq4.Socket
}
