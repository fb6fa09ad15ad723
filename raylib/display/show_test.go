package display_test

import (
	"strings"
	"testing"

	"github.com/goray-dev/goray/raylib/display"
	"github.com/janpfeifer/gonb/gonbui"
)

// recorder is a fake notebook: it keeps what the hooks receive.
type recorder struct {
	html    []string
	updates []update
}

type update struct{ id, html string }

func (r *recorder) display(out *strings.Builder) display.Display {
	return display.Display{
		HTML:       func(h string) { r.html = append(r.html, h) },
		UpdateHTML: func(id, h string) { r.updates = append(r.updates, update{id, h}) },
		Out:        out,
	}
}

func smallTable() *display.Table {
	t := &display.Table{Title: "t", Columns: []display.Column{{Name: "x"}}}
	t.AddRow(1)
	return t
}

func TestShowNotebook(t *testing.T) {
	var rec recorder
	var out strings.Builder
	d := rec.display(&out)
	tab := smallTable()
	d.Show(tab)
	if len(rec.html) != 1 || rec.html[0] != tab.HTML() || out.Len() != 0 {
		t.Errorf("an HTMLer in a notebook should go to HTML only: html=%d out=%q", len(rec.html), out.String())
	}
	d.Show("plain")
	d.Show(42)
	if out.String() != "plain\n42\n" || len(rec.html) != 1 {
		t.Errorf("non-HTML values should print as text: %q", out.String())
	}
}

func TestShowTerminal(t *testing.T) {
	var out strings.Builder
	tab := smallTable()
	display.ShowTo(&out, tab)
	if out.String() != tab.String()+"\n" {
		t.Errorf("ShowTo = %q, want the table's String", out.String())
	}
	// A terminal Display never calls notebook hooks, even for HTMLers.
	out.Reset()
	display.Display{Out: &out}.Show(tab)
	if out.String() != tab.String()+"\n" {
		t.Errorf("Show without a notebook = %q", out.String())
	}
}

func TestShowBadValues(t *testing.T) {
	var out strings.Builder
	var nilTable *display.Table
	var nilStringer *stringer
	display.ShowTo(&out, nil)
	display.ShowTo(&out, nilTable)
	display.ShowTo(&out, nilStringer)
	if got := out.String(); got != "<nil>\n<nil>\n<nil>\n" {
		t.Errorf("nil values: %q", got)
	}
	var rec recorder
	rec.display(&out).Show(nilTable) // must not panic
}

func TestDefault(t *testing.T) {
	saved := gonbui.IsNotebook
	t.Cleanup(func() { gonbui.IsNotebook = saved })

	gonbui.IsNotebook = false
	if d := display.Default(); d.HTML != nil || d.UpdateHTML != nil || d.Out == nil {
		t.Errorf("outside a notebook Default should write text: %+v", d)
	}
	gonbui.IsNotebook = true
	if d := display.Default(); d.HTML == nil || d.UpdateHTML == nil {
		t.Errorf("in a notebook Default should have the HTML hooks")
	}
}
