package csvread

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchPath string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchFile generates (once per process) a ~50 MB CSV with an int id, a
// float, an int and a string column.
func benchFile(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "csvread-bench")
		if benchErr != nil {
			return
		}
		benchPath = filepath.Join(benchDir, "bench.csv")
		f, err := os.Create(benchPath)
		if err != nil {
			benchErr = err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		rng := rand.New(rand.NewPCG(1, 2))
		words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"}
		w.WriteString("id,price,qty,name\n")
		var line []byte
		written := 0
		for i := 0; written < 50<<20; i++ {
			line = line[:0]
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, ',')
			line = strconv.AppendFloat(line, rng.Float64()*1000, 'f', 1+rng.IntN(5), 64)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(rng.IntN(1000000)), 10)
			line = append(line, ',')
			line = append(line, words[rng.IntN(len(words))]...)
			line = append(line, '_')
			line = strconv.AppendInt(line, int64(rng.IntN(10000)), 10)
			line = append(line, '\n')
			w.Write(line)
			written += len(line)
		}
		if err := w.Flush(); err != nil {
			benchErr = err
		}
		if err := f.Close(); err != nil && benchErr == nil {
			benchErr = err
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func benchRead(b *testing.B, opts Options) {
	path := benchFile(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	schema, err := Infer(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd, err := NewReader(WholeFile(path), schema, opts)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += int(rec.NumRows())
			rec.Release()
		}
		rd.Close()
		if n == 0 {
			b.Fatal("no rows")
		}
	}
}

// BenchmarkRead reads all four columns of a 50 MB file on one goroutine.
func BenchmarkRead(b *testing.B) { benchRead(b, Options{}) }

// BenchmarkReadProjected materialises one float column of the same file.
func BenchmarkReadProjected(b *testing.B) { benchRead(b, Options{Columns: []string{"price"}}) }

// BenchmarkReadParallel splits the file into ranges and reads them with
// GOMAXPROCS goroutines, counting rows with price < 500: Infer, Split and
// the reads are all timed.
func BenchmarkReadParallel(b *testing.B) {
	path := benchFile(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Columns: []string{"price"}}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		schema, err := Infer(path, opts)
		if err != nil {
			b.Fatal(err)
		}
		ranges, err := Split(path, 4<<20)
		if err != nil {
			b.Fatal(err)
		}
		work := make(chan Range, len(ranges))
		for _, r := range ranges {
			work <- r
		}
		close(work)
		var wg sync.WaitGroup
		var total atomic.Int64
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				cnt := 0
				for r := range work {
					rd, err := NewReader(r, schema, opts)
					if err != nil {
						b.Error(err)
						return
					}
					for {
						rec, err := rd.Next()
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Error(err)
							return
						}
						col := rec.Column(0).(*array.Float64)
						for i, v := range col.Float64Values() {
							if v < 500 && col.IsValid(i) {
								cnt++
							}
						}
						rec.Release()
					}
					rd.Close()
				}
				total.Add(int64(cnt))
			})
		}
		wg.Wait()
		if total.Load() == 0 {
			b.Fatal("no rows matched")
		}
	}
}
