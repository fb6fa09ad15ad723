package proxy

import (
	"encoding/json"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/goray-dev/goray/kernel/internal/wire"
)

const (
	// reportWait bounds how long a failed cell's execute_reply waits for
	// GoNB's error message, which GoNB publishes on iopub just before it
	// replies on shell: the reply carries the same improved report.
	reportWait = time.Second
	// killDelay is how long the processes of an interrupted cell have to
	// end after the interrupt, when the cell itself does not end first.
	killDelay = 1500 * time.Millisecond
	// maxStderr is how much of a cell's stderr the proxy keeps to explain
	// its failure: the end, where a panic is.
	maxStderr = 256 << 10
)

// cell is an execute_request on its way through the proxy.
type cell struct {
	msg         *wire.Message
	header      wire.Header
	stopOnError bool
	silent      bool
	sent        time.Time // when it went to GoNB

	mu         sync.Mutex
	stderr     []byte        // the end of what the cell wrote to stderr
	report     *errorReport  // the improved report of its failure
	reported   chan struct{} // closed once GoNB's error message was seen
	reportOnce sync.Once
	interrupts []*interruption
	// finished is set once finish has taken interrupts: an interrupt that
	// comes later is too late for this cell, and its snapshot could hold
	// the next cell's processes.
	finished bool
}

// interruption is an interrupt_request that arrived while the cell ran,
// with the processes GoNB had below it then.
type interruption struct {
	snapshot []proc
	once     sync.Once
}

// serve passes messages between Jupyter and GoNB until the proxy stops.
func (p *proxy) serve() {
	go p.pump(p.outer.shell, p.fromClientShell)
	go p.pump(p.outer.control, p.fromClientControl)
	go p.pump(p.outer.stdin, func(frames [][]byte) { p.send(p.inner.stdin, nil, frames) })
	go p.pump(p.inner.shell, p.fromKernelShell)
	go p.pump(p.inner.control, p.fromKernelControl)
	go p.pump(p.inner.stdin, func(frames [][]byte) { p.send(p.outer.stdin, nil, frames) })
	go p.pump(p.inner.iopub, p.fromKernelIOPub)
}

// pump hands every message s receives to handle, in order.
func (p *proxy) pump(s zmq4.Socket, handle func([][]byte)) {
	for {
		msg, err := s.Recv()
		if p.ctx.Err() != nil {
			return
		}
		if err != nil || msg.Type == zmq4.CmdMsg {
			continue
		}
		handle(msg.Frames)
	}
}

// heartbeat echoes Jupyter's pings from the start: the proxy is what
// Jupyter talks to.
func (p *proxy) heartbeat() {
	for {
		msg, err := p.outer.hb.Recv()
		if p.ctx.Err() != nil {
			return
		}
		if err != nil {
			continue
		}
		if err := p.outer.hb.Send(msg); err != nil && p.ctx.Err() == nil {
			p.log.Printf("heartbeat: %v", err)
		}
	}
}

// send sends frames on s, holding mu (if not nil) to serialize writers.
func (p *proxy) send(s zmq4.Socket, mu *sync.Mutex, frames [][]byte) {
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	if err := s.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil && p.ctx.Err() == nil {
		p.log.Printf("send: %v", err)
	}
}

// parseRequest parses and checks a message from Jupyter; it logs and
// drops what is malformed or badly signed, as a kernel does.
func (p *proxy) parseRequest(ch string, frames [][]byte) (*wire.Message, wire.Header, bool) {
	m, err := wire.Parse(frames)
	if err != nil {
		p.log.Printf("%s: dropped a message: %v", ch, err)
		return nil, wire.Header{}, false
	}
	if !p.signer.Verify(m) {
		p.log.Printf("%s: dropped a message with an invalid signature", ch)
		return nil, wire.Header{}, false
	}
	h, err := wire.ParseHeader(m.Header)
	if err != nil {
		p.log.Printf("%s: dropped a message: %v", ch, err)
		return nil, wire.Header{}, false
	}
	return m, h, true
}

func (p *proxy) fromClientShell(frames [][]byte) {
	m, h, ok := p.parseRequest("shell", frames)
	if !ok {
		return
	}
	switch h.MsgType {
	case "execute_request":
		p.enqueue(m, h)
	case "history_request":
		// GoNB keeps no history. JupyterLab waits for this reply.
		p.answer(m, "history_reply", map[string]any{"status": "ok", "history": []any{}})
	case "is_complete_request":
		var req struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(m.Content, &req)
		status, indent := isComplete(req.Code)
		content := map[string]any{"status": status}
		if status == "incomplete" {
			content["indent"] = indent
		}
		p.answer(m, "is_complete_reply", content)
	case "comm_info_request":
		// GoNB ignores it; the proxy saw every comm open and close.
		var req struct {
			TargetName string `json:"target_name"`
		}
		_ = json.Unmarshal(m.Content, &req)
		p.answer(m, "comm_info_reply", map[string]any{"status": "ok", "comms": p.openComms(req.TargetName)})
	default:
		switch h.MsgType {
		case "comm_open", "comm_close":
			p.trackComm(h.MsgType, m.Content)
		case "shutdown_request": // from clients older than protocol 5.0
			p.shutdownRequested.Store(true)
		}
		p.send(p.inner.shell, nil, frames)
	}
}

// answer replies to a request the proxy handles itself, inside the busy
// and idle statuses that every request gets.
func (p *proxy) answer(req *wire.Message, replyType string, content any) {
	p.publishStatus(req, "busy")
	p.reply(req, replyType, nil, content)
	p.publishStatus(req, "idle")
}

func (p *proxy) reply(req *wire.Message, replyType string, metadata, content any) {
	m, err := wire.NewReply(req, replyType, content)
	if err != nil {
		p.log.Printf("%s: %v", replyType, err)
		return
	}
	if metadata != nil {
		if m.Metadata, err = json.Marshal(metadata); err != nil {
			p.log.Printf("%s: %v", replyType, err)
			return
		}
	}
	p.signer.Sign(m)
	p.send(p.outer.shell, &p.outerShell, m.Frames())
}

func (p *proxy) publishStatus(req *wire.Message, state string) {
	m, err := wire.NewReply(req, "status", map[string]string{"execution_state": state})
	if err != nil {
		p.log.Printf("status: %v", err)
		return
	}
	m.Identities = [][]byte{[]byte("kernel.status")} // a PUB topic
	p.signer.Sign(m)
	p.send(p.outer.iopub, &p.outerIOPub, m.Frames())
}

// enqueue queues an execute_request: GoNB gets them one at a time, so
// that those behind a failed one can still be aborted.
func (p *proxy) enqueue(m *wire.Message, h wire.Header) {
	var req struct {
		Silent      bool  `json:"silent"`
		StopOnError *bool `json:"stop_on_error"`
	}
	_ = json.Unmarshal(m.Content, &req)
	c := &cell{
		msg:         m,
		header:      h,
		silent:      req.Silent,
		stopOnError: req.StopOnError == nil || *req.StopOnError, // the protocol's default
		reported:    make(chan struct{}),
	}
	p.mu.Lock()
	p.queue = append(p.queue, c)
	p.mu.Unlock()
	p.dispatch()
}

// dispatch sends the next queued execute_request to GoNB unless GoNB
// has one.
func (p *proxy) dispatch() {
	p.mu.Lock()
	if p.running != nil || len(p.queue) == 0 {
		p.mu.Unlock()
		return
	}
	c := p.queue[0]
	p.queue = p.queue[1:]
	p.running = c
	p.cells[c.header.MsgID] = c
	c.sent = time.Now()
	p.mu.Unlock()
	p.send(p.inner.shell, nil, c.msg.Frames())
}

func (p *proxy) fromKernelShell(frames [][]byte) {
	m, err := wire.Parse(frames)
	if err != nil {
		p.send(p.outer.shell, &p.outerShell, frames)
		return
	}
	h, err := wire.ParseHeader(m.Header)
	if err != nil {
		p.send(p.outer.shell, &p.outerShell, frames)
		return
	}
	parent, _ := wire.ParseHeader(m.ParentHeader)
	p.mu.Lock()
	c := p.running
	toControl := slices.Contains(p.control[:], parent.MsgID) && parent.MsgID != ""
	p.mu.Unlock()
	switch {
	case h.MsgType == "execute_reply" && c != nil && c.header.MsgID == parent.MsgID:
		p.finish(c, m)
	case toControl:
		// GoNB answers control requests on shell; the protocol, and
		// clients that wait for interrupt_reply or shutdown_reply, want
		// them on control.
		p.send(p.outer.control, &p.outerControl, frames)
	default:
		p.send(p.outer.shell, &p.outerShell, frames)
	}
	if h.MsgType == "shutdown_reply" {
		p.repliedOnce.Do(func() { close(p.replied) })
	}
}

// finish passes on the execute_reply m of the running cell c, improved
// like the error message before it; ends what an interrupt left of the
// cell; aborts what stop_on_error asks to; and sends GoNB the next cell.
func (p *proxy) finish(c *cell, m *wire.Message) {
	var st struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(m.Content, &st)
	failed := st.Status == "error"
	if failed {
		timer := time.NewTimer(reportWait)
		select {
		case <-c.reported:
		case <-timer.C:
		}
		timer.Stop()
		c.mu.Lock()
		r := c.report
		c.mu.Unlock()
		if r != nil {
			p.rewrite(m, *r)
		}
	}
	// The cell is over: what it started goes before its reply does.
	c.mu.Lock()
	interrupts := c.interrupts
	c.finished = true
	c.mu.Unlock()
	for _, it := range interrupts {
		p.kill(c, it)
	}

	// As ipykernel does: after a failure, the execute requests that
	// arrived before the reply went out are aborted. Only those of the
	// same session, so one client's failure does not cancel another's
	// work.
	var aborted []*cell
	p.mu.Lock()
	if failed && c.stopOnError && !c.silent {
		kept := p.queue[:0]
		for _, q := range p.queue {
			if q.header.Session == c.header.Session {
				aborted = append(aborted, q)
			} else {
				kept = append(kept, q)
			}
		}
		p.queue = kept
	}
	p.mu.Unlock()
	p.send(p.outer.shell, &p.outerShell, m.Frames())
	for _, a := range aborted {
		p.publishStatus(a.msg, "busy")
		p.reply(a.msg, "execute_reply", map[string]any{"status": "aborted"}, map[string]any{"status": "aborted"})
		p.publishStatus(a.msg, "idle")
	}
	p.mu.Lock()
	p.running = nil
	p.mu.Unlock()
	p.dispatch()
}

// rewrite replaces the error report in m's content and signs m again.
func (p *proxy) rewrite(m *wire.Message, r errorReport) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m.Content, &fields); err != nil {
		p.log.Printf("rewrite an error: %v", err)
		return
	}
	// Strings and string slices always encode.
	fields["ename"], _ = json.Marshal(r.EName)
	fields["evalue"], _ = json.Marshal(r.EValue)
	fields["traceback"], _ = json.Marshal(r.Traceback)
	content, err := json.Marshal(fields)
	if err != nil {
		p.log.Printf("rewrite an error: %v", err)
		return
	}
	m.Content = content
	p.signer.Sign(m)
}

func (p *proxy) fromClientControl(frames [][]byte) {
	_, h, ok := p.parseRequest("control", frames)
	if !ok {
		return
	}
	p.mu.Lock()
	p.control[p.nextCtl] = h.MsgID
	p.nextCtl = (p.nextCtl + 1) % len(p.control)
	p.mu.Unlock()
	switch h.MsgType {
	case "interrupt_request":
		p.interrupt()
	case "shutdown_request":
		p.shutdownRequested.Store(true)
	}
	p.send(p.inner.control, nil, frames)
}

// fromKernelControl passes on what GoNB sends on its control socket:
// nothing today (it answers control requests on shell, see
// fromKernelShell), but a later GoNB may.
func (p *proxy) fromKernelControl(frames [][]byte) {
	p.send(p.outer.control, &p.outerControl, frames)
	if m, err := wire.Parse(frames); err == nil {
		if h, err := wire.ParseHeader(m.Header); err == nil && h.MsgType == "shutdown_reply" {
			p.repliedOnce.Do(func() { close(p.replied) })
		}
	}
}

func (p *proxy) fromKernelIOPub(frames [][]byte) {
	m, err := wire.Parse(frames)
	if err != nil {
		p.send(p.outer.iopub, &p.outerIOPub, frames)
		return
	}
	// GoNB puts the identities of the request first, which start with
	// the proxy's own: Jupyter sees what GoNB alone would send.
	if len(m.Identities) > 0 && string(m.Identities[0]) == p.identity {
		m.Identities = m.Identities[1:]
	}
	if h, err := wire.ParseHeader(m.Header); err == nil {
		switch h.MsgType {
		case "stream", "error", "status":
			p.observe(m, h.MsgType)
		case "comm_open", "comm_close":
			p.trackComm(h.MsgType, m.Content)
		}
	}
	p.send(p.outer.iopub, &p.outerIOPub, m.Frames())
}

// observe follows the iopub messages of the cells: it keeps their
// stderr, improves their error reports and forgets them when idle.
func (p *proxy) observe(m *wire.Message, msgType string) {
	parent, err := wire.ParseHeader(m.ParentHeader)
	if err != nil {
		return
	}
	p.mu.Lock()
	c := p.cells[parent.MsgID]
	p.mu.Unlock()
	if c == nil {
		return
	}
	switch msgType {
	case "stream":
		var s struct {
			Name string `json:"name"`
			Text string `json:"text"`
		}
		if json.Unmarshal(m.Content, &s) == nil && s.Name == "stderr" {
			c.mu.Lock()
			c.stderr = append(c.stderr, s.Text...)
			if len(c.stderr) > 2*maxStderr {
				c.stderr = append(c.stderr[:0], c.stderr[len(c.stderr)-maxStderr:]...)
			}
			c.mu.Unlock()
		}
	case "error":
		var r errorReport
		if json.Unmarshal(m.Content, &r) == nil {
			c.mu.Lock()
			stderr := string(c.stderr)
			c.mu.Unlock()
			if better, ok := improve(r, stderr); ok {
				p.rewrite(m, better)
				c.mu.Lock()
				c.report = &better
				c.mu.Unlock()
			}
		}
		c.reportOnce.Do(func() { close(c.reported) })
	case "status":
		var s struct {
			State string `json:"execution_state"`
		}
		if json.Unmarshal(m.Content, &s) == nil && s.State == "idle" {
			p.mu.Lock()
			delete(p.cells, parent.MsgID)
			p.mu.Unlock()
		}
	}
}

// trackComm follows comm_open and comm_close from either side, to answer
// comm_info_request.
func (p *proxy) trackComm(msgType string, content []byte) {
	var c struct {
		CommID     string `json:"comm_id"`
		TargetName string `json:"target_name"`
	}
	if json.Unmarshal(content, &c) != nil || c.CommID == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if msgType == "comm_open" {
		p.comms[c.CommID] = c.TargetName
	} else {
		delete(p.comms, c.CommID)
	}
}

func (p *proxy) openComms(target string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]any)
	for id, name := range p.comms {
		if target == "" || name == target {
			out[id] = map[string]string{"target_name": name}
		}
	}
	return out
}

// interrupt notes the processes below GoNB, but gopls, before GoNB gets
// the interrupt_request: they are the running cell's (its program, what
// that started, a build), and they are killed when the cell ends or
// killDelay has passed, whichever comes first. GoNB itself only sends
// SIGINT to the cell's program.
func (p *proxy) interrupt() {
	p.mu.Lock()
	c := p.running
	p.mu.Unlock()
	if c == nil {
		return // no cell runs: nothing is a cell's to kill
	}
	it := &interruption{}
	for _, d := range readProcTable().descendants(isGopls, p.gonbPID) {
		it.snapshot = append(it.snapshot, d.proc)
	}
	c.mu.Lock()
	if c.finished {
		// The cell ended while the snapshot was taken: GoNB may run the
		// next one already, whose processes are not this interrupt's.
		c.mu.Unlock()
		return
	}
	c.interrupts = append(c.interrupts, it)
	c.mu.Unlock()
	time.AfterFunc(killDelay, func() { p.kill(c, it) })
}

// kill kills, once, what is left of interrupted cell c: the processes
// of the snapshot that still run and their descendants, and the orphans
// that came to the proxy since the cell started (their parent died) with
// their descendants. Orphans from before, such as a server a cell
// started with `!server &`, are left alone.
func (p *proxy) kill(c *cell, it *interruption) {
	it.once.Do(func() {
		t := readProcTable()
		seen := make(map[int]bool)
		var targets []proc
		add := func(root procInfo) {
			for _, d := range append([]procInfo{root}, t.descendants(isGopls, root.pid)...) {
				if !seen[d.pid] {
					seen[d.pid] = true
					targets = append(targets, d.proc)
				}
			}
		}
		for _, s := range it.snapshot {
			if info, ok := t.byPID[s.pid]; ok && info.start == s.start {
				add(info)
			}
		}
		// Start times are in 10 ms ticks: an orphan of an earlier cell
		// started at most in the tick when this one went to GoNB. Those
		// of this cell start a tick or two later: a cell compiles first.
		if sent, err := ticksAt(c.sent); err == nil {
			for _, pid := range t.children[os.Getpid()] {
				info := t.byPID[pid]
				if pid == p.gonbPID || pid == p.guardPID || isGopls(info) || info.start <= sent {
					continue
				}
				add(info)
			}
		}
		// Kill by pid only while the pid still names the process read
		// above (same start time): a pid reused since is someone else's.
		for _, d := range targets {
			d.kill()
		}
	})
}
