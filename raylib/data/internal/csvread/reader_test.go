package csvread

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestReadTypesAndNulls(t *testing.T) {
	p := writeFile(t, "t.csv", "id,x,name,ok\n"+
		"1,1.5,foo,true\n"+
		"2,,\"b,\"\"ar\",False\n"+
		"NA,3e2,,1\n"+
		"-4,-0.25,NA,\n")
	tb := mustRead(t, p, Options{})
	if got := strings.Join(tb.types, ","); got != "int64,float64,utf8,bool" {
		t.Fatalf("types %s", got)
	}
	checkRows(t, tb, rows(
		"1|1.5|foo|true",
		"2|<nil>|b,\"ar|false",
		"<nil>|300|<empty>|true",
		"-4|-0.25|NA|<nil>",
	))
}

func TestInferKinds(t *testing.T) {
	// Expected types checked against pyarrow 26 (pyarrow.csv.read_csv).
	cases := []struct {
		content string
		types   string
	}{
		{"a\n1\n-2\n007\n", "int64"},
		{"a\n1\n+2\n", "float64"},
		{"a\n 1\n2 \n", "int64"},
		{"a\n0x10\n", "int64"},
		{"a\n1_000\n", "utf8"},
		{"a\n9223372036854775808\n", "float64"},
		{"a\n-9223372036854775808\n", "int64"},
		{"a\n1.5\n1e3\n.5\n5.\n-.5\n1E+3\n", "float64"},
		{"a\ninf\n-Inf\nInfinity\n", "float64"},
		{"a\n1.0e\n", "utf8"},
		{"a\n.\n", "utf8"},
		{"a\n-\n", "utf8"},
		{"a\n1\nNaN\n", "int64"},
		{"a\ntrue\nFalse\nTRUE\n", "bool"},
		{"a\ntrue\n1\n", "bool"},
		{"a\n true\n", "utf8"},
		{"a\n2020-01-01\n", "date32"},
		{"a\n 2020-01-01\n", "date32"},
		{"a\n2020-02-30\n", "utf8"},
		{"a\n2020-1-1\n", "utf8"},
		{"a\n12:00\n12:00:01\n", "time32[s]"},
		{"a\n12:00:00.5\n", "utf8"},
		{"a\n2020-01-01\n2020-01-01 12:00:00\n", "timestamp[s]"},
		{"a\n2020-01-01T12:00\n", "timestamp[s]"},
		{"a\n2020-01-01 12\n", "timestamp[s]"},
		{"a\n2020-01-01T12:00:00.123\n", "timestamp[ns]"},
		{"a\n2020-01-01T12:00:00Z\n", "timestamp[s, tz=UTC]"},
		{"a\n2020-01-01T12:00:00+01:00\n2020-01-01T12:00:00+0100\n", "timestamp[s, tz=UTC]"},
		{"a\n2020-01-01T12:00:00.5Z\n", "timestamp[ns, tz=UTC]"},
		{"a\n2020-01-01T12:00:00Z\n2020-01-01T12:00:00\n", "utf8"},
		{"a\n2020-01-01T25:00:00\n", "utf8"},
		{"a,b\n,x\n,\n", "null,utf8"},
		{"a\n\"\"\n", "null"},
		{"a\n-nan\n", "null"},
		{"a\n  \n1\n", "utf8"},
		{"a\n\"1\"\n", "int64"},
		{"a\n\xe9\n", "binary"},
		{"a,b\n", "null,null"},
	}
	for _, c := range cases {
		p := writeFile(t, "k.csv", c.content)
		s, err := Infer(p, Options{})
		if err != nil {
			t.Errorf("%q: %v", c.content, err)
			continue
		}
		var types []string
		for _, f := range s.Fields() {
			types = append(types, f.Type.String())
		}
		if got := strings.Join(types, ","); got != c.types {
			t.Errorf("%q: inferred %s, want %s", c.content, got, c.types)
		}
	}
}

func TestValues(t *testing.T) {
	p := writeFile(t, "v.csv", "i,f,d,ts,tsz,tm\n"+
		"0x7FFFFFFFFFFFFFFF,1e500,1970-01-02,1970-01-01 00:00:01,1970-01-01T01:00:00+01:00,00:01\n"+
		"-9223372036854775808,-0,0001-01-01,2000-02-29T23:59:59,2000-01-01T00:00:00Z,23:59:59\n"+
		" 42 ,\t2.5 , 2020-01-01 ,1969-12-31 23:59:59,1970-01-01T00:00:00-00:30,12:00\n")
	schema, err := Infer(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(WholeFile(p), schema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if got := rec.Column(0).(*array.Int64).Int64Values(); fmt.Sprint(got) != "[9223372036854775807 -9223372036854775808 42]" {
		t.Errorf("ints %v", got)
	}
	fl := rec.Column(1).(*array.Float64).Float64Values()
	if !math.IsInf(fl[0], 1) || fl[1] != 0 || !math.Signbit(fl[1]) || fl[2] != 2.5 {
		t.Errorf("floats %v", fl)
	}
	if got := rec.Column(2).(*array.Date32).Date32Values(); fmt.Sprint(got) != "[1 -719162 18262]" {
		t.Errorf("dates %v", got)
	}
	if got := rec.Column(3).(*array.Timestamp).TimestampValues(); fmt.Sprint(got) != "[1 951868799 -1]" {
		t.Errorf("timestamps %v", got)
	}
	if got := rec.Column(4).(*array.Timestamp).TimestampValues(); fmt.Sprint(got) != "[0 946684800 1800]" {
		t.Errorf("zoned timestamps %v", got)
	}
	if got := rec.Column(5).(*array.Time32).Time32Values(); fmt.Sprint(got) != "[60 86399 43200]" {
		t.Errorf("times %v", got)
	}
}

func TestFloatParsing(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "+1.5", "3.14159", "1e10", "1E-10", "123456789012345678",
		"0.1", "0.30000000000000004", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
		"12345678901234567890.5", "9007199254740993", "1e23", "8.98846567431158e307", "4.9406564584124654e-324",
		".5", "5.", "00.5e-01", "123.456e-5", "1e-22", "1e22", "9999999999999999e22"} {
		got, ok := parseFloat64([]byte(s))
		want, err := parseStd(s)
		if !ok || err != nil || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseFloat64(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-", "+", ".", "e5", "1e", "1e+", "1.0e", "1..2", "1,5", "0x1p3", "1_0", "inf1", "--1"} {
		if v, ok := parseFloat64([]byte(s)); ok {
			t.Errorf("parseFloat64(%q) = %v, want failure", s, v)
		}
	}
	for _, s := range []string{"nan", "NaN", "-nan", "inf", "+Infinity"} {
		if _, ok := parseFloat64([]byte(s)); !ok {
			t.Errorf("parseFloat64(%q) failed", s)
		}
	}
}

func TestQuoting(t *testing.T) {
	p := writeFile(t, "q.csv", "a,\"b,\"\"c\"\"\"\n"+
		"\"1\",\"x,y\"\n"+
		"2,\"line1\nline2\"\n"+
		"3,\"say \"\"hi\"\"\"\n"+
		"4,\"\"\n"+
		"5,\"ab\"cd\"e\"\n"+
		"6,x\"y\"\n"+
		"\"\",\"\"\"\"\n")
	tb := mustRead(t, p, Options{})
	if got := strings.Join(tb.names, "|"); got != "a|b,\"c\"" {
		t.Fatalf("names %q", got)
	}
	checkRows(t, tb, [][]string{
		{"1", "x,y"},
		{"2", "line1\nline2"},
		{"3", "say \"hi\""},
		{"4", ""},
		{"5", "abcd\"e\""},
		{"6", "x\"y\""},
		{"<nil>", "\""},
	})
}

func TestCRLF(t *testing.T) {
	p := writeFile(t, "crlf.csv", "a,b,c\r\n1,x,\"7\"\r\n2,\"multi\r\nline\",3\r\n\r\n3,z,\r\n")
	tb := mustRead(t, p, Options{})
	if got := strings.Join(tb.types, ","); got != "int64,utf8,int64" {
		t.Fatalf("types %s", got)
	}
	checkRows(t, tb, [][]string{{"1", "x", "7"}, {"2", "multi\r\nline", "3"}, {"3", "z", "<nil>"}})
	// without quotes (fast path), string column last
	p = writeFile(t, "crlf2.csv", "a,b\r\n1,x\r\n2,\r\n")
	checkRows(t, mustRead(t, p, Options{}), [][]string{{"1", "x"}, {"2", ""}})
}

func TestBOMAndTrailingNewline(t *testing.T) {
	p := writeFile(t, "bom.csv", "\xef\xbb\xbfid,name\n1,a\n2,b")
	tb := mustRead(t, p, Options{})
	if tb.names[0] != "id" || tb.types[0] != "int64" {
		t.Fatalf("names %q types %q", tb.names, tb.types)
	}
	checkRows(t, tb, rows("1|a", "2|b"))
	p = writeFile(t, "bom2.csv", "\xef\xbb\xbf1,\"a\"")
	tb = mustRead(t, p, Options{NoHeader: true})
	checkRows(t, tb, rows("1|a"))
	p = writeFile(t, "crlf-eof.csv", "a,b\r\n1,x\r")
	checkRows(t, mustRead(t, p, Options{}), rows("1|x"))
}

func TestEmptyLinesAndFiles(t *testing.T) {
	p := writeFile(t, "e.csv", "\na,b\n\n1,2\n\r\n\n3,4\n\n")
	checkRows(t, mustRead(t, p, Options{}), rows("1|2", "3|4"))
	p = writeFile(t, "one.csv", "a\n1\n\n2\n\r\n3\n\"\"\n")
	checkRows(t, mustRead(t, p, Options{}), rows("1", "2", "3", "<nil>"))
	p = writeFile(t, "hdr.csv", "a,b\n")
	tb := mustRead(t, p, Options{})
	if len(tb.rows) != 0 || len(tb.names) != 2 {
		t.Fatalf("got %+v", tb)
	}
	p = writeFile(t, "empty.csv", "")
	if _, err := Infer(p, Options{}); err == nil {
		t.Fatal("Infer of an empty file succeeded")
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tb, err := readRange(t, WholeFile(p), schema, Options{})
	if err != nil || len(tb.rows) != 0 {
		t.Fatalf("empty file: %v %v", tb.rows, err)
	}
}

func TestNoHeaderAndDelimiter(t *testing.T) {
	p := writeFile(t, "nh.tsv", "1\ta b\t2.5\n2\tc,d\t\n")
	opts := Options{NoHeader: true, Delimiter: '\t'}
	tb := mustRead(t, p, opts)
	if got := strings.Join(tb.names, ","); got != "f0,f1,f2" {
		t.Fatalf("names %s", got)
	}
	checkRows(t, tb, rows("1|a b|2.5", "2|c,d|<nil>"))
	if _, err := Infer(p, Options{Delimiter: '"'}); err == nil {
		t.Fatal("quote delimiter accepted")
	}
}

func TestProjection(t *testing.T) {
	// Column "bad" is declared int64 but holds text: skipped fields are not
	// converted, so projecting it away avoids the error.
	p := writeFile(t, "p.csv", "a,bad,c,d\n1,x,foo,1.5\n2,y,bar,\n")
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64},
		{Name: "bad", Type: arrow.PrimitiveTypes.Int64},
		{Name: "c", Type: arrow.BinaryTypes.String},
		{Name: "d", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	tb, err := readRange(t, WholeFile(p), schema, Options{Columns: []string{"d", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tb.names, ","); got != "d,a" {
		t.Fatalf("names %s", got)
	}
	checkRows(t, tb, rows("1.5|1", "<nil>|2"))
	if _, err := readRange(t, WholeFile(p), schema, Options{}); err == nil {
		t.Fatal("unprojected read of the bad column succeeded")
	}
	if _, err := NewReader(WholeFile(p), schema, Options{Columns: []string{"nope"}}); err == nil {
		t.Fatal("unknown projected column accepted")
	}
	if _, err := NewReader(WholeFile(p), schema, Options{Columns: []string{"a", "a"}}); err == nil {
		t.Fatal("duplicate projected column accepted")
	}
	// No columns at all: batches carry only row counts.
	rd, err := NewReader(WholeFile(p), schema, Options{Columns: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.NumCols() != 0 || rec.NumRows() != 2 {
		t.Fatalf("got %d cols %d rows", rec.NumCols(), rec.NumRows())
	}
	rec.Release()
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestColumnTypesAndOptions(t *testing.T) {
	p := writeFile(t, "ct.csv", "a,b,c,d,e,f,g,h\n1,2,3.5,NA,2020-01-01T00:00:00.5,x,7,2020-01-02\n,255,,,2020-01-01,,,\n")
	opts := Options{ColumnTypes: map[string]arrow.DataType{
		"a": arrow.PrimitiveTypes.Int32,
		"b": arrow.PrimitiveTypes.Uint8,
		"c": arrow.PrimitiveTypes.Float32,
		"d": arrow.BinaryTypes.String,
		"e": &arrow.TimestampType{Unit: arrow.Millisecond},
		"f": arrow.BinaryTypes.LargeString,
		"g": arrow.BinaryTypes.String,
		"h": arrow.FixedWidthTypes.Date64,
	}}
	tb := mustRead(t, p, opts)
	if got := strings.Join(tb.types, ","); got != "int32,uint8,float32,utf8,timestamp[ms],large_utf8,utf8,date64" {
		t.Fatalf("types %s", got)
	}
	if tb.rows[0][0] != "1" || tb.rows[0][1] != "2" || tb.rows[0][2] != "3.5" || tb.rows[0][3] != "NA" || tb.rows[0][6] != "7" {
		t.Errorf("row 0: %q", tb.rows[0])
	}
	if tb.rows[1][0] != "<nil>" || tb.rows[1][1] != "255" || tb.rows[1][3] != "" || tb.rows[1][5] != "" || tb.rows[1][7] != "<nil>" {
		t.Errorf("row 1: %q", tb.rows[1])
	}
	if _, err := Infer(p, Options{ColumnTypes: map[string]arrow.DataType{"zz": arrow.PrimitiveTypes.Int64}}); err == nil {
		t.Error("ColumnTypes for an unknown column accepted")
	}
	if _, err := Infer(p, Options{ColumnTypes: map[string]arrow.DataType{"a": arrow.ListOf(arrow.PrimitiveTypes.Int64)}}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("list type: %v", err)
	}
	// 256 does not fit uint8.
	p2 := writeFile(t, "u8.csv", "b\n256\n")
	if _, err := readFile(t, p2, Options{ColumnTypes: map[string]arrow.DataType{"b": arrow.PrimitiveTypes.Uint8}}); err == nil ||
		!strings.Contains(err.Error(), `line 2: column "b": cannot parse "256" as uint8`) {
		t.Errorf("uint8 overflow: %v", err)
	}
	// Zoned values into a naive timestamp column.
	p3 := writeFile(t, "tz.csv", "t\n2020-01-01T00:00:00Z\n")
	if _, err := readFile(t, p3, Options{ColumnTypes: map[string]arrow.DataType{"t": &arrow.TimestampType{Unit: arrow.Second}}}); err == nil ||
		!strings.Contains(err.Error(), "expected no zone offset") {
		t.Errorf("zoned into naive: %v", err)
	}
}

func TestNullValueOptions(t *testing.T) {
	p := writeFile(t, "n.csv", "a,s\nNA,NA\n-1,\n,x\n")
	// defaults: NA and "" are null for ints; strings never null
	checkRows(t, mustRead(t, p, Options{}), rows("<nil>|NA", "-1|<empty>", "<nil>|x"))
	// strings can be null
	checkRows(t, mustRead(t, p, Options{StringsCanBeNull: true}), rows("<nil>|<nil>", "-1|<nil>", "<nil>|x"))
	// custom null values: "-1" (which parses as an int) is null, "" is not
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	tb, err := readRange(t, WholeFile(p), schema, Options{NullValues: []string{"NA", "-1"}})
	if err == nil || !strings.Contains(err.Error(), `line 4: column "a": cannot parse "" as int64`) {
		t.Fatalf("got %v, %v", tb.rows, err)
	}
	p2 := writeFile(t, "n2.csv", "a\nNA\n-1\n7\n")
	int1 := arrow.NewSchema(schema.Fields()[:1], nil)
	tb, err = readRange(t, WholeFile(p2), int1, Options{NullValues: []string{"NA", "-1"}})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, tb, rows("<nil>", "<nil>", "7"))
	// no null values at all
	p3 := writeFile(t, "n3.csv", "f\nnan\n1\n")
	s3, err := Infer(p3, Options{NullValues: []string{}})
	if err != nil || s3.Field(0).Type.ID() != arrow.FLOAT64 {
		t.Fatalf("infer: %v %v", s3, err)
	}
	tb, err = readRange(t, WholeFile(p3), s3, Options{NullValues: []string{}})
	if err != nil || tb.rows[0][0] != "NaN" {
		t.Fatalf("got %q %v", tb.rows, err)
	}
	if _, err := readRange(t, WholeFile(p), schema, Options{NullValues: []string{}}); err == nil {
		t.Fatal("empty int accepted without null values")
	}
}

func parseStd(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
