package notebook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/jupyter"
)

// RunOptions configure Run.
type RunOptions struct {
	// Spec is the kernelspec of the kernel to run the notebook on.
	Spec *kernel.Spec
	// CellTimeout bounds each cell; zero means no limit. A cell that runs
	// longer is interrupted and the run stops.
	CellTimeout time.Duration
	// StartTimeout bounds the kernel's start (default 60 s).
	StartTimeout time.Duration
	// Dir is the kernel's working folder. Like nbclient, callers should
	// pass the notebook's folder, so that relative paths in cells work as
	// they do in Jupyter.
	Dir string
	// Log receives a progress line per code cell, such as
	// "cell 3/12 `fmt.Println(x)` ... ok (0.42 s)". Nil means none.
	Log io.Writer
	// KernelLog receives the kernel's own stdout and stderr. Nil means
	// they are kept only for the error of a kernel that fails.
	KernelLog io.Writer
}

// Cell tags with a meaning for Run, as in nbclient.
const (
	// TagRaisesException marks a cell expected to fail: its error does not
	// stop the run.
	TagRaisesException = "raises-exception"
	// TagSkipExecution marks a cell Run leaves alone.
	TagSkipExecution = "skip-execution"
)

// CellError reports the cell that stopped a run.
type CellError struct {
	// Index is the cell's position in Notebook.Cells, from 0.
	Index          int
	ExecutionCount int
	// Source is the cell's source.
	Source string
	// EName, EValue and Traceback are the error the kernel reported.
	EName     string
	EValue    string
	Traceback []string
	// Stderr is the end of what the cell wrote to stderr, which for Go
	// kernels often says more than the error itself (a panic's message).
	Stderr string
	// Err is set when the cell did not finish on its own: it was
	// interrupted (a *jupyter.InterruptedError) or the kernel died.
	Err error
}

func (e *CellError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cell %d", e.Index+1)
	if e.ExecutionCount > 0 {
		fmt.Fprintf(&b, " (In [%d])", e.ExecutionCount)
	}
	if line := firstLine(e.Source); line != "" {
		fmt.Fprintf(&b, " `%s`", line)
	}
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, ": %v", e.Err)
	default:
		b.WriteString(": ")
		if e.EName != "" {
			b.WriteString(e.EName + ": ")
		}
		b.WriteString(e.EValue)
		if tb := strings.Join(e.Traceback, "\n"); tb != "" && tb != e.EValue {
			b.WriteString("\n" + tb)
		}
	}
	if e.Stderr != "" {
		b.WriteString("\nstderr:\n" + e.Stderr)
	}
	return b.String()
}

func (e *CellError) Unwrap() error { return e.Err }

// Run executes the code cells of nb in order on a new kernel, replacing
// their outputs and execution counts, and records the kernel's
// language_info in the notebook's metadata. It stops at the first cell
// that fails and returns a *CellError for it; cells tagged
// "raises-exception" may fail without stopping the run, and cells tagged
// "skip-execution" or with blank source are skipped. The kernel is shut
// down whatever happens. nb keeps the outputs of the cells that ran even
// when Run fails.
func Run(ctx context.Context, nb *Notebook, opts RunOptions) (err error) {
	if opts.Spec == nil {
		return errors.New("notebook: run: no kernelspec")
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	client, err := jupyter.Start(ctx, opts.Spec, &jupyter.Options{
		Dir:          opts.Dir,
		Log:          opts.KernelLog,
		StartTimeout: opts.StartTimeout,
		CellTimeout:  opts.CellTimeout,
	})
	if err != nil {
		return fmt.Errorf("notebook: run: %w", err)
	}
	defer func() {
		// The kernel must go even when ctx has ended; give it its own time.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if serr := client.Shutdown(sctx); serr != nil && err == nil {
			err = fmt.Errorf("notebook: run: %w", serr)
		}
	}()
	if li, ok := client.KernelInfo()["language_info"]; ok {
		if nb.Metadata == nil {
			nb.Metadata = map[string]any{}
		}
		nb.Metadata["language_info"] = li
	}

	for i, cell := range nb.Cells {
		if cell.CellType != Code || strings.TrimSpace(cell.Source) == "" || cell.HasTag(TagSkipExecution) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("notebook: run: %w", err)
		}
		fmt.Fprintf(log, "cell %d/%d `%s` ... ", i+1, len(nb.Cells), firstLine(cell.Source))
		start := time.Now()
		reply, xerr := client.Execute(ctx, cell.Source, func(o jupyter.Output) {
			updateEarlierDisplays(nb.Cells[:i], o)
		})
		cell.Outputs, cell.ExecutionCount = reply.Outputs, nil
		if reply.ExecutionCount > 0 {
			n := reply.ExecutionCount
			cell.ExecutionCount = &n
		}
		took := fmt.Sprintf("(%.2f s)", time.Since(start).Seconds())
		failed := xerr != nil || reply.Status == "error" || reply.Status == "aborted"
		switch {
		case !failed:
			fmt.Fprintf(log, "ok %s\n", took)
			continue
		case xerr == nil && cell.HasTag(TagRaisesException):
			fmt.Fprintf(log, "error, as its tag %s expects %s\n", TagRaisesException, took)
			continue
		}
		cerr := &CellError{
			Index:          i,
			ExecutionCount: reply.ExecutionCount,
			Source:         cell.Source,
			EName:          reply.EName,
			EValue:         reply.EValue,
			Traceback:      reply.Traceback,
			Stderr:         stderrTail(reply.Outputs, 10),
			Err:            xerr,
		}
		if xerr == nil && reply.Status == "aborted" {
			cerr.EValue = "execution aborted by the kernel"
		}
		if cerr.EName == "" && cerr.EValue == "" {
			// Some kernels report the error on iopub only.
			for _, o := range reply.Outputs {
				if o.OutputType == "error" {
					cerr.EName, cerr.EValue, cerr.Traceback = o.EName, o.EValue, o.Traceback
				}
			}
		}
		if xerr != nil {
			fmt.Fprintf(log, "failed %s\n", took)
		} else {
			fmt.Fprintf(log, "error %s\n", took)
		}
		return cerr
	}
	return nil
}

// updateEarlierDisplays applies a display_data or update_display_data
// that names a display_id to the outputs of earlier cells that show it:
// as in nbclient, a display can be updated from any later cell. The
// running cell's own outputs are updated by the client.
func updateEarlierDisplays(cells []*Cell, o jupyter.Output) {
	if o.DisplayID == "" || (o.OutputType != "display_data" && o.OutputType != "update_display_data") {
		return
	}
	for _, c := range cells {
		for j := range c.Outputs {
			if c.Outputs[j].DisplayID == o.DisplayID {
				c.Outputs[j].Data, c.Outputs[j].Metadata = o.Data, o.Metadata
				if c.Outputs[j].Metadata == nil {
					c.Outputs[j].Metadata = map[string]any{}
				}
			}
		}
	}
}

// firstLine returns the first line of a cell worth showing: the first
// that is not blank and not GoNB's bare "%%" main-body marker.
func firstLine(src string) string {
	for line := range strings.Lines(src) {
		line = strings.TrimSpace(line)
		if line != "" && line != "%%" {
			if r := []rune(line); len(r) > 60 {
				line = string(r[:60]) + "…"
			}
			return line
		}
	}
	return ""
}

// ansiEscape matches the terminal colour codes kernels put in tracebacks.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// stderrTail returns the last n lines of the stderr stream in outs,
// without colour codes.
func stderrTail(outs []jupyter.Output, n int) string {
	var text string
	for _, o := range outs {
		if o.OutputType == "stream" && o.Name == "stderr" {
			text += o.Text
		}
	}
	text = ansiEscape.ReplaceAllString(text, "")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
