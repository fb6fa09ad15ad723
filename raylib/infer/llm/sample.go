package llm

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/goray-dev/goray/raylib/infer/device"
)

// GenerateOptions configure GenerateWith. The zero value (with
// MaxNewTokens set) is greedy decoding, like Generate.
type GenerateOptions struct {
	// MaxNewTokens is the most tokens generated per row (<= 0: none); a
	// row also stops at the end of the model's context (ContextLengthError).
	MaxNewTokens int
	// Temperature 0 is greedy decoding (argmax); above 0 the next token is
	// sampled from softmax(logits/Temperature) after top-k and top-p.
	Temperature float32
	// TopK keeps the TopK most likely tokens (0: all); sampling only.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches TopP (nucleus sampling, at least one token; 0 or >= 1: all);
	// sampling only.
	TopP float32
	// RepetitionPenalty (Hugging Face's repetition_penalty; 0 or 1: none)
	// divides the positive logits and multiplies the negative ones of the
	// tokens already in the row (prompt and output). It also applies to
	// greedy decoding, as in Hugging Face.
	RepetitionPenalty float32
	// Seed seeds the sampler. Row b draws from its own PCG stream
	// (Seed, b), so a row's tokens do not depend on the other rows' draws.
	Seed uint64
	// Seeds, when it has an entry for row b, is that row's seed instead
	// (stream (Seeds[b], 0)): a row then samples the same whatever its
	// place in the batch.
	Seeds []uint64
	// Stop ends a row after it emits one of these ids (which is included in
	// its output).
	Stop []int
	// OnToken, when set, is called with each token as it is generated, in
	// order (row, then step), from the calling goroutine; returning false
	// ends that row after this token.
	OnToken func(row, id int) bool
}

// rowRNG is the PRNG of row b.
func (o *GenerateOptions) rowRNG(b int) *rand.Rand {
	if b < len(o.Seeds) {
		return rand.New(rand.NewPCG(o.Seeds[b], 0))
	}
	return rand.New(rand.NewPCG(o.Seed, uint64(b)))
}

func (o *GenerateOptions) validate() error {
	switch {
	case o.Temperature < 0 || isNaN32(o.Temperature):
		return fmt.Errorf("llm: Temperature %v < 0", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("llm: TopK %d < 0", o.TopK)
	case o.TopP < 0 || isNaN32(o.TopP):
		return fmt.Errorf("llm: TopP %v < 0", o.TopP)
	case o.RepetitionPenalty < 0 || isNaN32(o.RepetitionPenalty):
		return fmt.Errorf("llm: RepetitionPenalty %v < 0", o.RepetitionPenalty)
	}
	return nil
}

func isNaN32(f float32) bool { return f != f }

// ApplyRepetitionPenalty applies Hugging Face's
// RepetitionPenaltyLogitsProcessor to logits in place: for each distinct id
// in seen, a negative logit is multiplied by penalty and a positive (or
// zero) one divided by it. Penalty 0 or 1 leaves logits unchanged.
func ApplyRepetitionPenalty(logits []float32, seen []int, penalty float32) {
	if penalty == 0 || penalty == 1 {
		return
	}
	done := make(map[int]bool, len(seen))
	for _, id := range seen {
		if id < 0 || id >= len(logits) || done[id] {
			continue
		}
		done[id] = true
		if v := logits[id]; v < 0 {
			logits[id] = v * penalty
		} else {
			logits[id] = v / penalty
		}
	}
}

// ApplyTopK sets every logit below the k-th largest to -Inf (Hugging
// Face's TopKLogitsWarper: ties with the k-th value are kept). k <= 0 or
// k >= len(logits) leaves logits unchanged.
func ApplyTopK(logits []float32, k int) {
	if k <= 0 || k >= len(logits) {
		return
	}
	s := slices.Clone(logits)
	slices.SortFunc(s, func(a, b float32) int { return cmp.Compare(b, a) })
	kth := s[k-1]
	for i, v := range logits {
		if v < kth {
			logits[i] = float32(math.Inf(-1))
		}
	}
}

// ApplyTopP sets to -Inf the logits outside the nucleus: Hugging Face's
// TopPLogitsWarper sorts ascending and drops the tokens whose cumulative
// probability is <= 1-p, always keeping the most likely token. p <= 0 or
// p >= 1 leaves logits unchanged.
func ApplyTopP(logits []float32, p float32) {
	if p <= 0 || p >= 1 {
		return
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(logits[a], logits[b]) })
	probs := softmax64(logits)
	var cum float64
	limit := 1 - float64(p)
	for j, i := range idx[:len(idx)-1] {
		cum += probs[i]
		if cum > limit {
			break
		}
		logits[idx[j]] = float32(math.Inf(-1))
	}
}

// softmax64 is softmax(logits) in float64; -Inf logits get probability 0.
func softmax64(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	out := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		if math.IsInf(float64(v), -1) {
			continue
		}
		out[i] = math.Exp(float64(v) - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// argmax is the first index of the largest value (torch.argmax's rule).
func argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

// pickToken chooses the next token of one row from its final-position
// logits (modified in place), following Hugging Face's processor order:
// repetition penalty, then (sampling only) temperature, top-k, top-p and a
// multinomial draw.
func pickToken(logits []float32, seen []int, o *GenerateOptions, rng *rand.Rand) int {
	ApplyRepetitionPenalty(logits, seen, o.RepetitionPenalty)
	if o.Temperature == 0 {
		return argmax(logits)
	}
	if o.Temperature != 1 {
		for i := range logits {
			logits[i] /= o.Temperature
		}
	}
	ApplyTopK(logits, o.TopK)
	ApplyTopP(logits, o.TopP)
	probs := softmax64(logits)
	u := rng.Float64()
	var cum float64
	last := 0
	for i, p := range probs {
		if p == 0 {
			continue
		}
		last = i
		cum += p
		if u < cum {
			return i
		}
	}
	return last // rounding: u beyond the total
}

// GenerateWith continues each prompt by up to opts.MaxNewTokens tokens with
// the key/value cache (one prefill, then one token per step), greedily or by
// sampling (see GenerateOptions). The tokens are chosen on the host from the
// final-position logits. It returns the new tokens only. Cancelling ctx
// stops generation between steps and returns ctx's error.
func (m *Model) GenerateWith(ctx context.Context, prompts [][]int, opts GenerateOptions) ([][]int, error) {
	if err := m.checkIDs(prompts); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	n, V, maxNew := len(prompts), m.Config.Vocab, opts.MaxNewTokens
	if maxNew <= 0 {
		return make([][]int, n), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limits, err := m.rowLimits(prompts, maxNew)
	if err != nil {
		return nil, err
	}
	maxNew = slices.Max(limits)
	m.mu.Lock()
	defer m.mu.Unlock()
	T := device.BucketSize(maxLen(prompts), MinPromptBucket)
	S := device.BucketSize(T+maxNew, MinCacheBucket)
	bp := device.BucketSize(n, 1)
	ids, start := pack(prompts, T, bp)
	startHost := tensors.MustCopyFlatData[int32](start)
	logits, cache, err := m.step(m.fwdLast, ids, start, 0, m.emptyCache(bp, S))
	if err != nil {
		return nil, err
	}
	defer func() { cache.free() }()

	out := make([][]int, n)
	done := make([]bool, n)
	left := n
	var seen [][]int // prompt + output per row, for the repetition penalty
	if opts.RepetitionPenalty != 0 && opts.RepetitionPenalty != 1 {
		seen = make([][]int, n)
		for b, p := range prompts {
			seen[b] = slices.Clone(p)
		}
	}
	rngs := make([]*rand.Rand, n)
	if opts.Temperature != 0 {
		for b := range rngs {
			rngs[b] = opts.rowRNG(b)
		}
	}
	next := make([]int, n)
	for pos := T; ; pos++ {
		flat, err := tensors.CopyFlatData[float32](logits)
		_ = logits.FinalizeAll()
		if err != nil {
			return nil, err
		}
		for b := range n {
			if done[b] {
				continue
			}
			var s []int
			if seen != nil {
				s = seen[b]
			}
			tok := pickToken(flat[b*V:(b+1)*V], s, &opts, rngs[b])
			next[b] = tok
			out[b] = append(out[b], tok)
			if seen != nil {
				seen[b] = append(seen[b], tok)
			}
			stop := slices.Contains(opts.Stop, tok) || len(out[b]) >= limits[b]
			if opts.OnToken != nil && !opts.OnToken(b, tok) {
				stop = true
			}
			if stop {
				done[b] = true
				left--
			}
		}
		if left == 0 {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		col := make([]int32, bp)
		for b, tok := range next {
			col[b] = int32(tok)
		}
		ids := tensors.FromFlatDataAndDimensions(col, bp, 1)
		start := tensors.FromFlatDataAndDimensions(slices.Clone(startHost), bp)
		logits, cache, err = m.step(m.fwdLast, ids, start, pos, cache)
		if err != nil {
			cache = nil // step freed it
			return nil, err
		}
	}
}
