package expr

import (
	"cmp"
	"math"
	"strings"
)

// Scalar evaluation, used to fold literal subexpressions and by MayMatch.

func boolLit(b bool) literal { return literal{kind: litBool, b: b} }

// compareLits three-way compares two non-null literals. ok is false when
// they are not comparable; nan is true when either is NaN.
func compareLits(a, b literal) (c int, ok, nan bool) {
	switch {
	case a.kind == litInt && b.kind == litInt:
		return cmp.Compare(a.i, b.i), true, false
	case a.kind == litInt && b.kind == litFloat:
		if math.IsNaN(b.f) {
			return 0, true, true
		}
		return cmpIntFloat(a.i, b.f), true, false
	case a.kind == litFloat && b.kind == litInt:
		if math.IsNaN(a.f) {
			return 0, true, true
		}
		return -cmpIntFloat(b.i, a.f), true, false
	case a.kind == litFloat && b.kind == litFloat:
		if math.IsNaN(a.f) || math.IsNaN(b.f) {
			return 0, true, true
		}
		return cmp.Compare(a.f, b.f), true, false
	case a.kind == litString && b.kind == litString:
		return strings.Compare(a.s, b.s), true, false
	case a.kind == litBool && b.kind == litBool:
		return cmp.Compare(b2u(a.b), b2u(b.b)), true, false
	}
	return 0, false, false
}

// cmpIntFloat compares an integer with a non-NaN float exactly, where a
// conversion to float64 would round integers beyond 2^53.
func cmpIntFloat(i int64, f float64) int {
	switch {
	case f >= 0x1p63:
		return -1
	case f < -0x1p63:
		return 1
	}
	t := math.Trunc(f)
	if ti := int64(t); i != ti {
		return cmp.Compare(i, ti)
	}
	return cmp.Compare(0, f-t)
}

func foldCmp(o op, a, b literal) literal {
	if a.kind == litNull || b.kind == litNull {
		return literal{}
	}
	c, ok, nan := compareLits(a, b)
	switch {
	case !ok:
		return literal{} // rejected by Check; stay total
	case nan:
		return boolLit(o == opNe)
	}
	return boolLit(cmpResult(o, c))
}

func foldArith(o op, a, b literal) literal {
	if a.kind == litNull || b.kind == litNull {
		return literal{}
	}
	if a.kind == litInt && b.kind == litInt && o != opDiv {
		x, y := a.i, b.i
		var r int64
		switch o {
		case opAdd:
			r = x + y
		case opSub:
			r = x - y
		case opMul:
			r = x * y
		case opFloorDiv, opMod:
			if y == 0 {
				return literal{}
			}
			q, m := floorDivMod(x, y)
			r = q
			if o == opMod {
				r = m
			}
		}
		return literal{kind: litInt, i: r}
	}
	x, y := litFloat64(a), litFloat64(b)
	return literal{kind: litFloat, f: arithFloat(o, []float64{x}, []float64{y}, 1)[0]}
}

func litFloat64(l literal) float64 {
	if l.kind == litInt {
		return float64(l.i)
	}
	return l.f
}

// foldLogic is Kleene's and/or over bool or null literals.
func foldLogic(o op, a, b literal) literal {
	// The dominant value decides regardless of nulls: false for and, true for or.
	dom := o == opOr
	if a.kind == litBool && a.b == dom || b.kind == litBool && b.b == dom {
		return boolLit(dom)
	}
	if a.kind == litNull || b.kind == litNull {
		return literal{}
	}
	return boolLit(!dom)
}

func foldNot(a literal) literal {
	if a.kind != litBool {
		return literal{}
	}
	return boolLit(!a.b)
}

func foldIn(x literal, list []literal, neg bool) literal {
	if x.kind == litNull {
		return literal{}
	}
	for _, l := range list {
		if c, ok, nan := compareLits(x, l); ok && !nan && c == 0 {
			return boolLit(!neg)
		}
	}
	return boolLit(neg)
}
