package csvread

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"os"
	"testing"
	"time"
)

func minTime(iters int, f func()) time.Duration {
	best := time.Hour
	for i := 0; i < iters; i++ {
		t0 := time.Now()
		f()
		best = min(best, time.Since(t0))
	}
	return best
}

func fastIndexV2(buf []byte, from, to int, delim byte, seps []uint32) (n, newlines int) {
	dm := uint64(delim) * lsb
	const nm = uint64('\n') * lsb
	i := from
	for ; i+8 <= to; i += 8 {
		x := binary.LittleEndian.Uint64(buf[i:])
		m := zeroBytes(x^dm) | zeroBytes(x^nm)
		base := uint32(i+1) << sepShift
		for m != 0 {
			seps[n] = base + uint32(bits.TrailingZeros64(m)>>3)<<sepShift
			n++
			m &= m - 1
		}
	}
	return n, bytes.Count(buf[from:to], []byte{'\n'})
}

func fastIndexV3(buf []byte, from, to int, delim byte, seps []uint32) (n, newlines int) {
	dm := uint64(delim) * lsb
	const nm = uint64('\n') * lsb
	i := from
	for ; i+16 <= to; i += 16 {
		x := binary.LittleEndian.Uint64(buf[i:])
		y := binary.LittleEndian.Uint64(buf[i+8:])
		m1 := zeroBytes(x^dm) | zeroBytes(x^nm)
		m2 := zeroBytes(y^dm) | zeroBytes(y^nm)
		if m1|m2 == 0 {
			continue
		}
		base := uint32(i+1) << sepShift
		for m1 != 0 {
			seps[n] = base + uint32(bits.TrailingZeros64(m1)>>3)<<sepShift
			n++
			m1 &= m1 - 1
		}
		base += 8 << sepShift
		for m2 != 0 {
			seps[n] = base + uint32(bits.TrailingZeros64(m2)>>3)<<sepShift
			n++
			m2 &= m2 - 1
		}
	}
	return n, bytes.Count(buf[from:to], []byte{'\n'})
}

func TestMicroIndex(t *testing.T) {
	path := os.Getenv("CSVFILE")
	if os.Getenv("CSVPERF") == "" || path == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(path)
	win := data[100 : 100+128<<10]
	seps := make([]uint32, len(win)+16)
	mb := func(d time.Duration) float64 { return float64(len(win)) / d.Seconds() / 1e6 }
	n1, l1 := fastIndex(win, 0, len(win)&^15, ',', seps)
	n2, l2 := fastIndexV2(win, 0, len(win)&^15, ',', seps)
	n3, l3 := indexSWAR(win, 0, len(win)&^15, ',', seps)
	if n1 != n2 || n1 != n3 || l1 != l2 || l1 != l3 {
		t.Fatal(n1, n2, n3, l1, l2, l3)
	}
	for k := 0; k < 3; k++ {
		d1 := minTime(1000, func() { fastIndex(win, 0, len(win), ',', seps) })
		d2 := minTime(1000, func() { fastIndexV2(win, 0, len(win), ',', seps) })
		d3 := minTime(1000, func() { indexSWAR(win, 0, len(win), ',', seps) })
		t.Logf("fastIndex %.0f MB/s, v2 %.0f MB/s, swar %.0f", mb(d1), mb(d2), mb(d3))
	}
}
