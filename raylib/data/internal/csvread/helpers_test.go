package csvread

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// table is a read result: column names and rows of ValueStr renderings,
// "<nil>" for nulls.
type table struct {
	names []string
	types []string
	rows  [][]string
}

func collect(rd *Reader) (table, []int, error) {
	var tb table
	for _, f := range rd.Schema().Fields() {
		tb.names = append(tb.names, f.Name)
		tb.types = append(tb.types, f.Type.String())
	}
	var sizes []int
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return tb, sizes, nil
		}
		if err != nil {
			return tb, sizes, err
		}
		if err := validateBatch(rec); err != nil {
			rec.Release()
			return tb, sizes, err
		}
		sizes = append(sizes, int(rec.NumRows()))
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					row[j] = "<nil>"
				} else if bin, ok := col.(*array.Binary); ok {
					row[j] = string(bin.Value(i))
				} else {
					row[j] = col.ValueStr(i)
				}
			}
			tb.rows = append(tb.rows, row)
		}
		rec.Release()
	}
}

func validateBatch(rec arrow.RecordBatch) error {
	for _, col := range rec.Columns() {
		if col.Len() != int(rec.NumRows()) {
			return errors.New("column length differs from batch rows")
		}
		nulls := 0
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				nulls++
			}
		}
		if nulls != col.NullN() {
			return errors.New("null count disagrees with bitmap")
		}
	}
	return nil
}

// readRange reads one range with the given schema.
func readRange(t testing.TB, r Range, schema *arrow.Schema, opts Options) (table, error) {
	t.Helper()
	rd, err := NewReader(r, schema, opts)
	if err != nil {
		return table{}, err
	}
	defer rd.Close()
	tb, _, err := collect(rd)
	return tb, err
}

// readFile infers the schema and reads the whole file.
func readFile(t testing.TB, path string, opts Options) (table, error) {
	t.Helper()
	schema, err := Infer(path, opts)
	if err != nil {
		return table{}, err
	}
	return readRange(t, WholeFile(path), schema, opts)
}

func mustRead(t testing.TB, path string, opts Options) table {
	t.Helper()
	tb, err := readFile(t, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func rows(s ...string) [][]string {
	var out [][]string
	for _, r := range s {
		row := strings.Split(r, "|")
		for i, v := range row {
			if v == "<empty>" {
				row[i] = ""
			}
		}
		out = append(out, row)
	}
	return out
}

func checkRows(t testing.TB, got table, want [][]string) {
	t.Helper()
	if len(got.rows) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got.rows, want) {
		t.Fatalf("rows:\n got %q\nwant %q", got.rows, want)
	}
}
