package display

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// HTMLer is implemented by values that have an HTML rendering for
// notebooks.
type HTMLer interface {
	HTML() string
}

// Display is where output goes: a notebook when HTML is set, else the
// plain-text writer Out. The zero value writes text to os.Stdout.
//
// It is a value, not package state, so that tests and embedding programs
// can choose the destination without touching anything global.
type Display struct {
	// HTML shows an HTML fragment as a new output of the running cell. A
	// non-nil HTML means a notebook is attached.
	HTML func(html string)

	// UpdateHTML creates or replaces the transient output block id; Progress
	// uses it to redraw in place. When nil, a notebook sees progress once,
	// at Finish.
	UpdateHTML func(id, html string)

	// Out receives plain text; nil means os.Stdout.
	Out io.Writer

	// Terminal says that Out is an interactive terminal, where progress
	// redraws its lines in place. Elsewhere (logs, pipes) only final lines
	// are written, so files do not fill with intermediate states.
	Terminal bool

	// Now is the clock Progress reads for rates and throttling; nil means
	// time.Now. Tests inject a fake one.
	Now func() time.Time
}

// Default returns the Display for this process: the notebook when it runs
// under GoNB (gonbui.IsNotebook), else os.Stdout, marked as a terminal
// when it is one.
func Default() Display {
	if gonbui.IsNotebook {
		return Display{HTML: notebookHTML, UpdateHTML: gonbui.UpdateHTML, Out: os.Stdout}
	}
	return Display{Out: os.Stdout, Terminal: isTerminal(os.Stdout)}
}

// notebookHTML shows html in order with the cell's text output: after the
// text printed before it, and (gonbui.Sync waits until GoNB has published
// it) before the text printed after it.
func notebookHTML(html string) {
	waitStdoutRead(250 * time.Millisecond)
	gonbui.DisplayHTML(html)
	gonbui.Sync()
}

// isTerminal reports whether f is a character device, which is how a
// terminal looks without a dependency on x/term.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Show displays v with the Default display.
func Show(v any) { Default().Show(v) }

// ShowTo writes v to w as plain text, as a terminal shows it.
func ShowTo(w io.Writer, v any) { Display{Out: w}.Show(v) }

// Show displays v: as HTML when a notebook is attached and v is an HTMLer,
// otherwise as text (its String method, or %v) followed by a newline.
func (d Display) Show(v any) {
	if h, ok := v.(HTMLer); ok && d.HTML != nil {
		d.HTML(h.HTML())
		return
	}
	// fmt uses String or Error when v has one and recovers from their
	// panics (a nil pointer, say), so bad values print rather than crash.
	fmt.Fprintln(d.out(), v)
}

func (d Display) out() io.Writer {
	if d.Out == nil {
		return os.Stdout
	}
	return d.Out
}

func (d Display) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}
