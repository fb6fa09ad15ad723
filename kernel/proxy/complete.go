package proxy

import "strings"

// isComplete answers is_complete_request for a GoNB cell the way a
// console needs it: "incomplete" while a bracket, a raw string or a block
// comment is open, or a special command ends with a line continuation;
// "invalid" when a closing bracket has no match; "complete" otherwise.
// It is a scan, not a parse: what the compiler rejects is "complete" and
// fails when run, like any cell. indent is the suggested indentation of
// the next line, one tab per open bracket.
func isComplete(code string) (status, indent string) {
	if first := strings.TrimSpace(firstLine(code)); strings.HasPrefix(first, "%%") && len(first) > 2 {
		return "complete", "" // a cell magic (%%writefile, %%script...): not Go
	}
	var (
		stack   []byte // open brackets
		inRaw   bool   // in a `raw string`
		inBlock bool   // in a /* block comment */
	)
	for rest := code; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if !inRaw && !inBlock {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "%") || strings.HasPrefix(t, "!") {
				// A special command (%%, %cd, !shell): not Go, and continued
				// on the next line when it ends with a backslash.
				if strings.HasSuffix(t, `\`) && strings.TrimSpace(rest) == "" {
					return "incomplete", ""
				}
				continue
			}
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case inRaw:
				inRaw = c != '`'
			case inBlock:
				if c == '*' && i+1 < len(line) && line[i+1] == '/' {
					inBlock = false
					i++
				}
			case c == '`':
				inRaw = true
			case c == '/' && i+1 < len(line) && line[i+1] == '/':
				i = len(line) // a line comment
			case c == '/' && i+1 < len(line) && line[i+1] == '*':
				inBlock = true
				i++
			case c == '"' || c == '\'':
				end := closeQuote(line, i)
				if end < 0 {
					return "invalid", "" // a string or rune literal cannot span lines
				}
				i = end
			case c == '(' || c == '[' || c == '{':
				stack = append(stack, c)
			case c == ')' || c == ']' || c == '}':
				if len(stack) == 0 || stack[len(stack)-1] != opening(c) {
					return "invalid", ""
				}
				stack = stack[:len(stack)-1]
			}
		}
	}
	if inRaw || inBlock || len(stack) > 0 {
		return "incomplete", strings.Repeat("\t", len(stack))
	}
	return "complete", ""
}

// closeQuote returns the index of the quote that closes the literal
// opening at line[i], or -1.
func closeQuote(line string, i int) int {
	q := line[i]
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}

func opening(c byte) byte {
	switch c {
	case ')':
		return '('
	case ']':
		return '['
	}
	return '{'
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
