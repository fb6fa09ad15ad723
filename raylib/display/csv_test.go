package display_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray-dev/goray/raylib/display"
)

func writeCSV(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCSVPreview(t *testing.T) {
	path := writeCSV(t, "\ufeffid,score,ok,name,blank,mixed\n"+
		"1,0.5,true,cat,,1\n"+
		"2,3,False,\"dog, big\",,x\n"+
		",1e-07,,<b>,,2\n"+
		"4,-2,TRUE,,,3\n")
	tab, err := display.CSVPreview(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []display.Column{{"id", "int64"}, {"score", "double"}, {"ok", "bool"},
		{"name", "string"}, {"blank", "null"}, {"mixed", "string"}}
	if len(tab.Columns) != len(wantCols) {
		t.Fatalf("columns %v", tab.Columns)
	}
	for i, c := range wantCols {
		if tab.Columns[i] != c {
			t.Errorf("column %d = %+v, want %+v", i, tab.Columns[i], c)
		}
	}
	if len(tab.Rows) != 2 || tab.TotalRows != 4 || tab.Title != path {
		t.Errorf("rows %d, total %d, title %q", len(tab.Rows), tab.TotalRows, tab.Title)
	}
	if tab.Rows[1][3].Text != "dog, big" {
		t.Errorf("quoted field %q", tab.Rows[1][3].Text)
	}
	if !strings.HasSuffix(tab.String(), "showing 2 of 4 rows") {
		t.Errorf("footer:\n%s", tab)
	}

	all, err := display.CSVPreview(path, 100)
	if err != nil || len(all.Rows) != 4 || !strings.HasSuffix(all.String(), "4 rows × 6 columns") {
		t.Errorf("n beyond the file: %v\n%s", err, all)
	}
	none, err := display.CSVPreview(path, -1)
	if err != nil || len(none.Rows) != 0 || none.TotalRows != 4 {
		t.Errorf("negative n: %v %+v", err, none)
	}
}

func TestCSVPreviewHeaderOnly(t *testing.T) {
	tab, err := display.CSVPreview(writeCSV(t, "a,b\n"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 0 || tab.TotalRows != 0 || tab.Columns[0].Type != "null" {
		t.Errorf("header only: %+v", tab)
	}
}

func TestCSVPreviewErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"wrong field count", "a,b\n1,2\n3\n", []string{"line 3", "wrong number of fields"}},
		{"bare quote", "a,b\n1,2\n3,4\n5,x\"y\n", []string{"line 4", "bare \""}},
		{"empty", "", []string{"no header"}},
	} {
		path := writeCSV(t, tc.data)
		_, err := display.CSVPreview(path, 10)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range append(tc.want, path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.csv")
	if _, err := display.CSVPreview(missing, 5); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error should wrap the os error: %v", err)
	}
}
