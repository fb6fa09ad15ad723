package tokenizer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// bpeModel is the BPE model: a vocabulary and ranked merges.
type bpeModel struct {
	vocab   map[string]int
	idToTok []string // by id; "" where the model has no such id
	// merges maps a pair of ids (left<<32 | right) to its rank and the id
	// of the merged token.
	merges map[uint64]mergeRule

	unkID        int // -1: none
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix

	// byteIDs[b] is the id of the byte-level token for byte b (-1 when the
	// vocabulary lacks it); fastBytes says every byte has one and no
	// prefix/suffix applies, so raw pieces can skip the string mapping.
	byteIDs   [256]int32
	fastBytes bool

	cache *wordCache
}

type mergeRule struct {
	rank int32
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newBPE builds the model. merges are pairs of token strings, in rank order.
func newBPE(vocab map[string]int, merges [][2]string, unk string, opts bpeOptions) (*bpeModel, error) {
	m := &bpeModel{
		vocab:        vocab,
		merges:       make(map[uint64]mergeRule, len(merges)),
		unkID:        -1,
		fuseUnk:      opts.fuseUnk,
		byteFallback: opts.byteFallback,
		ignoreMerges: opts.ignoreMerges,
		prefix:       opts.prefix,
		suffix:       opts.suffix,
		cache:        newWordCache(opts.cacheSize),
	}
	maxID := -1
	for _, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: negative token id %d", id)
		}
		maxID = max(maxID, id)
	}
	m.idToTok = make([]string, maxID+1)
	for tok, id := range vocab {
		m.idToTok[id] = tok
	}
	if unk != "" {
		id, ok := vocab[unk]
		if !ok {
			return nil, fmt.Errorf("tokenizer: unk_token %q is not in the vocabulary", unk)
		}
		m.unkID = id
	}
	for rank, mg := range merges {
		a, ok1 := vocab[mg[0]]
		b, ok2 := vocab[mg[1]]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("tokenizer: merge %d (%q %q) uses a token outside the vocabulary", rank, mg[0], mg[1])
		}
		right := mg[1]
		if m.prefix != "" && len(right) >= len(m.prefix) && right[:len(m.prefix)] == m.prefix {
			right = right[len(m.prefix):]
		}
		id, ok := vocab[mg[0]+right]
		if !ok {
			return nil, fmt.Errorf("tokenizer: merge %d (%q %q) gives %q, which is not in the vocabulary", rank, mg[0], mg[1], mg[0]+right)
		}
		m.merges[pairKey(int32(a), int32(b))] = mergeRule{rank: int32(rank), id: int32(id)}
	}
	m.fastBytes = m.prefix == "" && m.suffix == ""
	for b := 0; b < 256; b++ {
		id, ok := vocab[byteToStr[b]]
		if !ok {
			id = -1
			m.fastBytes = false
		}
		m.byteIDs[b] = int32(id)
	}
	return m, nil
}

type bpeOptions struct {
	fuseUnk, byteFallback, ignoreMerges bool
	prefix, suffix                      string
	cacheSize                           int
}

// maxCachedLen is the longest piece (in bytes) whose result is cached.
const maxCachedLen = 256

// tokenize appends the ids of one pre-token to out. When raw is set, piece
// is text whose bytes still have to be mapped to the byte-level alphabet.
func (m *bpeModel) tokenize(piece string, raw bool, out []int) []int {
	if piece == "" {
		return out
	}
	cacheable := len(piece) < maxCachedLen && m.cache != nil
	if cacheable {
		if ids, ok := m.cache.get(piece); ok {
			for _, id := range ids {
				out = append(out, int(id))
			}
			return out
		}
	}
	var buf [32]int32
	ids := m.encodeWord(piece, raw, buf[:0])
	if cacheable {
		m.cache.put(piece, append([]int32(nil), ids...))
	}
	for _, id := range ids {
		out = append(out, int(id))
	}
	return out
}

// encodeWord runs BPE on one pre-token, appending its ids to syms.
func (m *bpeModel) encodeWord(piece string, raw bool, syms []int32) []int32 {
	if raw && m.fastBytes && !m.ignoreMerges {
		if len(piece) == 1 {
			return append(syms, m.byteIDs[piece[0]])
		}
		for i := 0; i < len(piece); i++ {
			syms = append(syms, m.byteIDs[piece[i]])
		}
		return m.mergeAll(syms)
	}
	word := piece
	if raw {
		word = byteLevelEncode(piece)
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[word]; ok {
			return append(syms, int32(id))
		}
	}
	return m.mergeAll(m.initialSymbols(word, syms))
}

// initialSymbols splits word into one symbol per rune, as Hugging Face's
// BPE does: continuing_subword_prefix / end_of_word_suffix, byte fallback
// and the unknown token included.
func (m *bpeModel) initialSymbols(word string, syms []int32) []int32 {
	unk, unkPending := int32(-1), false
	for i := 0; i < len(word); {
		_, size := utf8.DecodeRuneInString(word[i:])
		char := word[i : i+size]
		s := char
		if i > 0 && m.prefix != "" {
			s = m.prefix + s
		}
		if i+size == len(word) && m.suffix != "" {
			s += m.suffix
		}
		i += size
		if id, ok := m.vocab[s]; ok {
			if unkPending {
				syms = append(syms, unk)
				unkPending = false
			}
			syms = append(syms, int32(id))
			continue
		}
		if m.byteFallback {
			if fb, ok := m.byteFallbackIDs(char); ok {
				// As in Hugging Face, byte-fallback tokens do not flush a
				// pending unknown token.
				syms = append(syms, fb...)
				continue
			}
		}
		if m.unkID >= 0 {
			if unkPending && !m.fuseUnk {
				syms = append(syms, unk)
			}
			unk, unkPending = int32(m.unkID), true
		}
	}
	if unkPending {
		syms = append(syms, unk)
	}
	return syms
}

// byteFallbackIDs returns the <0xXX> tokens of char's bytes, if the
// vocabulary has them all.
func (m *bpeModel) byteFallbackIDs(char string) ([]int32, bool) {
	out := make([]int32, 0, len(char))
	for k := 0; k < len(char); k++ {
		id, ok := m.vocab[fmt.Sprintf("<0x%02X>", char[k])]
		if !ok {
			return nil, false
		}
		out = append(out, int32(id))
	}
	return out, true
}

// mergeAll applies the merges to syms in rank order (ties: leftmost
// first), exactly as Hugging Face's Word::merge_all does, and returns the
// resulting ids (reusing syms' storage).
func (m *bpeModel) mergeAll(syms []int32) []int32 {
	n := len(syms)
	if n < 2 {
		return syms
	}
	if n == 2 {
		if r, ok := m.merges[pairKey(syms[0], syms[1])]; ok {
			return append(syms[:0], r.id)
		}
		return syms
	}
	next := make([]int32, n)
	prev := make([]int32, n)
	alive := make([]bool, n)
	for i := range n {
		next[i] = int32(i + 1)
		prev[i] = int32(i - 1)
		alive[i] = true
	}
	next[n-1] = -1
	h := make(mergeHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if r, ok := m.merges[pairKey(syms[i], syms[i+1])]; ok {
			h.push(mergeEntry{rank: r.rank, pos: int32(i), id: r.id})
		}
	}
	for len(h) > 0 {
		top := h.pop()
		p := top.pos
		if !alive[p] || next[p] < 0 {
			continue
		}
		q := next[p]
		// Skip entries made stale by an earlier merge.
		if r, ok := m.merges[pairKey(syms[p], syms[q])]; !ok || r.id != top.id {
			continue
		}
		syms[p] = top.id
		alive[q] = false
		next[p] = next[q]
		if next[q] >= 0 {
			prev[next[q]] = p
		}
		if pp := prev[p]; pp >= 0 {
			if r, ok := m.merges[pairKey(syms[pp], syms[p])]; ok {
				h.push(mergeEntry{rank: r.rank, pos: pp, id: r.id})
			}
		}
		if nn := next[p]; nn >= 0 {
			if r, ok := m.merges[pairKey(syms[p], syms[nn])]; ok {
				h.push(mergeEntry{rank: r.rank, pos: p, id: r.id})
			}
		}
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type mergeEntry struct {
	rank, pos, id int32
}

func (a mergeEntry) less(b mergeEntry) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

// mergeHeap is a binary min-heap on (rank, pos).
type mergeHeap []mergeEntry

func (h *mergeHeap) push(e mergeEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		c := l
		if r := l + 1; r < len(s) && s[r].less(s[l]) {
			c = r
		}
		if !s[c].less(s[i]) {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*h = s
	return top
}

// wordCache maps pre-tokens to their ids. It is a sync.Map (lock-free
// reads, built for keys written once and read many times, which is what a
// word cache is) bounded by emptying it when full: cheaper on the hot path
// than LRU bookkeeping, and a warm cache refills in a few texts.
type wordCache struct {
	m    sync.Map // string -> []int32
	n    atomic.Int64
	size int64
}

func newWordCache(size int) *wordCache {
	if size <= 0 {
		return nil
	}
	return &wordCache{size: int64(size)}
}

func (c *wordCache) get(k string) ([]int32, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		return nil, false
	}
	return v.([]int32), true
}

func (c *wordCache) put(k string, v []int32) {
	if c.n.Add(1) > c.size {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(k, v)
}

// len counts the entries (tests only).
func (c *wordCache) len() int {
	n := 0
	c.m.Range(func(any, any) bool { n++; return true })
	return n
}
