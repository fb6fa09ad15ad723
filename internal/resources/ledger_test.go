package resources

import (
	"errors"
	"strings"
	"testing"
)

func mustSet(t *testing.T, m map[string]float64) Set {
	t.Helper()
	s, err := ParseSet(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFromFloatValidation(t *testing.T) {
	for _, tc := range []struct {
		v       float64
		wantErr string
	}{
		{-1, "negative"},
		{0.00001, "finer than the precision"},
		{1.23456, "finer than the precision"},
	} {
		if _, err := FromFloat("GPU", tc.v); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("FromFloat(%v) error = %v, want %q", tc.v, err, tc.wantErr)
		}
	}
	a, err := FromFloat("GPU", 0.0001)
	if err != nil || a != 1 {
		t.Fatalf("FromFloat(0.0001) = %v, %v; want 1 unit", a, err)
	}
	if a, _ := FromFloat("CPU", 0.6); a.String() != "0.6" {
		t.Errorf("0.6 formats as %q", a.String())
	}
}

func TestFractionAboveOneMustBeWhole(t *testing.T) {
	if err := ValidateRequest(mustSet(t, map[string]float64{GPU: 1.5})); err == nil {
		t.Fatal("1.5 GPUs accepted")
	}
	if err := ValidateRequest(mustSet(t, map[string]float64{GPU: 2})); err != nil {
		t.Fatalf("2 GPUs rejected: %v", err)
	}
}

func TestFractionalPackingOneDevice(t *testing.T) {
	l, err := NewLedger(mustSet(t, map[string]float64{CPU: 4, GPU: 1}))
	if err != nil {
		t.Fatal(err)
	}
	llm, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.6}))
	if !ok {
		t.Fatal("0.6 did not fit")
	}
	img, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.4}))
	if !ok {
		t.Fatal("0.4 did not fit beside 0.6")
	}
	if llm.GPUs[0].Index != 0 || img.GPUs[0].Index != 0 {
		t.Fatalf("shares %v and %v not on device 0", llm.GPUs, img.GPUs)
	}
	if _, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.0001})); ok {
		t.Fatal("a full device granted more")
	}
	l.Release(img)
	l.Release(llm)
	if f := l.GPUFree(); f[0] != Scale {
		t.Fatalf("after release free = %v", f)
	}
}

func TestFractionalPackingTwoDevices(t *testing.T) {
	l, _ := NewLedger(mustSet(t, map[string]float64{GPU: 2}))
	a, _ := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.6}))
	b, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.6}))
	if !ok {
		t.Fatal("second 0.6 did not fit on two GPUs")
	}
	if a.GPUs[0].Index == b.GPUs[0].Index {
		t.Fatalf("two 0.6 shares on one device %d", a.GPUs[0].Index)
	}
	// The lab's layout: two 0.4 image generators fill both devices.
	for i := 0; i < 2; i++ {
		if _, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.4})); !ok {
			t.Fatalf("0.4 #%d did not fit", i)
		}
	}
	if f := l.GPUFree(); f[0] != 0 || f[1] != 0 {
		t.Fatalf("devices not full: %v", f)
	}
}

func TestWholeGPUsNeedFreeDevices(t *testing.T) {
	l, _ := NewLedger(mustSet(t, map[string]float64{GPU: 2}))
	frac, _ := l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.5}))
	if _, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 2})); ok {
		t.Fatal("2 whole GPUs granted while one is half used")
	}
	one, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 1}))
	if !ok || one.GPUs[0].Index == frac.GPUs[0].Index {
		t.Fatalf("whole GPU grant %v overlaps fraction %v", one.GPUs, frac.GPUs)
	}
}

func TestBestFitKeepsWholeDeviceFree(t *testing.T) {
	l, _ := NewLedger(mustSet(t, map[string]float64{GPU: 2}))
	l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.5}))
	l.TryAcquire(mustSet(t, map[string]float64{GPU: 0.3})) // best fit: device 0
	if _, ok := l.TryAcquire(mustSet(t, map[string]float64{GPU: 1})); !ok {
		t.Fatalf("no whole device left: free %v", l.GPUFree())
	}
}

func TestInfeasible(t *testing.T) {
	l, _ := NewLedger(mustSet(t, map[string]float64{CPU: 2}))
	err := l.Feasible(mustSet(t, map[string]float64{GPU: 0.5}))
	var inf *InfeasibleError
	if !errors.As(err, &inf) || inf.Resource != GPU {
		t.Fatalf("err = %v, want InfeasibleError on GPU", err)
	}
	if !strings.Contains(err.Error(), "{GPU: 0.5}") || !strings.Contains(err.Error(), "{CPU: 2}") {
		t.Fatalf("message does not name request and cluster: %v", err)
	}
	if err := l.Feasible(mustSet(t, map[string]float64{"accelerator": 1})); err == nil {
		t.Fatal("unknown custom resource considered feasible")
	}
	if err := l.Feasible(mustSet(t, map[string]float64{CPU: 2})); err != nil {
		t.Fatal(err)
	}
}

func TestCPUAccounting(t *testing.T) {
	l, _ := NewLedger(mustSet(t, map[string]float64{CPU: 1}))
	g, ok := l.TryAcquire(mustSet(t, map[string]float64{CPU: 1}))
	if !ok {
		t.Fatal("1 CPU did not fit")
	}
	if _, ok := l.TryAcquire(mustSet(t, map[string]float64{CPU: 0.5})); ok {
		t.Fatal("over-granted CPU")
	}
	l.Release(g)
	if l.Available()[CPU] != Whole(1) {
		t.Fatal("CPU not returned")
	}
}
