package display

import (
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxWidth is how many runes of a cell are shown when
// Table.MaxWidth is 0; longer text ends with an ellipsis.
const DefaultMaxWidth = 80

// Column names a table column and the type of its values. Type is shown
// under the name when any column has one; numeric types (int64, double,
// ...) are right-aligned.
type Column struct {
	Name string
	Type string
}

// Cell is one formatted table cell. When Image is set the notebook shows
// the image and the terminal shows Text.
type Cell struct {
	Text  string
	Image *Image
}

// Image is a PNG shown inline in a cell, at Width×Height CSS pixels when
// they are positive.
type Image struct {
	PNG           []byte
	Width, Height int
}

// Table is a rendered table: a title, typed columns and formatted rows.
// Rows may be a preview of a longer table (see TotalRows).
type Table struct {
	Title   string
	Columns []Column
	Rows    [][]Cell

	// TotalRows is the full row count when Rows is a preview; 0 or
	// len(Rows) means every row is shown.
	TotalRows int

	// Footer is a note shown under the row count.
	Footer string

	// MaxWidth is how many runes of a cell are shown; 0 means
	// DefaultMaxWidth and a negative value never truncates.
	MaxWidth int
}

// AddRow appends a row, formatting each value with CellOf.
func (t *Table) AddRow(values ...any) {
	row := make([]Cell, len(values))
	for i, v := range values {
		row[i] = CellOf(v)
	}
	t.Rows = append(t.Rows, row)
}

// CellOf formats v as a cell: integers in decimal, floats as Python's repr
// does (0.5, 1e-07, 3.0) so that values read as in Ray, []byte as a quoted
// prefix with its length, an image.Image as a PNG thumbnail of at most 128
// pixels, a Cell or *Image as itself, and anything else with %v.
func CellOf(v any) Cell {
	switch x := v.(type) {
	case Cell:
		return x
	case *Image:
		if x == nil {
			return Cell{Text: "<nil>"}
		}
		return Cell{Text: fmt.Sprintf("image %d×%d", x.Width, x.Height), Image: x}
	case string:
		return Cell{Text: x}
	case float32:
		return Cell{Text: formatFloat(float64(x), 32)}
	case float64:
		return Cell{Text: formatFloat(x, 64)}
	case []byte:
		return Cell{Text: formatBytes(x)}
	case image.Image:
		return imageCell(x)
	}
	// Integers, bools and everything else: fmt prints integers in decimal
	// and uses a String or Error method when there is one.
	return Cell{Text: fmt.Sprint(v)}
}

// formatFloat writes f as Python's repr does: the shortest digits that
// read back to f, with an exponent below 1e-4 and from 1e16 on, and ".0"
// on whole numbers so floats stay recognisable next to ints.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, bits)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, bits)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// formatBytes quotes a short prefix only: blobs such as encoded images can
// be megabytes, and the cell would be truncated anyway.
func formatBytes(b []byte) string {
	const prefix = 24
	if len(b) <= prefix {
		return "b" + strconv.Quote(string(b))
	}
	return fmt.Sprintf("b%s… (%s)", strconv.Quote(string(b[:prefix])), HumanBytes(int64(len(b))))
}

// countLine is the footer's first line: the shape of the table, or how
// much of it is shown.
func (t *Table) countLine() string {
	if t.TotalRows > len(t.Rows) {
		return fmt.Sprintf("showing %d of %s", len(t.Rows), plural(t.TotalRows, "row"))
	}
	return plural(len(t.Rows), "row") + " × " + plural(len(t.Columns), "column")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func (t *Table) hasTypes() bool {
	for _, c := range t.Columns {
		if c.Type != "" {
			return true
		}
	}
	return false
}

// shown is the text a cell displays, cut at the table's width.
func (t *Table) shown(s string) string {
	w := t.MaxWidth
	if w == 0 {
		w = DefaultMaxWidth
	}
	return clip(s, w)
}

// clip makes s one line, replacing control characters with spaces, and
// cuts it to w runes with an ellipsis; w < 0 never cuts.
func clip(s string, w int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) { // also keeps terminal escapes out

			return ' '
		}
		return r
	}, s)
	if w < 0 || utf8.RuneCountInString(s) <= w {
		return s
	}
	if w <= 1 {
		return "…"
	}
	n := 0
	for i := range s {
		if n == w-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// numeric reports whether a column type holds numbers, which read best
// right-aligned.
func numeric(typ string) bool {
	switch strings.ToLower(typ) {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
		"float", "float16", "float32", "float64", "double", "halffloat":
		return true
	}
	return false
}

// cell returns row r's cell c; rows shorter than the header are padded
// with empty cells rather than rejected.
func (t *Table) cell(r, c int) Cell {
	if c < len(t.Rows[r]) {
		return t.Rows[r][c]
	}
	return Cell{}
}

// String renders the table as aligned plain text: the title, the column
// names, their types when known, a rule, the rows and the footer.
func (t *Table) String() string {
	if t == nil {
		return "<nil>"
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n")
	}
	ncol := len(t.Columns)
	if ncol > 0 { // without columns there is nothing to align, only the count
		header := make([]string, ncol)
		types := make([]string, ncol)
		for c, col := range t.Columns {
			header[c], types[c] = t.shown(col.Name), t.shown(col.Type)
		}
		grid := [][]string{header}
		if t.hasTypes() {
			grid = append(grid, types)
		}
		ruleAt := len(grid)
		grid = append(grid, nil) // the rule, filled in once widths are known
		for r := range t.Rows {
			row := make([]string, ncol)
			for c := range row {
				row[c] = t.shown(t.cell(r, c).Text)
			}
			grid = append(grid, row)
		}
		widths := make([]int, ncol)
		for _, row := range grid {
			for c, s := range row {
				widths[c] = max(widths[c], utf8.RuneCountInString(s))
			}
		}
		grid[ruleAt] = make([]string, ncol)
		for c, w := range widths {
			grid[ruleAt][c] = strings.Repeat("-", w)
		}
		for _, row := range grid {
			var l strings.Builder
			for c, s := range row {
				if c > 0 {
					l.WriteString("  ")
				}
				pad := strings.Repeat(" ", widths[c]-utf8.RuneCountInString(s))
				if numeric(t.Columns[c].Type) {
					l.WriteString(pad + s)
				} else {
					l.WriteString(s + pad)
				}
			}
			b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
		}
	}
	b.WriteString(t.countLine())
	if t.Footer != "" {
		b.WriteString("\n" + t.Footer)
	}
	return b.String()
}

// tableCSS is scoped to .goray-table so it cannot restyle the notebook.
// Colours are translucent greys over the inherited text colour, which reads
// well in JupyterLab's light and dark themes alike.
const tableCSS = `<style>
.goray-table{margin:4px 0;font-size:13px}
.goray-table .goray-title{font-weight:600;margin-bottom:4px}
.goray-table .goray-scroll{overflow-x:auto}
.goray-table table{border-collapse:collapse;margin:0}
.goray-table th,.goray-table td{padding:3px 10px;text-align:left;vertical-align:top;white-space:nowrap;border:none;border-bottom:1px solid rgba(127,127,127,.25)}
.goray-table th{font-weight:600;border-bottom:1px solid rgba(127,127,127,.6)}
.goray-table .goray-type{font-weight:400;font-size:11px;opacity:.65}
.goray-table td.goray-num{text-align:right;font-variant-numeric:tabular-nums}
.goray-table tbody tr:nth-child(even){background:rgba(127,127,127,.08)}
.goray-table .goray-footer{font-size:11px;opacity:.7;margin-top:4px}
</style>`

// HTML renders the table for a notebook: a header with the column names
// and, smaller, their types; escaped cells whose full text is in the title
// attribute when cut; inline images; and the footer.
func (t *Table) HTML() string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<div class="goray-table">` + tableCSS)
	if t.Title != "" {
		b.WriteString(`<div class="goray-title">` + html.EscapeString(t.Title) + "</div>")
	}
	b.WriteString(`<div class="goray-scroll"><table><thead><tr>`)
	types := t.hasTypes()
	for _, c := range t.Columns {
		b.WriteString("<th>" + t.htmlText(c.Name))
		if types {
			b.WriteString(`<div class="goray-type">` + t.htmlText(c.Type) + "</div>")
		}
		b.WriteString("</th>")
	}
	b.WriteString("</tr></thead><tbody>")
	for r := range t.Rows {
		b.WriteString("<tr>")
		for c, col := range t.Columns {
			if numeric(col.Type) {
				b.WriteString(`<td class="goray-num">`)
			} else {
				b.WriteString("<td>")
			}
			cell := t.cell(r, c)
			if im := cell.Image; im != nil && len(im.PNG) > 0 {
				b.WriteString(im.tag(cell.Text))
			} else {
				b.WriteString(t.htmlText(cell.Text))
			}
			b.WriteString("</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString(`</tbody></table></div><div class="goray-footer">` + html.EscapeString(t.countLine()))
	if t.Footer != "" {
		b.WriteString("<br>" + html.EscapeString(t.Footer))
	}
	b.WriteString("</div></div>")
	return b.String()
}

// htmlText escapes s as shown; when that differs from s (cut, or with
// control characters) the full text is in a title attribute, seen on hover.
func (t *Table) htmlText(s string) string {
	cut := t.shown(s)
	if cut == s {
		return html.EscapeString(cut)
	}
	return `<span title="` + html.EscapeString(s) + `">` + html.EscapeString(cut) + "</span>"
}

// tag is an <img> with the PNG inlined as a data URL, so the notebook
// needs no file next to it.
func (im *Image) tag(alt string) string {
	size := ""
	if im.Width > 0 && im.Height > 0 {
		size = fmt.Sprintf(` width="%d" height="%d"`, im.Width, im.Height)
	}
	return `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(im.PNG) + `"` + size +
		` alt="` + html.EscapeString(alt) + `" title="` + html.EscapeString(alt) + `">`
}
