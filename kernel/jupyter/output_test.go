package jupyter

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/goray-dev/goray/kernel/internal/wire"
)

func TestSplitLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"a", []string{"a"}},
		{"a\n", []string{"a\n"}},
		{"a\nb", []string{"a\n", "b"}},
		{"a\r\nb\rc\n\n", []string{"a\r\n", "b\r", "c\n", "\n"}},
		{"x\u2028y\fz", []string{"x\u2028", "y\f", "z"}},
		{"ü\nö", []string{"ü\n", "ö"}},
		{"bad \xff\nok", []string{"bad \xff\n", "ok"}},
	} {
		got := SplitLines(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitLines(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Join(got, "") != c.in {
			t.Errorf("SplitLines(%q) does not join back", c.in)
		}
	}
}

func TestMultilineText(t *testing.T) {
	var a, b MultilineText
	if err := json.Unmarshal([]byte(`"x\ny"`), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`["x\n", "y"]`), &b); err != nil {
		t.Fatal(err)
	}
	if a != "x\ny" || b != a {
		t.Errorf("decoded %q and %q, want both \"x\\ny\"", a, b)
	}
	out, _ := json.Marshal(a)
	if string(out) != `["x\n","y"]` {
		t.Errorf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`3`), &a); err == nil {
		t.Error("a number is not text")
	}
}

func TestOutputJSON(t *testing.T) {
	one := 1
	for _, c := range []struct {
		out  Output
		want string
	}{
		{Output{OutputType: "stream", Name: "stdout", Text: "a\nb"},
			`{"name":"stdout","output_type":"stream","text":["a\n","b"]}`},
		{Output{OutputType: "display_data", Data: map[string]any{
			"text/html": "<b>x</b>\n", "image/png": "AAA\nBBB", "application/json": map[string]any{"k": "v\nw"},
		}, DisplayID: "transient"},
			`{"data":{"application/json":{"k":"v\nw"},"image/png":"AAA\nBBB","text/html":["<b>x</b>\n"]},"metadata":{},"output_type":"display_data"}`},
		{Output{OutputType: "execute_result", Data: map[string]any{"text/plain": "1"}, ExecutionCount: &one},
			`{"data":{"text/plain":["1"]},"execution_count":1,"metadata":{},"output_type":"execute_result"}`},
		{Output{OutputType: "error", EName: "E", EValue: "v"},
			`{"ename":"E","evalue":"v","output_type":"error","traceback":[]}`},
	} {
		// As the notebook package writes: without HTML escaping.
		got, err := marshalNoEscape(c.out)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("Marshal(%+v) =\n%s\nwant\n%s", c.out, got, c.want)
		}
		var back Output
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		c.out.DisplayID = "" // transient: not stored
		if c.out.Metadata == nil && back.Metadata != nil && len(back.Metadata) == 0 {
			back.Metadata = nil
		}
		if c.out.OutputType == "error" {
			back.Traceback = nil
		}
		again, _ := marshalNoEscape(back)
		if string(again) != c.want {
			t.Errorf("round trip of %s gave %s", c.want, again)
		}
	}
}

// msg builds an iopub message for the outputs builder.
func msg(t *testing.T, typ string, content map[string]any) *message {
	t.Helper()
	raw, err := json.Marshal(content)
	if err != nil {
		t.Fatal(err)
	}
	return &message{Header: wire.Header{MsgType: typ}, Content: raw}
}

func TestOutputsBuilder(t *testing.T) {
	var o outputs
	var events []string
	emit := func(out Output) { events = append(events, out.OutputType) }
	feed := func(typ string, content map[string]any) iopubState {
		st, err := o.handle(msg(t, typ, content), emit)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := feed("status", map[string]any{"execution_state": "busy"}); st.idle {
		t.Error("busy taken for idle")
	}
	if st := feed("execute_input", map[string]any{"code": "x", "execution_count": 7}); st.count != 7 {
		t.Errorf("execution count %d, want 7", st.count)
	}
	feed("stream", map[string]any{"name": "stdout", "text": "a"})
	feed("stream", map[string]any{"name": "stdout", "text": "b\n"})
	feed("stream", map[string]any{"name": "stderr", "text": "e\n"})
	feed("stream", map[string]any{"name": "stdout", "text": "c\n"})
	feed("display_data", map[string]any{"data": map[string]any{"text/plain": "v1"}, "transient": map[string]any{"display_id": "d"}})
	feed("update_display_data", map[string]any{"data": map[string]any{"text/plain": "v2"}, "metadata": map[string]any{}, "transient": map[string]any{"display_id": "d"}})
	feed("comm_open", map[string]any{"comm_id": "x"})
	want := []Output{
		{OutputType: "stream", Name: "stdout", Text: "ab\n"},
		{OutputType: "stream", Name: "stderr", Text: "e\n"},
		{OutputType: "stream", Name: "stdout", Text: "c\n"},
		{OutputType: "display_data", Data: map[string]any{"text/plain": "v2"}, Metadata: map[string]any{}, DisplayID: "d"},
	}
	if !reflect.DeepEqual(o.list, want) {
		t.Errorf("outputs =\n%+v\nwant\n%+v", o.list, want)
	}

	// clear_output(wait) clears only when the next output comes.
	feed("clear_output", map[string]any{"wait": true})
	if len(o.list) != 4 {
		t.Error("clear_output(wait=true) cleared at once")
	}
	feed("execute_result", map[string]any{"data": map[string]any{"text/plain": "42"}, "metadata": map[string]any{}, "execution_count": 7})
	if len(o.list) != 1 || o.list[0].OutputType != "execute_result" || *o.list[0].ExecutionCount != 7 {
		t.Errorf("after clear and execute_result: %+v", o.list)
	}
	feed("clear_output", map[string]any{"wait": false})
	if len(o.list) != 0 {
		t.Error("clear_output did not clear")
	}
	feed("error", map[string]any{"ename": "E", "evalue": "v", "traceback": []string{"t"}})
	if st := feed("status", map[string]any{"execution_state": "idle"}); !st.idle {
		t.Error("idle not seen")
	}
	if len(o.list) != 1 || o.list[0].EName != "E" {
		t.Errorf("error output: %+v", o.list)
	}
	wantEvents := "stream,stream,stream,stream,display_data,update_display_data,clear_output,execute_result,clear_output,error"
	if got := strings.Join(events, ","); got != wantEvents {
		t.Errorf("events %s\nwant   %s", got, wantEvents)
	}
}
