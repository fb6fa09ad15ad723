package csvread

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var animalsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String},
	{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// animals returns a CSV with a header and n rows; bad(i) may replace the
// line of row i (1-based data row, file line i+1).
func animals(n int, bad func(i int) string) string {
	var sb strings.Builder
	sb.WriteString("id,name,weight\n")
	for i := 1; i <= n; i++ {
		if s := bad(i); s != "" {
			sb.WriteString(s)
			continue
		}
		fmt.Fprintf(&sb, "%d,animal%d,%d.5\n", i, i, i)
	}
	return sb.String()
}

func expectError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if err.Error() != want {
		t.Fatalf("error\n got %q\nwant %q", err.Error(), want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%v is not a *ParseError", err)
	}
}

func TestErrorParse(t *testing.T) {
	p := writeFile(t, "animals.csv", animals(100, func(i int) string {
		if i == 56 {
			return "abc,animal56,56.5\n"
		}
		return ""
	}))
	_, err := readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+`: line 57: column "id": cannot parse "abc" as int64`)
	var pe *ParseError
	errors.As(err, &pe)
	if pe.Line != 57 || pe.Column != "id" || pe.Path != p {
		t.Fatalf("fields %+v", pe)
	}
	// The same with a small batch size (error in a later batch), with
	// projection and with Infer seeing only rows before the bad one.
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{BlockRows: 7})
	expectError(t, err, p+`: line 57: column "id": cannot parse "abc" as int64`)
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{Columns: []string{"weight", "id"}})
	expectError(t, err, p+`: line 57: column "id": cannot parse "abc" as int64`)
	_, err = readFile(t, p, Options{InferBytes: 200})
	expectError(t, err, p+`: line 57: column "id": cannot parse "abc" as int64`)
	// projected away: no error
	if _, err := readRange(t, WholeFile(p), animalsSchema, Options{Columns: []string{"name"}}); err != nil {
		t.Fatal(err)
	}
}

func TestErrorFirstInFileOrder(t *testing.T) {
	// Two bad values in one batch: the one earlier in the file is reported,
	// whatever the column order.
	p := writeFile(t, "two.csv", animals(20, func(i int) string {
		switch i {
		case 5:
			return "5,a,heavy\n"
		case 9:
			return "x,b,1\n"
		case 12:
			return "y,c,light\n"
		}
		return ""
	}))
	_, err := readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+`: line 6: column "weight": cannot parse "heavy" as float64`)
	p = writeFile(t, "two2.csv", animals(20, func(i int) string {
		if i == 12 {
			return "y,c,light\n"
		}
		return ""
	}))
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+`: line 13: column "id": cannot parse "y" as int64`)
}

func TestErrorFieldCount(t *testing.T) {
	p := writeFile(t, "many.csv", animals(30, func(i int) string {
		if i == 20 {
			return "20,x,1.5,extra,more\n"
		}
		return ""
	}))
	_, err := readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+": line 21: expected 3 fields, got 5")
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{Columns: []string{"id"}})
	expectError(t, err, p+": line 21: expected 3 fields, got 5")
	_, err = readFile(t, p, Options{})
	expectError(t, err, p+": line 21: expected 3 fields, got 5")

	p = writeFile(t, "few.csv", animals(30, func(i int) string {
		if i == 3 {
			return "3,x\n"
		}
		return ""
	}))
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+": line 4: expected 3 fields, got 2")

	// CRLF, quoted newlines before the bad row: physical line numbers.
	p = writeFile(t, "ml.csv", "id,name,weight\r\n1,\"two\r\nlines\",1\r\n2,\"three\nlines\nhere\",2\r\n3,x\r\n")
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+": line 7: expected 3 fields, got 2")

	// header does not match the schema
	p = writeFile(t, "hdr.csv", "id,name\n1,x\n")
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+": line 1: header has 2 fields, schema has 3")
}

func TestErrorUnterminatedQuote(t *testing.T) {
	p := writeFile(t, "uq.csv", "id,name,weight\n1,a,1\n2,\"open,2\n3,c,3\n")
	_, err := readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+": line 3: unterminated quoted field")
	_, err = Infer(p, Options{})
	expectError(t, err, p+": line 3: unterminated quoted field")
	p = writeFile(t, "uq2.csv", "id,name,weight\n1,a,\"1")
	_, err = readRange(t, WholeFile(p), animalsSchema, Options{})
	expectError(t, err, p+": line 2: unterminated quoted field")
}

func TestErrorInLaterRange(t *testing.T) {
	p := writeFile(t, "big.csv", animals(5000, func(i int) string {
		if i == 4321 {
			return "4321,x,NaNa\n"
		}
		return ""
	}))
	ranges, err := Split(p, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) < 10 {
		t.Fatalf("only %d ranges", len(ranges))
	}
	var got error
	for _, r := range ranges {
		if _, err := readRange(t, r, animalsSchema, Options{}); err != nil {
			if got != nil {
				t.Fatalf("second error %v", err)
			}
			got = err
			if r.Start == 0 {
				t.Fatal("error reported in the first range")
			}
		}
	}
	expectError(t, got, p+`: line 4322: column "weight": cannot parse "NaNa" as float64`)
}

func TestErrorUTF8AndSticky(t *testing.T) {
	p := writeFile(t, "u.csv", "id,name,weight\n1,ok,1\n2,caf\xe9,2\n")
	rd, err := NewReader(WholeFile(p), animalsSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	_, err = rd.Next()
	expectError(t, err, p+`: line 3: column "name": invalid UTF-8 in string value`)
	if _, err2 := rd.Next(); err2 != err {
		t.Fatalf("second Next: %v", err2)
	}
	// valid multi-byte UTF-8 is fine
	p = writeFile(t, "u2.csv", "id,name,weight\n1,caf\xc3\xa9,1\n")
	tb, err := readRange(t, WholeFile(p), animalsSchema, Options{})
	if err != nil || tb.rows[0][1] != "café" {
		t.Fatalf("%q %v", tb.rows, err)
	}
	// and binary columns take anything
	bin := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.Binary}, {Name: "weight", Type: arrow.PrimitiveTypes.Float64}}, nil)
	if _, err := readRange(t, WholeFile(writeFile(t, "u3.csv", "id,name,weight\n2,caf\xe9,2\n")), bin, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestReaderLifecycle(t *testing.T) {
	p := writeFile(t, "l.csv", "id,name,weight\n1,a,1\n")
	rd, err := NewReader(WholeFile(p), animalsSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("want EOF again, got %v", err)
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(WholeFile(p+".missing"), animalsSchema, Options{}); err == nil {
		t.Fatal("missing file opened")
	}
	if _, err := Infer(p+".missing", Options{}); err == nil {
		t.Fatal("missing file inferred")
	}
}
