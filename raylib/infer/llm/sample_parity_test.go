package llm

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The sampling goldens come from tests/golden/sampling/make_golden.py:
// Hugging Face transformers' model.generate() run on fixed logits with
// do_sample / temperature / top_k / top_p / repetition_penalty, recording
// the processed scores (RepetitionPenaltyLogitsProcessor,
// TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, in
// generate's order).
var samplingGoldenPath = filepath.Join("..", "..", "..", "tests", "golden", "sampling", "golden.json")

type samplingGolden struct {
	Versions map[string]string `json:"versions"`
	Inputs   []samplingInput   `json:"inputs"`
}

type samplingInput struct {
	Name   string         `json:"name"`
	Source string         `json:"source"`
	Vocab  int            `json:"vocab"`
	Logits goldenF32s     `json:"logits"`
	Seen   goldenInts     `json:"seen"`
	Cases  []samplingCase `json:"cases"`
}

type samplingCase struct {
	Name string `json:"name"`
	Go   struct {
		Temperature       float32 `json:"temperature"`
		TopK              int     `json:"top_k"`
		TopP              float32 `json:"top_p"`
		RepetitionPenalty float32 `json:"repetition_penalty"`
	} `json:"go"`
	Greedy     bool     `json:"greedy"`
	Processors []string `json:"processors"`
	// NKept is how many tokens stay finite; Kept (all of them, or when
	// Partial the seen and most likely ones) with their Values and Probs.
	NKept   int        `json:"n_kept"`
	Partial bool       `json:"partial"`
	Kept    goldenInts `json:"kept"`
	Values  goldenF32s `json:"values"`
	Probs   goldenF64s `json:"probs"`
	Argmax  *int       `json:"argmax"`
	Sampled *int       `json:"sampled"`
	TieCut  bool       `json:"top_p_tie_split"`
	Margin  *float64   `json:"top_p_margin"`
	HF      any        `json:"hf"`
}

func (c *samplingCase) opts() GenerateOptions {
	return GenerateOptions{
		Temperature: c.Go.Temperature, TopK: c.Go.TopK, TopP: c.Go.TopP,
		RepetitionPenalty: c.Go.RepetitionPenalty,
	}
}

// goldenF32s, goldenF64s and goldenInts read make_golden.py's arrays: a JSON
// list (null is -Inf) or "b64f32:" / "b64f64:" / "b64i32:" + base64 of
// little-endian values.
type (
	goldenF32s []float32
	goldenF64s []float64
	goldenInts []int
)

func goldenB64(b []byte, prefix string, size int) ([]byte, bool, error) {
	var s string
	if len(b) == 0 || b[0] != '"' {
		return nil, false, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, true, err
	}
	raw, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return nil, true, fmt.Errorf("want %q array, got %.20q", prefix, s)
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err == nil && len(data)%size != 0 {
		err = fmt.Errorf("%s: %d bytes", prefix, len(data))
	}
	return data, true, err
}

func (a *goldenF32s) UnmarshalJSON(b []byte) error {
	data, isB64, err := goldenB64(b, "b64f32:", 4)
	if err != nil {
		return err
	}
	if isB64 {
		*a = make([]float32, len(data)/4)
		return binary.Read(bytes.NewReader(data), binary.LittleEndian, []float32(*a))
	}
	var l []*float64
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = make([]float32, len(l))
	for i, v := range l {
		if v == nil {
			(*a)[i] = float32(math.Inf(-1))
		} else {
			(*a)[i] = float32(*v) // exact: the values are float32
		}
	}
	return nil
}

func (a *goldenF64s) UnmarshalJSON(b []byte) error {
	data, isB64, err := goldenB64(b, "b64f64:", 8)
	if err != nil {
		return err
	}
	if isB64 {
		*a = make([]float64, len(data)/8)
		return binary.Read(bytes.NewReader(data), binary.LittleEndian, []float64(*a))
	}
	return json.Unmarshal(b, (*[]float64)(a))
}

func (a *goldenInts) UnmarshalJSON(b []byte) error {
	data, isB64, err := goldenB64(b, "b64i32:", 4)
	if err != nil {
		return err
	}
	if isB64 {
		v := make([]int32, len(data)/4)
		if err := binary.Read(bytes.NewReader(data), binary.LittleEndian, v); err != nil {
			return err
		}
		*a = make([]int, len(v))
		for i, x := range v {
			(*a)[i] = int(x)
		}
		return nil
	}
	return json.Unmarshal(b, (*[]int)(a))
}

var (
	samplingOnce sync.Once
	samplingData *samplingGolden
	samplingErr  error
)

func loadSamplingGolden(t testing.TB) *samplingGolden {
	t.Helper()
	samplingOnce.Do(func() {
		b, err := os.ReadFile(samplingGoldenPath)
		if err != nil {
			samplingErr = err
			return
		}
		samplingData = &samplingGolden{}
		samplingErr = json.Unmarshal(b, samplingData)
		if samplingErr != nil {
			return
		}
		for _, in := range samplingData.Inputs {
			if len(in.Logits) != in.Vocab {
				samplingErr = fmt.Errorf("%s: %d logits, vocab %d", in.Name, len(in.Logits), in.Vocab)
				return
			}
			for _, c := range in.Cases {
				if len(c.Kept) != len(c.Values) || len(c.Kept) != len(c.Probs) {
					samplingErr = fmt.Errorf("%s/%s: %d kept, %d values, %d probs",
						in.Name, c.Name, len(c.Kept), len(c.Values), len(c.Probs))
					return
				}
			}
		}
	})
	if samplingErr != nil {
		t.Fatalf("%s: %v", samplingGoldenPath, samplingErr)
	}
	return samplingData
}

// process runs pickToken (our order: repetition penalty, temperature, top-k,
// top-p) on a copy of in's logits and returns the processed logits and the
// token it picked.
func process(in *samplingInput, o GenerateOptions, seed uint64) ([]float32, int) {
	l := slices.Clone(in.Logits)
	tok := pickToken(l, in.Seen, &o, rand.New(rand.NewPCG(seed, 0)))
	return l, tok
}

func finiteIDs(l []float32) []int {
	var ids []int
	for i, v := range l {
		if !math.IsInf(float64(v), -1) {
			ids = append(ids, i)
		}
	}
	return ids
}

func relClose(got, want, tol float64) bool {
	return got == want || math.Abs(got-want) <= tol*math.Abs(want)
}

// hfOrder is the processors' order in transformers' _get_logits_processor,
// which pickToken follows.
var hfOrder = []string{
	"RepetitionPenaltyLogitsProcessor", "TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper",
}

// TestSamplingParityHF checks, for every golden case, that pickToken leaves
// the same tokens finite as transformers' generate, with the same values
// (within 1e-6 relative) and the same softmax (within 1e-6 relative), and
// that greedy decoding picks the same token.
func TestSamplingParityHF(t *testing.T) {
	g := loadSamplingGolden(t)
	t.Logf("goldens from %v", g.Versions)
	var nCases, nTieSwaps int
	minMargin := math.Inf(1)
	for i := range g.Inputs {
		in := &g.Inputs[i]
		for j := range in.Cases {
			c := &in.Cases[j]
			nCases++
			name := in.Name + "/" + c.Name
			if c.Margin != nil && !c.TieCut {
				minMargin = min(minMargin, *c.Margin)
			}
			// transformers' processors run in pickToken's order.
			pos := -1
			for _, p := range c.Processors {
				k := slices.Index(hfOrder, p)
				if k <= pos {
					t.Errorf("%s: transformers' processors %v are not in pickToken's order %v", name, c.Processors, hfOrder)
				}
				pos = k
			}
			got, tok := process(in, c.opts(), 1)
			if c.Argmax != nil && tok != *c.Argmax {
				t.Errorf("%s: greedy picked %d, transformers %d", name, tok, *c.Argmax)
			}
			kept := finiteIDs(got)
			if len(kept) != c.NKept {
				t.Errorf("%s: %d tokens kept, transformers %d", name, len(kept), c.NKept)
				continue
			}
			if c.Sampled != nil && math.IsInf(float64(got[*c.Sampled]), -1) {
				t.Errorf("%s: transformers sampled %d, which we filter out", name, *c.Sampled)
			}
			probs := softmax64(got)
			if !c.Partial && !slices.Equal(kept, c.Kept) {
				// Top-p's cut splits a group of tied logits: transformers
				// drops the ones torch.sort (not stable beyond 16 values)
				// puts first, we the lowest ids. Same values, same
				// distribution, other ids.
				if !c.TieCut || in.Vocab <= 16 || !sameTieGroup(in, c, got) {
					t.Errorf("%s: kept %v, transformers %v", name, kept, c.Kept)
					continue
				}
				nTieSwaps++
				compareSorted(t, name, got, probs, c)
				continue
			}
			for k, id := range c.Kept {
				if !relClose(float64(got[id]), float64(c.Values[k]), 1e-6) {
					t.Errorf("%s: token %d: logit %v, transformers %v", name, id, got[id], c.Values[k])
				}
				if !relClose(probs[id], c.Probs[k], 1e-6) {
					t.Errorf("%s: token %d: probability %v, transformers %v", name, id, probs[id], c.Probs[k])
				}
			}
		}
	}
	if nCases < 200 {
		t.Errorf("only %d golden cases", nCases)
	}
	t.Logf("%d cases; %d where a top-p cut through tied logits keeps other ids of the tie (torch.sort's order)", nCases, nTieSwaps)
	// How close (float64) a cumulative sum came to 1-top_p where the cut
	// decided a token: far beyond float32 rounding, so the sets must agree.
	t.Logf("closest top-p cut to its threshold, ties aside: %.2g", minMargin)
}

// sameTieGroup reports whether our kept set and transformers' differ only
// inside one group of equal pre-top-p logits, with as many of it kept.
func sameTieGroup(in *samplingInput, c *samplingCase, got []float32) bool {
	o := c.opts()
	o.TopP = 0
	pre, _ := process(in, o, 1)
	ours := map[int]bool{}
	for _, id := range finiteIDs(got) {
		ours[id] = true
	}
	theirs := map[int]bool{}
	for _, id := range c.Kept {
		theirs[id] = true
	}
	var diff []int
	for id := range ours {
		if !theirs[id] {
			diff = append(diff, id)
		}
	}
	for id := range theirs {
		if !ours[id] {
			diff = append(diff, id)
		}
	}
	for _, id := range diff {
		if pre[id] != pre[diff[0]] {
			return false
		}
	}
	return len(ours) == len(theirs)
}

// compareSorted compares the kept values and probabilities as sorted lists.
func compareSorted(t *testing.T, name string, got []float32, probs []float64, c *samplingCase) {
	t.Helper()
	var gv []float32
	var gp []float64
	for _, id := range finiteIDs(got) {
		gv = append(gv, got[id])
		gp = append(gp, probs[id])
	}
	wv, wp := slices.Clone([]float32(c.Values)), slices.Clone([]float64(c.Probs))
	slices.Sort(gv)
	slices.Sort(gp)
	slices.Sort(wv)
	slices.Sort(wp)
	for k := range wv {
		if !relClose(float64(gv[k]), float64(wv[k]), 1e-6) || !relClose(gp[k], wp[k], 1e-6) {
			t.Errorf("%s: sorted kept logits/probs differ at %d: %v/%v, transformers %v/%v", name, k, gv[k], gp[k], wv[k], wp[k])
		}
	}
}

// TestSamplingParityOrderMatters checks that the goldens pin the order:
// each other order of the processors disagrees with transformers on some
// case, so TestSamplingParityHF passing means pickToken uses generate's.
// (The penalty and the temperature commute, both being scalings that keep
// the sign, so their relative order is not tested.)
func TestSamplingParityOrderMatters(t *testing.T) {
	g := loadSamplingGolden(t)
	temp := func(l []float32, _ []int, o *GenerateOptions) {
		if o.Temperature != 0 && o.Temperature != 1 {
			for i := range l {
				l[i] /= o.Temperature
			}
		}
	}
	pen := func(l []float32, seen []int, o *GenerateOptions) {
		ApplyRepetitionPenalty(l, seen, o.RepetitionPenalty)
	}
	topK := func(l []float32, _ []int, o *GenerateOptions) { ApplyTopK(l, o.TopK) }
	topP := func(l []float32, _ []int, o *GenerateOptions) { ApplyTopP(l, o.TopP) }
	type step = func([]float32, []int, *GenerateOptions)
	orders := map[string][]step{
		"top-p before temperature":       {pen, topK, topP, temp},
		"top-p before top-k":             {pen, temp, topP, topK},
		"penalty after top-k and top-p":  {temp, topK, topP, pen},
		"top-k before penalty":           {topK, pen, temp, topP},
		"generate's (pickToken's) order": {pen, temp, topK, topP},
	}
	for name, steps := range orders {
		mismatches := 0
		for i := range g.Inputs {
			in := &g.Inputs[i]
			for j := range in.Cases {
				c := &in.Cases[j]
				if c.Greedy || c.Partial || c.TieCut {
					continue
				}
				o := c.opts()
				l := slices.Clone(in.Logits)
				for _, s := range steps {
					s(l, in.Seen, &o)
				}
				kept := finiteIDs(l)
				same := slices.Equal(kept, c.Kept)
				for k, id := range c.Kept {
					if same && !relClose(float64(l[id]), float64(c.Values[k]), 1e-6) {
						same = false
					}
				}
				if !same {
					mismatches++
				}
			}
		}
		if name == "generate's (pickToken's) order" {
			if mismatches != 0 {
				t.Errorf("%s: %d cases differ", name, mismatches)
			}
		} else if mismatches == 0 {
			t.Errorf("order %q matches every golden case: the goldens do not pin the order", name)
		} else {
			t.Logf("order %q: %d cases differ from transformers", name, mismatches)
		}
	}
}

// TestSamplingFrequencies draws many tokens with pickToken from a fixed seed
// and checks the frequencies against transformers' processed softmax with
// a chi-square test: the sampler draws from the right distribution, and
// never a filtered-out token.
func TestSamplingFrequencies(t *testing.T) {
	g := loadSamplingGolden(t)
	type pick struct{ input, cases string }
	picks := []pick{
		{"v5_mixed_sign", "t0.7"},
		{"v5_mixed_sign", "t1.5_penalty1.3"},
		{"v8_two_groups", "t1"},
		{"v17_int_ties", "t1.3_topk10_topp0.8_penalty1.2"},
		{"v17_flat", "topp0.9"},
		{"v17_negative", "t0.6_topk50_topp0.95_penalty1.1"},
		{"v1000_normal", "topp0.5"},
		{"v1000_normal", "t2_topp0.3_penalty1.5"},
		{"v1000_normal", "t1"},
	}
	rng := rand.New(rand.NewPCG(42, 7))
	for _, p := range picks {
		in, c := findSamplingCase(t, g, p.input, p.cases)
		draws := 200_000
		if in.Vocab > 32 || testing.Short() || raceEnabled {
			draws = 40_000
		}
		name := p.input + "/" + p.cases
		o := c.opts()
		want := make([]float64, in.Vocab)
		for k, id := range c.Kept {
			want[id] = c.Probs[k]
		}
		// Small vocabularies run the whole of pickToken per draw; the big
		// one draws from the processed logits with pickToken's processing
		// off (which is cheaper; the draw is the same code).
		src, drawOpts := in.Logits, o
		if in.Vocab > 32 {
			src, _ = process(in, o, 0)
			drawOpts = GenerateOptions{Temperature: 1}
		}
		counts := make([]int, in.Vocab)
		buf := make([]float32, in.Vocab)
		for range draws {
			copy(buf, src)
			counts[pickToken(buf, in.Seen, &drawOpts, rng)]++
		}
		// Chi-square over the kept tokens, pooling those expected < 5 times.
		var chi2, poolObs, poolExp float64
		df := -1
		for id, n := range counts {
			exp := want[id] * float64(draws)
			if want[id] == 0 {
				if n != 0 {
					t.Errorf("%s: token %d (filtered out) drawn %d times", name, id, n)
				}
				continue
			}
			if exp < 5 {
				poolObs += float64(n)
				poolExp += exp
				continue
			}
			chi2 += (float64(n) - exp) * (float64(n) - exp) / exp
			df++
		}
		if poolExp > 0 {
			chi2 += (poolObs - poolExp) * (poolObs - poolExp) / poolExp
			df++
		}
		// Mean df, sd sqrt(2 df): df + 6 sd + 10 is far in the tail (p < 1e-6).
		limit := float64(df) + 6*math.Sqrt(2*float64(max(df, 1))) + 10
		if chi2 > limit {
			t.Errorf("%s: chi-square %.1f with %d degrees of freedom (limit %.1f)", name, chi2, df, limit)
		} else {
			t.Logf("%s: chi-square %.1f, %d degrees of freedom (limit %.1f)", name, chi2, df, limit)
		}
	}
}

func findSamplingCase(t *testing.T, g *samplingGolden, input, name string) (*samplingInput, *samplingCase) {
	t.Helper()
	for i := range g.Inputs {
		if in := &g.Inputs[i]; in.Name == input {
			for j := range in.Cases {
				if c := &in.Cases[j]; c.Name == name {
					if c.Partial {
						t.Fatalf("%s/%s: partial golden", input, name)
					}
					return in, c
				}
			}
		}
	}
	t.Fatalf("no golden case %s/%s", input, name)
	return nil, nil
}

// TestSamplingParityTopPTieOrder documents how top-p breaks ties at its
// cut: transformers keeps the tied tokens that torch.sort puts last, which
// for up to 16 values is the highest ids (stable sort), as ours always
// does.
func TestSamplingParityTopPTieOrder(t *testing.T) {
	g := loadSamplingGolden(t)
	in, c := findSamplingCase(t, g, "v8_equal", "topp0.5")
	got, _ := process(in, c.opts(), 0)
	if kept := finiteIDs(got); !slices.Equal(kept, []int{4, 5, 6, 7}) || !slices.Equal(kept, c.Kept) {
		t.Fatalf("top-p 0.5 of 8 equal logits kept %v, transformers %v, want 4..7", kept, c.Kept)
	}
}
