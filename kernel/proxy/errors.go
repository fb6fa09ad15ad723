package proxy

import (
	"fmt"
	"regexp"
	"strings"
)

// errorReport is what an iopub error message and an execute_reply with
// status "error" say about the failure.
type errorReport struct {
	EName     string   `json:"ename"`
	EValue    string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// maxTraceback bounds the stack lines copied into a report: a fatal
// error prints every goroutine, and the full text is on stderr anyway.
const maxTraceback = 200

var (
	exitStatus = regexp.MustCompile(`^exit status \d+$`)
	// cellLine is how GoNB (with -raw_error) starts the traceback entry of
	// a compiler message it could map to a cell: "Cell[3]: Line 7", or
	// "Cell Line 7" for a cell without an execution count.
	cellLine = regexp.MustCompile(`^Cell(\[\d+\]:)? Line \d+$`)
	ansi     = regexp.MustCompile("\x1b\\[[0-9;]*m")
	blanks   = regexp.MustCompile(`\n{3,}`)
)

// improve returns a more useful report than r, given what the cell wrote
// to stderr, and whether there is one. GoNB reports every failed run of
// a cell as "exit status N" and leaves the reason on stderr; and with
// -raw_error its compiler reports start with the build's "# package"
// line and carry the file's lines, not the cell's, in evalue.
func improve(r errorReport, stderr string) (errorReport, bool) {
	switch {
	case exitStatus.MatchString(r.EValue):
		return improveExit(r, stderr)
	case hasCellInfo(r.Traceback):
		return improveCompile(r), true
	}
	return r, false
}

// improveExit names the panic or fatal error that ended the cell's
// program, with its stack as the traceback. A program that exited on its
// own (log.Fatal, os.Exit) keeps its report, with the last lines of its
// stderr as the traceback.
func improveExit(r errorReport, stderr string) (errorReport, bool) {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	// GoNB appends the exit status (after "^C" when interrupted) to stderr.
	for n := len(lines); n > 0; n = len(lines) {
		last := strings.TrimSpace(lines[n-1])
		if last != "" && last != "^C" && last != r.EValue {
			break
		}
		lines = lines[:n-1]
	}
	if start, ename := panicStart(lines); start >= 0 {
		msg := []string{strings.TrimPrefix(lines[start], ename+": ")}
		// The value may span lines ("[recovered]" panics, multi-line
		// errors, "[signal SIGSEGV ...]"), up to the blank line before
		// the first goroutine.
		for _, l := range lines[start+1:] {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "goroutine ") {
				break
			}
			msg = append(msg, l)
		}
		tb := lines[start:]
		if len(tb) > maxTraceback {
			tb = append(tb[:maxTraceback:maxTraceback], fmt.Sprintf("... %d more lines on stderr", len(tb)-maxTraceback))
		}
		return errorReport{EName: ename, EValue: ansi.ReplaceAllString(strings.Join(msg, "\n"), ""), Traceback: tb}, true
	}
	var tail []string
	for i := len(lines) - 1; i >= 0 && len(tail) < 10; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			tail = append(tail, lines[i])
		}
	}
	if len(tail) == 0 {
		return r, false
	}
	for i, j := 0, len(tail)-1; i < j; i, j = i+1, j-1 {
		tail[i], tail[j] = tail[j], tail[i]
	}
	r.Traceback = append(tail, r.EValue)
	return r, true
}

// panicStart finds the line where the runtime's report of a panic or a
// fatal error begins: the last "panic: " or "fatal error: " line at the
// start of a line that a goroutine's stack follows. It returns -1 if
// there is none.
func panicStart(lines []string) (int, string) {
	stack := false
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(l, ":") {
			stack = true
			continue
		}
		if !stack {
			continue
		}
		for _, ename := range []string{"panic", "fatal error"} {
			if strings.HasPrefix(l, ename+": ") {
				return i, ename
			}
		}
	}
	return -1, ""
}

func hasCellInfo(tb []string) bool {
	for _, e := range tb {
		first, _, _ := strings.Cut(e, "\n")
		if cellLine.MatchString(first) {
			return true
		}
	}
	return false
}

// improveCompile tidies a -raw_error report of GoNB: the traceback loses
// the build's "# gonb_..." line, its empty entries, runs of blank lines in
// the code it quotes and the two lines GoNB wraps a %% cell in (they are
// not the user's, and the report is about the cell's lines), and evalue
// becomes
// one "Cell[N]: Line L: message" line per error, which is what a reader
// of nbclient's or goray's error message needs.
// mainWrapper is how GoNB opens the main function of a %% cell.
const mainWrapper = "func main() {\n\tflag.Parse()\n"

func improveCompile(r errorReport) errorReport {
	var tb, summary []string
	for _, e := range r.Traceback {
		e = blanks.ReplaceAllString(strings.TrimRight(e, "\n"), "\n\n")
		e = strings.Replace(e, "\n"+mainWrapper, "\n", 1)
		if strings.TrimSpace(e) == "" || strings.HasPrefix(e, "# ") && !strings.Contains(e, "\n") {
			continue
		}
		tb = append(tb, e)
		first, _, _ := strings.Cut(e, "\n")
		if !cellLine.MatchString(first) {
			continue
		}
		// The message is the entry's last line, after the code context.
		msg := e[strings.LastIndexByte(e, '\n')+1:]
		summary = append(summary, first+": "+ansi.ReplaceAllString(msg, ""))
	}
	return errorReport{EName: r.EName, EValue: strings.Join(summary, "\n"), Traceback: tb}
}
