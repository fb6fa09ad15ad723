//go:build !unix

package jupyter

import (
	"errors"
	"os"
	"syscall"
)

var interruptSignal = syscall.SIGINT

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup can only kill on this platform: there are no process groups
// to signal.
func signalGroup(pid int, sig syscall.Signal) error {
	if sig != syscall.SIGKILL {
		return errors.New("signals other than SIGKILL are not supported on this platform")
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

type proc struct{ pid int }

func (proc) alive() bool { return false }

func descendants(int) []proc { return nil }

func killAll(pid int, _ []proc) { _ = signalGroup(pid, syscall.SIGKILL) }
