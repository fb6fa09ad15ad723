package expr

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Expr is a parsed expression. It is immutable, so one Expr may be
// evaluated by many goroutines at once.
type Expr struct {
	src  string
	root node
}

// op identifies unary and binary operators.
type op uint8

const (
	opOr op = iota
	opAnd
	opNot
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opFloorDiv
	opMod
	opNeg
)

var opText = [...]string{
	opOr: "or", opAnd: "and", opNot: "not",
	opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=",
	opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opFloorDiv: "//", opMod: "%",
	opNeg: "-",
}

func (o op) String() string { return opText[o] }

func (o op) isCmp() bool { return o >= opEq && o <= opGe }

// flip returns the operator with swapped operands: a < b == b > a.
func (o op) flip() op {
	switch o {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return o
}

// negate returns the complementary comparison (valid for non-NaN values).
func (o op) negate() op {
	switch o {
	case opEq:
		return opNe
	case opNe:
		return opEq
	case opLt:
		return opGe
	case opLe:
		return opGt
	case opGt:
		return opLe
	case opGe:
		return opLt
	}
	return o
}

// Printing precedences; higher binds tighter.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCmp
	precAdd
	precMul
	precUnary
	precAtom
)

func (o op) prec() int {
	switch o {
	case opOr:
		return precOr
	case opAnd:
		return precAnd
	case opNot:
		return precNot
	case opAdd, opSub:
		return precAdd
	case opMul, opDiv, opFloorDiv, opMod:
		return precMul
	case opNeg:
		return precUnary
	}
	return precCmp
}

type litKind uint8

const (
	litNull litKind = iota
	litBool
	litInt
	litFloat
	litString
)

// literal is a scalar constant; only the field named by kind is meaningful.
type literal struct {
	kind litKind
	b    bool
	i    int64
	f    float64
	s    string
}

func (l literal) String() string {
	switch l.kind {
	case litBool:
		if l.b {
			return "True"
		}
		return "False"
	case litInt:
		return strconv.FormatInt(l.i, 10)
	case litFloat:
		return formatFloat(l.f)
	case litString:
		return quote(l.s)
	}
	return "None"
}

func (l literal) typeName() string {
	return [...]string{"null", "bool", "int", "float", "string"}[l.kind]
}

// formatFloat prints a float so that it reads back as a float.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf" // not parseable; such values only arise from folding
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// quote renders a single-quoted string literal that the lexer reads back.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// node is an expression tree node.
type node interface {
	// format returns the canonical text and its precedence.
	format() (string, int)
}

type colNode struct{ name string }

type litNode struct{ v literal }

type unaryNode struct {
	op op // opNot or opNeg
	x  node
}

type binaryNode struct {
	op   op
	l, r node
}

type inNode struct {
	x    node
	list []literal
	neg  bool // not in
}

type isNullNode struct {
	x   node
	neg bool // is not null
}

func (n *colNode) format() (string, int) { return "col(" + quote(n.name) + ")", precAtom }

func (n *litNode) format() (string, int) {
	s := n.v.String()
	if strings.HasPrefix(s, "-") {
		return s, precUnary
	}
	return s, precAtom
}

func (n *unaryNode) format() (string, int) {
	p := n.op.prec()
	s, sp := n.x.format()
	if n.op == opNot {
		// Comparisons under not are legal unparenthesised but hard to read.
		if sp < p || sp == precCmp {
			s = "(" + s + ")"
		}
		return "not " + s, p
	}
	if sp < p {
		s = "(" + s + ")"
	}
	return "-" + s, p
}

func (n *binaryNode) format() (string, int) {
	p := n.op.prec()
	ls, lp := n.l.format()
	rs, rp := n.r.format()
	switch {
	case n.op == opAnd || n.op == opOr:
		// Parenthesise comparisons and mixed and/or for readability, as
		// pyarrow prints them; only a left-nested chain of the same operator
		// goes bare, so printing preserves the tree.
		if lp != p && (lp <= precAnd || lp == precCmp) {
			ls = "(" + ls + ")"
		}
		if rp <= precAnd || rp == precCmp {
			rs = "(" + rs + ")"
		}
	case n.op.isCmp():
		if lp <= p {
			ls = "(" + ls + ")"
		}
		if rp <= p {
			rs = "(" + rs + ")"
		}
	default: // arithmetic is left-associative
		if lp < p {
			ls = "(" + ls + ")"
		}
		if rp <= p {
			rs = "(" + rs + ")"
		}
	}
	return ls + " " + n.op.String() + " " + rs, p
}

func (n *inNode) format() (string, int) {
	s, sp := n.x.format()
	if sp <= precCmp {
		s = "(" + s + ")"
	}
	items := make([]string, len(n.list))
	for i, l := range n.list {
		items[i] = l.String()
	}
	kw := " in ("
	if n.neg {
		kw = " not in ("
	}
	return s + kw + strings.Join(items, ", ") + ")", precCmp
}

func (n *isNullNode) format() (string, int) {
	s, sp := n.x.format()
	if sp <= precCmp {
		s = "(" + s + ")"
	}
	if n.neg {
		return s + " is not null", precCmp
	}
	return s + " is null", precCmp
}

// String returns the canonical form of the expression, e.g.
// "(col('order_year') >= 1995) and col('is_urgent')". It parses back to
// an equivalent expression.
func (e *Expr) String() string {
	if e == nil || e.root == nil {
		return "<nil>"
	}
	s, _ := e.root.format()
	return s
}

// Source returns the text the expression was parsed from.
func (e *Expr) Source() string { return e.src }

// Columns returns the names of the referenced columns, sorted and unique.
func (e *Expr) Columns() []string {
	var cols []string
	walk(e.root, func(n node) {
		if c, ok := n.(*colNode); ok {
			cols = append(cols, c.name)
		}
	})
	slices.Sort(cols)
	return slices.Compact(cols)
}

// walk calls f on n and all its descendants.
func walk(n node, f func(node)) {
	if n == nil {
		return
	}
	f(n)
	switch n := n.(type) {
	case *unaryNode:
		walk(n.x, f)
	case *binaryNode:
		walk(n.l, f)
		walk(n.r, f)
	case *inNode:
		walk(n.x, f)
	case *isNullNode:
		walk(n.x, f)
	}
}
