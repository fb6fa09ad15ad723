package proxy

import (
	"context"
	"io"
	"log"
	"os/exec"
	"testing"
	"time"
)

// An interrupt that comes as the running cell finishes must not be
// registered with it after finish took its interrupts: nothing would
// cancel its delayed kill, which would hit what the next cell started.
func TestInterruptAfterFinishIsDropped(t *testing.T) {
	// A stand-in for GoNB, with no children: the snapshot stays empty.
	gonb := exec.Command("sleep", "60")
	if err := gonb.Start(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = gonb.Process.Kill(); _ = gonb.Wait() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &cell{sent: time.Now(), reported: make(chan struct{})}
	p := &proxy{ctx: ctx, log: log.New(io.Discard, "", 0), gonbPID: gonb.Process.Pid, running: c}
	// As finish does before it lets the next cell go to GoNB.
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
	p.interrupt()
	c.mu.Lock()
	n := len(c.interrupts)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("interrupt registered %d interruptions with a finished cell", n)
	}
}
