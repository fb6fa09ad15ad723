//go:build unix

package jupyter

import (
	"errors"
	"syscall"
	"time"
)

var interruptSignal = syscall.SIGINT

// signalGroup sends sig to the process group that the kernel leads: the
// kernel was started with Setpgid, so its group id is its pid.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// killAll kills the kernel's process group, then the processes in
// others that are still the ones listed (some kernels start helpers, such
// as GoNB's gopls, in process groups of their own).
// It waits up to a second for those others to be gone: they are not our
// children, so there is no Wait for them.
func killAll(pid int, others []proc) {
	_ = signalGroup(pid, syscall.SIGKILL)
	for _, p := range others {
		if p.alive() {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	deadline := time.Now().Add(time.Second)
	for _, p := range others {
		for p.alive() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}
