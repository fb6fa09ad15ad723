package expr

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// class is the coarse type of a value, enough to decide what operations apply.
type class uint8

const (
	clsNull class = iota
	clsBool
	clsInt
	clsFloat
	clsString
	clsTemporal
)

func (c class) String() string {
	return [...]string{"null", "bool", "int", "float", "string", "temporal"}[c]
}

func (c class) numeric() bool { return c == clsInt || c == clsFloat }

// vtype is the static type of a subexpression.
type vtype struct {
	cls class
	dt  arrow.DataType // value type of a column (dictionaries unwrapped); nil otherwise
}

// classify maps an Arrow type to its class; ok is false for unsupported types.
func classify(dt arrow.DataType) (vtype, bool) {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return vtype{clsInt, dt}, true
	case arrow.FLOAT32, arrow.FLOAT64:
		return vtype{clsFloat, dt}, true
	case arrow.STRING, arrow.LARGE_STRING:
		return vtype{clsString, dt}, true
	case arrow.BOOL:
		return vtype{clsBool, dt}, true
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return vtype{clsTemporal, dt}, true
	case arrow.NULL:
		return vtype{clsNull, dt}, true
	case arrow.DICTIONARY:
		vt := dt.(*arrow.DictionaryType).ValueType
		if vt.ID() == arrow.DICTIONARY || vt.ID() == arrow.NULL {
			return vtype{}, false
		}
		return classify(vt)
	}
	return vtype{}, false
}

// describe names a subexpression and its type for error messages.
func describe(n node, t vtype) string {
	s, _ := n.format()
	if t.dt != nil {
		return fmt.Sprintf("%s (%s)", s, t.dt)
	}
	return fmt.Sprintf("%s (%s)", s, t.cls)
}

// Check verifies that every referenced column exists in schema and that
// operand types fit their operators. Errors wrap ErrUnknownColumn or
// ErrType and name the offending column or operands.
func (e *Expr) Check(schema *arrow.Schema) error {
	_, err := e.typeOf(schema)
	return err
}

// typeOf checks the expression and returns the type of its result.
func (e *Expr) typeOf(schema *arrow.Schema) (vtype, error) {
	t, err := check(e.root, schema)
	if err != nil {
		return vtype{}, fmt.Errorf("expr %q: %w", e.src, err)
	}
	return t, nil
}

// resolve finds the column index for name.
func resolve(schema *arrow.Schema, name string) (int, error) {
	idx := schema.FieldIndices(name)
	switch len(idx) {
	case 1:
		return idx[0], nil
	case 0:
		names := make([]string, schema.NumFields())
		for i, f := range schema.Fields() {
			names[i] = f.Name
		}
		return 0, fmt.Errorf("%w %q (available: %s)", ErrUnknownColumn, name, strings.Join(names, ", "))
	}
	return 0, fmt.Errorf("%w: column name %q is ambiguous (%d columns)", ErrUnknownColumn, name, len(idx))
}

func check(n node, schema *arrow.Schema) (vtype, error) {
	switch n := n.(type) {
	case *colNode:
		i, err := resolve(schema, n.name)
		if err != nil {
			return vtype{}, err
		}
		dt := schema.Field(i).Type
		t, ok := classify(dt)
		if !ok {
			return vtype{}, fmt.Errorf("%w: column %q has unsupported type %s", ErrType, n.name, dt)
		}
		return t, nil
	case *litNode:
		return litType(n.v), nil
	case *unaryNode:
		t, err := check(n.x, schema)
		if err != nil {
			return vtype{}, err
		}
		if n.op == opNot {
			if t.cls != clsBool && t.cls != clsNull {
				return vtype{}, fmt.Errorf("%w: not needs a bool operand, got %s", ErrType, describe(n.x, t))
			}
			return vtype{cls: clsBool}, nil
		}
		if !t.cls.numeric() && t.cls != clsNull {
			return vtype{}, fmt.Errorf("%w: unary - needs a number, got %s", ErrType, describe(n.x, t))
		}
		return vtype{cls: t.cls}, nil
	case *binaryNode:
		lt, err := check(n.l, schema)
		if err != nil {
			return vtype{}, err
		}
		rt, err := check(n.r, schema)
		if err != nil {
			return vtype{}, err
		}
		switch {
		case n.op == opAnd || n.op == opOr:
			for _, s := range []struct {
				n node
				t vtype
			}{{n.l, lt}, {n.r, rt}} {
				if s.t.cls != clsBool && s.t.cls != clsNull {
					return vtype{}, fmt.Errorf("%w: %s needs bool operands, got %s", ErrType, n.op, describe(s.n, s.t))
				}
			}
			return vtype{cls: clsBool}, nil
		case n.op.isCmp():
			if err := checkCmp(n.op, n.l, lt, n.r, rt); err != nil {
				return vtype{}, err
			}
			return vtype{cls: clsBool}, nil
		default:
			// A null operand makes the result null but keeps it numeric.
			switch {
			case lt.cls == clsNull && rt.cls == clsNull:
				return vtype{cls: clsNull}, nil
			case lt.cls == clsNull && rt.cls.numeric():
				return vtype{cls: rt.cls}, nil
			case rt.cls == clsNull && lt.cls.numeric():
				return vtype{cls: lt.cls}, nil
			}
			if !lt.cls.numeric() || !rt.cls.numeric() {
				return vtype{}, fmt.Errorf("%w: cannot apply %s to %s and %s", ErrType, n.op, describe(n.l, lt), describe(n.r, rt))
			}
			if lt.cls == clsInt && rt.cls == clsInt && n.op != opDiv {
				return vtype{cls: clsInt}, nil
			}
			return vtype{cls: clsFloat}, nil
		}
	case *inNode:
		t, err := check(n.x, schema)
		if err != nil {
			return vtype{}, err
		}
		for _, l := range n.list {
			ln := &litNode{l}
			if err := checkCmp(opEq, n.x, t, ln, litType(l)); err != nil {
				return vtype{}, err
			}
		}
		return vtype{cls: clsBool}, nil
	case *isNullNode:
		if _, err := check(n.x, schema); err != nil {
			return vtype{}, err
		}
		return vtype{cls: clsBool}, nil
	}
	return vtype{}, fmt.Errorf("internal error: unknown node %T", n)
}

func litType(l literal) vtype {
	return vtype{cls: [...]class{clsNull, clsBool, clsInt, clsFloat, clsString}[l.kind]}
}

// checkCmp verifies that a comparison between the two operands is defined.
func checkCmp(o op, l node, lt vtype, r node, rt vtype) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: cannot compare %s %s %s%s", ErrType, describe(l, lt), o, describe(r, rt), why)
	}
	switch {
	case lt.cls == clsNull || rt.cls == clsNull:
		return nil
	case lt.cls.numeric() && rt.cls.numeric(), lt.cls == clsString && rt.cls == clsString:
		return nil
	case lt.cls == clsBool && rt.cls == clsBool:
		if o != opEq && o != opNe {
			return bad(": bools support only == and !=")
		}
		return nil
	case lt.cls == clsTemporal && rt.cls == clsTemporal:
		if !arrow.TypeEqual(lt.dt, rt.dt) {
			return bad(": temporal types differ")
		}
		return nil
	case lt.cls == clsTemporal && rt.cls == clsString, lt.cls == clsString && rt.cls == clsTemporal:
		tt, sn := lt, r
		if lt.cls == clsString {
			tt, sn = rt, l
		}
		lit, ok := sn.(*litNode)
		if !ok {
			return bad(": temporal columns compare with string literals only")
		}
		if _, err := parseTemporal(lit.v.s, tt.dt); err != nil {
			return fmt.Errorf("%w: %w", ErrType, err)
		}
		return nil
	}
	return bad("")
}

// parseTemporal converts a date or timestamp literal to the integer
// representation of dt (days for date32, ms for date64, dt's unit for
// timestamps).
func parseTemporal(s string, dt arrow.DataType) (int64, error) {
	switch dt := dt.(type) {
	case *arrow.Date32Type, *arrow.Date64Type:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, fmt.Errorf("invalid date literal %q (want YYYY-MM-DD)", s)
		}
		days := t.Unix() / 86400 // exact: t is midnight UTC
		if dt.ID() == arrow.DATE64 {
			return days * 86400000, nil
		}
		return days, nil
	case *arrow.TimestampType:
		ts, _, err := arrow.TimestampFromStringInLocation(s, dt.Unit, time.UTC)
		if err != nil {
			return 0, fmt.Errorf("invalid timestamp literal %q: %w", s, err)
		}
		return int64(ts), nil
	}
	return 0, fmt.Errorf("type %s is not temporal", dt)
}
