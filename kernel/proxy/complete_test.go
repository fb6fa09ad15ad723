package proxy

import "testing"

func TestIsComplete(t *testing.T) {
	for _, tc := range []struct {
		code, status, indent string
	}{
		{"", "complete", ""},
		{"x := 1", "complete", ""},
		{"%%\nfmt.Println(1)", "complete", ""},
		{"func f() {", "incomplete", "\t"},
		{"func f() {\n\tif x {\n", "incomplete", "\t\t"},
		{"func f() {\n}", "complete", ""},
		{"m := map[string]int{\n\t\"a\": 1,", "incomplete", "\t"},
		{"fmt.Println(", "incomplete", "\t"},
		{"s := `raw\nstill raw", "incomplete", ""},
		{"s := `raw\ndone`", "complete", ""},
		{"/* a comment\n", "incomplete", ""},
		{"/* a { comment */ x := 1", "complete", ""},
		{"// a { comment", "complete", ""},
		{`s := "{ in a string \" ("`, "complete", ""},
		{`r := '{'`, "complete", ""},
		{`r := '\''`, "complete", ""},
		{`s := "unterminated`, "invalid", ""},
		{"x := 1)", "invalid", ""},
		{"f(]", "invalid", ""},
		// Special commands are not Go.
		{"!echo it's (fine", "complete", ""},
		{"%cd /tmp", "complete", ""},
		{"!ls \\", "incomplete", ""},
		{"!ls \\\n  -l", "complete", ""},
		{"%%writefile f.go\npackage main\nfunc f() {", "complete", ""},
	} {
		status, indent := isComplete(tc.code)
		if status != tc.status || indent != tc.indent {
			t.Errorf("isComplete(%q) = %q, %q; want %q, %q", tc.code, status, indent, tc.status, tc.indent)
		}
	}
}
