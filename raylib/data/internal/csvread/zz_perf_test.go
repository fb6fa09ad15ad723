package csvread

import (
	"github.com/apache/arrow-go/v18/arrow/array"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPerfMin(t *testing.T) {
	if os.Getenv("CSVPERF") == "" {
		t.Skip()
	}
	path := os.Getenv("CSVFILE")
	if path == "" {
		path = benchFile(&testing.B{})
	}
	st, _ := os.Stat(path)
	optsList := []Options{{}, {Columns: []string{"price"}}, {Columns: []string{"id"}}, {Columns: []string{"name"}}}
	if os.Getenv("CSVCOLS") != "" {
		optsList = []Options{{Columns: strings.Split(os.Getenv("CSVCOLS"), ",")}}
	}
	for _, opts := range optsList {
		schema, _ := Infer(path, opts)
		best := time.Hour
		for i := 0; i < perfIters(); i++ {
			t0 := time.Now()
			rd, _ := NewReader(WholeFile(path), schema, opts)
			for {
				rec, err := rd.Next()
				if err != nil {
					break
				}
				rec.Release()
			}
			rd.Close()
			best = min(best, time.Since(t0))
		}
		t.Logf("%v: best %v = %.0f MB/s", opts.Columns, best, float64(st.Size())/best.Seconds()/1e6)
	}
}

func perfIters() int {
	if os.Getenv("CSVPERF") == "cg" {
		return 1
	}
	return 12
}

func TestPerfParallel(t *testing.T) {
	path := os.Getenv("CSVPAR")
	if path == "" {
		t.Skip()
	}
	st, _ := os.Stat(path)
	opts := Options{Columns: []string{"price"}}
	best := time.Hour
	var cnt int64
	for i := 0; i < 8; i++ {
		t0 := time.Now()
		schema, err := Infer(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ranges, _ := Split(path, 16<<20)
		work := make(chan Range, len(ranges))
		for _, r := range ranges {
			work <- r
		}
		close(work)
		var mu sync.Mutex
		var wg sync.WaitGroup
		cnt = 0
		for range 2 {
			wg.Go(func() {
				c := int64(0)
				for r := range work {
					rd, _ := NewReader(r, schema, opts)
					for {
						rec, err := rd.Next()
						if err != nil {
							break
						}
						col := rec.Column(0).(*array.Float64)
						for i, v := range col.Float64Values() {
							if v < 500 && col.IsValid(i) {
								c++
							}
						}
						rec.Release()
					}
					rd.Close()
				}
				mu.Lock()
				cnt += c
				mu.Unlock()
			})
		}
		wg.Wait()
		best = min(best, time.Since(t0))
	}
	t.Logf("count %d best %v = %.0f MB/s", cnt, best, float64(st.Size())/best.Seconds()/1e6)
}

func TestPerfSplit(t *testing.T) {
	path := os.Getenv("CSVPAR")
	if path == "" {
		t.Skip()
	}
	st, _ := os.Stat(path)
	best := time.Hour
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if _, err := Split(path, 16<<20); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(t0))
	}
	t.Logf("split best %v = %.0f MB/s", best, float64(st.Size())/best.Seconds()/1e6)
}

func TestPerfOrders(t *testing.T) {
	path := os.Getenv("CSVORDERS")
	if path == "" {
		t.Skip()
	}
	st, _ := os.Stat(path)
	opts := Options{Columns: []string{"order_year", "o_totalprice", "is_urgent"}}
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		schema, err := Infer(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		ranges, _ := Split(path, 32<<20)
		t2 := time.Now()
		work := make(chan Range, len(ranges))
		for _, r := range ranges {
			work <- r
		}
		close(work)
		var mu sync.Mutex
		var wg sync.WaitGroup
		cnt := int64(0)
		for range 2 {
			wg.Go(func() {
				c := int64(0)
				for r := range work {
					rd, err := NewReader(r, schema, opts)
					if err != nil {
						panic(err)
					}
					for {
						rec, err := rd.Next()
						if err != nil {
							if err != io.EOF {
								panic(err)
							}
							break
						}
						y := rec.Column(0).(*array.Int64).Int64Values()
						p := rec.Column(1).(*array.Float64).Float64Values()
						u := rec.Column(2).(*array.Boolean)
						for i := range y {
							if y[i] >= 1995 && p[i] > 100000 && u.Value(i) {
								c++
							}
						}
						rec.Release()
					}
					rd.Close()
				}
				mu.Lock()
				cnt += c
				mu.Unlock()
			})
		}
		wg.Wait()
		d := time.Since(t0)
		t.Logf("count %d total %v (infer %v split %v) = %.0f MB/s", cnt, d, t1.Sub(t0), t2.Sub(t1), float64(st.Size())/d.Seconds()/1e6)
	}
}
