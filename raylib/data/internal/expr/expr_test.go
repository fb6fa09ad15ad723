package expr_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/goray-dev/goray/raylib/data/internal/expr"
)

func TestParseString(t *testing.T) {
	tests := []struct{ src, want string }{
		{"order_year >= 1995 and o_totalprice > 100000 and is_urgent",
			"(col('order_year') >= 1995) and (col('o_totalprice') > 100000) and col('is_urgent')"},
		{"a + b * c", "col('a') + col('b') * col('c')"},
		{"(a + b) * c", "(col('a') + col('b')) * col('c')"},
		{"a - b - c", "col('a') - col('b') - col('c')"},
		{"a - (b - c)", "col('a') - (col('b') - col('c'))"},
		{"x // 2 % 3", "col('x') // 2 % 3"},
		{"a / b / c", "col('a') / col('b') / col('c')"},
		{"-x * 2", "-col('x') * 2"},
		{"-(x * 2)", "-(col('x') * 2)"},
		{"x > -5", "col('x') > -5"},
		{"x > - 5.5", "col('x') > -5.5"},
		{"x - -5", "col('x') - -5"},
		{"+x", "col('x')"},
		{"not a and b", "not col('a') and col('b')"},
		{"not a == b", "not (col('a') == col('b'))"},
		{"not not a", "not not col('a')"},
		{"a or b and c", "col('a') or (col('b') and col('c'))"},
		{"(a or b) and c", "(col('a') or col('b')) and col('c')"},
		{"a and (b and c)", "col('a') and (col('b') and col('c'))"},
		{"a and b or c", "(col('a') and col('b')) or col('c')"},
		{"a && b || !c", "(col('a') and col('b')) or not col('c')"},
		{"a & b | ~c", "(col('a') and col('b')) or not col('c')"},
		{"A AND B Or NOT c", "(col('A') and col('B')) or not col('c')"},
		{"a = 1", "col('a') == 1"},
		{"a <> 1", "col('a') != 1"},
		{"1 < x < 5", "(1 < col('x')) and (col('x') < 5)"},
		{"a < b <= c > d", "(col('a') < col('b')) and (col('b') <= col('c')) and (col('c') > col('d'))"},
		{"(a < b) == c", "(col('a') < col('b')) == col('c')"},
		{"x in (1, 2.5, 'a', None, True)", "col('x') in (1, 2.5, 'a', None, True)"},
		{"x in [1, -2,]", "col('x') in (1, -2)"},
		{"x in ()", "col('x') in ()"},
		{"x not in (1)", "col('x') not in (1)"},
		{"x is None", "col('x') is null"},
		{"x is not null", "col('x') is not null"},
		{"(a > 1) is null", "(col('a') > 1) is null"},
		{"`weird name` == \"it's\"", "col('weird name') == 'it\\'s'"},
		{"col('a b') > 1", "col('a b') > 1"},
		{`col("x") == 'a\\b\n'`, `col('x') == 'a\\b\n'`},
		{"col > 1", "col('col') > 1"},
		{"TRUE and null", "True and None"},
		{"false or None", "False or None"},
		{"1.0", "1.0"},
		{"1e3", "1000.0"},
		{".5", "0.5"},
		{"1_000", "1000"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"数量 > 3", "col('数量') > 3"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := expr.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String(); got != tt.want {
				t.Fatalf("String() = %s, want %s", got, tt.want)
			}
			// The canonical form must read back as the same expression.
			e2, err := expr.Parse(e.String())
			if err != nil {
				t.Fatalf("reparse %s: %v", e, err)
			}
			if e2.String() != e.String() {
				t.Fatalf("round trip: %s became %s", e, e2)
			}
		})
	}
}

func TestColumns(t *testing.T) {
	e := expr.MustParse("b > 1 and (a < 2 or b in (1)) and `c d` is null and col('a') == 3")
	if got, want := e.Columns(), []string{"a", "b", "c d"}; !slices.Equal(got, want) {
		t.Fatalf("Columns() = %q, want %q", got, want)
	}
	if got := expr.MustParse("1 + 2 > 2").Columns(); len(got) != 0 {
		t.Fatalf("Columns() = %q, want none", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a >> 3", `expr "a >> 3": at column 4: unexpected ">"`},
		{"", `expr "": at column 1: empty expression`},
		{"   ", `expr "   ": at column 1: empty expression`},
		{"a +", `expr "a +": at column 4: unexpected end of expression`},
		{"(a > 1", `expr "(a > 1": at column 7: unexpected end of expression, expected ")"`},
		{"'abc", `expr "'abc": at column 1: unterminated string`},
		{"`abc", "expr \"`abc\": at column 1: unterminated quoted identifier"},
		{"a $ b", `expr "a $ b": at column 3: unexpected "$"`},
		{"a in (b)", `expr "a in (b)": at column 7: unexpected "b", in list elements must be literals`},
		{"a in 1", `expr "a in 1": at column 6: unexpected "1", expected "("`},
		{"a in (1 2)", `expr "a in (1 2)": at column 9: unexpected "2", expected "," or ")"`},
		{"99999999999999999999", `expr "99999999999999999999": at column 1: integer literal 99999999999999999999 out of range`},
		{"a is 5", `expr "a is 5": at column 6: unexpected "5", expected null`},
		{"a > 1 b", `expr "a > 1 b": at column 7: unexpected "b"`},
		{"a and or b", `expr "a and or b": at column 7: unexpected "or"`},
		{"a && || b", `expr "a && || b": at column 6: unexpected "||"`},
		{"é > 1 @", `expr "é > 1 @": at column 7: unexpected "@"`},
		{"col(1)", `expr "col(1)": at column 5: unexpected "1", expected a column name`},
		{"()", `expr "()": at column 2: unexpected ")"`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := expr.Parse(tt.src)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n got %s\nwant %s", err, tt.want)
			}
			var se *expr.SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, expr.ErrSyntax) {
				t.Fatalf("error %v is not a *SyntaxError / ErrSyntax", err)
			}
		})
	}
}

// testRecord builds a five-row batch covering the supported types, with nulls.
func testRecord(t testing.TB) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	valid := func(nullAt int) []bool {
		v := []bool{true, true, true, true, true}
		if nullAt >= 0 {
			v[nullAt] = false
		}
		return v
	}
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond}
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "order_year", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "o_totalprice", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "is_urgent", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tag", Type: dictType, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: tsType, Nullable: true},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
		{Name: "big", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString},
		{Name: "weird name", Type: arrow.PrimitiveTypes.Int8},
		{Name: "nothing", Type: arrow.Null, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1994, 1995, 1996, 0, 2000}, valid(3))
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{50000, 150000.5, 0, 200000, 300000}, valid(2))
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false, true, false, true}, valid(3))
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"a", "bb", "", "dd", "a"}, valid(2))
	db := b.Field(4).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"x", "y", "x", "", "z"} {
		if s == "" {
			db.AppendNull()
			continue
		}
		if err := db.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	var days []arrow.Date32
	for _, s := range []string{"1994-12-31", "1995-01-01", "1995-06-30", "1970-01-01", "2000-01-01"} {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		days = append(days, arrow.Date32FromTime(d))
	}
	b.Field(5).(*array.Date32Builder).AppendValues(days, valid(3))
	var stamps []arrow.Timestamp
	for _, s := range []string{"1995-01-01 00:00:00", "1995-01-01 12:00:00", "1994-12-31 23:59:59.5", "1970-01-01", "2001-09-09 01:46:40"} {
		ts, err := arrow.TimestampFromString(s, arrow.Microsecond)
		if err != nil {
			t.Fatal(err)
		}
		stamps = append(stamps, ts)
	}
	b.Field(6).(*array.TimestampBuilder).AppendValues(stamps, valid(3))
	b.Field(7).(*array.Uint8Builder).AppendValues([]uint8{0, 1, 255, 7, 0}, valid(4))
	b.Field(8).(*array.Float32Builder).AppendValues([]float32{0.1, 1.5, float32(math.NaN()), -1, 2}, nil)
	b.Field(9).(*array.Int64Builder).AppendValues([]int64{math.MinInt64, -1, 0, 1<<53 + 1, math.MaxInt64}, nil)
	b.Field(10).(*array.LargeStringBuilder).AppendValues([]string{"a", "b", "c", "dd", "e"}, nil)
	b.Field(11).(*array.Int8Builder).AppendValues([]int8{-128, -1, 0, 1, 127}, nil)
	b.Field(12).(*array.NullBuilder).AppendNulls(5)
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

// Shorthands for expected values; nil is null.
const (
	T = true
	F = false
)

// values reads any array the tests produce as Go values, nil for nulls.
func values(t testing.TB, a arrow.Array) []any {
	t.Helper()
	out := make([]any, a.Len())
	if a.DataType().ID() == arrow.NULL {
		return out
	}
	for i := range out {
		if a.IsNull(i) {
			continue
		}
		switch a := a.(type) {
		case *array.Boolean:
			out[i] = a.Value(i)
		case *array.Int64:
			out[i] = a.Value(i)
		case *array.Float64:
			out[i] = a.Value(i)
		case *array.Int32:
			out[i] = int64(a.Value(i))
		case *array.String:
			out[i] = a.Value(i)
		default:
			t.Fatalf("unexpected result type %s", a.DataType())
		}
	}
	return out
}

func equalValues(a, b []any) bool {
	return slices.EqualFunc(a, b, func(x, y any) bool {
		if fx, ok := x.(float64); ok {
			if fy, ok := y.(float64); ok && math.IsNaN(fx) && math.IsNaN(fy) {
				return true
			}
		}
		return x == y
	})
}

func TestEval(t *testing.T) {
	rec := testRecord(t)
	ctx := context.Background()
	tests := []struct {
		src  string
		want []any
	}{
		{"order_year >= 1995", []any{F, T, T, nil, T}},
		{"1995 <= order_year", []any{F, T, T, nil, T}},
		{"order_year >= 1995 and o_totalprice > 100000 and is_urgent", []any{F, F, nil, nil, T}},
		// Kleene logic.
		{"order_year > 1995 or is_urgent", []any{T, F, T, nil, T}},
		{"o_totalprice > 1e9 and is_urgent", []any{F, F, nil, F, F}},
		{"is_urgent and o_totalprice > 100000", []any{F, F, nil, nil, T}},
		{"is_urgent or None", []any{T, nil, T, nil, T}},
		{"is_urgent and None", []any{nil, F, nil, nil, nil}},
		{"is_urgent and True", []any{T, F, T, nil, T}},
		{"is_urgent or True", []any{T, T, T, T, T}},
		{"not is_urgent", []any{F, T, F, nil, F}},
		{"is_urgent", []any{T, F, T, nil, T}},
		{"is_urgent == True", []any{T, F, T, nil, T}},
		{"is_urgent != True", []any{F, T, F, nil, F}},
		{"is_urgent == (order_year > 1995)", []any{F, T, T, nil, T}},
		{"is_urgent in (False)", []any{F, T, F, nil, F}},
		// in lists.
		{"order_year in (1994, 2000, 3000000000, 1995.5, None)", []any{T, F, F, nil, T}},
		{"order_year not in (1994, 2000)", []any{F, T, T, nil, F}},
		{"order_year in (1, 2, 3, 4, 5, 6, 7, 8, 9, 1996)", []any{F, F, T, nil, F}},
		{"order_year in ()", []any{F, F, F, nil, F}},
		{"name in ('a', 'dd')", []any{T, F, nil, T, T}},
		{"u8 in (255, -1, 7.0)", []any{F, F, T, T, nil}},
		{"f32 in (1.5, 2)", []any{F, T, F, F, T}},
		{"d in ('1995-01-01', '2000-01-01')", []any{F, T, F, nil, T}},
		// strings.
		{"name == 'bb'", []any{F, T, nil, F, F}},
		{"name != 'bb'", []any{T, F, nil, T, T}},
		{"name > 'b'", []any{F, T, nil, T, F}},
		{"'b' >= name", []any{T, F, nil, F, T}},
		{"ls == 'c'", []any{F, F, T, F, F}},
		{"ls <= 'b'", []any{T, T, F, F, F}},
		{"ls == name", []any{T, F, nil, T, F}},
		{"name < ls", []any{F, F, nil, F, T}},
		// dictionaries.
		{"tag == 'x'", []any{T, F, T, nil, F}},
		{"tag != 'x'", []any{F, T, F, nil, T}},
		{"tag in ('y', 'z')", []any{F, T, F, nil, T}},
		{"tag is null", []any{F, F, F, T, F}},
		{"tag < name", []any{F, F, nil, nil, F}},
		// temporal against string literals.
		{"d >= '1995-01-01'", []any{F, T, T, nil, T}},
		{"d == '1994-12-31'", []any{T, F, F, nil, F}},
		{"ts < '1995-01-01 06:00:00'", []any{T, F, T, nil, F}},
		{"ts >= '1995-01-01T12:00:00Z'", []any{F, T, F, nil, T}},
		{"d == d", []any{T, T, T, nil, T}},
		// numeric promotion and out-of-range literals.
		{"u8 > -1", []any{T, T, T, T, nil}},
		{"u8 >= 255", []any{F, F, T, F, nil}},
		{"u8 < 256", []any{T, T, T, T, nil}},
		{"u8 == 1.0", []any{F, T, F, F, nil}},
		{"u8 > 1.5", []any{F, F, T, T, nil}},
		{"u8 <= 1.5", []any{T, T, F, F, nil}},
		{"u8 == 1.5", []any{F, F, F, F, nil}},
		{"u8 != 1.5", []any{T, T, T, T, nil}},
		{"f32 > 1", []any{F, T, F, F, T}},
		{"f32 == 1.5", []any{F, T, F, F, F}},
		{"f32 != 1.5", []any{T, F, T, T, T}},
		{"f32 > 0.1", []any{T, T, F, F, T}}, // float32(0.1) widened exceeds 0.1, as in pyarrow
		{"f32 < 1e300", []any{T, T, F, T, T}},
		{"big > 9007199254740992", []any{F, F, F, T, T}},
		{"big > 9007199254740992.0", []any{F, F, F, T, T}},
		{"big >= 9.3e18", []any{F, F, F, F, F}},
		{"big < -9.3e18", []any{F, F, F, F, F}},
		{"big != 9.3e18", []any{T, T, T, T, T}},
		{"big > 1e100", []any{F, F, F, F, F}},
		{"order_year == o_totalprice / 100", []any{F, F, nil, nil, F}},
		{"order_year * 100 < o_totalprice", []any{F, F, nil, nil, T}},
		{"u8 < order_year", []any{T, T, T, nil, nil}},
		{"big < order_year", []any{T, T, T, nil, F}},
		{"`weird name` < 0", []any{T, T, F, F, F}},
		// chained comparisons.
		{"1 < order_year - 1994 < 3", []any{F, F, T, nil, F}},
		// arithmetic.
		{"order_year * 2", []any{int64(3988), int64(3990), int64(3992), nil, int64(4000)}},
		{"order_year - 2000", []any{int64(-6), int64(-5), int64(-4), nil, int64(0)}},
		{"order_year / 8", []any{249.25, 249.375, 249.5, nil, 250.0}},
		{"order_year // -8", []any{int64(-250), int64(-250), int64(-250), nil, int64(-250)}},
		{"order_year % 7", []any{int64(6), int64(0), int64(1), nil, int64(5)}},
		{"-order_year % 7", []any{int64(1), int64(0), int64(6), nil, int64(2)}},
		{"-order_year", []any{int64(-1994), int64(-1995), int64(-1996), nil, int64(-2000)}},
		{"u8 // 0", []any{nil, nil, nil, nil, nil}},
		{"u8 % (u8 - 1)", []any{int64(0), nil, int64(1), int64(1), nil}},
		{"o_totalprice + 0.5", []any{50000.5, 150001.0, nil, 200000.5, 300000.5}},
		{"o_totalprice % -70000", []any{-20000.0, -59999.5, nil, -10000.0, -50000.0}},
		{"-f32 * 2", []any{-0.20000000298023224, -3.0, math.NaN(), 2.0, -4.0}},
		{"order_year + None", []any{nil, nil, nil, nil, nil}},
		{"1 + 2 * 3", []any{int64(7), int64(7), int64(7), int64(7), int64(7)}},
		{"7 // -2", []any{int64(-4), int64(-4), int64(-4), int64(-4), int64(-4)}},
		{"'s'", []any{"s", "s", "s", "s", "s"}},
		{"name", []any{"a", "bb", nil, "dd", "a"}},
		{"order_year", []any{int64(1994), int64(1995), int64(1996), nil, int64(2000)}},
		// nulls.
		{"order_year is null", []any{F, F, F, T, F}},
		{"name is not null", []any{T, T, F, T, T}},
		{"is_urgent is null", []any{F, F, F, T, F}},
		{"(o_totalprice > 1) is null", []any{F, F, T, F, F}},
		{"order_year == None", []any{nil, nil, nil, nil, nil}},
		{"None == None", []any{nil, nil, nil, nil, nil}},
		{"None is null", []any{T, T, T, T, T}},
		{"nothing is null", []any{T, T, T, T, T}},
		{"nothing > 3", []any{nil, nil, nil, nil, nil}},
		{"not None", []any{nil, nil, nil, nil, nil}},
		{"None", []any{nil, nil, nil, nil, nil}},
		// constants.
		{"True", []any{T, T, T, T, T}},
		{"1 == 1.0", []any{T, T, T, T, T}},
		{"'a' < 'b' and not False", []any{T, T, T, T, T}},
		{"3 in (1, 3)", []any{T, T, T, T, T}},
	}
	// Sliced batches exercise array offsets, including unaligned ones.
	slices := [][2]int64{{0, 5}, {1, 5}, {3, 5}, {2, 3}, {0, 0}}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := expr.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range slices {
				sub := rec.NewSlice(s[0], s[1])
				want := tt.want[s[0]:s[1]]
				got, err := e.Eval(ctx, sub)
				if err != nil {
					sub.Release()
					t.Fatal(err)
				}
				if gv := values(t, got); !equalValues(gv, want) {
					t.Errorf("slice %v: Eval = %v, want %v", s, gv, want)
				}
				got.Release()
				_, isBool := want0(tt.want).(bool)
				mask, err := e.Filter(ctx, sub)
				switch {
				case err != nil && (isBool || !errors.Is(err, expr.ErrType)):
					t.Fatal(err)
				case err == nil && !isBool && want0(tt.want) != nil:
					t.Fatalf("Filter accepted a %T expression", want0(tt.want))
				case err == nil:
					if mask.NullN() != 0 || mask.Len() != len(want) {
						t.Fatalf("mask has %d nulls, length %d", mask.NullN(), mask.Len())
					}
					for i, w := range want {
						if mask.Value(i) != (w == true) {
							t.Errorf("slice %v: Filter[%d] = %v, want %v", s, i, mask.Value(i), w == true)
						}
					}
					mask.Release()
				}
				sub.Release()
			}
		})
	}
}

// want0 returns the first non-null expected value.
func want0(w []any) any {
	for _, v := range w {
		if v != nil {
			return v
		}
	}
	return nil
}

func TestCheckErrors(t *testing.T) {
	rec := testRecord(t)
	tests := []struct {
		src    string
		target error
		want   []string // substrings of the message
	}{
		{"nope > 1", expr.ErrUnknownColumn, []string{`expr "nope > 1": unknown column "nope"`, "available: order_year, o_totalprice, is_urgent"}},
		{"order_year > 1 and col('x y') == 2", expr.ErrUnknownColumn, []string{`unknown column "x y"`}},
		{"name > 5", expr.ErrType, []string{"cannot compare col('name') (utf8) > 5 (int)"}},
		{"5 == name", expr.ErrType, []string{"cannot compare 5 (int) == col('name') (utf8)"}},
		{"is_urgent > True", expr.ErrType, []string{"bools support only == and !="}},
		{"not order_year", expr.ErrType, []string{"not needs a bool operand, got col('order_year') (int32)"}},
		{"order_year and is_urgent", expr.ErrType, []string{"and needs bool operands"}},
		{"name + 1", expr.ErrType, []string{"cannot apply + to col('name') (utf8) and 1 (int)"}},
		{"-name", expr.ErrType, []string{"unary - needs a number"}},
		{"d > 'notadate'", expr.ErrType, []string{`invalid date literal "notadate"`}},
		{"d > 5", expr.ErrType, []string{"cannot compare col('d') (date32) > 5 (int)"}},
		{"d > name", expr.ErrType, []string{"temporal columns compare with string literals only"}},
		{"d == ts", expr.ErrType, []string{"temporal types differ"}},
		{"order_year in (1, 'a')", expr.ErrType, []string{"cannot compare col('order_year') (int32) == 'a' (string)"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e := expr.MustParse(tt.src)
			errs := []error{e.Check(rec.Schema())}
			_, err := e.Filter(context.Background(), rec)
			errs = append(errs, err)
			_, err = e.Eval(context.Background(), rec)
			errs = append(errs, err)
			for _, err := range errs {
				if err == nil {
					t.Fatal("no error")
				}
				if !errors.Is(err, tt.target) {
					t.Errorf("%v does not wrap %v", err, tt.target)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			}
		})
	}
	// Filter needs a boolean.
	_, err := expr.MustParse("order_year + 1").Filter(context.Background(), rec)
	if !errors.Is(err, expr.ErrType) || !strings.Contains(err.Error(), "a filter must be boolean, got int") {
		t.Errorf("Filter(order_year + 1) error = %v", err)
	}
	if err := expr.MustParse("order_year + 1").Check(rec.Schema()); err != nil {
		t.Errorf("Check(order_year + 1) = %v", err)
	}
}

func TestFilterCancelled(t *testing.T) {
	rec := testRecord(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := expr.MustParse("order_year > 1").Filter(ctx, rec); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestMayMatch(t *testing.T) {
	stats := map[string]expr.Stats{
		"order_year": {HasMinMax: true, Min: int64(1990), Max: int64(1994), HasNullCount: true, NumValues: 100},
		"const7":     {HasMinMax: true, Min: int32(7), Max: int32(7)},
		"price":      {HasMinMax: true, Min: 5.0, Max: 5.0, Type: arrow.PrimitiveTypes.Float64},
		"name":       {HasMinMax: true, Min: "apple", Max: "banana"},
		"bname":      {HasMinMax: true, Min: []byte("apple"), Max: []byte("banana")},
		"flag":       {HasMinMax: true, Min: false, Max: false},
		"nulls":      {HasNullCount: true, NullCount: 10, NumValues: 0},
		"some_nulls": {HasMinMax: true, Min: int64(1), Max: int64(2), HasNullCount: true, NullCount: 3, NumValues: 7},
		"no_minmax":  {HasNullCount: true, NumValues: 10},
		// 1995-01-01 is day 9131.
		"d":    {HasMinMax: true, Min: int64(9000), Max: int64(9130), Type: arrow.FixedWidthTypes.Date32},
		"odd":  {HasMinMax: true, Min: struct{}{}, Max: struct{}{}},
		"huge": {HasMinMax: true, Min: uint64(1 << 63), Max: uint64(math.MaxUint64)},
	}
	lookup := func(c string) (expr.Stats, bool) {
		s, ok := stats[c]
		return s, ok
	}
	tests := []struct {
		src  string
		want bool
	}{
		{"order_year >= 1995", false},
		{"order_year >= 1994", true},
		{"order_year > 1994", false},
		{"order_year < 1990", false},
		{"order_year <= 1990", true},
		{"order_year == 1992", true},
		{"order_year == 1995", false},
		{"order_year != 1992", true},
		{"order_year > 1994.5", false},
		{"order_year > 1993.5", true},
		{"1995 <= order_year", false},
		{"1994 <= order_year", true},
		{"const7 != 7", false},
		{"const7 == 7", true},
		{"not (const7 == 7)", false},
		{"not (order_year < 1995)", false},
		{"not (order_year >= 1995)", true},
		{"not not (order_year >= 1995)", false},
		// and/or branches.
		{"order_year >= 1995 or unknown > 10", true},
		{"order_year >= 1995 or order_year < 1980", false},
		{"order_year >= 1995 or order_year < 1991", true},
		{"order_year >= 1995 and unknown > 5", false},
		{"order_year < 1995 and unknown > 5", true},
		{"not (order_year < 1995 and order_year > 1980)", false},
		{"not (order_year < 1995 or unknown > 3)", false},
		{"unknown > 5", true},
		// in lists.
		{"order_year in (1980, 1999)", false},
		{"order_year in (1980, 1992)", true},
		{"order_year in (None)", false},
		{"order_year in ()", false},
		{"order_year not in (1992)", true},
		{"not (order_year in (1980, 1999))", true},
		// floats may hide NaNs from min/max.
		{"price != 5", true},
		{"not (price == 5)", true},
		{"price > 5", false},
		{"price == 5", true},
		// strings.
		{"name == 'cherry'", false},
		{"name > 'b'", true},
		{"name < 'apple'", false},
		{"name in ('aardvark', 'zebra')", false},
		{"name in ('aardvark', 'avocado')", true},
		{"bname == 'cherry'", false},
		// bool columns.
		{"flag", false},
		{"not flag", true},
		{"flag == True", false},
		{"flag != False", false},
		// nulls.
		{"nulls > 1", false},
		{"nulls is null", true},
		{"nulls is not null", false},
		{"not (nulls is null)", false},
		{"nulls in (1)", false},
		{"order_year is null", false},
		{"order_year is not null", true},
		{"some_nulls is null", true},
		{"some_nulls > 5", false},
		{"no_minmax > 5", true},
		{"no_minmax is null", false},
		// dates through Stats.Type.
		{"d >= '1995-01-01'", false},
		{"d < '1995-01-01'", true},
		{"d >= '1994-12-31'", true},
		// constants and what cannot be judged.
		{"False", false},
		{"True", true},
		{"None", false},
		{"not None", false},
		{"1 > 2", false},
		{"order_year > None", false},
		{"order_year + 1 > 5000", true},
		{"order_year > const7", true},
		{"order_year > 'x'", true},
		{"odd > 1", true},
		{"huge > 1", true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			if got := expr.MustParse(tt.src).MayMatch(lookup); got != tt.want {
				t.Fatalf("MayMatch = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMayMatchAgreesWithFilter checks MayMatch against real data: when it
// says no row can match, Filter must select none.
func TestMayMatchAgreesWithFilter(t *testing.T) {
	rec := testRecord(t)
	stats := map[string]expr.Stats{
		"order_year": {HasMinMax: true, Min: int64(1994), Max: int64(2000), HasNullCount: true, NullCount: 1, NumValues: 4},
		"name":       {HasMinMax: true, Min: "a", Max: "dd", HasNullCount: true, NullCount: 1, NumValues: 4},
		"big":        {HasMinMax: true, Min: int64(math.MinInt64), Max: int64(math.MaxInt64)},
		"f32":        {HasMinMax: true, Min: -1.0, Max: 2.0, Type: arrow.PrimitiveTypes.Float32},
		"d":          {HasMinMax: true, Min: int64(9130), Max: int64(10957), Type: arrow.FixedWidthTypes.Date32},
	}
	lookup := func(c string) (expr.Stats, bool) {
		s, ok := stats[c]
		return s, ok
	}
	lits := []string{"-1", "0", "1994", "1995.5", "2000", "2001", "'a'", "'b'", "'dd'", "'e'", "1.5", "2.0", "9223372036854775807"}
	cols := []string{"order_year", "name", "big", "f32"}
	ops := []string{"==", "!=", "<", "<=", ">", ">="}
	for _, c := range cols {
		for _, o := range ops {
			for _, l := range lits {
				for _, f := range []string{"%s %s %s", "not (%s %s %s)"} {
					src := fmt.Sprintf(f, c, o, l)
					e := expr.MustParse(src)
					if e.Check(rec.Schema()) != nil {
						continue
					}
					mask, err := e.Filter(context.Background(), rec)
					if err != nil {
						t.Fatal(err)
					}
					n := 0
					for i := 0; i < mask.Len(); i++ {
						if mask.Value(i) {
							n++
						}
					}
					mask.Release()
					if n > 0 && !e.MayMatch(lookup) {
						t.Errorf("%s: MayMatch false but %d rows match", src, n)
					}
				}
			}
		}
	}
	for _, src := range []string{"d >= '2000-01-01'", "d < '1995-01-01'", "d in ('1994-12-31')"} {
		if !expr.MustParse(src).MayMatch(lookup) {
			t.Errorf("%s: MayMatch false", src)
		}
	}
}

// TestConcurrentFilter runs one Expr from many goroutines (meaningful under -race).
func TestConcurrentFilter(t *testing.T) {
	full := testRecord(t)
	rec := full.NewSlice(1, 5) // slices have lazily counted nulls
	defer rec.Release()
	e := expr.MustParse("order_year >= 1995 and (tag == 'x' or name in ('dd', 'a') or name is null)")
	done := make(chan []bool)
	for range 8 {
		go func() {
			mask, err := e.Filter(context.Background(), rec)
			if err != nil {
				done <- nil
				return
			}
			defer mask.Release()
			out := make([]bool, mask.Len())
			for i := range out {
				out[i] = mask.Value(i)
			}
			done <- out
		}()
	}
	want := []bool{F, T, F, T}
	for range 8 {
		if got := <-done; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

func floatRecord(b testing.TB, n int, withNulls bool) arrow.RecordBatch {
	b.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	fb := array.NewFloat64Builder(memory.DefaultAllocator)
	defer fb.Release()
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = float64((i * 7919) % 1000)
	}
	var valid []bool
	if withNulls {
		valid = make([]bool, n)
		for i := range valid {
			valid[i] = i%10 != 0
		}
	}
	fb.AppendValues(vals, valid)
	col := fb.NewArray()
	defer col.Release()
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
}

func benchFilter(b *testing.B, rec arrow.RecordBatch, src string) {
	e := expr.MustParse(src)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		mask, err := e.Filter(ctx, rec)
		if err != nil {
			b.Fatal(err)
		}
		mask.Release()
	}
	b.ReportMetric(float64(rec.NumRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkFilterFloatGreater(b *testing.B) {
	rec := floatRecord(b, 1<<20, false)
	defer rec.Release()
	benchFilter(b, rec, "x > 500.5")
}

func BenchmarkFilterFloatGreaterNulls(b *testing.B) {
	rec := floatRecord(b, 1<<20, true)
	defer rec.Release()
	benchFilter(b, rec, "x > 500.5")
}

func BenchmarkFilterRange(b *testing.B) {
	rec := floatRecord(b, 1<<20, true)
	defer rec.Release()
	benchFilter(b, rec, "x >= 100 and x < 900 or x is null")
}

func BenchmarkFilterStringEq(b *testing.B) {
	const n = 1 << 20
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	words := []string{"URGENT", "HIGH", "MEDIUM", "NOT SPECIFIED", "LOW"}
	for i := range n {
		sb.Append(words[i%len(words)])
	}
	col := sb.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, n)
	defer rec.Release()
	benchFilter(b, rec, "s == 'MEDIUM'")
}
