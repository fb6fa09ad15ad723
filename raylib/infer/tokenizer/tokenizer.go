package tokenizer

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is how many pre-tokens (words) the BPE cache keeps.
const DefaultCacheSize = 1 << 16

// Tokenizer is a byte-level BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	model *bpeModel
	norm  normalizer
	steps []preStep
	// rawBytes: the pieces handed to the model are still plain text; the
	// model maps bytes to the byte-level alphabet itself.
	rawBytes bool

	// Added tokens matched in the raw text (normalized=false) and in the
	// normalized text (normalized=true).
	rawAdded  *addedMatcher
	normAdded *addedMatcher
	added     map[string]*AddedToken
	addedByID map[int]*AddedToken

	// What the post-processor puts around a single sequence when special
	// tokens are asked for.
	prefixIDs, suffixIDs []int

	byteDecoder bool     // ByteLevel decoder; otherwise tokens are joined with spaces
	decodeBytes [][]byte // per id, what the decoder turns the token into
	tokens      []string // per id, the token string ("" when unused)
	present     []bool
	special     []bool

	bos, eos, pad, unk int
	chatTemplate       string
}

// VocabSize is the number of ids: one more than the largest id of the
// model vocabulary and the added tokens (the embedding table's rows).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS is the beginning-of-sequence id, or -1 when unknown.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS is the end-of-sequence id, or -1 when unknown.
func (t *Tokenizer) EOS() int { return t.eos }

// PAD is the padding id, or -1 when unknown.
func (t *Tokenizer) PAD() int { return t.pad }

// UNK is the unknown-token id, or -1 when the model has none.
func (t *Tokenizer) UNK() int { return t.unk }

// ChatTemplate is the Jinja chat template shipped with the tokenizer
// (tokenizer_config.json or GGUF tokenizer.chat_template), or "".
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// SetSpecialIDs overrides the BOS, EOS and PAD ids (-1: none). Call it
// before sharing the tokenizer between goroutines.
func (t *Tokenizer) SetSpecialIDs(bos, eos, pad int) {
	t.bos, t.eos, t.pad = bos, eos, pad
}

// TokenID returns the id of a token given as it appears in the vocabulary
// (added tokens such as "<|im_end|>" as written; model tokens in their
// byte-level form, e.g. "Ġthe").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if a, ok := t.added[s]; ok {
		return a.ID, true
	}
	id, ok := t.model.vocab[s]
	return id, ok
}

// Token returns the token string of id (byte-level form for model tokens).
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || !t.present[id] {
		return "", false
	}
	return t.tokens[id], true
}

// IsSpecial reports whether id is a special added token.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.special) && t.special[id]
}

// AddedTokens lists the added tokens, by id.
func (t *Tokenizer) AddedTokens() []AddedToken {
	out := make([]AddedToken, 0, len(t.addedByID))
	for id := range t.tokens {
		if a, ok := t.addedByID[id]; ok {
			out = append(out, *a)
		}
	}
	return out
}

// Encode turns text into ids. Added and special tokens written in the text
// (such as "<|im_start|>") are always recognised, as Hugging Face does;
// addSpecial adds what the post-processor adds around a sequence (e.g.
// Llama 3's <|begin_of_text|>), which for Qwen2 and SmolLM2 is nothing.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	return t.encode(text, addSpecial, false)
}

// EncodeUntrusted is Encode for text that must not produce special tokens,
// such as a user's message placed inside a chat template: "<|im_end|>"
// written in it is encoded as ordinary text (Hugging Face's
// split_special_tokens=True). Plain added tokens are still recognised.
func (t *Tokenizer) EncodeUntrusted(text string, addSpecial bool) []int {
	return t.encode(text, addSpecial, true)
}

func (t *Tokenizer) encode(text string, addSpecial, noSpecial bool) []int {
	out := make([]int, 0, len(text)/3+4)
	if addSpecial {
		out = append(out, t.prefixIDs...)
	}
	out = t.encodeText(text, noSpecial, out)
	if addSpecial {
		out = append(out, t.suffixIDs...)
	}
	return out
}

// EncodeBatch encodes texts in parallel; the i-th result is
// Encode(texts[i], addSpecial).
func (t *Tokenizer) EncodeBatch(texts []string, addSpecial bool) [][]int {
	out := make([][]int, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	if workers <= 1 {
		for i, s := range texts {
			out[i] = t.Encode(s, addSpecial)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(texts) {
					return
				}
				out[i] = t.Encode(texts[i], addSpecial)
			}
		})
	}
	wg.Wait()
	return out
}

// encodeText runs added-token extraction, normalization, pre-tokenization
// and BPE on text, appending ids to out.
func (t *Tokenizer) encodeText(text string, noSpecial bool, out []int) []int {
	var buf [16]piece
	for _, p := range t.rawAdded.split(text, noSpecial, buf[:0]) {
		if p.tok != nil {
			out = append(out, p.tok.ID)
			continue
		}
		s := p.text
		if t.norm != nil {
			s = t.norm(s)
		}
		if t.normAdded == nil {
			out = t.encodePlain(s, out)
			continue
		}
		var buf2 [8]piece
		for _, q := range t.normAdded.split(s, noSpecial, buf2[:0]) {
			if q.tok != nil {
				out = append(out, q.tok.ID)
			} else {
				out = t.encodePlain(q.text, out)
			}
		}
	}
	return out
}

// encodePlain pre-tokenizes s and runs the model on every piece.
func (t *Tokenizer) encodePlain(s string, out []int) []int {
	if s == "" {
		return out
	}
	if len(t.steps) == 0 {
		return t.model.tokenize(s, t.rawBytes, out)
	}
	if len(t.steps) == 1 {
		t.steps[0].split(s, func(p string) {
			out = t.model.tokenize(p, t.rawBytes, out)
		})
		return out
	}
	emit := make([]func(string), len(t.steps)+1)
	emit[len(t.steps)] = func(p string) {
		out = t.model.tokenize(p, t.rawBytes, out)
	}
	for k := len(t.steps) - 1; k >= 0; k-- {
		step, nextEmit := t.steps[k], emit[k+1]
		emit[k] = func(p string) {
			if p != "" {
				step.split(p, nextEmit)
			}
		}
	}
	emit[0](s)
	return out
}

// PreTokenize returns the pieces the pre-tokenizer cuts plain text into
// (no added-token extraction; before the byte-level mapping when
// ByteLevel is the last step). Meant for debugging and tests.
func (t *Tokenizer) PreTokenize(text string) []string {
	var out []string
	if t.norm != nil {
		text = t.norm(text)
	}
	if len(t.steps) == 0 {
		return []string{text}
	}
	emit := make([]func(string), len(t.steps)+1)
	emit[len(t.steps)] = func(p string) { out = append(out, p) }
	for k := len(t.steps) - 1; k >= 0; k-- {
		step, nextEmit := t.steps[k], emit[k+1]
		emit[k] = func(p string) {
			if p != "" {
				step.split(p, nextEmit)
			}
		}
	}
	emit[0](text)
	return out
}

// Decode turns ids back into text. Unknown ids are skipped; with
// skipSpecial, so are special tokens. Invalid UTF-8 (a multi-byte
// character cut between tokens) becomes U+FFFD, as in Hugging Face.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	if !t.byteDecoder {
		parts := make([]string, 0, len(ids))
		for _, id := range ids {
			if tok, ok := t.Token(id); ok && !(skipSpecial && t.special[id]) {
				parts = append(parts, tok)
			}
		}
		return strings.Join(parts, " ")
	}
	n := 0
	for _, id := range ids {
		if id >= 0 && id < len(t.decodeBytes) {
			n += len(t.decodeBytes[id])
		}
	}
	buf := make([]byte, 0, n)
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || !t.present[id] || (skipSpecial && t.special[id]) {
			continue
		}
		buf = append(buf, t.decodeBytes[id]...)
	}
	return lossyUTF8(buf)
}

// StreamDecoder turns ids into text as a model generates them. Text is
// returned as soon as it is complete UTF-8; the bytes of a character split
// across tokens are held back until its last byte arrives. The
// concatenation of every Next and the final Flush equals Decode of all the
// ids. A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	pending     []byte
	started     bool // at least one token was emitted (for space-joined decoding)
}

// NewStreamDecoder starts a stream; skipSpecial drops special tokens.
func (t *Tokenizer) NewStreamDecoder(skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: skipSpecial}
}

// Next adds one id and returns the text it completes (often "").
func (d *StreamDecoder) Next(id int) string {
	t := d.t
	if id < 0 || id >= len(t.tokens) || !t.present[id] || (d.skipSpecial && t.special[id]) {
		return ""
	}
	if !t.byteDecoder {
		s := t.tokens[id]
		if d.started {
			s = " " + s
		}
		d.started = true
		return s
	}
	d.pending = append(d.pending, t.decodeBytes[id]...)
	return d.drain(false)
}

// Flush returns what is held back (an incomplete character becomes
// U+FFFD) and resets the stream.
func (d *StreamDecoder) Flush() string {
	s := d.drain(true)
	d.pending = d.pending[:0]
	d.started = false
	return s
}

// drain converts the complete part of pending, keeping a trailing
// incomplete (but so far valid) sequence unless final.
func (d *StreamDecoder) drain(final bool) string {
	b := d.pending
	keep := len(b)
	if !final {
		// Find a trailing, possibly unfinished sequence: at most 3 bytes back.
		for k := len(b) - 1; k >= 0 && k >= len(b)-3; k-- {
			if b[k] < 0x80 {
				break
			}
			if b[k] >= 0xC0 { // a lead byte
				if validPrefix(b[k:]) == 0 && maximalSubpart(b[k:]) == len(b)-k {
					keep = k
				}
				break
			}
		}
	}
	if keep == 0 {
		return ""
	}
	s := lossyUTF8(b[:keep])
	d.pending = append(d.pending[:0], b[keep:]...)
	return s
}
