package display

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// CSVPreview reads the CSV file at path, whose first record is the header,
// and returns a table of its first n data rows. TotalRows is the file's
// data row count, and column types are inferred over the whole file with
// Arrow's names (int64, double, bool, string; null when a column is
// empty), as Ray Data's read_csv would report them.
func CSVPreview(path string, n int) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("display.CSVPreview: %w", err) // the error names the file
	}
	defer f.Close()
	t, err := csvPreview(f, path, n)
	if err != nil {
		return nil, fmt.Errorf("display.CSVPreview: %s: %w", path, err)
	}
	return t, nil
}

func csvPreview(r io.Reader, title string, n int) (*Table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true // whole files are scanned to count rows and infer types
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: no header")
	}
	if err != nil {
		return nil, err // a *csv.ParseError, which gives the line
	}
	t := &Table{Title: title, Columns: make([]Column, len(header))}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a byte order mark from spreadsheet exports
		}
		t.Columns[i].Name = name
	}
	kinds := make([]kind, len(header))
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, s := range rec {
			kinds[i] = kinds[i].widen(s)
		}
		if rows < n {
			row := make([]Cell, len(rec))
			for i, s := range rec {
				row[i] = Cell{Text: s}
			}
			t.Rows = append(t.Rows, row)
		}
		rows++
	}
	for i, k := range kinds {
		t.Columns[i].Type = k.String()
	}
	t.TotalRows = rows
	return t, nil
}

// kind is an inferred column type. Inference only widens, in Arrow's
// order: null, then int64, bool or double, then string for anything else.
type kind int

const (
	kNull kind = iota
	kInt
	kBool
	kDouble
	kString
)

func (k kind) String() string {
	return [...]string{"null", "int64", "bool", "double", "string"}[k]
}

// widen returns the narrowest kind that holds both k's values and s. Empty
// fields are nulls, which fit every kind.
func (k kind) widen(s string) kind {
	if s == "" || k == kString {
		return k
	}
	isInt := func() bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }
	isFloat := func() bool { _, err := strconv.ParseFloat(s, 64); return err == nil }
	isBool := func() bool {
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return true
		}
		return false
	}
	switch {
	case (k == kNull || k == kInt) && isInt():
		return kInt
	case (k == kNull || k == kBool) && isBool():
		return kBool
	case (k == kNull || k == kInt || k == kDouble) && isFloat():
		return kDouble
	}
	return kString
}
