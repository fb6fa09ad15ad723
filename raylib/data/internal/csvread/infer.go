package csvread

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// Inference candidates, in pyarrow's order of preference: a column gets the
// first kind that accepts every non-null value of the sample.
const (
	cInt uint16 = 1 << iota
	cBool
	cFloat
	cDate
	cTime
	cTsS
	cTsNS
	cTsSZ
	cTsNSZ
	cString
	cBinary
	cAll = cBinary<<1 - 1
)

var candTypes = map[uint16]arrow.DataType{
	cInt:    arrow.PrimitiveTypes.Int64,
	cBool:   arrow.FixedWidthTypes.Boolean,
	cFloat:  arrow.PrimitiveTypes.Float64,
	cDate:   arrow.FixedWidthTypes.Date32,
	cTime:   arrow.FixedWidthTypes.Time32s,
	cTsS:    &arrow.TimestampType{Unit: arrow.Second},
	cTsNS:   &arrow.TimestampType{Unit: arrow.Nanosecond},
	cTsSZ:   &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"},
	cTsNSZ:  &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"},
	cString: arrow.BinaryTypes.String,
	cBinary: arrow.BinaryTypes.Binary,
}

// classify removes from cand the kinds that cannot hold v.
func classify(v []byte, cand uint16) uint16 {
	if cand&cInt != 0 {
		if _, ok := parseInt64(v); !ok {
			cand &^= cInt
		}
	}
	if cand&cBool != 0 {
		if _, ok := parseBool(v); !ok {
			cand &^= cBool
		}
	}
	if cand&cFloat != 0 {
		if _, ok := parseFloat64(v); !ok {
			cand &^= cFloat
		}
	}
	if cand&cDate != 0 {
		if _, ok := parseDate(trimSpace(v)); !ok {
			cand &^= cDate
		}
	}
	if cand&cTime != 0 {
		if _, _, fd, ok := parseTime(v); !ok || fd != 0 {
			cand &^= cTime
		}
	}
	if cand&(cTsS|cTsNS|cTsSZ|cTsNSZ) != 0 {
		ts, ok := parseTimestamp(v)
		_, nsOK := toUnit(ts.secs, ts.nanos, ts.fracDigits, int(arrow.Nanosecond))
		if !ok || ts.zoned || ts.fracDigits != 0 {
			cand &^= cTsS
		}
		if !ok || ts.zoned || !nsOK {
			cand &^= cTsNS
		}
		if !ok || !ts.zoned || ts.fracDigits != 0 {
			cand &^= cTsSZ
		}
		if !ok || !ts.zoned || !nsOK {
			cand &^= cTsNSZ
		}
	}
	if cand&cString != 0 && !utf8.Valid(v) {
		cand &^= cString
	}
	return cand
}

// Infer reads the header and a sample of the file (the first
// Options.InferBytes, 1 MiB by default, cut at the last complete row) and
// returns the schema of the whole file, one nullable field per column in
// file order. Types are inferred as pyarrow does: each column gets the
// first of int64, bool, float64, date32, time32[s], timestamp[s],
// timestamp[ns], timestamp[s, UTC], timestamp[ns, UTC], utf8 and binary
// that accepts all its non-null sample values; a column whose sample values
// are all null (see Options.NullValues) gets the null type.
// Options.ColumnTypes overrides the result.
func Infer(path string, opts Options) (*arrow.Schema, error) {
	delim, err := opts.delimiter()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csvread: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("csvread: %w", err)
	}
	size := int64(opts.InferBytes)
	if size <= 0 {
		size = defaultInferBytes
	}
	nulls := newNullSet(opts.NullValues)
	for {
		size = min(size, st.Size())
		buf := make([]byte, size+bufPad)
		n, err := f.ReadAt(buf[:size], 0)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("csvread: %w", err)
		}
		eof := int64(n) >= st.Size()
		start := 0
		if bytes.HasPrefix(buf[:n], []byte("\xef\xbb\xbf")) {
			start = 3
		}
		if eof && n > start && buf[n-1] != '\n' {
			buf[n] = '\n'
			n++
		}
		seps, openQuote := slowIndex(buf, start, n, n, delim, []uint32{uint32(start) << sepShift})
		rows := 0
		for _, e := range seps {
			rows += int(e & sepNewline)
		}
		if !eof && rows < 2 {
			size *= 2 // not even a header and one row: read more
			continue
		}
		if eof && openQuote >= 0 {
			line := 1 + int64(bytes.Count(buf[:openQuote], []byte{'\n'}))
			return nil, &ParseError{Path: path, Line: line, Msg: "unterminated quoted field"}
		}
		return inferRows(path, buf[:n], seps, nulls, opts)
	}
}

func inferRows(path string, buf []byte, seps []uint32, nulls *nullSet, opts Options) (*arrow.Schema, error) {
	var names []string
	var cand []uint16
	var seen []bool
	var scratch []byte
	type field struct {
		start, end int
		quoted     bool
	}
	var fields []field
	haveHeader := false
	for k := 1; k < len(seps); {
		rowStart := int(seps[k-1] >> sepShift)
		fields = fields[:0]
		for {
			e := seps[k]
			k++
			fields = append(fields, field{int(seps[k-2] >> sepShift), int(e>>sepShift) - 1, e&sepQuoted != 0})
			if e&sepNewline != 0 {
				break
			}
		}
		lf := &fields[len(fields)-1]
		if lf.end > lf.start && buf[lf.end-1] == '\r' {
			lf.end--
		}
		if len(fields) == 1 && lf.end == lf.start && !lf.quoted {
			continue // empty line
		}
		value := func(i int) []byte {
			fl := fields[i]
			v := buf[fl.start:fl.end]
			if fl.quoted {
				v = unquote(&scratch, v)
			}
			return v
		}
		if !haveHeader {
			haveHeader = true
			for i := range fields {
				if opts.NoHeader {
					names = append(names, "f"+strconv.Itoa(i))
				} else {
					names = append(names, string(value(i)))
				}
			}
			cand = make([]uint16, len(names))
			seen = make([]bool, len(names))
			for i := range cand {
				cand[i] = cAll
			}
			if !opts.NoHeader {
				continue
			}
		}
		if len(fields) != len(names) {
			line := 1 + int64(bytes.Count(buf[:rowStart], []byte{'\n'}))
			return nil, &ParseError{Path: path, Line: line, Msg: fmt.Sprintf("expected %d fields, got %d", len(names), len(fields))}
		}
		for i := range fields {
			v := value(i)
			if nulls.isNull(v) {
				continue
			}
			seen[i] = true
			cand[i] = classify(v, cand[i])
		}
	}
	if !haveHeader {
		return nil, fmt.Errorf("csvread: %s: empty CSV file", path)
	}
	fieldsOut := make([]arrow.Field, len(names))
	for i, name := range names {
		var t arrow.DataType = arrow.Null
		if seen[i] {
			c := cand[i]
			t = candTypes[c&-c]
		}
		fieldsOut[i] = arrow.Field{Name: name, Type: t, Nullable: true}
	}
	s, err := applyColumnTypes(arrow.NewSchema(fieldsOut, nil), opts.ColumnTypes)
	if err != nil {
		return nil, fmt.Errorf("csvread: %s: %w", path, err)
	}
	return s, nil
}
