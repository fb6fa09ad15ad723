package display_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goray-dev/goray/raylib/display"
)

func TestTableHTMLEscapes(t *testing.T) {
	tab := &display.Table{
		Title:   `<b>title</b>`,
		Columns: []display.Column{{Name: "<i>col</i>", Type: "a&b"}},
		Footer:  `<img src=x onerror=alert(1)>`,
	}
	tab.AddRow(`<script>alert("x")</script>`)
	h := tab.HTML()
	for _, bad := range []string{"<script>", "<b>title", "<i>col", "<img src=x", "a&b"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML contains unescaped %q:\n%s", bad, h)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;b&gt;title&lt;/b&gt;", "&lt;i&gt;col&lt;/i&gt;", "a&amp;b"} {
		if !strings.Contains(h, good) {
			t.Errorf("HTML lacks %q:\n%s", good, h)
		}
	}
}

func TestTableTruncation(t *testing.T) {
	long := strings.Repeat("é", 100) // multi-byte runes: the cut must fall between runes
	tab := &display.Table{Columns: []display.Column{{Name: "s"}}}
	tab.AddRow(long)

	// The default width is 80 runes, the last one an ellipsis.
	want := strings.Repeat("é", 79) + "…"
	if lines := strings.Split(tab.String(), "\n"); lines[2] != want {
		t.Errorf("default truncation: got %q, want %q", lines[2], want)
	}
	h := tab.HTML()
	if !strings.Contains(h, `title="`+long+`"`) || !strings.Contains(h, ">"+want+"<") {
		t.Errorf("HTML should show the cut text with the full text in title:\n%s", h)
	}

	tab.MaxWidth = 10
	if lines := strings.Split(tab.String(), "\n"); lines[2] != strings.Repeat("é", 9)+"…" {
		t.Errorf("MaxWidth 10: got %q", lines[2])
	}
	tab.MaxWidth = -1
	if lines := strings.Split(tab.String(), "\n"); lines[2] != long {
		t.Errorf("MaxWidth -1 should not cut: got %q", lines[2])
	}

	// Short cells have no title, and newlines do not break rows.
	short := &display.Table{Columns: []display.Column{{Name: "s"}}}
	short.AddRow("ab")
	if strings.Contains(short.HTML(), "title=") {
		t.Errorf("uncut cell has a title: %s", short.HTML())
	}
	short.AddRow("two\nlines")
	if got := strings.Split(short.String(), "\n")[3]; got != "two lines" {
		t.Errorf("newline in a cell: got %q", got)
	}
}

func TestTableTypesLine(t *testing.T) {
	typed := &display.Table{Columns: []display.Column{{"id", "int64"}, {"name", "string"}}}
	typed.AddRow(1, "a")
	lines := strings.Split(typed.String(), "\n")
	if lines[1] != "int64  string" || !strings.HasPrefix(lines[2], "-----") {
		t.Errorf("types line: %q", lines)
	}
	if h := typed.HTML(); strings.Count(h, `<div class="goray-type">`) != 2 ||
		!strings.Contains(h, `<div class="goray-type">int64</div>`) {
		t.Errorf("HTML types: %s", h)
	}

	untyped := &display.Table{Columns: []display.Column{{Name: "id"}, {Name: "name"}}}
	untyped.AddRow(1, "a")
	lines = strings.Split(untyped.String(), "\n")
	if lines[0] != "id  name" || lines[1] != "--  ----" || lines[2] != "1   a" {
		t.Errorf("untyped table: %q", lines)
	}
	if strings.Contains(untyped.HTML(), `<div class="goray-type">`) {
		t.Errorf("untyped HTML has a types line")
	}
}

func TestTableFooter(t *testing.T) {
	for _, tc := range []struct {
		rows, cols, total int
		want              string
	}{
		{3, 2, 0, "3 rows × 2 columns"},
		{3, 2, 3, "3 rows × 2 columns"},
		{1, 1, 0, "1 row × 1 column"},
		{0, 4, 0, "0 rows × 4 columns"},
		{5, 2, 100, "showing 5 of 100 rows"},
		{0, 2, 1, "showing 0 of 1 row"},
	} {
		tab := &display.Table{Columns: make([]display.Column, tc.cols), TotalRows: tc.total}
		for range tc.rows {
			tab.Rows = append(tab.Rows, make([]display.Cell, tc.cols))
		}
		text := tab.String()
		if lines := strings.Split(text, "\n"); lines[len(lines)-1] != tc.want {
			t.Errorf("%+v: text footer %q, want %q", tc, lines[len(lines)-1], tc.want)
		}
		if !strings.Contains(tab.HTML(), tc.want) {
			t.Errorf("%+v: HTML lacks footer %q", tc, tc.want)
		}
	}
	tab := &display.Table{Columns: []display.Column{{Name: "x"}}, Footer: "a note"}
	if !strings.HasSuffix(tab.String(), "0 rows × 1 column\na note") || !strings.Contains(tab.HTML(), "a note") {
		t.Errorf("Footer not shown:\n%s\n%s", tab.String(), tab.HTML())
	}
}

func TestTableTextAlignment(t *testing.T) {
	tab := &display.Table{Title: "T", Columns: []display.Column{{"name", "string"}, {"n", "int64"}, {"note", ""}}}
	tab.AddRow("a", 1, "x")
	tab.AddRow("a longer name", 12345, "")
	tab.AddRow("ü", -7, "last")
	got := tab.String()
	want := `T
name               n  note
string         int64
-------------  -----  ----
a                  1  x
a longer name  12345
ü                 -7  last
3 rows × 3 columns`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableRaggedRowsAndNil(t *testing.T) {
	tab := &display.Table{Columns: []display.Column{{Name: "a"}, {Name: "b"}}}
	tab.Rows = [][]display.Cell{{{Text: "only a"}}, {{Text: "1"}, {Text: "2"}, {Text: "extra"}}, nil}
	text, h := tab.String(), tab.HTML() // must not panic
	if strings.Contains(text, "extra") || strings.Contains(h, "extra") {
		t.Errorf("cells beyond the columns should not show:\n%s", text)
	}
	if strings.Count(h, "<td") != 6 {
		t.Errorf("short rows should be padded to the columns: %s", h)
	}
	var nilTable *display.Table
	if nilTable.String() != "<nil>" || nilTable.HTML() != "" {
		t.Errorf("nil table: %q %q", nilTable.String(), nilTable.HTML())
	}
	var zero display.Table
	if got := zero.String(); got != "0 rows × 0 columns" {
		t.Errorf("zero table: %q", got)
	}
}

type stringer struct{ s string }

func (s *stringer) String() string { return s.s }

func TestCellOf(t *testing.T) {
	var nilStringer *stringer
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"text", "text"},
		{42, "42"},
		{int8(-8), "-8"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{true, "true"},
		{0.5, "0.5"},
		{1e-07, "1e-07"},
		{3.0, "3.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0.0001, "0.0001"},
		{123456.789, "123456.789"},
		{1e16, "1e+16"},
		{1234567890123456.0, "1234567890123456.0"},
		{float32(0.1), "0.1"},
		{math.NaN(), "nan"},
		{math.Inf(-1), "-inf"},
		{[]byte("hi\n"), `b"hi\n"`},
		{bytes.Repeat([]byte{0x89}, 2048), `b"` + strings.Repeat(`\x89`, 24) + `"… (2.0 KiB)`},
		{nil, "<nil>"},
		{errors.New("boom"), "boom"},
		{1500 * time.Millisecond, "1.5s"},
		{&stringer{"custom"}, "custom"},
		{nilStringer, "<nil>"},
		{display.Cell{Text: "as is"}, "as is"},
		{[]int{1, 2}, "[1 2]"},
	} {
		if got := display.CellOf(tc.v).Text; got != tc.want {
			t.Errorf("CellOf(%.40v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestCellOfImage(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 256, 128))
	for y := range 128 {
		for x := range 256 {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 200, A: 255})
		}
	}
	c := display.CellOf(img)
	if c.Text != "image 256×128" || c.Image == nil {
		t.Fatalf("CellOf(image) = %+v", c)
	}
	if c.Image.Width != 128 || c.Image.Height != 64 {
		t.Errorf("thumbnail size %d×%d, want 128×64", c.Image.Width, c.Image.Height)
	}
	thumb, err := png.Decode(bytes.NewReader(c.Image.PNG))
	if err != nil {
		t.Fatalf("thumbnail is not a PNG: %v", err)
	}
	if b := thumb.Bounds(); b.Dx() != 128 || b.Dy() != 64 {
		t.Errorf("decoded thumbnail %v", b)
	}

	small := display.CellOf(image.NewGray(image.Rect(0, 0, 10, 30)))
	if small.Image == nil || small.Image.Width != 10 || small.Image.Height != 30 {
		t.Errorf("small images keep their size: %+v", small.Image)
	}
	tall := display.CellOf(image.NewGray(image.Rect(0, 0, 10, 1000)))
	if tall.Image == nil || tall.Image.Width != 1 || tall.Image.Height != 128 {
		t.Errorf("tall image thumbnail: %+v", tall.Image)
	}
	if empty := display.CellOf(image.NewGray(image.Rect(0, 0, 0, 0))); empty.Image != nil || empty.Text != "image 0×0" {
		t.Errorf("empty image: %+v", empty)
	}

	tab := &display.Table{Columns: []display.Column{{"image", "image"}}}
	tab.AddRow(img)
	if h := tab.HTML(); !strings.Contains(h, `<img src="data:image/png;base64,`) || !strings.Contains(h, `width="128" height="64"`) {
		t.Errorf("HTML lacks the inline image")
	}
	if !strings.Contains(tab.String(), "image 256×128") {
		t.Errorf("text should name the image: %s", tab.String())
	}
	if n := utf8.RuneCountInString(tab.String()); n > 200 {
		t.Errorf("text rendering carries image data (%d runes)", n)
	}
}
