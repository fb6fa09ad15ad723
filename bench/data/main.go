// Command data is goray's Dataset benchmark. It runs three jobs with
// goray and prints one JSON line per job, in the format of peer.py (the
// Ray Data and DuckDB side), so compare.py can print the ratios:
//
//	(a) read_parquet of the lab's 4.5M x 2 float64 file -> map_batches
//	    (y = col1 * col2 + 1) -> write_parquet
//	(b) read_csv of about 1 GB of CSV -> filter expression -> count
//	(c) a pipeline over Parquet files 10x larger than a 200 MB memory
//	    budget -> map_batches -> count, reporting the peak RSS
//
// The inputs come from gen.py (make bench-data runs everything):
//
//	go run ./bench/data -data DIR -job a
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/goray-dev/goray/raylib/data"
	"github.com/goray-dev/goray/raylib/ray"
)

type result struct {
	Job       string  `json:"job"`
	Engine    string  `json:"engine"`
	Seconds   float64 `json:"seconds"`
	Rows      int64   `json:"rows"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	BudgetMB  float64 `json:"budget_mb,omitempty"`
}

func main() {
	dir := flag.String("data", "/tmp/benchdata", "folder made by gen.py")
	job := flag.String("job", "a", "a, b or c")
	repeat := flag.Int("repeat", 3, "timed runs after a warm-up (best is reported); job c runs once")
	budgetMB := flag.Int64("budget-mb", 200, "memory budget of job c")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed runs here")
	flag.Parse()
	log.SetFlags(0)
	dc := data.Current()
	dc.Progress = false
	dc.Log = discard{}
	var run func() (int64, error)
	switch *job {
	case "a":
		out := filepath.Join(os.TempDir(), "goray-bench-a")
		run = func() (int64, error) {
			os.RemoveAll(out)
			ds := data.ReadParquet(filepath.Join(*dir, "lab.parquet")).MapBatches(func(b *data.Batch) (*data.Batch, error) {
				c1, c2 := b.Float64s("col1"), b.Float64s("col2")
				y := make([]float64, len(c1))
				for i := range y {
					y[i] = c1[i]*c2[i] + 1
				}
				return b.SetColumn("y", y), nil
			})
			if err := ds.WriteParquet(out); err != nil {
				return 0, err
			}
			return data.ReadParquet(out).Count()
		}
	case "b":
		run = func() (int64, error) {
			return data.ReadCSV(filepath.Join(*dir, "orders.csv")).
				FilterExpr("order_year >= 1995 and o_totalprice > 100000 and is_urgent").Count()
		}
	case "c":
		budget := *budgetMB << 20
		dc.MemoryBudget = budget
		dc.TargetMaxBlockSize = budget / 8
		// The Go heap may hold garbage up to the limit before collecting:
		// keep it near the budget, as a memory-bounded pipeline would.
		debug.SetMemoryLimit(budget)
		*repeat = 1
		run = func() (int64, error) {
			return data.ReadParquet(filepath.Join(*dir, "big")).MapBatches(func(b *data.Batch) (*data.Batch, error) {
				x := b.Float64s("x")
				y := make([]float64, len(x))
				for i := range y {
					y[i] = x[i] * 2
				}
				return b.SetColumn("x", y), nil
			}).Count()
		}
	default:
		log.Fatalf("unknown job %q", *job)
	}
	if *job != "c" {
		if _, err := run(); err != nil { // warm-up
			log.Fatal(err)
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	best := time.Duration(1<<63 - 1)
	var rows int64
	for range *repeat {
		start := time.Now()
		n, err := run()
		if err != nil {
			log.Fatal(err)
		}
		rows = n
		best = min(best, time.Since(start))
	}
	r := result{Job: *job, Engine: "goray", Seconds: best.Seconds(), Rows: rows}
	if *job == "c" {
		r.PeakRSSMB = peakRSSMB()
		r.BudgetMB = float64(*budgetMB)
	}
	_ = ray.Shutdown()
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		log.Print(err)
	}
}

// peakRSSMB reads the process's high-water resident set size.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
