package llm

import (
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive,staticcheck // graph-building DSL
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// graphFn returns the forward step the Execs compile. Its inputs are the
// weights (paramNames order) followed by
//
//	ids   [B, T] int32: the new tokens, rows left-padded;
//	start [B] int32: the cache slot of each row's first real token;
//	pos   [] int32: the cache slot of ids[:, 0];
//	L key caches, then L value caches, each [B, KVH, S, D] float32.
//
// The caches are one tensor per layer rather than one [L, ...] tensor:
// XLA copies a cache it updates (a program's input cannot be its output
// here), and per-layer buffers stay small enough for the allocator to
// reuse them, where one big buffer per step would be a fresh mmap whose
// page faults cost more than the copy (a quarter of a decode step at
// batch 8 in the bench).
//
// Token ids[b, t] sits in slot pos+t and has RoPE position pos+t-start[b].
// It attends to the slots s with start[b] <= s <= pos+t. It returns the
// logits ([B, T, V], or [B, V] for the last position when last is set) and
// the 2L caches with slots pos..pos+T-1 written.
func (m *Model) graphFn(last bool) func(in []*Node) []*Node {
	cfg := m.Config
	nParams := len(m.names)
	invFreq := cfg.invFreq()
	useDUS := m.backend.Capabilities().Operations[backends.OpTypeDynamicUpdateSlice]
	return func(in []*Node) []*Node {
		p := in[:nParams]
		ids, start, pos := in[nParams], in[nParams+1], in[nParams+2]
		L := cfg.Layers
		kcs := slices.Clone(in[nParams+3 : nParams+3+L])
		vcs := slices.Clone(in[nParams+3+L : nParams+3+2*L])
		g := ids.Graph()
		B, T := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
		S := kcs[0].Shape().Dimensions[2]
		H, D, NH, KVH := cfg.Hidden, cfg.HeadDim, cfg.Heads, cfg.KVHeads
		G := NH / KVH
		next := func() *Node { n := p[0]; p = p[1:]; return n }

		// Slots and positions.
		slot := Add(Iota(g, ids.Shape(), 1), pos)                                 // [B,T] int32
		ropePos := ConvertDType(Sub(slot, ExpandAxes(start, -1)), dtypes.Float32) // [B,T]
		freqs := Mul(ExpandAxes(ropePos, -1), Reshape(Const(g, invFreq), 1, 1, D/2))
		emb := Concatenate([]*Node{freqs, freqs}, -1) // [B,T,D]
		cos := ExpandAxes(Cos(emb), 1)                // [B,1,T,D]
		sin := ExpandAxes(Sin(emb), 1)

		// Attention mask [B,T,S]: start[b] <= s <= slot[b,t].
		keySlot := Iota(g, shapes.Make(dtypes.Int32, B, T, S), 2)
		mask := LogicalAnd(
			GreaterOrEqual(keySlot, BroadcastToDims(Reshape(start, B, 1, 1), B, T, S)),
			LessOrEqual(keySlot, BroadcastToDims(ExpandAxes(slot, -1), B, T, S)))
		mask = BroadcastToDims(Reshape(mask, B, 1, 1, T, S), B, KVH, G, T, S)
		negInf := Scalar(g, dtypes.Float32, -math.MaxFloat32)
		scale := 1 / math.Sqrt(float64(D))

		x := Gather(next(), ExpandAxes(ids, -1)) // [B,T,H]
		for l := range cfg.Layers {
			h := rmsNorm(x, next(), cfg.RMSNormEps)
			wq, wk, wv := next(), next(), next()
			q, k, v := linear(h, wq), linear(h, wk), linear(h, wv)
			if cfg.QKVBias {
				q, k, v = addBias(q, next()), addBias(k, next()), addBias(v, next())
			}
			q = TransposeAllAxes(Reshape(q, B, T, NH, D), 0, 2, 1, 3) // [B,NH,T,D]
			k = TransposeAllAxes(Reshape(k, B, T, KVH, D), 0, 2, 1, 3)
			v = TransposeAllAxes(Reshape(v, B, T, KVH, D), 0, 2, 1, 3)
			q, k = rope(q, cos, sin), rope(k, cos, sin)

			kcs[l], vcs[l] = writeCache(kcs[l], k, pos, useDUS), writeCache(vcs[l], v, pos, useDUS)
			keys, vals := kcs[l], vcs[l]

			qg := Reshape(q, B, KVH, G, T, D)
			scores := MulScalar(Einsum("bkgtd,bksd->bkgts", qg, keys), scale)
			scores = Where(mask, scores, negInf)
			attn := Softmax(scores, -1)
			out := Einsum("bkgts,bksd->bkgtd", attn, vals)                                     // [B,KVH,G,T,D]
			out = Reshape(TransposeAllAxes(Reshape(out, B, NH, T, D), 0, 2, 1, 3), B, T, NH*D) // [B,T,NH*D]
			x = Add(x, linear(out, next()))

			h = rmsNorm(x, next(), cfg.RMSNormEps)
			gate, up, down := next(), next(), next()
			gt := linear(h, gate)
			x = Add(x, linear(Mul(Mul(gt, Sigmoid(gt)), linear(h, up)), down))
		}
		x = rmsNorm(x, next(), cfg.RMSNormEps)
		if last {
			x = Reshape(Slice(x, AxisRange(), AxisElem(T-1)), B, 1, H)
		}
		var head *Node
		if cfg.TieWordEmbeddings {
			head = in[0]
		} else {
			head = next()
		}
		logits := linear(x, head)
		if last {
			logits = Reshape(logits, B, cfg.Vocab)
		}
		return append(append([]*Node{logits}, kcs...), vcs...)
	}
}

// linear is x [B,T,in] times w [out,in] transposed.
func linear(x, w *Node) *Node {
	return Einsum("bti,oi->bto", x, w)
}

// rmsNorm is Hugging Face's LlamaRMSNorm / Qwen2RMSNorm in float32.
func rmsNorm(x, w *Node, eps float64) *Node {
	variance := ReduceAndKeep(Square(x), ReduceMean, -1)
	return Mul(ExpandLeftToRank(w, x.Rank()), Mul(x, Rsqrt(AddScalar(variance, eps))))
}

// addBias adds b [n] to x [..., n].
func addBias(x, b *Node) *Node {
	return Add(x, ExpandLeftToRank(b, x.Rank()))
}

// rope applies rotary embeddings in Hugging Face's rotate_half layout to
// x [B,heads,T,D].
func rope(x, cos, sin *Node) *Node {
	d := x.Shape().Dimensions[3]
	x1 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, d/2))
	x2 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(d/2, d))
	rot := Concatenate([]*Node{Neg(x2), x1}, -1)
	return Add(Mul(x, cos), Mul(rot, sin))
}

// writeCache stores x [B,KVH,T,D] into cache [B,KVH,S,D] at slots
// pos..pos+T-1. With dus it is one DynamicUpdateSlice; backends without
// that op (SimpleGo) get the same result from a one-hot product over the
// slots (exact: each slot receives one value times 1) and a Where.
func writeCache(cache, x *Node, pos *Node, dus bool) *Node {
	g := x.Graph()
	dims := cache.Shape().Dimensions
	B, KVH, S, D := dims[0], dims[1], dims[2], dims[3]
	T := x.Shape().Dimensions[2]
	if dus {
		zero := Scalar(g, dtypes.Int32, 0)
		return DynamicUpdateSlice(cache, x, []*Node{zero, zero, pos, zero})
	}
	// onehot[t, s] = (s == pos + t).
	slots := Iota(g, shapes.Make(dtypes.Int32, T, S), 1)
	targets := Add(Iota(g, shapes.Make(dtypes.Int32, T, S), 0), pos)
	onehot := ConvertDType(Equal(slots, targets), dtypes.Float32)
	placed := Einsum("bktd,ts->bksd", x, onehot) // [B,KVH,S,D]
	// written[s] = pos <= s < pos+T.
	s := Iota(g, shapes.Make(dtypes.Int32, S), 0)
	written := LogicalAnd(GreaterOrEqual(s, pos), LessThan(s, AddScalar(pos, T)))
	written = BroadcastToDims(Reshape(written, 1, 1, S, 1), B, KVH, S, D)
	return Where(written, placed, cache)
}
