package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/goray-dev/goray/raylib/infer/weights"
)

// randomSource returns a weights.Source holding every tensor llm.New asks
// a model of cfg for, as float32, with values made up on demand: no file,
// and no copy of the weights beyond the one llm.New makes.
//
// The values follow transformers' initialisation of a fresh model (what
// torch_peer.py runs): norm weights 1, biases 0, every other matrix
// uniform with standard deviation 0.02 (transformers draws it normal; the
// speed of a float32 forward does not depend on the values, as long as no
// NaN, Inf or denormal creeps in, which neither gives).
//
// The tensor list is llm's paramNames, which is not exported: names holds
// the same Hugging Face names built from the config.
func randomSource(c modelShape, seed uint64) (weights.Source, error) {
	rs, err := randomSourceReader(c, seed)
	if err != nil {
		return nil, err
	}
	return weights.ReadSafetensors("random-weights", rs, rs.size)
}

// randomSourceReader is the virtual safetensors file behind randomSource.
func randomSourceReader(c modelShape, seed uint64) (*randReader, error) {
	ts := c.tensors()
	rs := &randReader{seed: seed}
	header := map[string]any{}
	var off int64
	for _, t := range ts {
		n := int64(4)
		for _, d := range t.shape {
			n *= int64(d)
		}
		header[t.name] = map[string]any{"dtype": "F32", "shape": t.shape, "data_offsets": []int64{off, off + n}}
		rs.parts = append(rs.parts, randPart{begin: off, end: off + n, fill: t.fill, salt: hashString(t.name)})
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	rs.header = binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	rs.header = append(rs.header, h...)
	dataStart := int64(len(rs.header))
	for i := range rs.parts {
		rs.parts[i].begin += dataStart
		rs.parts[i].end += dataStart
	}
	rs.size = dataStart + off
	return rs, nil
}

// tensorSpec is one tensor of the model.
type tensorSpec struct {
	name  string
	shape []int
	fill  fillKind
}

type fillKind int

const (
	fillRandom fillKind = iota // uniform, standard deviation 0.02
	fillOnes                   // RMSNorm weights
	fillZeros                  // biases
)

// tensors lists the Hugging Face tensors of a Llama/Qwen2 decoder of this
// shape (the names and shapes llm.New expects).
func (c modelShape) tensors() []tensorSpec {
	var out []tensorSpec
	add := func(name string, fill fillKind, shape ...int) {
		out = append(out, tensorSpec{name: name, shape: shape, fill: fill})
	}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	add("model.embed_tokens.weight", fillRandom, c.Vocab, c.Hidden)
	for l := range c.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", fillOnes, c.Hidden)
		add(p+"self_attn.q_proj.weight", fillRandom, q, c.Hidden)
		add(p+"self_attn.k_proj.weight", fillRandom, kv, c.Hidden)
		add(p+"self_attn.v_proj.weight", fillRandom, kv, c.Hidden)
		if c.QKVBias {
			add(p+"self_attn.q_proj.bias", fillZeros, q)
			add(p+"self_attn.k_proj.bias", fillZeros, kv)
			add(p+"self_attn.v_proj.bias", fillZeros, kv)
		}
		add(p+"self_attn.o_proj.weight", fillRandom, c.Hidden, q)
		add(p+"post_attention_layernorm.weight", fillOnes, c.Hidden)
		add(p+"mlp.gate_proj.weight", fillRandom, c.Intermediate, c.Hidden)
		add(p+"mlp.up_proj.weight", fillRandom, c.Intermediate, c.Hidden)
		add(p+"mlp.down_proj.weight", fillRandom, c.Hidden, c.Intermediate)
	}
	add("model.norm.weight", fillOnes, c.Hidden)
	if !c.Tied {
		add("lm_head.weight", fillRandom, c.Vocab, c.Hidden)
	}
	return out
}

// numParams is the number of weights (tied embeddings counted once).
func (c modelShape) numParams() int64 {
	var n int64
	for _, t := range c.tensors() {
		k := int64(1)
		for _, d := range t.shape {
			k *= int64(d)
		}
		n += k
	}
	return n
}

// randReader is an io.ReaderAt over a virtual safetensors file: the header,
// then each tensor's float32 values computed from (seed, tensor, index).
type randReader struct {
	seed   uint64
	header []byte
	parts  []randPart // ascending, contiguous, after the header
	size   int64
}

type randPart struct {
	begin, end int64 // absolute byte range
	fill       fillKind
	salt       uint64
}

// uniformScale makes a uniform draw in [-1, 1) have standard deviation 0.02.
var uniformScale = float32(0.02 * math.Sqrt(3))

func (r *randReader) word(p *randPart, i int64) uint32 {
	switch p.fill {
	case fillOnes:
		return math.Float32bits(1)
	case fillZeros:
		return 0
	}
	x := splitmix64(r.seed ^ p.salt ^ uint64(i)*0x9E3779B97F4A7C15)
	u := float32(x>>40)/float32(1<<24)*2 - 1 // [-1, 1), 24 random bits
	return math.Float32bits(u * uniformScale)
}

func (r *randReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("random weights: negative offset %d", off)
	}
	n := 0
	for n < len(b) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		if pos < int64(len(r.header)) {
			n += copy(b[n:], r.header[pos:])
			continue
		}
		k := sort.Search(len(r.parts), func(i int) bool { return r.parts[i].end > pos })
		p := &r.parts[k]
		rel := pos - p.begin
		for n < len(b) && pos < p.end {
			w := rel / 4
			if rel%4 == 0 && len(b)-n >= 4 && p.end-pos >= 4 {
				binary.LittleEndian.PutUint32(b[n:], r.word(p, w))
				n, pos, rel = n+4, pos+4, rel+4
				continue
			}
			var tmp [4]byte
			binary.LittleEndian.PutUint32(tmp[:], r.word(p, w))
			b[n] = tmp[rel%4]
			n, pos, rel = n+1, pos+1, rel+1
		}
	}
	return n, nil
}

func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func hashString(s string) uint64 {
	h := uint64(1469598103934665603)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return splitmix64(h)
}

// shapeString is the model's shape in one line, for logs.
func (c modelShape) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s hidden %d, intermediate %d, %d layers, %d heads (%d KV) x %d, vocab %d, rope_theta %g, eps %g",
		c.Arch, c.Hidden, c.Intermediate, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.Vocab, c.RopeTheta, c.Eps)
	if c.Tied {
		b.WriteString(", tied embeddings")
	}
	if c.QKVBias {
		b.WriteString(", QKV bias")
	}
	fmt.Fprintf(&b, "; %.3gM parameters", float64(c.numParams())/1e6)
	return b.String()
}
