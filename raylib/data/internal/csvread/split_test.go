package csvread

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// genCSV builds a quote-free CSV with mixed columns, empty values, and the
// given line ending.
func genCSV(rows int, eol string, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	var sb strings.Builder
	sb.WriteString("id,score,label,flag,day" + eol)
	for i := 0; i < rows; i++ {
		score := fmt.Sprintf("%.*f", rng.IntN(4), rng.Float64()*100-50)
		if rng.IntN(10) == 0 {
			score = ""
		}
		label := strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(12))
		flag := []string{"true", "false", "", "True"}[rng.IntN(4)]
		day := fmt.Sprintf("2024-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28))
		fmt.Fprintf(&sb, "%d,%s,%s,%s,%s%s", i, score, label, flag, day, eol)
		if rng.IntN(200) == 0 {
			sb.WriteString(eol) // an empty line now and then
		}
	}
	return sb.String()
}

func checkSplit(t *testing.T, path string, size int64, ranges []Range) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var next int64
	for i, r := range ranges {
		if r.Path != path || r.Start != next || (r.End <= r.Start && size > 0) || r.First != (i == 0) {
			t.Fatalf("range %d: %+v (want start %d)", i, r, next)
		}
		if r.End != size && data[r.End-1] != '\n' {
			t.Fatalf("range %d ends mid-line at %d", i, r.End)
		}
		next = r.End
	}
	if next != size {
		t.Fatalf("ranges end at %d, file size %d", next, size)
	}
}

func TestSplitEqualsWhole(t *testing.T) {
	for _, eol := range []string{"\n", "\r\n"} {
		content := "\xef\xbb\xbf" + genCSV(20000, eol, 1)
		content = strings.TrimSuffix(content, eol) // no trailing newline
		p := writeFile(t, "s.csv", content)
		size := int64(len(content))
		schema, err := Infer(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(schema.Fields()[0].Type, schema.Fields()[1].Type, schema.Fields()[2].Type, schema.Fields()[3].Type, schema.Fields()[4].Type); got != "int64 float64 utf8 bool date32" {
			t.Fatalf("schema %s", got)
		}
		whole, err := readRange(t, WholeFile(p), schema, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(whole.rows) != 20000 {
			t.Fatalf("whole: %d rows", len(whole.rows))
		}
		for _, target := range []int64{0, 3000, 65536, 1 << 20, size} {
			ranges, err := Split(p, target)
			if err != nil {
				t.Fatal(err)
			}
			checkSplit(t, p, size, ranges)
			if target > 0 && target < size/2 && len(ranges) < 2 {
				t.Fatalf("target %d: %d ranges", target, len(ranges))
			}
			for _, opts := range []Options{{}, {BlockRows: 333}, {Columns: []string{"day", "label"}}} {
				var all [][]string
				for _, r := range ranges {
					tb, err := readRange(t, r, schema, opts)
					if err != nil {
						t.Fatalf("target %d range %+v: %v", target, r, err)
					}
					all = append(all, tb.rows...)
				}
				want := whole.rows
				if opts.Columns != nil {
					want = nil
					for _, row := range whole.rows {
						want = append(want, []string{row[4], row[2]})
					}
				}
				if !reflect.DeepEqual(all, want) {
					t.Fatalf("eol %q target %d opts %+v: %d rows differ from whole read (%d)", eol, target, opts, len(all), len(want))
				}
			}
		}
	}
}

func TestSplitQuotedIsOneRange(t *testing.T) {
	content := genCSV(5000, "\n", 2) + "5000,1,\"quoted\nlabel\",true,2024-01-01\n"
	p := writeFile(t, "q.csv", content)
	ranges, err := Split(p, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 1 || ranges[0] != (Range{Path: p, Start: 0, End: int64(len(content)), First: true}) {
		t.Fatalf("ranges %+v", ranges)
	}
	// a quote far from the start, beyond the first scan chunk
	big := genCSV(300000, "\n", 3) + "\"x\",1,a,true,2024-01-01\n"
	p = writeFile(t, "q2.csv", big)
	if ranges, err = Split(p, 1<<20); err != nil || len(ranges) != 1 {
		t.Fatalf("%d ranges, %v", len(ranges), err)
	}
	if _, err := Split(p+".missing", 10); err == nil {
		t.Fatal("missing file split")
	}
}

func TestSplitSmallFiles(t *testing.T) {
	for _, content := range []string{"", "a\n", "a,b\n1,2", "a\n1\n2\n3\n"} {
		p := writeFile(t, "small.csv", content)
		ranges, err := Split(p, 2)
		if err != nil {
			t.Fatal(err)
		}
		checkSplit(t, p, int64(len(content)), ranges)
		if content == "" && len(ranges) != 1 {
			t.Fatalf("empty file: %+v", ranges)
		}
	}
}

// TestRoundTrip writes random records with encoding/csv (which quotes
// fields holding delimiters, quotes, newlines or leading spaces) and reads
// them back as strings.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	alphabet := []string{"a", "b", "Z", "0", "9", " ", ",", "\"", "\n", "é", "\t", ";", "x\"y", "\"\""}
	for iter := 0; iter < 20; iter++ {
		ncols := 1 + rng.IntN(5)
		nrows := rng.IntN(300)
		var recs [][]string
		for r := 0; r < nrows; r++ {
			rec := make([]string, ncols)
			for c := range rec {
				var sb strings.Builder
				for n := rng.IntN(8); n > 0; n-- {
					sb.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
				rec[c] = sb.String()
			}
			if ncols == 1 && rec[0] == "" {
				rec[0] = "e" // csv.Writer writes an empty single field as an empty line
			}
			recs = append(recs, rec)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.UseCRLF = iter%2 == 1
		header := make([]string, ncols)
		for c := range header {
			header[c] = fmt.Sprintf("c%d", c)
		}
		w.Write(header)
		w.WriteAll(recs)
		content := buf.String()
		if w.UseCRLF {
			// encoding/csv turns \n inside quoted fields into \r\n too
			for _, rec := range recs {
				for c := range rec {
					rec[c] = strings.ReplaceAll(rec[c], "\n", "\r\n")
				}
			}
		}
		p := writeFile(t, "rt.csv", content)
		opts := Options{ColumnTypes: map[string]arrow.DataType{}}
		for _, h := range header {
			opts.ColumnTypes[h] = arrow.BinaryTypes.String
		}
		tb, err := readFile(t, p, opts)
		if err != nil {
			t.Fatalf("iter %d: %v\n%q", iter, err, content)
		}
		if len(recs) == 0 && len(tb.rows) == 0 {
			continue
		}
		if !reflect.DeepEqual(tb.rows, recs) {
			t.Fatalf("iter %d:\n got %q\nwant %q\nfile %q", iter, tb.rows, recs, content)
		}
	}
}

func TestLongFields(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the read buffer
	content := "a,b\n1," + long + "\n2,\"" + long + "\"\"" + long + "\"\n3,short\n"
	p := writeFile(t, "long.csv", content)
	tb := mustRead(t, p, Options{})
	if len(tb.rows) != 3 || tb.rows[0][1] != long || tb.rows[1][1] != long+"\""+long || tb.rows[2][1] != "short" {
		t.Fatalf("rows %d", len(tb.rows))
	}
	// many rows with a row longer than the index window in the middle
	var sb strings.Builder
	sb.WriteString("a,b\n")
	for i := 0; i < 50000; i++ {
		if i == 25000 {
			fmt.Fprintf(&sb, "%d,%s\n", i, strings.Repeat("y", 300<<10))
			continue
		}
		fmt.Fprintf(&sb, "%d,v%d\n", i, i)
	}
	p = writeFile(t, "long2.csv", sb.String())
	tb = mustRead(t, p, Options{Columns: []string{"a"}})
	if len(tb.rows) != 50000 || tb.rows[49999][0] != "49999" {
		t.Fatalf("rows %d", len(tb.rows))
	}
}

func TestBlockRows(t *testing.T) {
	p := writeFile(t, "br.csv", genCSV(1000, "\n", 5))
	schema, err := Infer(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(WholeFile(p), schema, Options{BlockRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	_, sizes, err := collect(rd)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[300 300 300 100]" {
		t.Fatalf("batch sizes %v", sizes)
	}
	// the default cuts batches by size: a 10 MB file gives several
	big := writeFile(t, "big.csv", genCSV(400000, "\n", 6))
	rd2, err := NewReader(WholeFile(big), schema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Close()
	_, sizes, err = collect(rd2)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != 400000 || len(sizes) < 2 || len(sizes) > 10 {
		t.Fatalf("batch sizes %v", sizes)
	}
}
