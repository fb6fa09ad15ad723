package data_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/goray-dev/goray/raylib/data"
)

// filesUnder lists the regular files under dir, relative to it, sorted.
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// snapshot maps each file under dir to its content.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range filesUnder(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// noStaging fails if parent holds a write's staging folder.
func noStaging(t testing.TB, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".writing-") {
			t.Errorf("staging folder %q left in %s", e.Name(), parent)
		}
	}
}

func byID(rows []data.Row) []data.Row {
	out := slices.Clone(rows)
	sort.Slice(out, func(i, j int) bool { return out[i]["id"].(int64) < out[j]["id"].(int64) })
	return out
}

// ---------------------------------------------------------------------
// Writers.
// ---------------------------------------------------------------------

func sampleRows(n int) []data.Row {
	rows := make([]data.Row, n)
	for i := range rows {
		rows[i] = data.Row{
			"id":    int64(i),
			"name":  fmt.Sprintf("name-%03d", i),
			"score": float64(i) * 1.25,
			"ok":    i%2 == 0,
		}
	}
	return rows
}

func TestWriteParquetRoundTrip(t *testing.T) {
	setup(t)
	dir := filepath.Join(t.TempDir(), "out")
	want := sampleRows(300)
	// A fresh source per execution (see TestRepartitionKeepsSourceBlocks).
	src := func() *data.Dataset { return data.FromItems(want).Repartition(3) }
	if err := callErr(t, func() error { return src().WriteParquet(dir) }); err != nil {
		t.Fatal(err)
	}
	if n := len(filesUnder(t, dir)); n < 1 {
		t.Fatalf("no files written")
	}
	noStaging(t, filepath.Dir(dir))
	for _, f := range filesUnder(t, dir) {
		if !strings.HasSuffix(f, ".parquet") {
			t.Errorf("file %q lacks the .parquet extension", f)
		}
	}
	ds := data.ReadParquet(dir)
	got := byID(mustCall(t, ds.TakeAll))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("round trip:\n got %v...\nwant %v...", got[:2], want[:2])
	}
	// Another codec round-trips as well.
	dir2 := filepath.Join(t.TempDir(), "zstd")
	if err := callErr(t, func() error { return src().WriteParquet(dir2, data.Compression("zstd")) }); err != nil {
		t.Fatal(err)
	}
	got = byID(mustCall(t, data.ReadParquet(dir2).TakeAll))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("zstd round trip differs")
	}
	wantErr(t, src().WriteParquet(filepath.Join(t.TempDir(), "x"), data.Compression("brotli9")), "brotli9")
}

func TestWriteParquetMaxRowsPerFile(t *testing.T) {
	setup(t)
	dir := filepath.Join(t.TempDir(), "out")
	if err := callErr(t, func() error { return data.Range(100).WriteParquet(dir, data.MaxRowsPerFile(30)) }); err != nil {
		t.Fatal(err)
	}
	files := filesUnder(t, dir)
	if len(files) != 4 {
		t.Errorf("100 rows at 30 per file: %d files %v, want 4", len(files), files)
	}
	var total int64
	for _, f := range files {
		n := mustCall(t, data.ReadParquet(filepath.Join(dir, f)).Count)
		if n > 30 {
			t.Errorf("%s holds %d rows, more than 30", f, n)
		}
		total += n
	}
	if total != 100 {
		t.Errorf("files hold %d rows, want 100", total)
	}
}

func TestWriteModes(t *testing.T) {
	setup(t)
	dir := filepath.Join(t.TempDir(), "out")
	write := func(ds *data.Dataset, opts ...data.WriteOption) error {
		return callErr(t, func() error { return ds.WriteParquet(dir, opts...) })
	}
	if err := write(data.Range(10)); err != nil {
		t.Fatal(err)
	}
	first := snapshot(t, dir)
	if len(first) == 0 {
		t.Fatal("no files written")
	}

	// A folder with files is refused by default, and left as it was.
	err := write(data.Range(10))
	wantErr(t, err, dir, "Overwrite", "Append")
	if got := snapshot(t, dir); fmt.Sprint(got) != fmt.Sprint(first) {
		t.Errorf("a refused write changed the folder")
	}

	// Append adds files beside the old ones.
	if err := write(data.Range(10), data.Mode(data.Append)); err != nil {
		t.Fatal(err)
	}
	appended := filesUnder(t, dir)
	if len(appended) != 2*len(first) {
		t.Errorf("after Append: %d files, want %d", len(appended), 2*len(first))
	}
	for f := range first {
		if !slices.Contains(appended, f) {
			t.Errorf("Append removed %s", f)
		}
	}
	if n := mustCall(t, data.ReadParquet(dir).Count); n != 20 {
		t.Errorf("after Append: %d rows, want 20", n)
	}

	// Overwrite replaces everything.
	if err := write(data.Range(5).MapBatches(double), data.Mode(data.Overwrite)); err != nil {
		t.Fatal(err)
	}
	for f := range first {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("Overwrite kept the old file %s", f)
		}
	}
	rows := byID(mustCall(t, data.ReadParquet(dir).TakeAll))
	if len(rows) != 5 || rows[4]["x"] != int64(8) {
		t.Errorf("after Overwrite: rows %v", rows)
	}
	noStaging(t, filepath.Dir(dir))
}

func failOn500(b *data.Batch) (*data.Batch, error) {
	for _, id := range b.Int64s("id") {
		if id == 500 {
			return nil, errors.New("bad row 500")
		}
	}
	return b, nil
}

func TestWriteFailureLeavesNothing(t *testing.T) {
	writers := map[string]func(ds *data.Dataset, dir string, opts ...data.WriteOption) error{
		"parquet": func(ds *data.Dataset, dir string, opts ...data.WriteOption) error {
			return ds.WriteParquet(dir, opts...)
		},
		"csv": func(ds *data.Dataset, dir string, opts ...data.WriteOption) error {
			return ds.WriteCSV(dir, opts...)
		},
		"json": func(ds *data.Dataset, dir string, opts ...data.WriteOption) error {
			return ds.WriteJSON(dir, opts...)
		},
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			setup(t)
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			// Tasks before and after the failing one write their files.
			bad := data.Range(1000, data.Parallelism(10)).MapBatches(failOn500)

			err := callErr(t, func() error { return write(bad, dir) })
			wantErr(t, err, "bad row 500")
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed write into a new folder left it behind (%v): %v", err, filesUnder(t, dir))
			}
			noStaging(t, parent)

			// An existing folder is left as it was, whatever the mode.
			if err := callErr(t, func() error { return write(data.Range(10), dir) }); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			for _, mode := range []data.WriteMode{data.Overwrite, data.Append} {
				err := callErr(t, func() error { return write(bad, dir, data.Mode(mode)) })
				wantErr(t, err, "bad row 500")
				if got := snapshot(t, dir); fmt.Sprint(got) != fmt.Sprint(before) {
					t.Errorf("mode %v: a failed write changed the folder: %v, was %v", mode, filesUnder(t, dir),
						len(before))
				}
				noStaging(t, parent)
			}
		})
	}
}

func TestWritePartitionBy(t *testing.T) {
	setup(t)
	rows := make([]data.Row, 60)
	for i := range rows {
		rows[i] = data.Row{"id": int64(i), "k": int64(i % 3), "tag": []string{"red", "blue"}[i%2]}
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := callErr(t, func() error { return data.FromItems(rows).WriteParquet(dir, data.PartitionBy("k")) }); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		}
	}
	if !slices.Equal(folders, []string{"k=0", "k=1", "k=2"}) {
		t.Fatalf("partition folders %v, want [k=0 k=1 k=2]", folders)
	}
	// The files hold the other columns; the folder names hold k.
	one := filesUnder(t, filepath.Join(dir, "k=1"))
	if len(one) == 0 {
		t.Fatal("k=1 holds no files")
	}
	cols := mustCall(t, data.ReadParquet(filepath.Join(dir, "k=1", one[0])).Columns)
	if slices.Contains(cols, "k") {
		t.Errorf("a partition file stores the partition column: %v", cols)
	}
	// Reading the folder restores k, as int64, on the right rows.
	got := byID(mustCall(t, data.ReadParquet(dir).TakeAll))
	if len(got) != 60 {
		t.Fatalf("%d rows, want 60", len(got))
	}
	for _, r := range got {
		if r["k"] != r["id"].(int64)%3 {
			t.Fatalf("row %v: k should be id %% 3", r)
		}
	}
	// String partitions, two levels.
	dir2 := filepath.Join(t.TempDir(), "out2")
	if err := callErr(t, func() error {
		return data.FromItems(rows).WriteParquet(dir2, data.PartitionBy("tag", "k"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "tag=red", "k=0")); err != nil {
		t.Errorf("nested partition folder: %v", err)
	}
	got = byID(mustCall(t, data.ReadParquet(dir2).TakeAll))
	for _, r := range got {
		if r["tag"] != []string{"red", "blue"}[r["id"].(int64)%2] || r["k"] != r["id"].(int64)%3 {
			t.Fatalf("row %v: wrong partition values", r)
		}
	}
	// A filter on the partition column prunes and still gives the right rows.
	n := mustCall(t, data.ReadParquet(dir).FilterExpr("k = 2").Count)
	if n != 20 {
		t.Errorf("k = 2: %d rows, want 20", n)
	}
}

func TestWriteCSVAndJSONRoundTrip(t *testing.T) {
	setup(t)
	want := sampleRows(50)
	src := func() *data.Dataset { return data.FromItems(want).Repartition(2) }
	for _, tc := range []struct {
		name  string
		ext   string
		write func(string) error
		read  func(string) *data.Dataset
	}{
		{"csv", ".csv", func(d string) error { return src().WriteCSV(d) }, func(d string) *data.Dataset { return data.ReadCSV(d) }},
		{"json", ".json", func(d string) error { return src().WriteJSON(d) }, func(d string) *data.Dataset { return data.ReadJSON(d) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := callErr(t, func() error { return tc.write(dir) }); err != nil {
				t.Fatal(err)
			}
			for _, f := range filesUnder(t, dir) {
				if !strings.HasSuffix(f, tc.ext) {
					t.Errorf("file %q lacks %s", f, tc.ext)
				}
			}
			got := byID(mustCall(t, tc.read(dir).TakeAll))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("round trip:\n got %v\nwant %v", got[:3], want[:3])
			}
		})
	}
}

func solidImage(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestWriteImages(t *testing.T) {
	setup(t)
	red := color.RGBA{R: 200, G: 10, B: 20, A: 255}
	ds := data.FromItems([]data.Row{
		{"image": solidImage(6, 4, red), "name": "a"},
		{"image": solidImage(6, 4, color.RGBA{G: 255, A: 255}), "name": "b"},
	})
	check := func(path string, want color.RGBA) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", path, err)
		}
		if b := img.Bounds(); b.Dx() != 6 || b.Dy() != 4 {
			t.Errorf("%s: %dx%d, want 6x4", path, b.Dx(), b.Dy())
		}
		r, g, b, a := img.At(2, 2).RGBA()
		if uint8(r>>8) != want.R || uint8(g>>8) != want.G || uint8(b>>8) != want.B || uint8(a>>8) != 255 {
			t.Errorf("%s: pixel %v, want %v", path, img.At(2, 2), want)
		}
	}
	dir := filepath.Join(t.TempDir(), "imgs")
	if err := callErr(t, func() error { return ds.WriteImages(dir, "image") }); err != nil {
		t.Fatal(err)
	}
	files := filesUnder(t, dir)
	if len(files) != 2 {
		t.Fatalf("files %v, want 2 PNGs", files)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".png") {
			t.Errorf("%s: want a .png name", f)
		}
	}
	// Named after a column.
	dir2 := filepath.Join(t.TempDir(), "named")
	if err := callErr(t, func() error { return ds.WriteImages(dir2, "image", data.FileNameColumn("name")) }); err != nil {
		t.Fatal(err)
	}
	if got := filesUnder(t, dir2); !slices.Equal(got, []string{"a.png", "b.png"}) {
		t.Fatalf("files %v, want [a.png b.png]", got)
	}
	check(filepath.Join(dir2, "a.png"), red)
	check(filepath.Join(dir2, "b.png"), color.RGBA{G: 255, A: 255})
	// A missing image column is an error naming it.
	err := callErr(t, func() error { return ds.WriteImages(filepath.Join(t.TempDir(), "x"), "picture") })
	wantErr(t, err, `"picture"`)
}

// ---------------------------------------------------------------------
// Readers.
// ---------------------------------------------------------------------

func TestReadCSVFolderGlobAndPaths(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "id,name\n1,one\n2,two\n")
	writeFile(t, filepath.Join(dir, "b.csv"), "id,name\n3,three\n")
	writeFile(t, filepath.Join(dir, "sub", "c.csv"), "id,name\n4,four\n")
	writeFile(t, filepath.Join(dir, "_SUCCESS"), "")
	writeFile(t, filepath.Join(dir, ".hidden.csv"), "id,name\nx,y\n")

	got := sortedIDs(t, mustCall(t, data.ReadCSV(dir).TakeAll))
	wantIDs(t, got, []int64{1, 2, 3, 4})

	rows := mustCall(t, data.ReadCSV(filepath.Join(dir, "?.csv")).TakeAll)
	wantIDs(t, sortedIDs(t, rows), []int64{1, 2, 3})

	got = sortedIDs(t, mustCall(t, data.ReadCSV(filepath.Join(dir, "a.csv"),
		data.Paths(filepath.Join(dir, "sub", "c.csv"))).TakeAll))
	wantIDs(t, got, []int64{1, 2, 4})

	// Columns and Filter read options.
	rows = mustCall(t, data.ReadCSV(dir, data.Columns("name", "id"), data.Filter("id >= 3")).TakeAll)
	var names []string
	for _, r := range rows {
		if len(r) != 2 {
			t.Fatalf("row %v: want only name and id", r)
		}
		names = append(names, r["name"].(string))
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"four", "three"}) {
		t.Errorf("names %v, want [four three]", names)
	}
	n := mustCall(t, data.ReadCSV(dir).Count)
	if n != 4 {
		t.Errorf("Count() = %d, want 4", n)
	}
}

// A CSV file larger than the target block is read as byte ranges in
// parallel; every row comes back once.
func TestReadCSVSplitIntoRanges(t *testing.T) {
	setup(t)
	data.Current().TargetMinBlockSize = 64 << 10
	var sb strings.Builder
	sb.WriteString("id,name,v\n")
	const n = 100_000
	for i := range n {
		fmt.Fprintf(&sb, "%d,name%d,%d.5\n", i, i, i)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "big.csv"), sb.String())
	ds := data.ReadCSV(path)
	rows := mustCall(t, ds.TakeAll)
	wantIDs(t, sortedIDs(t, rows), seq(0, n))
	for _, r := range rows {
		id := r["id"].(int64)
		if r["name"] != fmt.Sprintf("name%d", id) || r["v"] != float64(id)+0.5 {
			t.Fatalf("row %v is torn", r)
		}
	}
	if tasks := ds.Stats().Operators[0].Tasks; tasks < 2 {
		t.Errorf("a %d-byte file with 64 KiB blocks was read by %d task(s)", sb.Len(), tasks)
	}
	if c := mustCall(t, data.ReadCSV(path).Count); c != n {
		t.Errorf("Count() = %d, want %d", c, n)
	}
}

// With small blocks, a Parquet file is read in row-group tasks and the
// outputs split into blocks; nothing is lost or repeated.
func TestReadParquetSmallBlocks(t *testing.T) {
	setup(t)
	data.Current().TargetMaxBlockSize = 1 << 10
	path := filepath.Join(t.TempDir(), "g.parquet")
	writeRowGroups(t, path, 10, 100)
	ds := data.ReadParquet(path)
	m := mustCall(t, ds.Materialize)
	defer m.Release()
	if ds.Stats().Operators[0].Tasks < 2 || m.NumBlocks() < 10 {
		t.Errorf("%d tasks, %d blocks: want the file split", ds.Stats().Operators[0].Tasks, m.NumBlocks())
	}
	for _, b := range m.Blocks() {
		if b.Meta.SizeBytes > 2<<10 {
			t.Errorf("a block of %d bytes with TargetMaxBlockSize 1 KiB", b.Meta.SizeBytes)
		}
	}
	wantIDs(t, sortedIDs(t, mustCall(t, m.TakeAll)), seq(0, 1000))
}

// The Filter read option may use columns the Columns option leaves out,
// as the Parquet reader itself allows (it decodes the filter's columns too)
// and as Ray's read_parquet(columns=..., filter=...) does.
func TestReadOptionsFilterOnUnselectedColumn(t *testing.T) {
	setup(t)
	csvDir := t.TempDir()
	writeFile(t, filepath.Join(csvDir, "a.csv"), "id,name\n1,one\n2,two\n3,three\n")
	pqDir := writeParquetABC(t, 10)
	for name, ds := range map[string]*data.Dataset{
		"csv":     data.ReadCSV(csvDir, data.Columns("name"), data.Filter("id >= 2")),
		"parquet": data.ReadParquet(pqDir, data.Columns("b"), data.Filter("a >= 8")),
	} {
		rows, err := call(t, ds.TakeAll)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(rows) != 2 || len(rows[0]) != 1 {
			t.Errorf("%s: rows %v, want 2 rows of one column", name, rows)
		}
	}
}

// A glob skips hidden files as listing a folder does (and as shells and
// Python's glob do): a "*" does not match a leading dot.
func TestReadCSVGlobSkipsHiddenFiles(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "id,name\n1,one\n")
	writeFile(t, filepath.Join(dir, ".a.csv.crc"), "garbage\n")
	writeFile(t, filepath.Join(dir, ".hidden.csv"), "id,name\nx,y\n")
	rows, err := call(t, data.ReadCSV(filepath.Join(dir, "*.csv")).TakeAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["id"] != int64(1) {
		t.Errorf("glob *.csv read %v; want only a.csv's row (not .hidden.csv)", rows)
	}
}

func TestHivePartitionDiscovery(t *testing.T) {
	setup(t)
	t.Run("csv", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "year=2024", "month=01", "a.csv"), "id\n1\n2\n")
		writeFile(t, filepath.Join(dir, "year=2025", "month=02", "b.csv"), "id\n3\n")
		rows := byID(mustCall(t, data.ReadCSV(dir).TakeAll))
		want := "[map[id:1 month:1 year:2024] map[id:2 month:1 year:2024] map[id:3 month:2 year:2025]]"
		if fmt.Sprint(rows) != want {
			t.Errorf("rows %v\nwant %s", rows, want)
		}
		n := mustCall(t, data.ReadCSV(dir).FilterExpr("year = 2025").Count)
		if n != 1 {
			t.Errorf("year = 2025: %d rows, want 1", n)
		}
		sel := mustCall(t, data.ReadCSV(dir).SelectColumns("year").TakeAll)
		if len(sel) != 3 || len(sel[0]) != 1 {
			t.Errorf("SelectColumns(year): %v", sel)
		}
	})
	t.Run("parquet", func(t *testing.T) {
		dir := t.TempDir()
		for _, y := range []int64{2024, 2025} {
			sub := filepath.Join(dir, fmt.Sprintf("year=%d", y))
			err := callErr(t, func() error { return data.Range(10).WriteParquet(sub) })
			if err != nil {
				t.Fatal(err)
			}
		}
		ds := data.ReadParquet(dir)
		s := mustCall(t, ds.Schema)
		if got := s.String(); got != "Column  Type\n------  ----\nid      int64\nyear    int64" {
			t.Errorf("schema:\n%s", got)
		}
		rows := mustCall(t, ds.TakeAll)
		counts := map[any]int{}
		for _, r := range rows {
			counts[r["year"]]++
		}
		if counts[int64(2024)] != 10 || counts[int64(2025)] != 10 {
			t.Errorf("rows per year %v", counts)
		}
		n := mustCall(t, data.ReadParquet(dir).FilterExpr("year = 2024 and id < 3").Count)
		if n != 3 {
			t.Errorf("filtered count %d, want 3", n)
		}
	})
}

func TestReadJSON(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), "{\"id\": 1, \"name\": \"x\", \"v\": 1}\n{\"id\": 2, \"name\": \"y\", \"v\": 2.5}\n")
	writeFile(t, filepath.Join(dir, "b.json"), "[{\"id\": 3, \"name\": \"z\", \"v\": 3.5}]")
	rows := byID(mustCall(t, data.ReadJSON(dir).TakeAll))
	want := "[map[id:1 name:x v:1] map[id:2 name:y v:2.5] map[id:3 name:z v:3.5]]"
	if fmt.Sprint(rows) != want {
		t.Errorf("rows %v\nwant %s", rows, want)
	}
	if _, ok := rows[0]["v"].(float64); !ok {
		t.Errorf("v mixes ints and floats within a file: want float64, got %T", rows[0]["v"])
	}
}

func TestReadText(t *testing.T) {
	setup(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "a.txt"), "first line\r\nsecond\nthird")
	rows := mustCall(t, data.ReadText(path).TakeAll)
	var lines []string
	for _, r := range rows {
		lines = append(lines, r["text"].(string))
	}
	if !slices.Equal(lines, []string{"first line", "second", "third"}) {
		t.Errorf("lines %q", lines)
	}
}

func TestReadBinaryFilesIncludePaths(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	want := map[string][]byte{
		writeFile(t, filepath.Join(dir, "a.bin"), "\x00\x01\x02"): {0, 1, 2},
		writeFile(t, filepath.Join(dir, "b.bin"), "hello"):        []byte("hello"),
	}
	rows := mustCall(t, data.ReadBinaryFiles(dir, data.IncludePaths()).TakeAll)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for _, r := range rows {
		p, _ := r["path"].(string)
		w, ok := want[p]
		if !ok {
			t.Fatalf("row path %q is not one of the files", p)
		}
		if !bytes.Equal(r["bytes"].([]byte), w) {
			t.Errorf("%s: bytes %q, want %q", p, r["bytes"], w)
		}
	}
	// Without IncludePaths there is no path column.
	cols := mustCall(t, data.ReadBinaryFiles(dir).Columns)
	if !slices.Equal(cols, []string{"bytes"}) {
		t.Errorf("columns %v, want [bytes]", cols)
	}
}

func TestReadImages(t *testing.T) {
	setup(t)
	dir := t.TempDir()
	red := color.RGBA{R: 255, A: 255}
	var buf bytes.Buffer
	if err := png.Encode(&buf, solidImage(20, 10, red)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a.png"), buf.String())
	buf.Reset()
	if err := jpeg.Encode(&buf, solidImage(30, 15, red), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "b.jpg"), buf.String())
	writeFile(t, filepath.Join(dir, "notes.txt"), "not an image")

	for _, tc := range []struct {
		mode     string
		channels int
	}{{"RGB", 3}, {"L", 1}, {"RGBA", 4}} {
		t.Run(tc.mode, func(t *testing.T) {
			ds := data.ReadImages(dir, data.ImageSize(8, 6), data.ImageMode(tc.mode), data.IncludePaths())
			b := mustCall(t, func() (*data.Batch, error) { return ds.TakeBatch(10) })
			if b.NumRows() != 2 {
				t.Fatalf("%d images, want 2 (notes.txt must be skipped)", b.NumRows())
			}
			if !b.Has("image") || !b.Has("path") {
				t.Fatalf("columns %v", b.Columns())
			}
			typ := b.Type("image")
			if !strings.Contains(typ.String(), "tensor") && typ.ID() != arrow.EXTENSION {
				t.Errorf("image column type %s: want a tensor extension", typ)
			}
			for i, img := range b.Images("image") {
				if img == nil {
					t.Fatalf("image %d is nil", i)
				}
				if bd := img.Bounds(); bd.Dx() != 8 || bd.Dy() != 6 {
					t.Errorf("image %d: %dx%d, want 8x6", i, bd.Dx(), bd.Dy())
				}
				r, g, bl, _ := img.At(4, 3).RGBA()
				switch tc.channels {
				case 1:
					if _, ok := img.ColorModel().Convert(color.White).(color.Gray); !ok {
						t.Errorf("mode L: color model %T, want gray", img.ColorModel())
					}
					if r != g || g != bl {
						t.Errorf("mode L: pixel %v is not grey", img.At(4, 3))
					}
				default:
					if r>>8 < 200 || g>>8 > 40 || bl>>8 > 40 {
						t.Errorf("mode %s: pixel %v, want red", tc.mode, img.At(4, 3))
					}
				}
			}
			s := mustCall(t, ds.Schema)
			if !strings.Contains(s.String(), fmt.Sprint([]int{6, 8, tc.channels})) &&
				!strings.Contains(s.String(), fmt.Sprintf("6, 8, %d", tc.channels)) &&
				!strings.Contains(s.String(), fmt.Sprintf("6,8,%d", tc.channels)) {
				t.Errorf("schema does not show the shape [6 8 %d]:\n%s", tc.channels, s)
			}
		})
	}
	// Bad options are refused when the dataset is built.
	wantErr(t, data.ReadImages(dir, data.ImageMode("CMYK")).Err(), "CMYK")
	wantErr(t, data.ReadImages(dir, data.ImageSize(0, 5)).Err(), "ImageSize")
}

func TestInMemorySources(t *testing.T) {
	setup(t)
	rows := mustCall(t, data.FromItems([]data.Row{{"a": int64(1), "b": "x"}, {"a": int64(2), "b": nil}}).TakeAll)
	if fmt.Sprint(rows) != "[map[a:1 b:x] map[a:2 b:<nil>]]" {
		t.Errorf("FromItems rows %v", rows)
	}
	wantErr(t, data.FromItems([]data.Row{{"a": int64(1)}, {"a": "x"}}).Err(), `"a"`)

	n := mustCall(t, data.Range(0).Count)
	if n != 0 {
		t.Errorf("Range(0).Count() = %d", n)
	}
	if r := mustCall(t, data.Range(0).TakeAll); len(r) != 0 {
		t.Errorf("Range(0) rows %v", r)
	}
	wantErr(t, data.Range(-1).Err(), "Range(-1)")

	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	mk := func(vals ...int64) arrow.RecordBatch {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.AppendValues(vals, nil)
		return array.NewRecordBatch(schema, []arrow.Array{b.NewArray()}, int64(len(vals)))
	}
	ds := data.FromArrow(mk(1, 2), mk(3))
	m := mustCall(t, ds.Materialize)
	if m.NumBlocks() != 2 {
		t.Errorf("FromArrow of 2 records: %d blocks", m.NumBlocks())
	}
	rec := mustCall(t, ds.ToArrow)
	if rec.NumRows() != 3 || rec.Column(0).(*array.Int64).Value(2) != 3 {
		t.Errorf("ToArrow: %v", rec)
	}
	if n := mustCall(t, ds.Count); n != 3 {
		t.Errorf("Count() = %d", n)
	}
}

// FromArrow's schema, known without running, is the one Materialize finds:
// it covers every record, not only the last.
func TestFromArrowSchemaCoversAllRecords(t *testing.T) {
	setup(t)
	mk := func(name string) arrow.RecordBatch {
		s := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.Append(1)
		return array.NewRecordBatch(s, []arrow.Array{b.NewArray()}, 1)
	}
	ds := data.FromArrow(mk("a"), mk("b"))
	got := mustCall(t, ds.Schema)
	m := mustCall(t, data.FromArrow(mk("a"), mk("b")).Materialize)
	want := mustCall(t, m.Schema)
	if got.String() != want.String() {
		t.Errorf("FromArrow(a, b).Schema():\n%s\nMaterialize().Schema():\n%s", got, want)
	}
}

func TestCountFromMetadata(t *testing.T) {
	setup(t)
	dir := writeParquetABC(t, 123)
	ds := data.ReadParquet(dir)
	n := mustCall(t, ds.Count)
	if n != 123 {
		t.Errorf("Count() = %d, want 123", n)
	}
	if ds.Stats() != nil {
		t.Errorf("Count of a Parquet read ran the dataset: %v", ds.Stats())
	}
	s := mustCall(t, ds.Schema)
	if ds.Stats() != nil {
		t.Errorf("Schema of a Parquet read ran the dataset")
	}
	if got, want := s.String(), "Column  Type\n------  ----\na       int64\nb       string\nc       double"; got != want {
		t.Errorf("Schema():\n%s\nwant:\n%s", got, want)
	}
	if ds.String() != "Dataset(num_rows=123, schema={a: int64, b: string, c: double})" {
		t.Errorf("String() = %q", ds.String())
	}
	// Range and Limit are known too.
	r := data.Range(1000).Map(func(r data.Row) (data.Row, error) { return r, nil }).Limit(10)
	if n := mustCall(t, r.Count); n != 10 || r.Stats() != nil {
		t.Errorf("Count = %d (stats %v), want 10 from metadata", n, r.Stats())
	}
}

func TestSchemaFormat(t *testing.T) {
	setup(t)
	ds := data.FromItems([]data.Row{{"identifier": int64(1), "x": 1.5, "s": "a", "ok": true}})
	s := mustCall(t, ds.Schema)
	want := "Column      Type\n" +
		"------      ----\n" +
		"identifier  int64\n" +
		"ok          bool\n" +
		"s           string\n" +
		"x           double"
	if s.String() != want {
		t.Errorf("Schema():\n%s\nwant:\n%s", s, want)
	}
	if s.Arrow().NumFields() != 4 {
		t.Errorf("Arrow() has %d fields", s.Arrow().NumFields())
	}
	// A schema found by running the first block.
	s = mustCall(t, data.Range(3).MapBatches(double).Schema)
	if s.String() != "Column  Type\n------  ----\nid      int64\nx       int64" {
		t.Errorf("Schema():\n%s", s)
	}
}

func TestMaterializedDataset(t *testing.T) {
	setup(t)
	var runs atomic.Int64
	ds := data.Range(100, data.Parallelism(4)).MapBatches(func(b *data.Batch) (*data.Batch, error) {
		runs.Add(1)
		return double(b)
	})
	m := mustCall(t, ds.Materialize)
	defer m.Release()
	if got, want := m.String(), "MaterializedDataset(num_blocks=4, num_rows=100, schema={id: int64, x: int64})"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if m.NumBlocks() != 4 {
		t.Errorf("NumBlocks() = %d", m.NumBlocks())
	}
	if m.SizeBytes() != 1600 {
		t.Errorf("SizeBytes() = %d, want 1600 (two int64 columns of 100 rows)", m.SizeBytes())
	}
	var rows int64
	for _, ref := range m.Blocks() {
		blk, err := ref.Get()
		if err != nil {
			t.Fatal(err)
		}
		rec := blk.Record()
		if rec.NumRows() != ref.Meta.NumRows || rec.NumCols() != 2 {
			t.Errorf("block: %d rows (meta %d), %d columns", rec.NumRows(), ref.Meta.NumRows, rec.NumCols())
		}
		rows += rec.NumRows()
	}
	if rows != 100 {
		t.Errorf("blocks hold %d rows, want 100", rows)
	}
	before := runs.Load()
	// Consumers of the materialized dataset do not rerun the pipeline.
	if n := mustCall(t, m.Count); n != 100 {
		t.Errorf("Count() = %d", n)
	}
	got := sortedIDs(t, mustCall(t, m.MapBatches(identity).TakeAll))
	wantIDs(t, got, seq(0, 100))
	if runs.Load() != before {
		t.Errorf("using the materialized dataset reran the UDF")
	}
}

// A materialized (or in-memory) dataset keeps its blocks however often it
// is consumed: consumers must not free blocks the execution did not make.
func TestMaterializedDatasetIsReusable(t *testing.T) {
	setup(t)
	consumers := []struct {
		name string
		run  func(ds *data.Dataset) error
	}{
		{"TakeAll", func(ds *data.Dataset) error { _, err := ds.TakeAll(); return err }},
		{"ToArrow", func(ds *data.Dataset) error { _, err := ds.ToArrow(); return err }},
		{"Take of a whole block", func(ds *data.Dataset) error { _, err := ds.Take(25); return err }},
		{"IterRows", func(ds *data.Dataset) error {
			for _, err := range ds.IterRows() {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"IterBatches", func(ds *data.Dataset) error {
			for _, err := range ds.IterBatches() {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"Limit then a map", func(ds *data.Dataset) error {
			_, err := ds.Limit(1000).MapBatches(identity).TakeAll()
			return err
		}},
		{"Repartition", func(ds *data.Dataset) error { _, err := ds.Repartition(2).TakeAll(); return err }},
	}
	for _, c := range consumers {
		m := mustCall(t, data.Range(100, data.Parallelism(4)).Materialize) // blocks of 25 rows
		if err := callErr(t, func() error { return c.run(m.Dataset) }); err != nil {
			t.Errorf("%s of the materialized dataset: %v", c.name, err)
		}
		// A map reads the blocks without freeing them: it checks they are there.
		rows, err := call(t, m.MapBatches(identity).TakeAll)
		if err != nil {
			t.Errorf("after %s, the materialized dataset is broken: %v", c.name, err)
		} else {
			wantIDs(t, sortedIDs(t, rows), seq(0, 100))
		}
		m.Release()
	}
	items := data.FromItems([]data.Row{{"id": int64(1)}, {"id": int64(2)}})
	for i := range 3 {
		rows, err := call(t, items.TakeAll)
		if err != nil {
			t.Errorf("FromItems, execution %d: %v", i+1, err)
			break
		}
		wantIDs(t, sortedIDs(t, rows), []int64{1, 2})
	}
}

func TestIterBatchesSpansBlocks(t *testing.T) {
	setup(t)
	data.Current().PreserveOrder = true
	ds := data.Range(100, data.Parallelism(10)) // blocks of 10 rows
	var sizes []int
	var all []int64
	within(t, hangLimit, func() {
		for b, err := range ds.IterBatches(data.IterBatchSize(7)) {
			if err != nil {
				t.Error(err)
				return
			}
			sizes = append(sizes, b.NumRows())
			all = append(all, b.Int64s("id")...)
		}
	})
	want := slices.Repeat([]int{7}, 14)
	want = append(want, 2)
	if !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
	wantIDs(t, all, seq(0, 100))

	sizes = nil
	within(t, hangLimit, func() {
		for b, err := range ds.IterBatches(data.IterBatchSize(7), data.DropLast()) {
			if err != nil {
				t.Error(err)
				return
			}
			sizes = append(sizes, b.NumRows())
		}
	})
	if !slices.Equal(sizes, slices.Repeat([]int{7}, 14)) {
		t.Errorf("DropLast: batch sizes %v", sizes)
	}
	var iterErr error
	for _, err := range ds.IterBatches(data.IterBatchSize(0)) {
		iterErr = err
	}
	wantErr(t, iterErr, "batch size")
}

func TestIterRowsBreakStopsEarly(t *testing.T) {
	setup(t)
	data.Current().MemoryBudget = 8 << 20
	var seen atomic.Int64
	ds := data.Range(10_000_000).MapBatches(func(b *data.Batch) (*data.Batch, error) {
		seen.Add(int64(b.NumRows()))
		return b, nil
	}, data.BatchSize(1000), data.Concurrency(2))
	body := 0
	within(t, hangLimit, func() {
		for r, err := range ds.IterRows() {
			if err != nil {
				t.Error(err)
				return
			}
			if _, ok := r["id"].(int64); !ok {
				t.Errorf("row %v", r)
			}
			body++
			if body == 5 {
				break
			}
		}
	})
	if body != 5 {
		t.Errorf("loop body ran %d times, want 5", body)
	}
	atBreak := seen.Load()
	if atBreak >= 5_000_000 {
		t.Errorf("breaking after 5 rows still ran %d of 10M rows through the UDF", atBreak)
	}
	// Once the loop is over the execution is over: no UDF runs any more.
	time.Sleep(200 * time.Millisecond)
	if n := seen.Load(); n != atBreak {
		t.Errorf("the UDF went on after the loop ended: %d rows at break, %d later", atBreak, n)
	}
}
