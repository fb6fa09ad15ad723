package jupyter

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr starts the kernel in a process group of its own, so that
// signals reach everything it runs, and has Linux kill it if we die.
// (Linux sends Pdeathsig when the thread that started the kernel exits;
// the Go runtime only ends threads that a goroutine left locked.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// proc identifies a process: a pid together with its start time, so that
// a pid reused by another process is not mistaken for it.
type proc struct {
	pid   int
	start string
}

// alive reports whether p still runs: a zombie, killed but not yet
// reaped by its parent, does not.
func (p proc) alive() bool {
	st, ok := readStat(p.pid)
	return ok && st.start == p.start && st.state != "Z" && st.state != "X"
}

type procStat struct {
	state string
	ppid  int
	start string
}

// readStat reads the parent pid and start time of pid from /proc.
func readStat(pid int) (procStat, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:]) // from field 3, the state
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, false
	}
	return procStat{state: f[0], ppid: ppid, start: f[19]}, true
}

// descendants lists the processes below pid.
func descendants(pid int) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := make(map[int][]proc)
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(p); ok {
			children[st.ppid] = append(children[st.ppid], proc{pid: p, start: st.start})
		}
	}
	var out []proc
	queue := []int{pid}
	for len(queue) > 0 {
		for _, ch := range children[queue[0]] {
			out = append(out, ch)
			queue = append(queue, ch.pid)
		}
		queue = queue[1:]
	}
	return out
}
