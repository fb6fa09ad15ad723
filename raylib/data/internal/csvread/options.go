package csvread

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options configures Infer and NewReader. The zero value reads a
// comma-separated file with a header line, pyarrow's default null values
// and type inference.
type Options struct {
	// Delimiter separates fields; 0 means ','. It may not be '"', '\r' or '\n'.
	Delimiter byte

	// NoHeader says the file has no header line; columns are then named
	// f0, f1, ... (as pyarrow's autogenerate_column_names does).
	NoHeader bool

	// Columns, when set, projects the output of a Reader to these columns,
	// in this order. Fields of other columns are skipped without
	// conversion. Infer ignores it and always returns the full schema.
	Columns []string

	// ColumnTypes overrides the type of the named columns, both in Infer
	// and in NewReader. Naming a column the file does not have is an error.
	ColumnTypes map[string]arrow.DataType

	// NullValues are the spellings of null for non-string columns. A nil
	// slice means pyarrow's defaults (DefaultNullValues, which include the
	// empty string); a non-nil empty slice means no value is null. Quoted
	// values are checked too (pyarrow's quoted_strings_can_be_null).
	NullValues []string

	// StringsCanBeNull makes NullValues apply to string and binary columns
	// as well. By default (as in pyarrow) a string column never holds
	// nulls: an empty field is the empty string and "NA" is "NA".
	StringsCanBeNull bool

	// BlockRows is the number of rows per record batch. 0 picks a number
	// of rows that makes a batch about BlockBytes of CSV text, estimated
	// from the first rows of the range.
	BlockRows int

	// InferBytes is how much of the file Infer samples; 0 means 1 MiB
	// (pyarrow's default block size).
	InferBytes int
}

// DefaultNullValues are pyarrow's default null spellings
// (pyarrow.csv.ConvertOptions().null_values).
var DefaultNullValues = []string{"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN",
	"-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"}

// BlockBytes is the approximate amount of CSV text per record batch when
// Options.BlockRows is 0.
const BlockBytes = 4 << 20

const defaultInferBytes = 1 << 20

func (o Options) delimiter() (byte, error) {
	d := o.Delimiter
	if d == 0 {
		d = ','
	}
	if d == '"' || d == '\n' || d == '\r' {
		return 0, fmt.Errorf("csvread: invalid delimiter %q", d)
	}
	return d, nil
}

// nullSet answers "is this field a null value" quickly: most fields are
// rejected by two table lookups on (first byte, last byte, length).
type nullSet struct {
	emptyIsNull bool
	long        bool        // some null value is 64 bytes or longer
	first       [256]uint64 // by first byte: bit L set if a null value of length L (< 64) starts with it
	last        [256]uint64 // by last byte: the same for the last byte
	values      []string
}

func newNullSet(values []string) *nullSet {
	if values == nil {
		values = DefaultNullValues
	}
	s := &nullSet{values: values}
	for _, v := range values {
		switch {
		case v == "":
			s.emptyIsNull = true
		case len(v) >= 64:
			s.long = true
		default:
			s.first[v[0]] |= 1 << uint(len(v))
			s.last[v[len(v)-1]] |= 1 << uint(len(v))
		}
	}
	return s
}

// maybe is the inlinable pre-check of isNull: false means not null.
func (s *nullSet) maybe(b []byte) bool {
	n := len(b)
	if n == 0 {
		return s.emptyIsNull
	}
	if n >= 64 {
		return s.long
	}
	return (s.first[b[0]]&s.last[b[n-1]])>>uint(n)&1 != 0
}

func (s *nullSet) isNull(b []byte) bool {
	if !s.maybe(b) {
		return false
	}
	if len(b) == 0 {
		return true
	}
	for _, v := range s.values {
		if string(b) == v {
			return true
		}
	}
	return false
}

// ParseError is the error for malformed input. Line is 1-based and counts
// physical lines (a quoted field holding newlines spans several).
type ParseError struct {
	Path   string
	Line   int64
	Column string // empty when the error is not about one column
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s: line %d: column %q: %s", e.Path, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: line %d: %s", e.Path, e.Line, e.Msg)
}

// ErrUnsupportedType is wrapped by errors about column types the reader
// cannot produce.
var ErrUnsupportedType = errors.New("csvread: unsupported column type")
