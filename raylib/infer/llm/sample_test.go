package llm

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
)

var samplePrompts = [][]int{{1, 2, 3, 4, 5}, {10, 20, 30}, {7}}

func TestRepetitionPenaltyHF(t *testing.T) {
	// Hand-computed with transformers' RepetitionPenaltyLogitsProcessor(2.0):
	// ids in the context (0, 1, 4; repeats count once) have positive logits
	// divided and negative ones multiplied by the penalty.
	logits := []float32{2, -1, 0.5, -3, 0}
	ApplyRepetitionPenalty(logits, []int{0, 1, 1, 4}, 2)
	want := []float32{1, -2, 0.5, -3, 0}
	if !slices.Equal(logits, want) {
		t.Fatalf("penalty 2: got %v, want %v", logits, want)
	}
	logits = []float32{3, -0.5}
	ApplyRepetitionPenalty(logits, []int{0, 1}, 0.5) // < 1 encourages repeats
	if want := []float32{6, -0.25}; !slices.Equal(logits, want) {
		t.Fatalf("penalty 0.5: got %v, want %v", logits, want)
	}
	logits = []float32{3, -0.5}
	ApplyRepetitionPenalty(logits, []int{0, 1}, 1)
	if want := []float32{3, -0.5}; !slices.Equal(logits, want) {
		t.Fatalf("penalty 1: got %v, want %v", logits, want)
	}
}

func TestTopKTopP(t *testing.T) {
	inf := float32(math.Inf(-1))
	l := []float32{1, 3, 3, 2}
	ApplyTopK(l, 1) // ties with the k-th value are kept, as in HF
	if want := []float32{inf, 3, 3, inf}; !slices.Equal(l, want) {
		t.Fatalf("top-k 1: %v, want %v", l, want)
	}
	l = []float32{1, 3, 2.5, 2}
	ApplyTopK(l, 2)
	if want := []float32{inf, 3, 2.5, inf}; !slices.Equal(l, want) {
		t.Fatalf("top-k 2: %v, want %v", l, want)
	}
	probs := []float64{0.15, 0.5, 0.05, 0.3}
	logp := func() []float32 {
		out := make([]float32, len(probs))
		for i, p := range probs {
			out[i] = float32(math.Log(p))
		}
		return out
	}
	for _, c := range []struct {
		p    float32
		keep []bool
	}{
		{0.7, []bool{false, true, false, true}}, // drop cum .05, .2 <= .3
		{0.9, []bool{true, true, false, true}},  // drop cum .05 <= .1
		{0.01, []bool{false, true, false, false}},
		{1, []bool{true, true, true, true}},
	} {
		l := logp()
		ApplyTopP(l, c.p)
		for i, k := range c.keep {
			if got := !math.IsInf(float64(l[i]), -1); got != k {
				t.Errorf("top-p %v: token %d kept=%v, want %v (%v)", c.p, i, got, k, l)
			}
		}
	}
}

func TestGenerateWithGreedyMatchesGenerate(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-qwen2", be)
	want, err := m.Generate(samplePrompts, 6, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.GenerateWith(context.Background(), samplePrompts, GenerateOptions{MaxNewTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("greedy GenerateWith %v, Generate %v", got, want)
	}
	// top-k 1 sampling is greedy whatever the temperature and seed.
	got, err = m.GenerateWith(context.Background(), samplePrompts, GenerateOptions{MaxNewTokens: 6, Temperature: 1.3, TopK: 1, Seed: 99})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("top-k 1 %v, greedy %v", got, want)
	}
	// Against the uncached reference, with a stop token taken from the output.
	stop := []int{want[0][2]}
	nc, err := m.GenerateNoCache(samplePrompts, 6, stop)
	if err != nil {
		t.Fatal(err)
	}
	got, err = m.GenerateWith(context.Background(), samplePrompts, GenerateOptions{MaxNewTokens: 6, Stop: stop})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, nc, slices.Equal) {
		t.Fatalf("with stop: %v, uncached %v", got, nc)
	}
}

func TestGenerateWithSeeds(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-qwen2", be)
	ctx := context.Background()
	opts := GenerateOptions{MaxNewTokens: 12, Temperature: 1, TopP: 0.95, TopK: 100, RepetitionPenalty: 1.1, Seed: 1}
	a, err := m.GenerateWith(ctx, samplePrompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.GenerateWith(ctx, samplePrompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Fatalf("same seed, different outputs: %v vs %v", a, b)
	}
	for _, r := range a {
		if len(r) != 12 {
			t.Fatalf("row length %d, want 12: %v", len(r), a)
		}
	}
	opts.Seed = 2
	c, err := m.GenerateWith(ctx, samplePrompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Fatalf("seeds 1 and 2 gave the same %v", a)
	}
	// Row 0 samples from stream (Seed, 0) whatever the rest of the batch.
	opts.Seed = 1
	alone, err := m.GenerateWith(ctx, samplePrompts[:1], opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(alone[0], a[0]) {
		t.Fatalf("row 0 alone %v, in the batch %v", alone[0], a[0])
	}
	// Per-row Seeds follow the row, not its place in the batch.
	opts.Seeds = []uint64{5, 6, 7}
	d, err := m.GenerateWith(ctx, samplePrompts, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Seeds = []uint64{7}
	e, err := m.GenerateWith(ctx, samplePrompts[2:], opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d[2], e[0]) {
		t.Fatalf("row seeded 7: in batch %v, alone %v", d[2], e[0])
	}
}

func TestGenerateWithOnToken(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-qwen2", be)
	seen := make([][]int, len(samplePrompts))
	var lastStep []int
	out, err := m.GenerateWith(context.Background(), samplePrompts, GenerateOptions{
		MaxNewTokens: 8, Temperature: 0.8, Seed: 3,
		OnToken: func(row, id int) bool {
			seen[row] = append(seen[row], id)
			lastStep = append(lastStep, row)
			return !(row == 1 && len(seen[row]) == 3)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(out, seen, slices.Equal) {
		t.Fatalf("OnToken saw %v, output %v", seen, out)
	}
	if len(out[1]) != 3 || len(out[0]) != 8 || len(out[2]) != 8 {
		t.Fatalf("lengths %d %d %d, want 8 3 8", len(out[0]), len(out[1]), len(out[2]))
	}
	// Rows are visited in order within each step.
	if !slices.Equal(lastStep[:6], []int{0, 1, 2, 0, 1, 2}) {
		t.Fatalf("call order %v", lastStep)
	}
}

func TestGenerateWithCancel(t *testing.T) {
	be := openBackend(t, "go")
	m := loadModel(t, "tiny-qwen2", be)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err := m.GenerateWith(ctx, samplePrompts, GenerateOptions{
		MaxNewTokens: 50,
		OnToken: func(row, id int) bool {
			calls++
			if calls == 4 {
				cancel()
			}
			return true
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if calls > 6 {
		t.Fatalf("%d tokens after cancelling", calls)
	}
	if _, err := m.GenerateWith(ctx, samplePrompts, GenerateOptions{MaxNewTokens: 2}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: err %v", err)
	}
	if _, err := m.GenerateWith(context.Background(), samplePrompts, GenerateOptions{MaxNewTokens: 2, Temperature: -1}); err == nil {
		t.Fatal("negative temperature accepted")
	}
}
