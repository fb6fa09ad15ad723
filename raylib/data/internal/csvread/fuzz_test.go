package csvread

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// refParse is a plain byte-at-a-time reference of the dialect: records of
// fields (unquoted), with empty lines dropped, or ok=false for an
// unterminated quote.
func refParse(data []byte, delim byte) (recs [][]string, ok bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var fields [][]byte
	var raw []byte
	inQuote, started := false, false
	endField := func() {
		fields = append(fields, raw)
		raw = nil
		started = false
	}
	endRecord := func() {
		endField()
		last := fields[len(fields)-1]
		if len(last) > 0 && last[len(last)-1] == '\r' {
			fields[len(fields)-1] = last[:len(last)-1]
		}
		if len(fields) == 1 && len(fields[0]) == 0 {
			fields = nil // empty line
			return
		}
		rec := make([]string, len(fields))
		for i, f := range fields {
			if len(f) > 0 && f[0] == '"' {
				var sb []byte
				j := 1
				for j < len(f) {
					if f[j] == '"' {
						if j+1 < len(f) && f[j+1] == '"' {
							sb = append(sb, '"')
							j += 2
							continue
						}
						sb = append(sb, f[j+1:]...)
						break
					}
					sb = append(sb, f[j])
					j++
				}
				rec[i] = string(sb)
			} else {
				rec[i] = string(f)
			}
		}
		recs = append(recs, rec)
		fields = nil
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inQuote:
			raw = append(raw, c)
			if c == '"' {
				if i+1 < len(data) && data[i+1] == '"' {
					raw = append(raw, '"')
					i++
				} else {
					inQuote = false
				}
			}
		case c == '"' && !started:
			inQuote, started = true, true
			raw = append(raw, c)
		case c == delim:
			endField()
		case c == '\n':
			endRecord()
		default:
			started = true
			raw = append(raw, c)
		}
	}
	if inQuote {
		return nil, false
	}
	if started || len(fields) > 0 {
		endRecord()
	}
	return recs, true
}

// checkAgainstRef reads data as all-string columns and compares with
// refParse: same rows, or both failing.
func checkAgainstRef(t *testing.T, data []byte, delim byte) {
	t.Helper()
	want, ok := refParse(data, delim)
	if ok && len(want) > 0 {
		nf := len(want[0])
		for _, r := range want[1:] {
			if len(r) != nf {
				ok = false
			}
		}
	}
	p := writeFile(t, "f.csv", string(data))
	nf := 1
	if ok && len(want) > 0 {
		nf = len(want[0])
	}
	fields := make([]arrow.Field, nf)
	for i := range fields {
		fields[i] = arrow.Field{Name: "c" + strconv.Itoa(i), Type: arrow.BinaryTypes.Binary}
	}
	schema := arrow.NewSchema(fields, nil)
	for _, opts := range []Options{{Delimiter: delim}, {Delimiter: delim, BlockRows: 2}} {
		tb, err := readRange(t, WholeFile(p), schema, opts)
		if !ok {
			if err == nil {
				t.Fatalf("%q: read succeeded, reference fails; got %q", data, tb.rows)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v (reference: %q)", data, err, want)
		}
		var wantRows [][]string
		if len(want) > 1 {
			wantRows = want[1:]
		}
		if len(tb.rows) != 0 || len(wantRows) != 0 {
			if !reflect.DeepEqual(tb.rows, wantRows) {
				t.Fatalf("%q:\n got %q\nwant %q", data, tb.rows, wantRows)
			}
		}
	}
	// Infer agrees on the names.
	if ok && len(want) > 0 {
		s, err := Infer(p, Options{Delimiter: delim})
		if err != nil {
			t.Fatalf("%q: infer: %v", data, err)
		}
		var names []string
		for _, f := range s.Fields() {
			names = append(names, f.Name)
		}
		if !reflect.DeepEqual(names, want[0]) {
			t.Fatalf("%q: names %q, want %q", data, names, want[0])
		}
	}
}

func randomCSV(rng *rand.Rand, n int) []byte {
	pieces := []string{"a", "bc", ",", ",", "\"", "\"\"", "\n", "\n", "\r\n", "\r", " ", "x\"y", "12", "\xef\xbb\xbf"}
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return b
}

func TestRandomAgainstReference(t *testing.T) {
	saveBuf, saveWin := bufSize, initialWindow
	defer func() { bufSize, initialWindow = saveBuf, saveWin }()
	rng := rand.New(rand.NewPCG(7, 11))
	for _, sizes := range [][2]int{{1 << 20, 128 << 10}, {16, 8}, {40, 16}} {
		bufSize, initialWindow = sizes[0], sizes[1]
		for iter := 0; iter < 400; iter++ {
			data := randomCSV(rng, rng.IntN(40))
			if iter%2 == 0 {
				// mostly well-formed: a header and rows of the same width
				data = wellFormed(rng)
			}
			checkAgainstRef(t, data, ',')
		}
	}
}

func wellFormed(rng *rand.Rand) []byte {
	nf := 1 + rng.IntN(4)
	vals := []string{"", "a", "1", "\"q\"", "\"a,b\"", "\"l1\nl2\"", "\"x\"\"y\"", "long-value-here", "\"\"", " "}
	eol := []string{"\n", "\r\n"}[rng.IntN(2)]
	var b []byte
	for r := 0; r < 1+rng.IntN(12); r++ {
		rowStart := len(b)
		for f := 0; f < nf; f++ {
			if f > 0 {
				b = append(b, ',')
			}
			b = append(b, vals[rng.IntN(len(vals))]...)
		}
		if len(b) == rowStart {
			b = append(b, 'v') // not an empty line
		}
		b = append(b, eol...)
		if rng.IntN(8) == 0 {
			b = append(b, eol...)
		}
	}
	if rng.IntN(3) == 0 {
		b = bytes.TrimSuffix(b, []byte(eol))
	}
	return b
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\n\"x\ny\"\n", "a,b\r\n\"1\"\"\",2\r\n\r\n", "\xef\xbb\xbfa\n1", "a,b\n1,\"2", "a\n\n\n", "x\"y,\"z\"w\n1,2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstRef(t, data, ',')
	})
}
