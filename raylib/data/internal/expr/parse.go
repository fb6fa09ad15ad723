package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors, for errors.Is.
var (
	// ErrSyntax marks parse errors; they are *SyntaxError values.
	ErrSyntax = errors.New("syntax error")
	// ErrUnknownColumn marks references to columns missing from a schema.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrType marks operands of the wrong type.
	ErrType = errors.New("type mismatch")
)

// SyntaxError reports where parsing failed.
type SyntaxError struct {
	Src    string // the expression text
	Column int    // 1-based character (not byte) position
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expr %q: at column %d: %s", e.Src, e.Column, e.Msg)
}

// Is makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokQuotedIdent // `name`: never a keyword
	tokInt
	tokFloat
	tokString
	tokOp // operators and punctuation; text holds the canonical spelling
	tokKeyword
)

type token struct {
	kind tokKind
	text string // source text (operators: canonical spelling; keywords: lower case)
	val  string // decoded value of identifiers and strings
	pos  int    // byte offset in the source
}

func isKeyword(w string) bool {
	switch w {
	case "and", "or", "not", "in", "is", "null", "none", "true", "false":
		return true
	}
	return false
}

// lex splits src into tokens, ending with tokEOF.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j, isFloat := scanNumber(src, i)
			k := tokInt
			if isFloat {
				k = tokFloat
			}
			toks = append(toks, token{kind: k, text: src[i:j], pos: i})
			i = j
		case c == '\'' || c == '"':
			s, j, err := scanString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: src[i:j], val: s, pos: i})
			i = j
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, syntaxErr(src, i, "unterminated quoted identifier")
			}
			toks = append(toks, token{kind: tokQuotedIdent, text: src[i : i+j+2], val: src[i+1 : i+1+j], pos: i})
			i += j + 2
		case isIdentStart(src, i):
			j := i
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += n
			}
			word := src[i:j]
			if lw := strings.ToLower(word); isKeyword(lw) {
				toks = append(toks, token{kind: tokKeyword, text: lw, val: word, pos: i})
			} else {
				toks = append(toks, token{kind: tokIdent, text: word, val: word, pos: i})
			}
			i = j
		default:
			text, n := scanOp(src[i:])
			if n == 0 {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, syntaxErr(src, i, fmt.Sprintf("unexpected %q", string(r)))
			}
			toks = append(toks, token{kind: tokOp, text: text, pos: i})
			i += n
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(src)}), nil
}

func isIdentStart(src string, i int) bool {
	r, _ := utf8.DecodeRuneInString(src[i:])
	return r == '_' || unicode.IsLetter(r)
}

// scanOp recognises an operator at the start of s and returns its canonical
// spelling and source length (0 if none).
func scanOp(s string) (string, int) {
	if len(s) >= 2 {
		switch s[:2] {
		case "==", "!=", "<=", ">=", "//":
			return s[:2], 2
		case "<>":
			return "!=", 2
		case "&&":
			return "and", 2
		case "||":
			return "or", 2
		}
	}
	switch s[0] {
	case '=':
		return "==", 1
	case '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', '[', ']':
		return s[:1], 1
	case '!', '~':
		return "not", 1
	case '&':
		return "and", 1
	case '|':
		return "or", 1
	}
	return "", 0
}

// scanNumber returns the end of the number starting at i and whether it
// is a float. Underscores separate digits as in Python.
func scanNumber(src string, i int) (int, bool) {
	isFloat := false
	digits := func() {
		for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '_') {
			i++
		}
	}
	digits()
	if i < len(src) && src[i] == '.' {
		isFloat = true
		i++
		digits()
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && src[j] >= '0' && src[j] <= '9' {
			isFloat = true
			i = j
			digits()
		}
	}
	return i, isFloat
}

// scanString decodes the quoted string starting at i.
func scanString(src string, i int) (string, int, error) {
	q := src[i]
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\\' && j+1 < len(src):
			j++
			switch e := src[j]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\\', '\'', '"', '`':
				b.WriteByte(e)
			default: // unknown escapes stay literal, as in Python
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			j++
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, syntaxErr(src, i, "unterminated string")
}

func syntaxErr(src string, pos int, msg string) *SyntaxError {
	return &SyntaxError{Src: src, Column: utf8.RuneCountInString(src[:pos]) + 1, Msg: msg}
}

type parser struct {
	src  string
	toks []token
	i    int
}

// Parse parses a Python-like expression such as
// "order_year >= 1995 and o_totalprice > 100000 and is_urgent".
// Errors are *SyntaxError values naming the position and the token.
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tokEOF {
		return nil, syntaxErr(src, 0, "empty expression")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	return &Expr{src: src, root: root}, nil
}

// MustParse is Parse for expressions known to be valid; it panics on error.
func MustParse(src string) *Expr {
	e, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return e
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// is reports whether the next token is the operator or keyword text.
func (p *parser) is(text string) bool {
	t := p.peek()
	return (t.kind == tokOp || t.kind == tokKeyword) && t.text == text
}

func (p *parser) accept(text string) bool {
	if p.is(text) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(text string) error {
	if !p.accept(text) {
		return p.unexpected(p.peek(), "expected %q", text)
	}
	return nil
}

func (p *parser) unexpected(t token, want ...any) error {
	msg := "unexpected end of expression"
	if t.kind != tokEOF {
		text := t.text
		if t.kind == tokKeyword {
			text = t.val
		} else if t.kind == tokOp {
			text = p.src[t.pos:]
			_, n := scanOp(text)
			text = text[:n]
		}
		msg = fmt.Sprintf("unexpected %q", text)
	}
	if len(want) > 0 {
		msg += ", " + fmt.Sprintf(want[0].(string), want[1:]...)
	}
	return syntaxErr(p.src, t.pos, msg)
}

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.accept("or") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: opOr, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.accept("and") {
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: opAnd, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseNot() (node, error) {
	if p.accept("not") {
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryNode{op: opNot, x: x}, nil
	}
	return p.parseCmp()
}

func cmpOp(t token) (op, bool) {
	if t.kind != tokOp {
		return 0, false
	}
	switch t.text {
	case "==":
		return opEq, true
	case "!=":
		return opNe, true
	case "<":
		return opLt, true
	case "<=":
		return opLe, true
	case ">":
		return opGt, true
	case ">=":
		return opGe, true
	}
	return 0, false
}

// parseCmp parses comparisons; a chain a < b < c becomes (a < b) and (b < c).
func (p *parser) parseCmp() (node, error) {
	l, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case p.is("in"):
		p.next()
		return p.parseInList(l, false)
	case p.is("not") && p.peekAt(1).kind == tokKeyword && p.peekAt(1).text == "in":
		p.next()
		p.next()
		return p.parseInList(l, true)
	case p.is("is"):
		p.next()
		neg := p.accept("not")
		if !p.accept("null") && !p.accept("none") {
			return nil, p.unexpected(p.peek(), "expected null")
		}
		return &isNullNode{x: l, neg: neg}, nil
	case t.kind != tokOp:
		return l, nil
	}
	var chain node
	for {
		o, ok := cmpOp(p.peek())
		if !ok {
			break
		}
		p.next()
		r, err := p.parseAdd()
		if err != nil {
			return nil, err
		}
		var c node = &binaryNode{op: o, l: l, r: r}
		if chain != nil {
			c = &binaryNode{op: opAnd, l: chain, r: c}
		}
		chain, l = c, r
	}
	if chain == nil {
		return l, nil
	}
	return chain, nil
}

func (p *parser) parseInList(x node, neg bool) (node, error) {
	closer := ")"
	if p.accept("[") {
		closer = "]"
	} else if err := p.expect("("); err != nil {
		return nil, err
	}
	n := &inNode{x: x, neg: neg, list: []literal{}}
	for !p.accept(closer) {
		t := p.peek()
		v, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l, ok := v.(*litNode)
		if !ok {
			return nil, p.unexpected(t, "in list elements must be literals")
		}
		n.list = append(n.list, l.v)
		if !p.accept(",") && !p.is(closer) {
			return nil, p.unexpected(p.peek(), "expected \",\" or %q", closer)
		}
	}
	return n, nil
}

func (p *parser) parseAdd() (node, error) {
	l, err := p.parseMul()
	if err != nil {
		return nil, err
	}
	for {
		var o op
		switch {
		case p.is("+"):
			o = opAdd
		case p.is("-"):
			o = opSub
		default:
			return l, nil
		}
		p.next()
		r, err := p.parseMul()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: o, l: l, r: r}
	}
}

func (p *parser) parseMul() (node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		var o op
		switch {
		case p.is("*"):
			o = opMul
		case p.is("/"):
			o = opDiv
		case p.is("//"):
			o = opFloorDiv
		case p.is("%"):
			o = opMod
		default:
			return l, nil
		}
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &binaryNode{op: o, l: l, r: r}
	}
}

func (p *parser) parseUnary() (node, error) {
	switch {
	case p.is("-"):
		p.next()
		// Fold into the literal so that -9223372036854775808 is representable
		// and "x > -5" stays a column-against-literal comparison.
		if t := p.peek(); t.kind == tokInt {
			p.next()
			return p.intLit(t, "-")
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if l, ok := x.(*litNode); ok {
			switch l.v.kind {
			case litInt:
				if l.v.i != math.MinInt64 {
					return &litNode{literal{kind: litInt, i: -l.v.i}}, nil
				}
			case litFloat:
				return &litNode{literal{kind: litFloat, f: -l.v.f}}, nil
			}
		}
		return &unaryNode{op: opNeg, x: x}, nil
	case p.is("+"):
		p.next()
		return p.parseUnary()
	}
	return p.parsePrimary()
}

func (p *parser) intLit(t token, sign string) (node, error) {
	v, err := strconv.ParseInt(sign+strings.ReplaceAll(t.text, "_", ""), 10, 64)
	if err != nil {
		return nil, syntaxErr(p.src, t.pos, fmt.Sprintf("integer literal %s%s out of range", sign, t.text))
	}
	return &litNode{literal{kind: litInt, i: v}}, nil
}

func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	switch t.kind {
	case tokInt:
		return p.intLit(t, "")
	case tokFloat:
		f, err := strconv.ParseFloat(strings.ReplaceAll(t.text, "_", ""), 64)
		if err != nil {
			return nil, syntaxErr(p.src, t.pos, fmt.Sprintf("invalid number %q", t.text))
		}
		return &litNode{literal{kind: litFloat, f: f}}, nil
	case tokString:
		return &litNode{literal{kind: litString, s: t.val}}, nil
	case tokQuotedIdent:
		return &colNode{name: t.val}, nil
	case tokIdent:
		if t.text == "col" && p.is("(") {
			p.next()
			arg := p.next()
			if arg.kind != tokString && arg.kind != tokIdent && arg.kind != tokQuotedIdent {
				return nil, p.unexpected(arg, "expected a column name")
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return &colNode{name: arg.val}, nil
		}
		return &colNode{name: t.val}, nil
	case tokKeyword:
		switch t.text {
		case "true":
			return &litNode{literal{kind: litBool, b: true}}, nil
		case "false":
			return &litNode{literal{kind: litBool}}, nil
		case "null", "none":
			return &litNode{literal{kind: litNull}}, nil
		}
	case tokOp:
		if t.text == "(" {
			x, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		}
	}
	return nil, p.unexpected(t)
}
