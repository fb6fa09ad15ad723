//go:build unix && !linux

package jupyter

import "syscall"

// sysProcAttr starts the kernel in a process group of its own, so that
// signals reach everything it runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// proc is a process the kernel started; only Linux lists them.
type proc struct{ pid int }

func (proc) alive() bool { return false }

func descendants(int) []proc { return nil }
