package llm

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/goray-dev/goray/raylib/infer/device"
)

// Bucket minimums: prompts are left-padded to device.BucketSize(len,
// MinPromptBucket), caches sized device.BucketSize(len, MinCacheBucket),
// batches device.BucketSize(n, 1), so that each Exec compiles few programs.
const (
	MinPromptBucket = 8
	MinCacheBucket  = 16
)

// checkIDs validates a batch of token id rows.
func (m *Model) checkIDs(rows [][]int) error {
	if len(rows) == 0 {
		return fmt.Errorf("llm: empty batch")
	}
	for i, r := range rows {
		if len(r) == 0 {
			return fmt.Errorf("llm: row %d is empty", i)
		}
		for j, id := range r {
			if id < 0 || id >= m.Config.Vocab {
				return fmt.Errorf("llm: row %d position %d: token id %d out of range [0, %d)", i, j, id, m.Config.Vocab)
			}
		}
	}
	return nil
}

// rowLimits applies the context-length policy (see ContextLengthError):
// it returns how many tokens each prompt may still get, at most maxNew,
// or an error for a prompt that fills the context.
func (m *Model) rowLimits(rows [][]int, maxNew int) ([]int, error) {
	limits := make([]int, len(rows))
	ctxLen := m.Config.MaxPositions
	for b, r := range rows {
		limits[b] = maxNew
		if ctxLen <= 0 {
			continue
		}
		if len(r) >= ctxLen {
			return nil, &ContextLengthError{Row: b, Tokens: len(r), MaxPositions: ctxLen}
		}
		limits[b] = min(maxNew, ctxLen-len(r))
	}
	return limits, nil
}

// pack left-pads rows to T columns and the batch to bp rows (extra rows
// hold one pad token). It returns ids [bp, T] and start [bp].
func pack(rows [][]int, T, bp int) (ids, start *tensors.Tensor) {
	flat := make([]int32, bp*T)
	st := make([]int32, bp)
	for b := range bp {
		var r []int
		if b < len(rows) {
			r = rows[b]
		} else {
			r = []int{0}
		}
		st[b] = int32(T - len(r))
		for j, id := range r {
			flat[b*T+T-len(r)+j] = int32(id)
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, bp, T), tensors.FromFlatDataAndDimensions(st, bp)
}

// kvCache holds the key caches of every layer, then the value caches, each
// [B, KVH, S, D] (see graphFn).
type kvCache []*tensors.Tensor

// emptyCache is a zero cache for bp rows and S slots.
func (m *Model) emptyCache(bp, S int) kvCache {
	c := m.Config
	cache := make(kvCache, 2*c.Layers)
	for i := range cache {
		cache[i] = tensors.FromShape(shapes.Make(dtypes.Float32, bp, c.KVHeads, S, c.HeadDim))
	}
	return cache
}

// free releases the cache's buffers.
func (c kvCache) free() {
	for _, t := range c {
		if t != nil {
			_ = t.FinalizeAll()
		}
	}
}

// step runs one forward step; see graphFn for the meaning of the inputs.
// It finalises ids, start and cache, and returns the updated cache.
func (m *Model) step(exec *graph.Exec, ids, start *tensors.Tensor, pos int, cache kvCache) (logits *tensors.Tensor, next kvCache, err error) {
	posT := tensors.FromScalar(int32(pos))
	defer func() {
		for _, t := range []*tensors.Tensor{ids, start, posT} {
			_ = t.FinalizeAll()
		}
		cache.free()
	}()
	if exec == nil {
		return nil, nil, fmt.Errorf("llm: model is closed")
	}
	args := make([]any, 0, len(m.params)+3+len(cache))
	for _, p := range m.params {
		args = append(args, p)
	}
	args = append(args, ids, start, posT)
	for _, t := range cache {
		args = append(args, t)
	}
	out, err := exec.Exec(args...)
	if err != nil {
		return nil, nil, fmt.Errorf("llm: forward: %w", err)
	}
	return out[0], kvCache(out[1:]), nil
}

func maxLen(rows [][]int) int {
	n := 0
	for _, r := range rows {
		n = max(n, len(r))
	}
	return n
}

// Logits runs the prompts (one row each, any lengths: they are left-padded
// internally) through the model without a cache and returns, per row, the
// logits of each of its positions: out[b][t] has Vocab values and predicts
// the token after rows[b][t].
func (m *Model) Logits(rows [][]int) ([][][]float32, error) {
	if err := m.checkIDs(rows); err != nil {
		return nil, err
	}
	if c := m.Config.MaxPositions; c > 0 {
		for b, r := range rows {
			if len(r) > c {
				return nil, &ContextLengthError{Row: b, Tokens: len(r), MaxPositions: c}
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	T := device.BucketSize(maxLen(rows), MinPromptBucket)
	bp := device.BucketSize(len(rows), 1)
	ids, start := pack(rows, T, bp)
	logits, cache, err := m.step(m.fwdAll, ids, start, 0, m.emptyCache(bp, T))
	if err != nil {
		return nil, err
	}
	cache.free()
	flat, err := tensors.CopyFlatData[float32](logits)
	_ = logits.FinalizeAll()
	if err != nil {
		return nil, err
	}
	V := m.Config.Vocab
	out := make([][][]float32, len(rows))
	for b, r := range rows {
		out[b] = make([][]float32, len(r))
		for j := range r {
			t := T - len(r) + j
			out[b][j] = slices.Clone(flat[(b*T+t)*V : (b*T+t+1)*V])
		}
	}
	return out, nil
}

// argmaxRows returns the first index of the largest value of each of the
// first n rows of a [rows, V] tensor (torch.argmax's tie rule).
func argmaxRows(logits *tensors.Tensor, n, V int) ([]int, error) {
	flat, err := tensors.CopyFlatData[float32](logits)
	if err != nil {
		return nil, err
	}
	out := make([]int, n)
	for b := range n {
		row := flat[b*V : (b+1)*V]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		out[b] = best
	}
	return out, nil
}

// greedyState tracks the generated tokens and which rows have stopped.
type greedyState struct {
	out    [][]int
	done   []bool
	stop   []int
	limits []int // per row, from rowLimits
	left   int
}

func newGreedy(limits []int, stop []int) *greedyState {
	n := len(limits)
	return &greedyState{out: make([][]int, n), done: make([]bool, n), stop: stop, limits: limits, left: n}
}

// add appends the chosen tokens of the rows still running and reports
// whether every row has finished.
func (s *greedyState) add(next []int) bool {
	for b, tok := range next {
		if s.done[b] {
			continue
		}
		s.out[b] = append(s.out[b], tok)
		if slices.Contains(s.stop, tok) || len(s.out[b]) >= s.limits[b] {
			s.done[b] = true
			s.left--
		}
	}
	return s.left == 0
}

// Generate greedily continues each prompt by up to maxNew tokens, using a
// key/value cache: one prefill of the left-padded batch, then one token per
// step. A row ends after it emits a token in stop (which is included in its
// output). It returns the new tokens only. It is GenerateWith with greedy
// options.
//
// Each (batch bucket, prompt bucket, cache bucket) shape compiles once;
// the decode step's shape depends only on the batch and cache buckets.
func (m *Model) Generate(prompts [][]int, maxNew int, stop []int) ([][]int, error) {
	return m.GenerateWith(context.Background(), prompts, GenerateOptions{MaxNewTokens: maxNew, Stop: stop})
}

// GenerateNoCache is Generate without a key/value cache: every step
// recomputes the whole (left-padded) sequences. It is the reference that
// Generate is tested against, and is much slower.
func (m *Model) GenerateNoCache(prompts [][]int, maxNew int, stop []int) ([][]int, error) {
	if err := m.checkIDs(prompts); err != nil {
		return nil, err
	}
	limits, err := m.rowLimits(prompts, maxNew)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, V := len(prompts), m.Config.Vocab
	bp := device.BucketSize(n, 1)
	seqs := make([][]int, n)
	for b, p := range prompts {
		seqs[b] = slices.Clone(p)
	}
	st := newGreedy(limits, stop)
	for maxNew > 0 {
		T := device.BucketSize(maxLen(seqs), MinPromptBucket)
		ids, start := pack(seqs, T, bp)
		logits, cache, err := m.step(m.fwdLast, ids, start, 0, m.emptyCache(bp, T))
		if err != nil {
			return nil, err
		}
		cache.free()
		next, err := argmaxRows(logits, n, V)
		_ = logits.FinalizeAll()
		if err != nil {
			return nil, err
		}
		if st.add(next) {
			break
		}
		for b, tok := range next {
			// Finished rows keep their length: they no longer matter.
			if !st.done[b] {
				seqs[b] = append(seqs[b], tok)
			}
		}
	}
	if st.out == nil {
		return make([][]int, n), nil
	}
	return st.out, nil
}

// Warmup compiles the programs that generating maxNew tokens for a batch
// of n prompts of promptLen tokens uses (one prefill and one decode step
// per shape bucket), by running them once with a throw-away prompt and
// stopping after two tokens. A later call in the same buckets starts
// generating at once instead of compiling first; an actor calls it in its
// constructor so that its first batch is not slower than the rest.
func (m *Model) Warmup(ctx context.Context, n, promptLen, maxNew int) error {
	if n <= 0 || promptLen <= 0 || maxNew <= 0 {
		return fmt.Errorf("llm: Warmup(%d prompts, %d tokens, %d new): all must be positive", n, promptLen, maxNew)
	}
	if c := m.Config.MaxPositions; c > 0 {
		promptLen = min(promptLen, c-1)
	}
	prompts := make([][]int, n)
	for b := range prompts {
		prompts[b] = make([]int, promptLen) // token 0 is as good as any
	}
	counts := make([]int, n)
	_, err := m.GenerateWith(ctx, prompts, GenerateOptions{
		MaxNewTokens: maxNew,
		OnToken: func(row, _ int) bool {
			counts[row]++
			return counts[row] < 2
		},
	})
	return err
}
