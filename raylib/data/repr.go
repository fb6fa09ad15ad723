package data

import (
	"fmt"
	"html"
	"strings"

	"github.com/goray-dev/goray/raylib/display"
)

// String is the dataset as Ray prints it: the logical plan from the last
// operator down to the source, e.g.
//
//	MapBatches(upper)
//	+- Dataset(num_rows=?, schema=Unknown schema)
func (d *Dataset) String() string {
	if d.err != nil {
		return fmt.Sprintf("Dataset(error: %v)", d.err)
	}
	chain := d.n.chain()
	src := chain[0]
	lines := []string{sourceString(src)}
	for _, x := range chain[1:] {
		lines = append(lines, x.label)
	}
	var b strings.Builder
	for i := len(lines) - 1; i >= 0; i-- {
		depth := len(lines) - 1 - i
		if depth > 0 {
			b.WriteString(strings.Repeat("   ", depth-1) + "+- ")
		}
		b.WriteString(lines[i])
		if i > 0 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func sourceString(src *node) string {
	rows := "?"
	if n := src.knownRows(); n >= 0 {
		rows = fmt.Sprint(n)
	}
	return fmt.Sprintf("Dataset(num_rows=%s, schema=%s)", rows, schemaString(src.knownSchema()))
}

// HTML shows the plan in a notebook.
func (d *Dataset) HTML() string {
	return "<pre>" + html.EscapeString(d.String()) + "</pre>"
}

// HTML shows the materialized dataset as a table of its blocks.
func (m *MaterializedDataset) HTML() string {
	t := &display.Table{Title: m.String(), Columns: []display.Column{{Name: "block"}, {Name: "rows", Type: "int64"},
		{Name: "size", Type: "string"}, {Name: "object", Type: "string"}}}
	for i, b := range m.n.blocks {
		t.AddRow(i, b.Meta.NumRows, display.HumanBytes(b.Meta.SizeBytes), b.Ref.ID())
	}
	return t.HTML()
}

// Table returns the batch as a display table (at most maxRows rows; 0
// means 20), images as thumbnails.
func (b *Batch) Table(maxRows int) *display.Table {
	if maxRows <= 0 {
		maxRows = 20
	}
	t := &display.Table{TotalRows: b.NumRows()}
	for _, f := range b.fields {
		t.Columns = append(t.Columns, display.Column{Name: f.Name, Type: typeName(f.Type)})
	}
	for r := 0; r < min(b.NumRows(), maxRows); r++ {
		row := make([]any, len(b.cols))
		for c, col := range b.cols {
			v := valueAt(col, r)
			if v == nil {
				v = "null"
			}
			row[c] = v
		}
		t.AddRow(row...)
	}
	return t
}

// HTML shows the batch as a table in a notebook.
func (b *Batch) HTML() string { return b.Table(0).HTML() }

// String shows the batch as a text table.
func (b *Batch) String() string { return b.Table(0).String() }
