package display

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// OperatorState is what an operator of a streaming execution has done so
// far, as its progress bar shows it.
type OperatorState struct {
	Rows          int64 // rows output so far
	TotalRows     int64 // rows expected in all; 0 when unknown
	ActiveTasks   int   // tasks running now
	QueuedBlocks  int   // blocks waiting for this operator
	Backpressured bool  // held back because downstream or memory is full
	Done          bool  // no more output: the bar is full even if TotalRows was not reached
}

// minRedraw is the shortest time between two redraws: about 5 a second
// looks live, while an executor that reports every block does not flood
// the notebook's websocket or the terminal.
const minRedraw = 200 * time.Millisecond

// Progress shows the progress of a streaming execution, as Ray Data does:
// the execution plan, then one bar per operator with its rows, rate,
// active tasks, queued blocks and backpressure.
//
// In a notebook the bars are one HTML block redrawn in place. In a
// terminal they are text lines redrawn in place; when Out is not a
// terminal only the plan and the final lines are written, so logs hold no
// intermediate states. Redraws are throttled to about 5 a second, with a
// trailing redraw so the last state always shows. It is safe for
// concurrent use.
type Progress struct {
	mu       sync.Mutex
	d        Display
	id       string // the notebook's transient display id
	title    string
	ops      []string
	states   []OperatorState
	start    time.Time
	last     time.Time   // last redraw
	pending  *time.Timer // trailing redraw of a throttled update
	lines    int         // bar lines on the terminal, to move back over
	finished bool
}

// NewProgress starts showing the progress of an execution whose operators
// are named in plan order, and draws the empty bars.
func NewProgress(d Display, title string, operators []string) *Progress {
	p := &Progress{d: d, id: newDisplayID(), title: title, ops: append([]string(nil), operators...),
		states: make([]OperatorState, len(operators))}
	p.start = d.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if d.HTML == nil {
		// The plan is written once, in every text mode: it is useful in
		// logs even before the execution ends.
		w := d.out()
		if title != "" {
			fmt.Fprintln(w, title)
		}
		fmt.Fprintln(w, p.planLine())
	}
	p.redraw(p.start, false, 0)
	return p
}

// newDisplayID returns a transient display id unique across programs:
// Jupyter updates every output with a given id, including those of cells
// run earlier, and each GoNB cell is a new program.
func newDisplayID() string {
	var b [8]byte
	rand.Read(b[:])
	return "goray-progress-" + hex.EncodeToString(b[:])
}

func (p *Progress) planLine() string {
	return "Execution plan: " + strings.Join(p.ops, " -> ")
}

// Update records the state of operator op, an index into the operators
// given to NewProgress, and redraws unless the last redraw was too recent.
// Out-of-range operators and updates after Finish are ignored.
func (p *Progress) Update(op int, s OperatorState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished || op < 0 || op >= len(p.states) {
		return
	}
	p.states[op] = s
	if !p.live() {
		return // drawn at Finish only
	}
	now := p.d.now()
	if wait := minRedraw - now.Sub(p.last); wait > 0 {
		if p.pending == nil {
			p.pending = time.AfterFunc(min(wait, minRedraw), p.flush)
		}
		return
	}
	p.redraw(now, false, now.Sub(p.start))
}

// live reports whether progress is drawn before Finish.
func (p *Progress) live() bool {
	if p.d.HTML != nil {
		return p.d.UpdateHTML != nil
	}
	return p.d.Terminal
}

// flush is the trailing redraw of throttled updates.
func (p *Progress) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil || p.finished {
		return
	}
	now := p.d.now()
	p.redraw(now, false, now.Sub(p.start))
}

// Finish draws the final state and "execution finished in N.NN seconds";
// elapsed is the execution's duration, which also gives the final rates
// (0 means the time since NewProgress). Later calls do nothing.
func (p *Progress) Finish(elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	if p.pending != nil {
		p.pending.Stop()
		p.pending = nil
	}
	if elapsed <= 0 {
		elapsed = p.d.now().Sub(p.start)
	}
	p.redraw(p.d.now(), true, elapsed)
}

// redraw shows the state after elapsed, the final one at Finish. It runs
// with p.mu held, so outputs never interleave.
func (p *Progress) redraw(now time.Time, final bool, elapsed time.Duration) {
	p.last = now
	if p.pending != nil {
		p.pending.Stop()
		p.pending = nil
	}
	switch {
	case p.d.HTML != nil:
		if p.d.UpdateHTML != nil {
			p.d.UpdateHTML(p.id, p.html(elapsed, final))
		} else if final {
			p.d.HTML(p.html(elapsed, true))
		}
	case p.d.Terminal:
		p.text(p.d.out(), elapsed, final, true)
	case final:
		p.text(p.d.out(), elapsed, true, false)
	}
}

// bar is one operator's figures, shared by the HTML and text forms.
type bar struct {
	name     string
	fraction float64 // of the bar filled, 0..1; -1 when unknown
	rows     string  // "400/1000 rows" or "400 rows"
	rate     string  // "250 rows/s"
	s        OperatorState
}

func (p *Progress) bars(elapsed time.Duration) []bar {
	out := make([]bar, len(p.ops))
	for i, name := range p.ops {
		s := p.states[i]
		b := bar{name: name, fraction: -1, s: s, rows: humanCount(s.Rows) + " rows"}
		if s.TotalRows > 0 {
			b.fraction = max(0, min(1, float64(s.Rows)/float64(s.TotalRows)))
			b.rows = humanCount(s.Rows) + "/" + humanCount(s.TotalRows) + " rows"
		}
		if s.Done {
			b.fraction = 1 // totals are often estimates (a filter drops rows)
		}
		if sec := elapsed.Seconds(); sec > 0 {
			r := float64(s.Rows) / sec
			if r >= 10 {
				b.rate = fmt.Sprintf("%s rows/s", humanCount(int64(r+0.5)))
			} else {
				b.rate = fmt.Sprintf("%.1f rows/s", r)
			}
		}
		out[i] = b
	}
	return out
}

// text writes the bars as lines. When redraw is set (a terminal) the
// cursor first moves back over the previous bars, with ANSI escapes.
func (p *Progress) text(w io.Writer, elapsed time.Duration, final, redraw bool) {
	var b strings.Builder
	if redraw && p.lines > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", p.lines)
	}
	const cells, maxName = 12, 24 // most lines fit in 80 columns
	width := 0
	for _, name := range p.ops {
		width = max(width, min(utf8.RuneCountInString(name), maxName))
	}
	for _, br := range p.bars(elapsed) {
		var l strings.Builder
		name := clip(br.name, maxName)
		l.WriteString(name + strings.Repeat(" ", width-utf8.RuneCountInString(name)))
		if br.fraction >= 0 {
			full := int(br.fraction * cells)
			fmt.Fprintf(&l, " %3.0f%% [%s%s]", br.fraction*100, strings.Repeat("#", full), strings.Repeat(".", cells-full))
		} else {
			fmt.Fprintf(&l, "      [%s]", strings.Repeat(".", cells))
		}
		l.WriteString(" " + br.rows)
		if br.rate != "" {
			l.WriteString(", " + br.rate)
		}
		if !final {
			// Backpressure, tasks and queues are momentary; at the end
			// they are noise.
			if br.s.Backpressured {
				l.WriteString(", backpressured")
			}
			fmt.Fprintf(&l, ", %s, %d queued", plural(br.s.ActiveTasks, "task"), br.s.QueuedBlocks)
		}
		if redraw {
			// A line that wraps would break the cursor arithmetic, and the
			// escape clears what is left of a longer old line.
			b.WriteString("\x1b[2K" + clip(l.String(), terminalWidth()-1))
		} else {
			b.WriteString(l.String())
		}
		b.WriteString("\n")
	}
	p.lines = len(p.ops)
	if final {
		fmt.Fprintf(&b, "execution finished in %.2f seconds\n", elapsed.Seconds())
	}
	io.WriteString(w, b.String())
}

// terminalWidth is $COLUMNS when the shell exports it, else 80.
func terminalWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 1 {
		return n
	}
	return 80
}

// progressCSS follows tableCSS: scoped, and translucent so both themes
// read it.
const progressCSS = `<style>
.goray-progress{margin:4px 0;font-size:13px}
.goray-progress .goray-title{font-weight:600}
.goray-progress .goray-plan{opacity:.8;margin-bottom:4px}
.goray-progress table{border-collapse:collapse;margin:0}
.goray-progress td{padding:1px 8px 1px 0;border:none;text-align:left;white-space:nowrap;font-variant-numeric:tabular-nums}
.goray-progress .goray-bar{width:160px;height:10px;background:rgba(127,127,127,.2);border-radius:3px;overflow:hidden}
.goray-progress .goray-bar>div{height:100%;background:var(--jp-brand-color1,#1976d2)}
.goray-progress .goray-bp{color:#e08a00;font-weight:600}
.goray-progress .goray-done{margin-top:4px}
</style>`

func (p *Progress) html(elapsed time.Duration, final bool) string {
	var b strings.Builder
	b.WriteString(`<div class="goray-progress">` + progressCSS)
	if p.title != "" {
		b.WriteString(`<div class="goray-title">` + html.EscapeString(p.title) + "</div>")
	}
	b.WriteString(`<div class="goray-plan">` + html.EscapeString(p.planLine()) + "</div><table>")
	for _, br := range p.bars(elapsed) {
		pct, fill := "", 0.0
		if br.fraction >= 0 {
			pct, fill = fmt.Sprintf("%.0f%%", br.fraction*100), br.fraction*100
		}
		fmt.Fprintf(&b, `<tr><td>%s</td><td><div class="goray-bar"><div style="width:%.1f%%"></div></div></td><td>%s</td><td>%s</td><td>%s</td>`,
			html.EscapeString(br.name), fill, pct, html.EscapeString(br.rows), html.EscapeString(br.rate))
		if !final {
			fmt.Fprintf(&b, "<td>%s</td><td>%d queued</td>", plural(br.s.ActiveTasks, "task"), br.s.QueuedBlocks)
			if br.s.Backpressured {
				b.WriteString(`<td class="goray-bp" title="held back: downstream or memory is full">backpressured</td>`)
			}
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	if final {
		fmt.Fprintf(&b, `<div class="goray-done">execution finished in %.2f seconds</div>`, elapsed.Seconds())
	}
	b.WriteString("</div>")
	return b.String()
}

// humanCount writes n exactly below 10,000, then with k, M or B and three
// significant digits, so that bars keep a steady width.
func humanCount(n int64) string {
	if n < 10000 && n > -10000 {
		return fmt.Sprint(n)
	}
	v := float64(n)
	for _, unit := range []string{"k", "M", "B"} {
		v /= 1000
		if v < 1000 && v > -1000 || unit == "B" {
			switch {
			case v >= 100 || v <= -100:
				return fmt.Sprintf("%.0f%s", v, unit)
			case v >= 10 || v <= -10:
				return fmt.Sprintf("%.1f%s", v, unit)
			}
			return fmt.Sprintf("%.2f%s", v, unit)
		}
	}
	return "" // not reached
}
