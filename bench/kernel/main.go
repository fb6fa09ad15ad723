// Command kernel measures the goray kernel against the plain gonb kernel it
// is built on, side by side in one run: the round trip of a trivial cell
// (the two kernels alternate, so drift on a shared machine hits both), and
// the first cell after `goray kernel install` on an empty Go build cache.
//
//	go run ./bench/kernel -bin bin [-n 20] [-rounds 3] [-skip-install]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/jupyter"
)

const trivialCell = "%%\nfmt.Println(1)"

// firstCell is what a learner runs first: it compiles the runtime in.
const firstCell = "%%\nv, err := ray.Put(41).Get()\nfmt.Println(v+1, err)"

func main() {
	bin := flag.String("bin", "bin", "folder with goray, gonb, goimports and gopls")
	n := flag.Int("n", 20, "trivial cells per kernel and round")
	rounds := flag.Int("rounds", 3, "rounds of n cells, each on new kernels")
	skipInstall := flag.Bool("skip-install", false, "skip the first-cell-after-install measurement (it empties a Go build cache)")
	flag.Parse()
	log.SetFlags(0)

	l, err := kernel.DetectLayout(kernel.Layout{BinDir: *bin})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fmt.Printf("kernel bench: %d rounds of %d trivial cells per kernel, alternating; bin %s\n", *rounds, *n, l.BinDir)

	// A cell's time on a small shared machine swings by 2x from one
	// moment to the next: alternate the kernels cell by cell, repeat the
	// round on new kernels, and compare the pooled medians.
	goray, gonb := l.Spec(), plainGonbSpec(l)
	var allGoray, allGonb []time.Duration
	for r := range *rounds {
		gorayTimes, gonbTimes, err := alternate(ctx, goray, gonb, *n)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("  round %d: goray median %.0f ms, gonb median %.0f ms -> %.2fx\n", r+1,
			ms(median(gorayTimes)), ms(median(gonbTimes)), median(gorayTimes).Seconds()/median(gonbTimes).Seconds())
		allGoray, allGonb = append(allGoray, gorayTimes...), append(allGonb, gonbTimes...)
	}
	report("goray kernel", allGoray)
	report("gonb kernel", allGonb)
	ratio := median(allGoray).Seconds() / median(allGonb).Seconds()
	fmt.Printf("(a) trivial cell round trip, median of %d: goray %.0f ms, gonb %.0f ms -> goray/gonb = %.2fx (target <= 1.10x)\n",
		len(allGoray), ms(median(allGoray)), ms(median(allGonb)), ratio)

	if *skipInstall {
		return
	}
	if err := afterInstall(ctx, l); err != nil {
		log.Fatal(err)
	}
}

// plainGonbSpec is the kernelspec `gonb --install` would write, with the
// same tools on PATH: the baseline goray's kernel is built on.
func plainGonbSpec(l kernel.Layout) *kernel.Spec {
	return &kernel.Spec{
		Argv:          []string{filepath.Join(l.BinDir, "gonb"), "--kernel", kernel.ConnectionFileArg},
		DisplayName:   "Go (gonb)",
		Language:      "go",
		InterruptMode: "message",
		Env:           map[string]string{"PATH": l.BinDir + ":" + l.GoDir + ":" + os.Getenv("PATH")},
	}
}

func alternate(ctx context.Context, a, b *kernel.Spec, n int) (ta, tb []time.Duration, err error) {
	ca, err := jupyter.Start(ctx, a, &jupyter.Options{Dir: os.TempDir()})
	if err != nil {
		return nil, nil, err
	}
	defer ca.Shutdown(ctx)
	cb, err := jupyter.Start(ctx, b, &jupyter.Options{Dir: os.TempDir()})
	if err != nil {
		return nil, nil, err
	}
	defer cb.Shutdown(ctx)
	// One warm-up cell each: the first cell of a kernel also sets up its
	// temporary module, which is not what this round measures.
	for _, c := range []*jupyter.Client{ca, cb} {
		if _, err := cell(ctx, c, trivialCell); err != nil {
			return nil, nil, err
		}
	}
	for range n {
		d, err := cell(ctx, ca, trivialCell)
		if err != nil {
			return nil, nil, err
		}
		ta = append(ta, d)
		if d, err = cell(ctx, cb, trivialCell); err != nil {
			return nil, nil, err
		}
		tb = append(tb, d)
	}
	return ta, tb, nil
}

func cell(ctx context.Context, c *jupyter.Client, code string) (time.Duration, error) {
	start := time.Now()
	r, err := c.Execute(ctx, code, nil)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if r.Status != "ok" {
		return d, fmt.Errorf("cell %q: %s %s: %s", code, r.Status, r.EName, r.EValue)
	}
	return d, nil
}

// afterInstall measures what a new user sees: an empty build cache,
// `goray kernel install` (which pre-warms it), a new kernel, the first
// cell. For contrast it also runs the same first cell on an empty cache
// with no pre-warm.
func afterInstall(ctx context.Context, l kernel.Layout) error {
	for _, prewarm := range []bool{true, false} {
		cache, err := os.MkdirTemp("", "goray-bench-gocache-")
		if err != nil {
			return err
		}
		os.Setenv("GOCACHE", cache)
		var install time.Duration
		if prewarm {
			start := time.Now()
			if err := kernel.Prewarm(ctx, l); err != nil {
				return err
			}
			install = time.Since(start)
		}
		start := time.Now()
		c, err := jupyter.Start(ctx, l.Spec(), &jupyter.Options{Dir: os.TempDir()})
		if err != nil {
			return err
		}
		ready := time.Since(start)
		first, err := cell(ctx, c, firstCell)
		c.Shutdown(ctx)
		os.Unsetenv("GOCACHE")
		os.RemoveAll(cache)
		if err != nil {
			return err
		}
		if prewarm {
			fmt.Printf("(b) first cell after install (empty build cache; install's pre-warm took %.1f s): kernel ready in %.2f s, first cell %.2f s (target < 3 s)\n",
				install.Seconds(), ready.Seconds(), first.Seconds())
		} else {
			fmt.Printf("(b') the same without the pre-warm: kernel ready in %.2f s, first cell %.2f s\n", ready.Seconds(), first.Seconds())
		}
	}
	return nil
}

func report(name string, d []time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	fmt.Printf("  %-13s min %.0f ms, median %.0f ms, p90 %.0f ms, max %.0f ms\n",
		name, ms(s[0]), ms(median(d)), ms(s[len(s)*9/10]), ms(s[len(s)-1]))
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
