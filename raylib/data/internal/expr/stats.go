package expr

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// Stats summarises one column over a group of rows (a Parquet row group,
// a file, a block), as Parquet column chunk statistics do.
type Stats struct {
	// HasMinMax says Min and Max bound every non-null value.
	HasMinMax bool
	// Min and Max are int64, float64, string or bool; other Go integer and
	// float types, []byte, and arrow.Date32/Date64/Timestamp are accepted.
	// Dates and timestamps are given as their integer encoding.
	Min, Max any
	// HasNullCount says NullCount and NumValues are known.
	HasNullCount bool
	// NullCount is the number of nulls; NumValues the number of non-null
	// values (as parquet's Statistics.NumValues counts them).
	NullCount, NumValues int64
	// Type is the column's Arrow type, optional. It lets a date or timestamp
	// column's integer Min/Max be compared with literals such as
	// '1995-01-01', and marks floating point columns (whose NaNs min/max
	// statistics omit).
	Type arrow.DataType
}

// allNull reports that the group holds no non-null value at all, so no
// comparison can be true.
func (s Stats) allNull() bool { return s.HasNullCount && s.NumValues == 0 && s.NullCount > 0 }

// MayMatch reports whether any row of a group described by per-column
// statistics might satisfy the expression. It is conservative: it returns
// false only when no row can match, and true whenever it cannot tell
// (missing statistics, arithmetic, column-to-column comparisons). stats
// returns false for columns it knows nothing about.
func (e *Expr) MayMatch(stats func(column string) (Stats, bool)) bool {
	m := matcher{stats: stats}
	return m.may(e.root, false)
}

type matcher struct {
	stats func(string) (Stats, bool)
}

// may reports whether some row can make n true, or false when neg is set.
// Rows where n is null count for neither, as null never selects a row.
func (m matcher) may(n node, neg bool) bool {
	switch n := n.(type) {
	case *litNode:
		return litMay(n.v, neg)
	case *colNode: // a bare bool column
		s, ok := m.stats(n.name)
		if !ok {
			return true
		}
		if s.allNull() {
			return false
		}
		lo, ok1 := statLit(s.Min)
		hi, ok2 := statLit(s.Max)
		if !s.HasMinMax || !ok1 || !ok2 || lo.kind != litBool || hi.kind != litBool {
			return true
		}
		if neg {
			return !lo.b // some false value exists
		}
		return hi.b
	case *unaryNode:
		if n.op == opNot {
			return m.may(n.x, !neg)
		}
	case *binaryNode:
		switch {
		case n.op == opAnd && !neg, n.op == opOr && neg:
			// and, or not(a or b) = not a and not b
			return m.may(n.l, neg) && m.may(n.r, neg)
		case n.op == opOr && !neg, n.op == opAnd && neg:
			return m.may(n.l, neg) || m.may(n.r, neg)
		case n.op.isCmp():
			return m.mayCmp(n, neg)
		}
	case *inNode:
		return m.mayIn(n, neg)
	case *isNullNode:
		c, ok := n.x.(*colNode)
		if !ok {
			if l, isLit := n.x.(*litNode); isLit {
				return (l.v.kind == litNull) != (n.neg != neg)
			}
			return true
		}
		s, ok := m.stats(c.name)
		if !ok || !s.HasNullCount {
			return true
		}
		if n.neg == neg { // asking for a null
			return s.NullCount > 0
		}
		return !s.allNull()
	}
	return true
}

func litMay(l literal, neg bool) bool {
	switch l.kind {
	case litNull:
		return false
	case litBool:
		return l.b != neg
	}
	return true
}

func (m matcher) mayCmp(n *binaryNode, neg bool) bool {
	o := n.op
	c, cok := n.l.(*colNode)
	l, lok := n.r.(*litNode)
	if !cok || !lok {
		c, cok = n.r.(*colNode)
		l, lok = n.l.(*litNode)
		o = o.flip()
	}
	if !cok || !lok {
		ll, ok1 := n.l.(*litNode)
		rl, ok2 := n.r.(*litNode)
		if ok1 && ok2 {
			return litMay(foldCmp(n.op, ll.v, rl.v), neg)
		}
		return true // arithmetic or column against column
	}
	if l.v.kind == litNull {
		return false
	}
	s, ok := m.stats(c.name)
	if !ok {
		return true
	}
	if s.allNull() {
		return false
	}
	lo, hi, lit, ok := bounds(s, l.v)
	if !ok {
		return true
	}
	floaty := lo.kind == litFloat || hi.kind == litFloat || isFloatType(s.Type)
	if neg {
		// not(x > c) is x <= c except for NaN, which min/max never show.
		if floaty {
			return true
		}
		o = o.negate()
	}
	cmin, ok1, nan1 := compareLits(lo, lit)
	cmax, ok2, nan2 := compareLits(hi, lit)
	if !ok1 || !ok2 || nan1 || nan2 {
		return true
	}
	switch o {
	case opEq:
		return cmin <= 0 && cmax >= 0
	case opNe:
		return floaty || cmin != 0 || cmax != 0
	case opLt:
		return cmin < 0
	case opLe:
		return cmin <= 0
	case opGt:
		return cmax > 0
	case opGe:
		return cmax >= 0
	}
	return true
}

func (m matcher) mayIn(n *inNode, neg bool) bool {
	c, ok := n.x.(*colNode)
	if !ok {
		if l, isLit := n.x.(*litNode); isLit {
			return litMay(foldIn(l.v, n.list, n.neg), neg)
		}
		return true
	}
	s, ok := m.stats(c.name)
	if !ok {
		return true
	}
	if s.allNull() {
		return false
	}
	if n.neg != neg { // not in: only all-null groups are ruled out
		return true
	}
	for _, e := range n.list {
		if e.kind == litNull {
			continue
		}
		lo, hi, lit, ok := bounds(s, e)
		if !ok {
			return true
		}
		cmin, ok1, nan1 := compareLits(lo, lit)
		cmax, ok2, nan2 := compareLits(hi, lit)
		if !ok1 || !ok2 || nan1 || nan2 || cmin <= 0 && cmax >= 0 {
			return true
		}
	}
	return false
}

// bounds returns min, max and the literal in comparable form.
func bounds(s Stats, l literal) (lo, hi, lit literal, ok bool) {
	if !s.HasMinMax {
		return lo, hi, lit, false
	}
	lo, ok1 := statLit(s.Min)
	hi, ok2 := statLit(s.Max)
	if !ok1 || !ok2 {
		return lo, hi, lit, false
	}
	lit = l
	if l.kind == litString && s.Type != nil {
		dt := s.Type
		if d, isDict := dt.(*arrow.DictionaryType); isDict {
			dt = d.ValueType
		}
		if t, _ := classify(dt); t.cls == clsTemporal {
			v, err := parseTemporal(l.s, dt)
			if err != nil {
				return lo, hi, lit, false
			}
			lit = literal{kind: litInt, i: v}
		}
	}
	return lo, hi, lit, true
}

func isFloatType(dt arrow.DataType) bool {
	if dt == nil {
		return false
	}
	if d, ok := dt.(*arrow.DictionaryType); ok {
		dt = d.ValueType
	}
	t, _ := classify(dt)
	return t.cls == clsFloat
}

// statLit normalises a statistics value.
func statLit(v any) (literal, bool) {
	i := func(x int64) (literal, bool) { return literal{kind: litInt, i: x}, true }
	switch v := v.(type) {
	case int64:
		return i(v)
	case int:
		return i(int64(v))
	case int32:
		return i(int64(v))
	case int16:
		return i(int64(v))
	case int8:
		return i(int64(v))
	case uint32:
		return i(int64(v))
	case uint16:
		return i(int64(v))
	case uint8:
		return i(int64(v))
	case uint64:
		if v > math.MaxInt64 {
			return literal{}, false // would round as a float; stay safe
		}
		return i(int64(v))
	case uint:
		if uint64(v) > math.MaxInt64 {
			return literal{}, false
		}
		return i(int64(v))
	case arrow.Date32:
		return i(int64(v))
	case arrow.Date64:
		return i(int64(v))
	case arrow.Timestamp:
		return i(int64(v))
	case float64:
		return literal{kind: litFloat, f: v}, true
	case float32:
		return literal{kind: litFloat, f: float64(v)}, true
	case string:
		return literal{kind: litString, s: v}, true
	case []byte:
		return literal{kind: litString, s: string(v)}, true
	case bool:
		return literal{kind: litBool, b: v}, true
	}
	return literal{}, false
}
