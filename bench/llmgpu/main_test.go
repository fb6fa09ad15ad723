package main

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/goray-dev/goray/raylib/infer/llm"
)

func tinyShape() modelShape {
	s := modelShape{Arch: "qwen2", Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8,
		Vocab: 50, RopeTheta: 1e6, Eps: 1e-6, Tied: true, QKVBias: true, MaxPositions: 128}
	s.Params = s.numParams()
	return s
}

// The virtual file reads the same whatever the offsets and lengths asked.
func TestRandReaderUnaligned(t *testing.T) {
	r, err := randomSourceReader(tinyShape(), 7)
	if err != nil {
		t.Fatal(err)
	}
	whole := make([]byte, r.size)
	if n, err := r.ReadAt(whole, 0); n != len(whole) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt whole: %d, %v", n, err)
	}
	h := int64(len(r.header))
	for _, c := range []struct{ off, n int64 }{{0, 3}, {5, 17}, {h - 2, 11}, {h + 1, 9}, {h + 3, 4}, {r.size - 5, 5}} {
		buf := make([]byte, c.n)
		if n, err := r.ReadAt(buf, c.off); int64(n) != c.n || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d, %d): %d, %v", c.off, c.n, n, err)
		}
		if !bytes.Equal(buf, whole[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d, %d) differs from the whole read", c.off, c.n)
		}
	}
	if n, err := r.ReadAt(make([]byte, 4), r.size-2); n != 2 || err != io.EOF {
		t.Errorf("ReadAt past the end: %d, %v; want 2, EOF", n, err)
	}
}

// Norm weights 1, biases 0, matrices of standard deviation about 0.02.
func TestRandomSourceValues(t *testing.T) {
	src, err := randomSource(tinyShape(), 7)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got, want := len(src.Names()), len(tinyShape().tensors()); got != want {
		t.Fatalf("%d tensors, want %d", got, want)
	}
	read := func(name string) []float32 {
		tn, err := src.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tn.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := read("model.embed_tokens.weight")
	var sum, sq float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 0.035 {
			t.Fatalf("embedding value %v out of range", x)
		}
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	mean := sum / float64(len(v))
	if std := math.Sqrt(sq/float64(len(v)) - mean*mean); std < 0.015 || std > 0.025 {
		t.Errorf("embedding std %.4f, want about 0.02", std)
	}
	if x := read("model.norm.weight")[0]; x != 1 {
		t.Errorf("norm weight %v, want 1", x)
	}
	if x := read("model.layers.0.self_attn.q_proj.bias")[0]; x != 0 {
		t.Errorf("bias %v, want 0", x)
	}
}

// The model builds from the random source and generates on the pure-Go
// backend; the throughput measurement fills every field. The ops run
// sequentially: SimpleGo's parallel scheduler (gomlx v0.26.0) trips the
// race detector (see raylib/infer/llm's tests).
func TestMeasureTiny(t *testing.T) {
	gb, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Finalize()
	src, err := randomSource(tinyShape(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := llm.New(tinyShape().llmConfig(), src, llm.Options{GoMLX: gb})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r := measure(t.Context(), m, 2, 8, 3, 1, rand.New(rand.NewPCG(1, 2)))
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if r.PrefillTokS <= 0 || r.GenerateTokS <= 0 || len(r.PrefillS) != 1 || len(r.GenerateS) != 1 || len(r.DecodeStamped) != 1 {
		t.Errorf("incomplete result %+v", r)
	}
}

func TestSummaryTolerant(t *testing.T) {
	var b strings.Builder
	if err := runSummary(&b, []string{"", "/nonexistent/x.json"}, "torch float32"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "missing") {
		t.Errorf("summary of a missing file: %q", b.String())
	}
}
