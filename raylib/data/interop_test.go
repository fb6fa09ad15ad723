package data_test

// Interop tests of the Dataset readers and writers against pyarrow, pandas
// and DuckDB, through the fixture scripts of tests/interop (README.md
// there describes the files, the canonical types and values):
//
//   - TestInteropPeersWriteWeRead: peer_write.py writes Parquet, CSV and
//     JSON lines; ReadParquet/ReadCSV/ReadJSON must read what
//     X.expected.json says, column by column.
//   - TestInteropWeWritePeersRead: WriteParquet/WriteCSV/WriteJSON write a
//     dataset; peer_read.py reads it with pyarrow and DuckDB, which must see
//     our types and values.
//   - TestInteropHivePartitionedWrite: WriteParquet(dir, PartitionBy(...))
//     read back by pyarrow.dataset and DuckDB with hive partitioning.
//
// The peers run from the project venv (<repo>/.venv/bin/python, made by
// `make venv`). Without it the tests fail, except under -short.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/goray-dev/goray/raylib/data"
)

// ---------------------------------------------------------------- setup

// interopRoot is the repository root: the first folder above the test's
// working directory that holds go.mod.
func interopRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("interop: no go.mod above the test's working directory")
		}
		dir = parent
	}
}

type interopEnv struct {
	root, python, scripts string
}

// interopSetup finds the venv interpreter and the fixture scripts. A
// missing venv is a failure (make test installs it first, so a skip would
// hide interop regressions), except under -short.
func interopSetup(t *testing.T) interopEnv {
	t.Helper()
	root := interopRoot(t)
	py := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		if testing.Short() {
			t.Skipf("interop: %s missing (-short): skipping the peer tests", py)
		}
		t.Fatalf("interop: %s missing: run `make venv` (pyarrow and duckdb are needed for the interop tests)", py)
	}
	scripts := filepath.Join(root, "tests", "interop")
	for _, s := range []string{"peer_write.py", "peer_read.py", "canon.py"} {
		if _, err := os.Stat(filepath.Join(scripts, s)); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	return interopEnv{root: root, python: py, scripts: scripts}
}

// run runs a fixture script; it returns stdout and fails the test when
// the script exits non-zero (unless allowFail), with its stderr.
func (e interopEnv) run(t *testing.T, allowFail bool, script string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.python, append([]string{filepath.Join(e.scripts, script)}, args...)...)
	cmd.Dir = e.root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil && !allowFail {
		t.Fatalf("interop: %s %s: %v\nstderr:\n%s", script, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String(), err
}

// interopContext is a quiet context that keeps the order of the rows, so
// rows of a file can be compared in file order.
func interopContext() *data.DataContext {
	dc := data.DefaultContext()
	dc.Progress = false
	dc.OperatorProgress = false
	dc.Log = io.Discard
	dc.PreserveOrder = true
	return dc
}

// ----------------------------------------------------------- comparison

// interopAccept reports whether a value difference is an accepted,
// documented one, and why.
type interopAccept func(col string, exp, got any) (why string, ok bool)

// compareInterop compares a document (got) with the expected one, column
// by column in subtests: names, types (equal or listed in accept_types)
// and every value. byKey sorts both sides by the key column first.
func compareInterop(t *testing.T, exp, got *interopDoc, byKey bool, accept interopAccept) {
	t.Helper()
	if !slices.Equal(exp.names(), got.names()) {
		t.Errorf("columns: expected %v, got %v", exp.names(), got.names())
	}
	if len(exp.Rows) != len(got.Rows) {
		t.Fatalf("rows: expected %d, got %d", len(exp.Rows), len(got.Rows))
	}
	expRows, gotRows := exp.Rows, got.Rows
	if byKey && exp.Key != "" {
		ek, gk := exp.col(exp.Key), got.col(exp.Key)
		if ek < 0 || gk < 0 {
			t.Fatalf("key column %q missing", exp.Key)
		}
		expRows, gotRows = interopKeySort(expRows, ek), interopKeySort(gotRows, gk)
	}
	for ei, ef := range exp.Schema {
		name, et := ef[0], ef[1]
		t.Run(name, func(t *testing.T) {
			gi := got.col(name)
			if gi < 0 {
				t.Fatalf("column %q missing; got %v", name, got.names())
			}
			gt := got.Schema[gi][1]
			if gt != et && !slices.Contains(exp.AcceptTypes[name], gt) {
				t.Errorf("type: expected %s (or one of %v), got %s", et, exp.AcceptTypes[name], gt)
			}
			flat := strings.HasPrefix(et, "fixed_shape_tensor<") && strings.HasPrefix(gt, "list<")
			dec := strings.Contains(gt, "decimal") && !strings.Contains(et, "decimal")
			bad, accepted := 0, map[string]int{}
			for r := range expRows {
				ev, gv := expRows[r][ei], gotRows[r][gi]
				if flat && ev != nil {
					ev = interopFlattenCanon(ev)
				}
				if dec {
					gv = interopDecimalsToNumbers(gv)
				}
				if interopCanonEqual(ev, gv) {
					continue
				}
				if accept != nil {
					if why, ok := accept(name, ev, gv); ok {
						accepted[why]++
						continue
					}
				}
				bad++
				if bad <= 8 {
					key := ""
					if k := exp.col(exp.Key); k >= 0 && exp.Key != "" {
						key = fmt.Sprintf(" (%s=%s)", exp.Key, interopShowCanon(expRows[r][k]))
					}
					t.Errorf("row %d%s: expected %s, got %s", r, key, interopShowCanon(ev), interopShowCanon(gv))
				}
			}
			if bad > 8 {
				t.Errorf("... %d differing values in all", bad)
			}
			for why, n := range accepted {
				t.Logf("%d values differ as documented: %s", n, why)
			}
		})
	}
}

// ============================================================ 1. peers write

// interopManifest is peer_write.py's manifest.json.
type interopManifest struct {
	Seed     int64         `json:"seed"`
	Fixtures []*interopDoc `json:"fixtures"`
}

// interopReaders are the fixtures we read, and how.
var interopReaders = map[string]func(path string) *data.Dataset{
	"pyarrow/types.parquet":  func(p string) *data.Dataset { return data.ReadParquet(p) },
	"duckdb/types.parquet":   func(p string) *data.Dataset { return data.ReadParquet(p) },
	"pyarrow/tensor.parquet": func(p string) *data.Dataset { return data.ReadParquet(p) },
	"hive":                   func(p string) *data.Dataset { return data.ReadParquet(p) },
	"duckdb_hive":            func(p string) *data.Dataset { return data.ReadParquet(p) },
	"multi":                  func(p string) *data.Dataset { return data.ReadParquet(p) },
	// peer_read.py reads CSV with null_values=[""] (only the empty field
	// is null, "nan"/"NULL" stay values): NullValues("") is the same.
	"pyarrow/types.csv": func(p string) *data.Dataset { return data.ReadCSV(p, data.NullValues("")) },
	"duckdb/types.csv":  func(p string) *data.Dataset { return data.ReadCSV(p, data.NullValues("")) },
	"pandas/types.jsonl": func(p string) *data.Dataset {
		return data.ReadJSON(p)
	},
}

// interopCsvStringNulls: ReadCSV follows pyarrow.csv's default
// strings_can_be_null=False (Ray's read_csv does the same): an empty field
// in a string column is the empty string, never null, and ReadCSV has no
// option to change that. peer_read.py reads with strings_can_be_null=True,
// so the fixtures expect null there. Only that exact difference (expected
// null, got "") is accepted, and only in string columns.
func interopCsvStringNulls(types map[string]string) interopAccept {
	return func(col string, exp, got any) (string, bool) {
		if types[col] == "string" && exp == nil && got == "" {
			return "a null string reads as \"\" (pyarrow's strings_can_be_null=False default)", true
		}
		return "", false
	}
}

func TestInteropPeersWriteWeRead(t *testing.T) {
	env := interopSetup(t)
	out := t.TempDir()
	env.run(t, false, "peer_write.py", out)
	raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man interopManifest
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	seen := map[string]bool{}
	for _, fx := range man.Fixtures {
		read, ok := interopReaders[fx.Path]
		if !ok {
			t.Logf("fixture %s (%s, %s): not read by this test", fx.Path, fx.Writer, fx.Format)
			continue
		}
		seen[fx.Path] = true
		t.Run(strings.ReplaceAll(fx.Path, "/", "_"), func(t *testing.T) {
			exp, err := readInteropDoc(filepath.Join(out, fx.Expected))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(out, fx.Path)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			ds := read(path).WithDataContext(interopContext())
			rec, err := ds.ToArrow()
			if err != nil {
				t.Fatalf("read %s: %v", fx.Path, err)
			}
			got := interopCanonRecord(rec)
			if got.NumRows != exp.NumRows {
				t.Errorf("ToArrow: %d rows, expected %d", got.NumRows, exp.NumRows)
			}
			if n, err := ds.Count(); err != nil || int(n) != exp.NumRows {
				t.Errorf("Count() = %d, %v; expected %d", n, err, exp.NumRows)
			}
			// The schema a Parquet read knows from the footers must be
			// the schema of the rows it then produces.
			if s, err := ds.Schema(); err != nil {
				t.Errorf("Schema(): %v", err)
			} else if s != nil && !slices.Equal(interopCanonSchema(s.Arrow()), got.Schema) {
				t.Errorf("Schema() says %v but the rows are %v", interopCanonSchema(s.Arrow()), got.Schema)
			}
			var accept interopAccept
			if fx.Format == "csv" {
				types := map[string]string{}
				for _, f := range got.Schema {
					types[f[0]] = f[1]
				}
				accept = interopCsvStringNulls(types)
			}
			// A file is read in its order (PreserveOrder); a folder's
			// files may come in any order, so those rows are keyed.
			compareInterop(t, exp, got, fi.IsDir(), accept)
		})
	}
	for p := range interopReaders {
		if !seen[p] {
			t.Errorf("fixture %s is not in manifest.json any more", p)
		}
	}
	// The JSON fixture once more without its struct column "point" (the
	// last key of every line), so that the other JSON columns are checked
	// even while ReadJSON cannot read nested objects.
	if seen["pandas/types.jsonl"] {
		t.Run("pandas_types.jsonl_without_point", func(t *testing.T) {
			exp, err := readInteropDoc(filepath.Join(out, "pandas/types.jsonl.expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(out, "pandas/types.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				i := strings.LastIndex(line, `,"point":`)
				if i < 0 || !strings.HasSuffix(line, "}") {
					t.Fatalf("unexpected line (point is not the last key): %.200s", line)
				}
				b.WriteString(line[:i] + "}\n")
			}
			path := filepath.Join(t.TempDir(), "types.jsonl")
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			rec, err := data.ReadJSON(path).WithDataContext(interopContext()).ToArrow()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			compareInterop(t, interopWithoutColumns(exp, "point"), interopCanonRecord(rec), false, nil)
		})
	}
}

// ============================================================ 2. we write

// interopSpecialStrings are strings a CSV or JSON writer must quote or
// escape; they sit in rows 20.. of the str column.
var interopSpecialStrings = []string{"", "a,b", `say "hi"`, "line\nbreak", "crlf\r\nline", "tab\there", "é日本😀",
	"  padded  ", "NULL", "NaN", "'single'", `back\slash`, `"`, `""`, ",", "\n", "#comment", "\x00nul"}

const interopRows = 240

// interopWriteRecord builds the dataset we write: every scalar type with
// its edge cases and nulls.
func interopWriteRecord(t *testing.T) arrow.RecordBatch {
	t.Helper()
	mem := memory.NewGoAllocator()
	rng := rand.New(rand.NewPCG(20240917, 7))
	n := interopRows
	fields := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "str", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "ts_naive", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}
	id := array.NewInt64Builder(mem)
	i64 := array.NewInt64Builder(mem)
	f64 := array.NewFloat64Builder(mem)
	str := array.NewStringBuilder(mem)
	flag := array.NewBooleanBuilder(mem)
	ts := array.NewTimestampBuilder(mem, fields[5].Type.(*arrow.TimestampType))
	tsn := array.NewTimestampBuilder(mem, fields[6].Type.(*arrow.TimestampType))
	day := array.NewDate32Builder(mem)
	loUS := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hiUS := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	loDay := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	hiDay := time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400
	special := func(i, lo, hi int) bool { return i >= lo && i < hi }
	for i := range n {
		id.Append(int64(i))

		switch {
		case i == 1:
			i64.Append(math.MinInt64)
		case i == 2:
			i64.Append(math.MaxInt64)
		case i == 3:
			i64.Append(0)
		case i == 4:
			i64.Append(-1)
		case i%7 == 0:
			i64.AppendNull()
		default:
			i64.Append(rng.Int64N(2_000_000_000_000) - 1_000_000_000_000)
		}

		switch i {
		case 5:
			f64.Append(math.NaN())
		case 6:
			f64.Append(math.Inf(1))
		case 7:
			f64.Append(math.Inf(-1))
		case 8:
			f64.Append(0)
		case 9:
			f64.Append(5e-324)
		case 10:
			f64.Append(math.MaxFloat64)
		case 11:
			f64.Append(-2.2250738585072014e-308)
		case 12:
			f64.Append(0.1)
		default:
			if i%9 == 0 {
				f64.AppendNull()
			} else {
				f64.Append(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)))
			}
		}

		switch {
		case special(i, 20, 20+len(interopSpecialStrings)):
			str.Append(interopSpecialStrings[i-20])
		case i%11 == 0:
			str.AppendNull()
		default:
			b := make([]byte, 1+rng.IntN(16))
			for k := range b {
				b[k] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_"[rng.IntN(65)]
			}
			str.Append("s" + string(b))
		}

		if i%13 == 0 {
			flag.AppendNull()
		} else {
			flag.Append(rng.IntN(2) == 0)
		}

		switch {
		case i == 13:
			ts.Append(0)
			tsn.Append(0)
		case i == 14:
			ts.Append(-1) // 1969-12-31T23:59:59.999999
			tsn.Append(-1)
		case i == 15:
			ts.Append(1_700_000_000_000_000) // a whole second
			tsn.Append(1_700_000_000_000_000)
		case i%10 == 0:
			ts.AppendNull()
			tsn.AppendNull()
		default:
			ts.Append(arrow.Timestamp(loUS + rng.Int64N(hiUS-loUS)))
			tsn.Append(arrow.Timestamp(loUS + rng.Int64N(hiUS-loUS)))
		}

		if i%12 == 0 {
			day.AppendNull()
		} else {
			day.Append(arrow.Date32(loDay + rng.Int64N(hiDay-loDay+1)))
		}
	}
	cols := []arrow.Array{id.NewArray(), i64.NewArray(), f64.NewArray(), str.NewArray(), flag.NewArray(),
		ts.NewArray(), tsn.NewArray(), day.NewArray()}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
}

// interopImage is row id's image: 4 wide, 3 high, opaque, so it is stored
// as an RGB uint8 tensor of shape [3, 4, 3] (height, width, channels).
func interopImage(id int64) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for y := range 3 {
		for x := range 4 {
			img.Set(x, y, color.RGBA{R: uint8(id), G: uint8(id*7 + int64(x)), B: uint8(id*13 + int64(y)*5), A: 255})
		}
	}
	return img
}

// interopDataset is the dataset we write: the scalar columns plus an image
// column and a float32 tensor column.
func interopDataset(t *testing.T) *data.Dataset {
	t.Helper()
	return data.FromArrow(interopWriteRecord(t)).WithDataContext(interopContext()).
		AddColumn("img", func(b *data.Batch) (any, error) {
			ids := b.Int64s("id")
			imgs := make([]image.Image, len(ids))
			for i, id := range ids {
				imgs[i] = interopImage(id)
			}
			return imgs, nil
		}).
		AddColumn("emb", func(b *data.Batch) (any, error) {
			ids := b.Int64s("id")
			out := make([][]float32, len(ids))
			for i, id := range ids {
				out[i] = []float32{float32(id), -float32(id) / 3, 0.1, float32(math.Inf(1)), 1e-45, float32(math.NaN())}
			}
			return out, nil
		})
}

// peerDocs runs peer_read.py once on every path and indexes the documents
// by path and reader. A read failure is reported, not fatal, so that the
// other paths still get compared.
func (e interopEnv) peerDocs(t *testing.T, paths ...string) map[string]*interopDoc {
	t.Helper()
	stdout, stderr, err := e.run(t, true, "peer_read.py", paths...)
	if err != nil {
		t.Errorf("peer_read.py: %v\n%s", err, stderr)
	}
	docs := map[string]*interopDoc{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		d, err := decodeInteropDoc([]byte(line))
		if err != nil {
			t.Fatalf("peer_read.py output: %v: %.200s", err, line)
		}
		docs[d.Path+"|"+d.Reader] = d
	}
	return docs
}

// interopWithoutColumns is doc minus some columns.
func interopWithoutColumns(d *interopDoc, drop ...string) *interopDoc {
	out := *d
	out.Schema = nil
	var keep []int
	for i, f := range d.Schema {
		if !slices.Contains(drop, f[0]) {
			keep = append(keep, i)
			out.Schema = append(out.Schema, f)
		}
	}
	out.Rows = make([][]any, len(d.Rows))
	for r, row := range d.Rows {
		nr := make([]any, len(keep))
		for j, i := range keep {
			nr[j] = row[i]
		}
		out.Rows[r] = nr
	}
	return &out
}

func interopMapColumn(d *interopDoc, col string, f func(any) any) {
	c := d.col(col)
	for _, row := range d.Rows {
		row[c] = f(row[c])
	}
}

func TestInteropWeWritePeersRead(t *testing.T) {
	env := interopSetup(t)
	ds := interopDataset(t)
	rec, err := ds.ToArrow()
	if err != nil {
		t.Fatal(err)
	}
	ours := interopCanonRecord(rec)
	ours.Key = "id"
	wantSchema := [][2]string{{"id", "int64"}, {"i64", "int64"}, {"f64", "double"}, {"str", "string"},
		{"flag", "bool"}, {"ts", "timestamp[us, tz=UTC]"}, {"ts_naive", "timestamp[us]"}, {"day", "date32"},
		{"img", "fixed_shape_tensor<uint8>[3,4,3]"}, {"emb", "fixed_shape_tensor<float>[6]"}}
	if !slices.Equal(ours.Schema, wantSchema) {
		t.Fatalf("our dataset's schema is %v, want %v", ours.Schema, wantSchema)
	}

	dir := t.TempDir()
	pqDir, csvDir, jsonDir := filepath.Join(dir, "parquet"), filepath.Join(dir, "csv"), filepath.Join(dir, "json")
	if err := ds.WriteParquet(pqDir); err != nil {
		t.Fatalf("WriteParquet: %v", err)
	}
	// CSV and JSON lines hold no tensors: those columns are left out.
	scalars := ds.DropColumns("img", "emb")
	if err := scalars.WriteCSV(csvDir); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	if err := scalars.WriteJSON(jsonDir); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	docs := env.peerDocs(t, pqDir, csvDir, jsonDir)
	peer := func(t *testing.T, path, reader string) *interopDoc {
		t.Helper()
		d := docs[path+"|"+reader]
		if d == nil {
			t.Fatalf("%s could not read %s (see peer_read.py's stderr above)", reader, path)
		}
		return d
	}

	t.Run("parquet", func(t *testing.T) {
		for _, reader := range []string{"pyarrow", "duckdb"} {
			t.Run(reader, func(t *testing.T) {
				exp := *ours
				if reader == "duckdb" {
					// DuckDB ignores the Arrow schema stored in the file:
					// a fixed-shape tensor is its storage, a flat list
					// (README: accept_types).
					exp.AcceptTypes = map[string][]string{"img": {"list<uint8>"}, "emb": {"list<float>"}}
				}
				compareInterop(t, &exp, peer(t, pqDir, reader), true, nil)
			})
		}
		// Our own reader gets back exactly what we wrote, tensors included.
		t.Run("goray", func(t *testing.T) {
			got, err := data.ReadParquet(pqDir).WithDataContext(interopContext()).ToArrow()
			if err != nil {
				t.Fatal(err)
			}
			compareInterop(t, ours, interopCanonRecord(got), true, nil)
		})
	})

	t.Run("csv", func(t *testing.T) {
		exp := interopWithoutColumns(ours, "img", "emb")
		// A CSV holds no types: the peers infer them from the text.
		// pyarrow.csv infers nanoseconds for timestamps with a fraction
		// (the values are the same instants).
		exp.AcceptTypes = map[string][]string{"ts": {"timestamp[ns, tz=UTC]"}, "ts_naive": {"timestamp[ns]"}}
		for _, reader := range []string{"pyarrow", "duckdb"} {
			t.Run(reader, func(t *testing.T) {
				compareInterop(t, exp, peer(t, csvDir, reader), true, nil)
			})
		}
		// Our own reader, with peer_read.py's null_values=[""]; it infers
		// timestamps as pyarrow does.
		t.Run("goray", func(t *testing.T) {
			got, err := data.ReadCSV(csvDir, data.NullValues("")).WithDataContext(interopContext()).ToArrow()
			if err != nil {
				t.Fatal(err)
			}
			doc := interopCanonRecord(got)
			types := map[string]string{}
			for _, f := range doc.Schema {
				types[f[0]] = f[1]
			}
			compareInterop(t, exp, doc, true, interopCsvStringNulls(types))
		})
	})

	t.Run("json", func(t *testing.T) {
		exp := interopWithoutColumns(ours, "img", "emb")
		// JSON has no NaN or infinities: WriteJSON writes null for them
		// (as pandas does), documented in write.go's jsonable.
		interopMapColumn(exp, "f64", func(v any) any {
			if s, ok := v.(string); ok && (s == "NaN" || s == "Infinity" || s == "-Infinity") {
				return nil
			}
			return v
		})
		// JSON has no timestamp or date type; what the peers infer from
		// ISO strings (README, "JSON lines"):
		exp.AcceptTypes = map[string][]string{
			// DuckDB's JSON reader may type integers of both signs as
			// HUGEINT.
			"i64": {"decimal128(38, 0)"},
			// pyarrow.json keeps ISO timestamps with a fraction as strings.
			"ts": {"string"}, "ts_naive": {"string"},
			// pyarrow.json reads "YYYY-MM-DD" as timestamp[s] (DuckDB as
			// DATE).
			"day": {"timestamp[s]"},
		}
		for _, reader := range []string{"pyarrow", "duckdb"} {
			t.Run(reader, func(t *testing.T) {
				compareInterop(t, exp, peer(t, jsonDir, reader), true, interopJsonTemporal)
			})
		}
	})
}

// interopJsonTemporal accepts what a JSON reader legitimately makes of our
// timestamps and dates, which JSON can only hold as strings: a timestamp
// kept as an ISO string (any number of fraction digits) holding the same
// instant, with a zone suffix exactly when the column has a time zone; a
// date read as midnight of that day by pyarrow's timestamp[s] inference.
func interopJsonTemporal(col string, exp, got any) (string, bool) {
	es, ok1 := exp.(string)
	gs, ok2 := got.(string)
	if !ok1 || !ok2 {
		return "", false
	}
	switch col {
	case "ts", "ts_naive":
		ez, gz := strings.HasSuffix(es, "Z"), strings.HasSuffix(gs, "Z") || interopHasNumericZone(gs)
		if ez != gz {
			return "", false // a naive time written as an instant, or the reverse
		}
		et, err1 := interopParseISO(es)
		gt, err2 := interopParseISO(gs)
		if err1 == nil && err2 == nil && et.Equal(gt) {
			return "a timestamp read back as its ISO string (JSON has no timestamp type)", true
		}
	case "day":
		if gs == es+"T00:00:00.000000" {
			return "a date read back as timestamp[s] at midnight (pyarrow.json's inference)", true
		}
	}
	return "", false
}

func interopHasNumericZone(s string) bool {
	if len(s) < 6 {
		return false
	}
	z := s[len(s)-6:]
	return (z[0] == '+' || z[0] == '-') && z[3] == ':'
}

func interopParseISO(s string) (time.Time, error) {
	s = strings.Replace(s, " ", "T", 1)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// ============================================================ 3. hive write

// interopHiveExpected is doc with the partition column moved to the end: hive
// partitioning keeps it in the folder names, and readers append it after
// the files' columns.
func interopHiveExpected(doc *interopDoc, key string) *interopDoc {
	exp := interopWithoutColumns(doc, key)
	exp.Schema = append(exp.Schema, [2]string{key, doc.Schema[doc.col(key)][1]})
	for r := range exp.Rows {
		exp.Rows[r] = append(exp.Rows[r], doc.Rows[r][doc.col(key)])
	}
	return exp
}

func TestInteropHivePartitionedWrite(t *testing.T) {
	env := interopSetup(t)
	mem := memory.NewGoAllocator()
	base := t.TempDir()

	// year=2023.. folders: an int64 key, two blocks, so two write tasks
	// add files to the same partitions.
	const n = 300
	rng := rand.New(rand.NewPCG(5, 6))
	id, year, value, name := array.NewInt64Builder(mem), array.NewInt64Builder(mem),
		array.NewFloat64Builder(mem), array.NewStringBuilder(mem)
	for i := range n {
		id.Append(int64(i))
		year.Append(int64(2023 + (i*7)%3))
		if i%10 == 3 {
			value.AppendNull()
		} else {
			value.Append(math.Round(rng.Float64()*1e6) / 1e3)
		}
		name.Append(fmt.Sprintf("n%03d,\"%d\"", i, i%17))
	}
	yearRec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "year", Type: arrow.PrimitiveTypes.Int64},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}, nil), []arrow.Array{id.NewArray(), year.NewArray(), value.NewArray(), name.NewArray()}, n)
	yearDir := filepath.Join(base, "by_year")
	err := data.FromArrow(yearRec.NewSlice(0, 170), yearRec.NewSlice(170, n)).WithDataContext(interopContext()).
		WriteParquet(yearDir, data.PartitionBy("year"))
	if err != nil {
		t.Fatalf("WriteParquet(PartitionBy(year)): %v", err)
	}
	for _, y := range []string{"year=2023", "year=2024", "year=2025"} {
		if fi, err := os.Stat(filepath.Join(yearDir, y)); err != nil || !fi.IsDir() {
			t.Errorf("partition folder %s missing: %v", y, err)
		}
	}
	yearDoc := interopCanonRecord(yearRec)
	yearDoc.Key = "id"
	yearExp := interopHiveExpected(yearDoc, "year")
	// pyarrow infers int32 for integer hive keys, DuckDB BIGINT (README).
	yearExp.AcceptTypes = map[string][]string{"year": {"int32"}}

	// region=... folders: string keys that must be escaped in a folder
	// name ("/", "=", "\\", "%"), a literal "%2F", a space, non-ASCII, and
	// null (__HIVE_DEFAULT_PARTITION__, which readers turn back into null).
	regions := []string{"north", "a/b", "x=y", `a\b`, "%2F", "50%", "sp ace", "é", ""}
	rid, region, v := array.NewInt64Builder(mem), array.NewStringBuilder(mem), array.NewInt64Builder(mem)
	for i := range 36 {
		rid.Append(int64(i))
		if r := regions[i%len(regions)]; r == "" {
			region.AppendNull()
		} else {
			region.Append(r)
		}
		v.Append(int64(i * i))
	}
	regionRec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64},
	}, nil), []arrow.Array{rid.NewArray(), region.NewArray(), v.NewArray()}, 36)
	regionDir := filepath.Join(base, "by_region")
	err = data.FromArrow(regionRec).WithDataContext(interopContext()).WriteParquet(regionDir, data.PartitionBy("region"))
	if err != nil {
		t.Fatalf("WriteParquet(PartitionBy(region)): %v", err)
	}
	regionDoc := interopCanonRecord(regionRec)
	regionDoc.Key = "id"
	regionExp := interopHiveExpected(regionDoc, "region")

	docs := env.peerDocs(t, yearDir, regionDir)
	for _, c := range []struct {
		name string
		dir  string
		exp  *interopDoc
	}{{"int_key", yearDir, yearExp}, {"string_key_escaping", regionDir, regionExp}} {
		t.Run(c.name, func(t *testing.T) {
			for _, reader := range []string{"pyarrow", "duckdb"} {
				t.Run(reader, func(t *testing.T) {
					d := docs[c.dir+"|"+reader]
					if d == nil {
						t.Fatalf("%s could not read %s", reader, c.dir)
					}
					compareInterop(t, c.exp, d, true, nil)
				})
			}
			// Our own reader must give the same rows back (an integer key
			// as int64).
			t.Run("goray", func(t *testing.T) {
				got, err := data.ReadParquet(c.dir).WithDataContext(interopContext()).ToArrow()
				if err != nil {
					t.Fatal(err)
				}
				compareInterop(t, c.exp, interopCanonRecord(got), true, nil)
			})
		})
	}
}
