package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Linux's prctl options that the syscall package does not name.
const prSetChildSubreaper = 36

// proc identifies a process: its pid with its start time, so that a pid
// the system reused for another process is not mistaken for it.
type proc struct {
	pid   int
	start uint64 // clock ticks after boot
}

// procInfo is what /proc/<pid>/stat says about a process.
type procInfo struct {
	proc
	ppid  int
	state byte
	comm  string
}

// readProc reads /proc/<pid>/stat.
func readProc(pid int) (procInfo, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	// The command name, field 2, is in parentheses and may hold anything.
	open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	f := bytes.Fields(raw[end+1:]) // from field 3, the state
	if len(f) < 20 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil || len(f[0]) != 1 {
		return procInfo{}, false
	}
	return procInfo{
		proc:  proc{pid: pid, start: start},
		ppid:  ppid,
		state: f[0][0],
		comm:  string(raw[open+1 : end]),
	}, true
}

// alive reports whether p still runs: a zombie does not.
func (p proc) alive() bool {
	info, ok := readProc(p.pid)
	return ok && info.start == p.start && info.state != 'Z' && info.state != 'X'
}

// kill sends SIGKILL to p if it is still the process it was.
func (p proc) kill() {
	if p.alive() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// procTable is every process of the system, at one moment.
type procTable struct {
	byPID    map[int]procInfo
	children map[int][]int
}

func readProcTable() procTable {
	t := procTable{byPID: make(map[int]procInfo), children: make(map[int][]int)}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return t
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if info, ok := readProc(pid); ok {
			t.byPID[pid] = info
			t.children[info.ppid] = append(t.children[info.ppid], pid)
		}
	}
	return t
}

// descendants lists the processes below the roots (not the roots), in
// breadth-first order, leaving out every process for which skip is true
// together with its own descendants.
func (t procTable) descendants(skip func(procInfo) bool, roots ...int) []procInfo {
	var out []procInfo
	queue := roots
	for len(queue) > 0 {
		for _, c := range t.children[queue[0]] {
			info := t.byPID[c]
			if skip != nil && skip(info) {
				continue
			}
			out = append(out, info)
			queue = append(queue, c)
		}
		queue = queue[1:]
	}
	return out
}

// isGopls reports gopls, which GoNB starts once and keeps for the
// kernel's life: it is no cell's work. Through the shim, its command
// name is gopls before and after the exec.
func isGopls(p procInfo) bool { return p.comm == "gopls" }

// ticksAt returns a clock tick count that no process started before
// time at can exceed, in the unit of a process's start time in /proc:
// clock ticks since boot, which Linux fixes at 100 a second (USER_HZ) on
// every architecture Go supports. /proc/uptime gives the time since boot
// in hundredths of a second, truncated: one more covers the truncation.
func ticksAt(at time.Time) (uint64, error) {
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(raw)
	if len(f) == 0 {
		return 0, errors.New("/proc/uptime: empty")
	}
	// Parsed as integers: a float would round 12345.67 down a tick.
	whole, frac, _ := bytes.Cut(f[0], []byte("."))
	secs, err1 := strconv.ParseUint(string(whole), 10, 64)
	hundredths, err2 := strconv.ParseUint((string(frac) + "00")[:2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/uptime: %q", f[0])
	}
	now := secs*100 + hundredths + 1
	ago := uint64(max(time.Since(at), 0) / (10 * time.Millisecond)) // rounded down: the bound stays an upper one
	if ago > now {
		return 0, nil
	}
	return now - ago, nil
}

// becomeSubreaper makes orphaned descendants our children rather than
// init's, so that we can find, reap and kill them.
func becomeSubreaper() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

// setParentDeathSignal has the kernel send sig to this process when its
// parent thread exits. It survives execve of a binary that is not
// set-user-ID.
func setParentDeathSignal(sig syscall.Signal) error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(sig), 0); errno != 0 {
		return errno
	}
	return nil
}
