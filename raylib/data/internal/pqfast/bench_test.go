package pqfast

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pqa "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Benchmark files, written once per process with goray's writer settings
// (raylib/data/write.go: snappy, statistics, 1Mi-row groups, dictionary
// only where asked) and removed by TestMain:
//
//   - lab: 4.5M rows x 2 random float64 (col1 uniform, col2 normal),
//     about 72 MB;
//   - strings: 1M rows of id int64, price float64, comment string (10 to 40
//     random letters, PLAIN) and flag string (3 values, dictionary).
var (
	benchOnce    sync.Once
	benchDir     string
	benchLab     string
	benchStrings string
	benchNulls   string
	benchErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchFiles(b *testing.B) {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "pqfast-bench")
		if benchErr != nil {
			return
		}
		benchLab = filepath.Join(benchDir, "lab.parquet")
		benchStrings = filepath.Join(benchDir, "strings.parquet")
		props := func(extra ...pqa.WriterProperty) *pqa.WriterProperties {
			return pqa.NewWriterProperties(append([]pqa.WriterProperty{pqa.WithCompression(compress.Codecs.Snappy),
				pqa.WithStats(true), pqa.WithMaxRowGroupLength(1 << 20), pqa.WithDictionaryDefault(false)}, extra...)...)
		}

		r := rand.New(rand.NewPCG(1, 2))
		const labRows = 4_500_000
		c1 := make([]float64, labRows)
		c2 := make([]float64, labRows)
		for i := range c1 {
			c1[i], c2[i] = r.Float64(), r.NormFloat64()
		}
		sc := arrow.NewSchema([]arrow.Field{{Name: "col1", Type: arrow.PrimitiveTypes.Float64},
			{Name: "col2", Type: arrow.PrimitiveTypes.Float64}}, nil)
		a1 := array.NewData(arrow.PrimitiveTypes.Float64, labRows, []*memory.Buffer{nil, memory.NewBufferBytes(sliceBytes(c1))}, nil, 0, 0)
		a2 := array.NewData(arrow.PrimitiveTypes.Float64, labRows, []*memory.Buffer{nil, memory.NewBufferBytes(sliceBytes(c2))}, nil, 0, 0)
		rec := array.NewRecordBatch(sc, []arrow.Array{array.MakeFromData(a1), array.MakeFromData(a2)}, labRows)
		writePqarrow(b, benchLab, []arrow.RecordBatch{rec}, props(), pqarrow.DefaultWriterProps())
		rec.Release()

		const strRows = 1_000_000
		ssc := arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "price", Type: arrow.PrimitiveTypes.Float64},
			{Name: "comment", Type: arrow.BinaryTypes.String},
			{Name: "flag", Type: arrow.BinaryTypes.String},
		}, nil)
		rb := array.NewRecordBuilder(memory.DefaultAllocator, ssc)
		buf := make([]byte, 40)
		for i := range strRows {
			rb.Field(0).(*array.Int64Builder).Append(int64(i))
			rb.Field(1).(*array.Float64Builder).Append(float64(r.IntN(100000)) / 100)
			n := 10 + r.IntN(31)
			for j := range n {
				buf[j] = byte('a' + r.IntN(26))
			}
			rb.Field(2).(*array.StringBuilder).Append(string(buf[:n]))
			rb.Field(3).(*array.StringBuilder).Append([]string{"R", "A", "N"}[r.IntN(3)])
		}
		srec := rb.NewRecordBatch()
		rb.Release()
		writePqarrow(b, benchStrings, []arrow.RecordBatch{srec}, props(pqa.WithDictionaryFor("flag", true)), pqarrow.DefaultWriterProps())
		srec.Release()

		// Nullable columns (as pyarrow writes every column): 10% nulls.
		benchNulls = filepath.Join(benchDir, "nulls.parquet")
		nsc := arrow.NewSchema([]arrow.Field{
			{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "full", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil)
		nb := array.NewRecordBuilder(memory.DefaultAllocator, nsc)
		for i := range strRows {
			if r.IntN(10) == 0 {
				nb.Field(0).AppendNull()
				nb.Field(1).AppendNull()
			} else {
				nb.Field(0).(*array.Float64Builder).Append(r.NormFloat64())
				n := 10 + r.IntN(31)
				for j := range n {
					buf[j] = byte('a' + r.IntN(26))
				}
				nb.Field(1).(*array.StringBuilder).Append(string(buf[:n]))
			}
			nb.Field(2).(*array.Int64Builder).Append(int64(i))
		}
		nrec := nb.NewRecordBatch()
		nb.Release()
		writePqarrow(b, benchNulls, []arrow.RecordBatch{nrec}, pqa.NewWriterProperties(pqa.WithCompression(compress.Codecs.Snappy),
			pqa.WithMaxRowGroupLength(256<<10)), pqarrow.DefaultWriterProps())
		nrec.Release()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

// readPqarrowBench reads like goray's readParquetGroups does today: a
// RecordReader with 128Ki-row batches, Parallel.
func readPqarrowBench(path string, columns []string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 128 << 10, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		return 0, err
	}
	var leaves []int
	for _, c := range columns {
		leaves = append(leaves, pf.MetaData().Schema.ColumnIndexByName(c))
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rows += rr.RecordBatch().NumRows()
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	return rows, nil
}

func readFastBench(path string, columns []string) (int64, error) {
	var rows int64
	err := Read(context.Background(), path, nil, columns, 128<<10, func(rec arrow.RecordBatch) error {
		rows += rec.NumRows()
		rec.Release()
		return nil
	})
	return rows, err
}

func runReadBench(b *testing.B, path string, columns []string, bytes int64, wantRows int64) {
	for _, lib := range []struct {
		name string
		read func(string, []string) (int64, error)
	}{{"pqfast", readFastBench}, {"pqarrow", readPqarrowBench}} {
		b.Run(lib.name, func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				n, err := lib.read(path, columns)
				if err != nil {
					b.Fatal(err)
				}
				if n != wantRows {
					b.Fatalf("%d rows, want %d", n, wantRows)
				}
			}
		})
	}
}

// BenchmarkLabFloat64 reads the 4.5M x 2 float64 file: one column, both.
// MB/s is of the decoded float64 data.
func BenchmarkLabFloat64(b *testing.B) {
	benchFiles(b)
	b.Run("one-column", func(b *testing.B) { runReadBench(b, benchLab, []string{"col1"}, 8*4_500_000, 4_500_000) })
	b.Run("both-columns", func(b *testing.B) {
		runReadBench(b, benchLab, []string{"col1", "col2"}, 16*4_500_000, 4_500_000)
	})
}

// BenchmarkStrings reads projections of the 1M-row table: the PLAIN string
// column, the dictionary-encoded one, and all four columns.
func BenchmarkStrings(b *testing.B) {
	benchFiles(b)
	b.Run("comment", func(b *testing.B) { runReadBench(b, benchStrings, []string{"comment"}, 0, 1_000_000) })
	b.Run("flag-dict", func(b *testing.B) { runReadBench(b, benchStrings, []string{"flag"}, 0, 1_000_000) })
	b.Run("all", func(b *testing.B) {
		runReadBench(b, benchStrings, []string{"id", "price", "comment", "flag"}, 0, 1_000_000)
	})
}

// BenchmarkNullable reads OPTIONAL columns of a 1M-row file written with
// pqarrow's defaults (dictionary on; 256Ki-row groups): a float64 and a
// string column with 10% nulls, and an int64 column without nulls.
func BenchmarkNullable(b *testing.B) {
	benchFiles(b)
	b.Run("float64", func(b *testing.B) { runReadBench(b, benchNulls, []string{"x"}, 0, 1_000_000) })
	b.Run("string", func(b *testing.B) { runReadBench(b, benchNulls, []string{"s"}, 0, 1_000_000) })
	b.Run("int64-no-nulls", func(b *testing.B) { runReadBench(b, benchNulls, []string{"full"}, 0, 1_000_000) })
	b.Run("all", func(b *testing.B) { runReadBench(b, benchNulls, nil, 0, 1_000_000) })
}
