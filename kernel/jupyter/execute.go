package jupyter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Reply is the outcome of an execute request: the kernel's execute_reply
// and the outputs it published for the request.
type Reply struct {
	// Status is "ok", "error" or "aborted"; empty if no reply arrived.
	Status         string
	ExecutionCount int
	// EName, EValue and Traceback describe the error of status "error".
	EName     string
	EValue    string
	Traceback []string
	// Outputs are the cell's outputs as nbformat stores them.
	Outputs []Output
}

// ErrCellTimeout is the cause of an InterruptedError when the cell ran
// longer than Options.CellTimeout.
var ErrCellTimeout = errors.New("cell timeout")

// InterruptedError reports a cell that Execute interrupted, because it ran
// past its timeout or because its context ended.
type InterruptedError struct {
	// After is how long the cell had run when it was interrupted.
	After time.Duration
	// Cause is ErrCellTimeout (wrapped) or the context's error.
	Cause error
	// Finished says whether the kernel finished the cell within the grace
	// period after the interrupt; if not, it may still be running it.
	Finished bool
	// Grace is the grace period the kernel had.
	Grace time.Duration
}

func (e *InterruptedError) Error() string {
	s := fmt.Sprintf("cell interrupted after %s: %v", e.After.Round(10*time.Millisecond), e.Cause)
	if !e.Finished {
		s += fmt.Sprintf("; the kernel did not finish it within %s of the interrupt", e.Grace)
	}
	return s
}

func (e *InterruptedError) Unwrap() error { return e.Cause }

type executeRequest struct {
	Code            string         `json:"code"`
	Silent          bool           `json:"silent"`
	StoreHistory    bool           `json:"store_history"`
	UserExpressions map[string]any `json:"user_expressions"`
	AllowStdin      bool           `json:"allow_stdin"`
	StopOnError     bool           `json:"stop_on_error"`
}

// Execute runs code on the kernel and returns the reply and the outputs,
// once the kernel has both sent its execute_reply and reported itself
// idle on iopub, so no output is missed. onOutput, if not nil, sees each
// output as it arrives (see Output for the two non-output events).
//
// When ctx ends, or the cell runs past Options.CellTimeout, Execute
// interrupts the kernel, waits up to Options.InterruptGrace for the cell
// to finish, and returns what it has along with an *InterruptedError. A
// reply with status "error" is not an error of Execute: check
// Reply.Status.
func (c *Client) Execute(ctx context.Context, code string, onOutput func(Output)) (Reply, error) {
	var reply Reply
	req := executeRequest{
		Code:            code,
		StoreHistory:    true,
		UserExpressions: map[string]any{},
		StopOnError:     true,
	}
	m := &message{Header: c.newHeader("execute_request")}
	m.Content, _ = json.Marshal(req)
	box := newInbox()
	if err := c.register(m.Header.MsgID, box); err != nil {
		return reply, err
	}
	defer c.forget(m.Header.MsgID)
	start := time.Now()
	if err := c.send(shellChannel, m); err != nil {
		return reply, fmt.Errorf("jupyter: execute: %w", err)
	}

	var timeout <-chan time.Time
	if c.opts.CellTimeout > 0 {
		t := time.NewTimer(c.opts.CellTimeout)
		defer t.Stop()
		timeout = t.C
	}
	done := ctx.Done()
	var grace <-chan time.Time
	var interrupted *InterruptedError
	interrupt := func(cause error) {
		interrupted = &InterruptedError{After: time.Since(start), Cause: cause, Grace: c.opts.InterruptGrace}
		done, timeout = nil, nil
		wait := c.opts.InterruptGrace
		if err := c.Interrupt(); err != nil {
			wait = 0 // nothing will stop the cell: do not wait for it
		}
		grace = time.After(wait)
	}

	var outs outputs
	emit := func(o Output) {
		if onOutput != nil {
			onOutput(o)
		}
	}
	var replied, idle bool
	for !replied || !idle {
		select {
		case <-box.ready:
			for _, ev := range box.take() {
				if ev.err != nil {
					reply.Outputs = outs.list
					return reply, fmt.Errorf("jupyter: execute: %w", ev.err)
				}
				switch ev.ch {
				case shellChannel:
					if ev.msg.Header.MsgType != "execute_reply" {
						continue
					}
					if err := decodeReply(ev.msg, &reply); err != nil {
						reply.Outputs = outs.list
						return reply, err
					}
					replied = true
				case iopubChannel:
					st, err := outs.handle(ev.msg, emit)
					if err != nil {
						reply.Outputs = outs.list
						return reply, err
					}
					if st.count > 0 && reply.ExecutionCount == 0 {
						reply.ExecutionCount = st.count
					}
					idle = idle || st.idle
				}
			}
		case <-timeout:
			interrupt(fmt.Errorf("%w (%s)", ErrCellTimeout, c.opts.CellTimeout))
		case <-done:
			interrupt(ctx.Err())
		case <-grace:
			reply.Outputs = outs.list
			return reply, interrupted
		case <-c.exited:
			reply.Outputs = outs.list
			return reply, fmt.Errorf("jupyter: execute: %w", c.exitError())
		}
	}
	reply.Outputs = outs.list
	if interrupted != nil {
		interrupted.Finished = true
		return reply, interrupted
	}
	return reply, nil
}

func decodeReply(m *message, r *Reply) error {
	var content struct {
		Status         string   `json:"status"`
		ExecutionCount int      `json:"execution_count"`
		EName          string   `json:"ename"`
		EValue         string   `json:"evalue"`
		Traceback      []string `json:"traceback"`
	}
	if err := json.Unmarshal(m.Content, &content); err != nil {
		return fmt.Errorf("jupyter: execute_reply: %w", err)
	}
	r.Status = content.Status
	if content.ExecutionCount > 0 {
		r.ExecutionCount = content.ExecutionCount
	}
	r.EName, r.EValue, r.Traceback = content.EName, content.EValue, content.Traceback
	return nil
}

// outputs builds a cell's list of outputs from iopub messages, the way
// nbclient does.
type outputs struct {
	list []Output
	// clearPending is set by clear_output(wait=true): the outputs are
	// cleared when the next one arrives, which avoids flicker.
	clearPending bool
}

// iopubState is what an iopub message says about the request itself.
type iopubState struct {
	idle  bool // status idle: the kernel is done with the request
	count int  // execution count, from execute_input
}

type iopubContent struct {
	ExecutionState string         `json:"execution_state"`
	ExecutionCount *int           `json:"execution_count"`
	Name           string         `json:"name"`
	Text           string         `json:"text"`
	Data           map[string]any `json:"data"`
	Metadata       map[string]any `json:"metadata"`
	Transient      struct {
		DisplayID string `json:"display_id"`
	} `json:"transient"`
	EName     string   `json:"ename"`
	EValue    string   `json:"evalue"`
	Traceback []string `json:"traceback"`
	Wait      bool     `json:"wait"`
}

// handle applies one iopub message to the list, calling emit with the
// output or event it carries.
func (o *outputs) handle(m *message, emit func(Output)) (iopubState, error) {
	var st iopubState
	typ := m.Header.MsgType
	switch typ {
	case "status", "execute_input", "stream", "display_data", "update_display_data",
		"execute_result", "error", "clear_output":
	default:
		return st, nil // comm messages and the like: not outputs
	}
	var c iopubContent
	if err := json.Unmarshal(m.Content, &c); err != nil {
		return st, fmt.Errorf("jupyter: iopub %s: %w", typ, err)
	}
	switch typ {
	case "status":
		st.idle = c.ExecutionState == "idle"
		return st, nil
	case "execute_input":
		if c.ExecutionCount != nil {
			st.count = *c.ExecutionCount
		}
		return st, nil
	case "clear_output":
		if c.Wait {
			o.clearPending = true
		} else {
			o.clear(emit)
		}
		return st, nil
	case "update_display_data":
		out := Output{OutputType: typ, Data: c.Data, Metadata: c.Metadata, DisplayID: c.Transient.DisplayID}
		o.update(out)
		emit(out)
		return st, nil
	}

	if o.clearPending {
		o.clear(emit)
	}
	out := Output{OutputType: typ}
	switch typ {
	case "stream":
		out.Name, out.Text = c.Name, c.Text
		emit(out)
		// Consecutive chunks of one stream make one output, as in nbclient.
		if n := len(o.list); n > 0 && o.list[n-1].OutputType == "stream" && o.list[n-1].Name == c.Name {
			o.list[n-1].Text += c.Text
			return st, nil
		}
	case "display_data", "execute_result":
		out.Data, out.Metadata, out.DisplayID = c.Data, nonNil(c.Metadata), c.Transient.DisplayID
		out.ExecutionCount = c.ExecutionCount
		if typ == "display_data" {
			out.ExecutionCount = nil
		}
		// A new display with a known display_id also updates the older ones.
		o.update(out)
		emit(out)
	case "error":
		out.EName, out.EValue, out.Traceback = c.EName, c.EValue, c.Traceback
		emit(out)
	}
	o.list = append(o.list, out)
	return st, nil
}

func (o *outputs) clear(emit func(Output)) {
	o.list, o.clearPending = nil, false
	emit(Output{OutputType: "clear_output"})
}

// update gives the outputs with u's display_id u's data and metadata.
func (o *outputs) update(u Output) {
	if u.DisplayID == "" {
		return
	}
	for i := range o.list {
		if o.list[i].DisplayID == u.DisplayID {
			o.list[i].Data, o.list[i].Metadata = u.Data, nonNil(u.Metadata)
		}
	}
}
