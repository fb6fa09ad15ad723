package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// goldenDir holds the files tests/golden/tokenizer/make_golden.py writes.
var goldenDir = filepath.Join("..", "..", "..", "tests", "golden", "tokenizer")

type goldenCase struct {
	I           int     `json:"i"`
	IDs         []int   `json:"ids"`
	IDsSpecial  []int   `json:"ids_special"`
	IDsSplit    []int   `json:"ids_split"`
	Decoded     *string `json:"decoded"`
	DecodedSkip *string `json:"decoded_skip"`
}

type goldenDecode struct {
	IDs      []int  `json:"ids"`
	Text     string `json:"text"`
	TextSkip string `json:"text_skip"`
}

type goldenFile struct {
	Tokenizer string         `json:"tokenizer"`
	VocabSize int            `json:"vocab_size"`
	Cases     []goldenCase   `json:"cases"`
	Decode    []goldenDecode `json:"decode"`
}

var (
	casesOnce sync.Once
	casesText []string
	casesErr  error
)

// loadCases returns the texts of cases.json, checking that its first lines
// are corpus.txt's (so a corpus edit without `make golden` fails loudly).
func loadCases(t testing.TB) []string {
	t.Helper()
	casesOnce.Do(func() {
		var f struct {
			CorpusLines int      `json:"corpus_lines"`
			Cases       []string `json:"cases"`
		}
		data, err := os.ReadFile(filepath.Join(goldenDir, "cases.json"))
		if err != nil {
			casesErr = err
			return
		}
		if err := json.Unmarshal(data, &f); err != nil {
			casesErr = err
			return
		}
		corpus, err := os.ReadFile(filepath.Join(goldenDir, "corpus.txt"))
		if err != nil {
			casesErr = err
			return
		}
		lines := strings.Split(strings.TrimSuffix(string(corpus), "\n"), "\n")
		if len(lines) != f.CorpusLines || !slices.Equal(lines, f.Cases[:f.CorpusLines]) {
			casesErr = fmt.Errorf("corpus.txt (%d lines) and cases.json (%d corpus lines) differ: rerun make_golden.py", len(lines), f.CorpusLines)
			return
		}
		casesText = f.Cases
	})
	if casesErr != nil {
		t.Fatal(casesErr)
	}
	return casesText
}

func loadGolden(t testing.TB, name string) *goldenFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, "golden_"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func loadTrained(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tok, err := FromFile(filepath.Join(goldenDir, name+".tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func loadSmolLM2(t testing.TB) *Tokenizer {
	t.Helper()
	f, err := os.Open(filepath.Join(goldenDir, "smollm2_gguf_tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.NewDecoder(zr).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	tok, err := FromGGUF(meta)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// checkGolden compares every case and decode row with the goldens.
func checkGolden(t *testing.T, tok *Tokenizer, g *goldenFile) {
	cases := loadCases(t)
	if len(g.Cases) != len(cases) {
		t.Fatalf("golden has %d cases, cases.json %d", len(g.Cases), len(cases))
	}
	if tok.VocabSize() != g.VocabSize {
		t.Errorf("VocabSize = %d, want %d", tok.VocabSize(), g.VocabSize)
	}
	matched, failed := 0, 0
	fail := func(format string, args ...any) {
		failed++
		if failed <= 20 {
			t.Errorf(format, args...)
		}
	}
	for _, c := range g.Cases {
		text := cases[c.I]
		ok := true
		if got := tok.Encode(text, false); !slices.Equal(got, c.IDs) {
			fail("case %d %s:\n got  %v\n want %v", c.I, quote(text), got, c.IDs)
			ok = false
		}
		wantSpecial := c.IDs
		if c.IDsSpecial != nil {
			wantSpecial = c.IDsSpecial
		}
		if got := tok.Encode(text, true); !slices.Equal(got, wantSpecial) {
			fail("case %d %s with special tokens:\n got  %v\n want %v", c.I, quote(text), got, wantSpecial)
			ok = false
		}
		wantSplit := c.IDs
		if c.IDsSplit != nil {
			wantSplit = c.IDsSplit
		}
		if got := tok.EncodeUntrusted(text, false); !slices.Equal(got, wantSplit) {
			fail("case %d %s untrusted (split_special_tokens):\n got  %v\n want %v", c.I, quote(text), got, wantSplit)
			ok = false
		}
		if got := streamDecode(tok, c.IDs, true); got != tok.Decode(c.IDs, true) {
			fail("case %d: stream decoding %q, Decode %q", c.I, got, tok.Decode(c.IDs, true))
			ok = false
		}
		wantDec := text
		if c.Decoded != nil {
			wantDec = *c.Decoded
		}
		if got := tok.Decode(c.IDs, false); got != wantDec {
			fail("case %d: Decode = %q, want %q", c.I, got, wantDec)
			ok = false
		}
		wantSkip := wantDec
		if c.DecodedSkip != nil {
			wantSkip = *c.DecodedSkip
		}
		if got := tok.Decode(c.IDs, true); got != wantSkip {
			fail("case %d: Decode(skipSpecial) = %q, want %q", c.I, got, wantSkip)
			ok = false
		}
		if ok {
			matched++
		}
	}
	for k, d := range g.Decode {
		if got := tok.Decode(d.IDs, false); got != d.Text {
			fail("decode row %d %v: got %q, want %q", k, d.IDs, got, d.Text)
		}
		if got := tok.Decode(d.IDs, true); got != d.TextSkip {
			fail("decode row %d %v (skip special): got %q, want %q", k, d.IDs, got, d.TextSkip)
		}
		if got := streamDecode(tok, d.IDs, false); got != d.Text {
			fail("decode row %d %v streamed: got %q, want %q", k, d.IDs, got, d.Text)
		}
	}
	t.Logf("%s: %d/%d cases match Hugging Face (encode, encode+special, encode untrusted, decode, decode skip-special, stream decode); %d decode rows",
		g.Tokenizer, matched, len(g.Cases), len(g.Decode))
}

// streamDecode decodes ids one by one with a StreamDecoder, checking that
// nothing but complete UTF-8 comes out before the end.
func streamDecode(tok *Tokenizer, ids []int, skipSpecial bool) string {
	d := tok.NewStreamDecoder(skipSpecial)
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(d.Next(id))
	}
	b.WriteString(d.Flush())
	return b.String()
}

func TestGoldenTrained(t *testing.T) {
	for _, name := range []string{"qwen2_style", "llama3_style", "gpt2_style"} {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, loadTrained(t, name), loadGolden(t, name))
		})
	}
}

func TestGoldenSmolLM2GGUF(t *testing.T) {
	tok := loadSmolLM2(t)
	checkGolden(t, tok, loadGolden(t, "smollm2"))
	if tok.VocabSize() != 49152 {
		t.Errorf("VocabSize = %d, want 49152", tok.VocabSize())
	}
	if tok.BOS() != 1 || tok.EOS() != 2 || tok.PAD() != 2 || tok.UNK() != 0 {
		t.Errorf("BOS/EOS/PAD/UNK = %d/%d/%d/%d, want 1/2/2/0", tok.BOS(), tok.EOS(), tok.PAD(), tok.UNK())
	}
	if !strings.Contains(tok.ChatTemplate(), "<|im_start|>") {
		t.Errorf("chat template not read: %q", tok.ChatTemplate())
	}
	// add_bos_token is false for SmolLM2: nothing is added.
	if got := tok.Encode("hi", true); !slices.Equal(got, tok.Encode("hi", false)) {
		t.Errorf("Encode(addSpecial) = %v", got)
	}
}

func TestSpecialTokens(t *testing.T) {
	tok := loadTrained(t, "qwen2_style")
	start, ok1 := tok.TokenID("<|im_start|>")
	end, ok2 := tok.TokenID("<|im_end|>")
	call, ok3 := tok.TokenID("<tool_call>")
	if !ok1 || !ok2 || !ok3 {
		t.Fatal("added tokens missing")
	}
	if !tok.IsSpecial(start) || !tok.IsSpecial(end) || tok.IsSpecial(call) {
		t.Errorf("IsSpecial wrong: %v %v %v", tok.IsSpecial(start), tok.IsSpecial(end), tok.IsSpecial(call))
	}
	if s, _ := tok.Token(start); s != "<|im_start|>" {
		t.Errorf("Token(%d) = %q", start, s)
	}
	text := "<|im_start|>user\nHi <tool_call>x</tool_call><|im_end|>"
	ids := tok.Encode(text, false)
	if ids[0] != start || ids[len(ids)-1] != end || !slices.Contains(ids, call) {
		t.Errorf("special tokens not recognised: %v", ids)
	}
	// Special tokens never come out of BPE pieces: "<|im_start" alone is not one.
	if slices.Contains(tok.Encode("<|im_start", false), start) {
		t.Error("partial special token matched")
	}
	if got := tok.Decode(ids, false); got != text {
		t.Errorf("Decode = %q", got)
	}
	if got := tok.Decode(ids, true); got != "user\nHi <tool_call>x</tool_call>" {
		t.Errorf("Decode(skipSpecial) = %q", got)
	}
	if id, ok := tok.TokenID("Ġa"); !ok || id < 0 {
		t.Error("model token Ġa missing")
	}
	if _, ok := tok.TokenID("no such token"); ok {
		t.Error("TokenID found a missing token")
	}
	if n := len(tok.AddedTokens()); n != 6 {
		t.Errorf("%d added tokens, want 6", n)
	}

	// Llama-3 style: the template adds <|begin_of_text|>, which is BOS.
	l3 := loadTrained(t, "llama3_style")
	bot, _ := l3.TokenID("<|begin_of_text|>")
	if l3.BOS() != bot || l3.EOS() != -1 {
		t.Errorf("llama3 BOS/EOS = %d/%d, want %d/-1", l3.BOS(), l3.EOS(), bot)
	}
	if got := l3.Encode("", true); !slices.Equal(got, []int{bot}) {
		t.Errorf("Encode(\"\", true) = %v", got)
	}
}

func TestTokenizerConfig(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(goldenDir, "qwen2_style.tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"bos_token": null, "eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"},
		"chat_template": "{{ messages }}"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := FromFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	eos, _ := tok.TokenID("<|im_end|>")
	pad, _ := tok.TokenID("<|endoftext|>")
	if tok.BOS() != -1 || tok.EOS() != eos || tok.PAD() != pad || tok.ChatTemplate() != "{{ messages }}" {
		t.Errorf("config: bos %d eos %d pad %d template %q", tok.BOS(), tok.EOS(), tok.PAD(), tok.ChatTemplate())
	}
}

func TestEncodeBatch(t *testing.T) {
	tok := loadTrained(t, "llama3_style")
	cases := loadCases(t)
	got := tok.EncodeBatch(cases, true)
	for i, text := range cases {
		if want := tok.Encode(text, true); !slices.Equal(got[i], want) {
			t.Fatalf("case %d: batch %v, single %v", i, got[i], want)
		}
	}
	if len(tok.EncodeBatch(nil, false)) != 0 {
		t.Error("empty batch")
	}
}

// TestConcurrentEncode shares one tokenizer (and its cache) between
// goroutines; run with -race.
func TestConcurrentEncode(t *testing.T) {
	tok := loadTrained(t, "qwen2_style")
	g := loadGolden(t, "qwen2_style")
	cases := loadCases(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for k := range g.Cases {
				c := g.Cases[(k*7+w*13)%len(g.Cases)]
				if got := tok.Encode(cases[c.I], false); !slices.Equal(got, c.IDs) {
					t.Errorf("case %d differs under concurrency", c.I)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCacheBounded: a tiny cache keeps working (shards get emptied).
func TestCacheBounded(t *testing.T) {
	tok := loadTrained(t, "gpt2_style")
	g := loadGolden(t, "gpt2_style")
	tok.model.cache = newWordCache(50)
	cases := loadCases(t)
	for _, c := range g.Cases {
		if got := tok.Encode(cases[c.I], false); !slices.Equal(got, c.IDs) {
			t.Fatalf("case %d differs with a tiny cache", c.I)
		}
	}
	if n := tok.model.cache.len(); n == 0 || n > 50 {
		t.Fatalf("cache holds %d entries, capacity 50", n)
	}
	tok.model.cache = nil
	if got := tok.Encode(cases[0], false); !slices.Equal(got, g.Cases[0].IDs) {
		t.Fatal("differs without a cache")
	}
}

// randomText draws strings from pieces that stress the pre-tokenizer
// patterns (no U+017F, which regexp2's case folding does not match).
func randomText(r *rand.Rand) string {
	pieces := []string{
		"a", "Z", "é", "中", "😀", "1", "٣", "½", " ", " ", "  ", "\t", "\n", "\r", "\r\n",
		"\u00a0", "\u3000", "\u0085", "\u2028", "\x0b", "\x1c", "'", "s", "S", "t", "re", "LL",
		"ve", "d", "m", "!", "?", "-", "_", "\u0301", "\u200b", "\xff", "fox",
	}
	var b strings.Builder
	for n := r.IntN(20); n >= 0; n-- {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func matches(m matcher, s string) [][2]int {
	var out [][2]int
	m.findAll(s, func(a, b int) { out = append(out, [2]int{a, b}) })
	return out
}

// TestScannersMatchRegexp2 checks the hand-written scanners against the
// regexp2 engine on the golden cases and on random strings.
func TestScannersMatchRegexp2(t *testing.T) {
	texts := slices.Clone(loadCases(t))
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		texts = append(texts, randomText(r))
	}
	for _, p := range []struct {
		name, pattern string
		scanner       matcher
	}{
		{"gpt2", PatternGPT2, gpt2Scanner{}},
		{"llama3", PatternLlama3, llamaScanner{maxDigits: 3}},
		{"qwen2", PatternQwen2, llamaScanner{maxDigits: 1}},
	} {
		t.Run(p.name, func(t *testing.T) {
			m, err := newMatcher(p.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%T", m) != fmt.Sprintf("%T", p.scanner) {
				t.Fatalf("pattern not routed to its scanner: %T", m)
			}
			re, err := newRegexMatcher(p.pattern)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range texts {
				if strings.ContainsRune(s, 'ſ') {
					continue
				}
				got, want := matches(p.scanner, s), matches(re, s)
				if !slices.Equal(got, want) {
					t.Fatalf("%q:\n scanner %v\n regexp2 %v", s, got, want)
				}
			}
		})
	}
}

func FuzzScanners(f *testing.F) {
	for _, s := range []string{"I'm 123 don't  \n\n x", "a\r\n\tb", "'S 's ſ", "\u00a0\u00a0x", "😀 1½"} {
		f.Add(s)
	}
	res := map[string]*regexMatcher{}
	for _, p := range []string{PatternGPT2, PatternLlama3, PatternQwen2} {
		re, err := newRegexMatcher(p)
		if err != nil {
			f.Fatal(err)
		}
		res[p] = re
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Long inputs only slow regexp2 down (backtracking on long space runs).
		if len(s) > 256 || !utf8.ValidString(s) || strings.ContainsRune(s, 'ſ') {
			return
		}
		for p, sc := range map[string]matcher{
			PatternGPT2: gpt2Scanner{}, PatternLlama3: llamaScanner{3}, PatternQwen2: llamaScanner{1},
		} {
			if got, want := matches(sc, s), matches(res[p], s); !slices.Equal(got, want) {
				t.Fatalf("%q: scanner %v, regexp2 %v", s, got, want)
			}
		}
	})
}

// TestRegexFallback: a pattern without a scanner runs on regexp2 and
// gives the same tokens (the qwen2 pattern, spelled differently).
func TestRegexFallback(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "qwen2_style.tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	const alt = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	enc, _ := json.Marshal(PatternQwen2)
	encAlt, _ := json.Marshal(alt)
	if !strings.Contains(string(data), string(enc)) {
		t.Fatal("qwen2 pattern not found in tokenizer.json")
	}
	tok, err := FromJSON([]byte(strings.Replace(string(data), string(enc), string(encAlt), 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.steps[0].(*splitStep).m.(*regexMatcher); !ok {
		t.Fatal("fallback pattern did not use regexp2")
	}
	g := loadGolden(t, "qwen2_style")
	cases := loadCases(t)
	for _, c := range g.Cases {
		if strings.ContainsRune(cases[c.I], 'ſ') {
			continue
		}
		if got := tok.Encode(cases[c.I], false); !slices.Equal(got, c.IDs) {
			t.Fatalf("case %d %s: regexp2 path %v, want %v", c.I, quote(cases[c.I]), got, c.IDs)
		}
	}
}

func TestSplitBehaviors(t *testing.T) {
	// Expected pieces from tokenizers 0.23.3: Split("-", behavior, invert)
	// on "-the-final--countdown-".
	const text = "-the-final--countdown-"
	for _, c := range []struct {
		behavior string
		invert   bool
		want     string
	}{
		{"Removed", false, "the|final|countdown"},
		{"Removed", true, "-|-|-|-|-"},
		{"Isolated", false, "-|the|-|final|-|-|countdown|-"},
		{"MergedWithPrevious", false, "-|the-|final-|-|countdown-"},
		{"MergedWithPrevious", true, "-the|-final|-|-countdown|-"},
		{"MergedWithNext", false, "-the|-final|-|-countdown|-"},
		{"MergedWithNext", true, "-|the-|final-|-|countdown-"},
		{"Contiguous", false, "-|the|-|final|--|countdown|-"},
		{"Contiguous", true, "-|the|-|final|--|countdown|-"},
	} {
		b, err := parseBehavior(c.behavior)
		if err != nil {
			t.Fatal(err)
		}
		st := &splitStep{m: literalMatcher{"-"}, behavior: b, invert: c.invert}
		var got []string
		st.split(text, func(p string) { got = append(got, p) })
		if strings.Join(got, "|") != c.want {
			t.Errorf("%s invert=%v: %q, want %q", c.behavior, c.invert, strings.Join(got, "|"), c.want)
		}
	}
	var got []string
	digitsStep{individual: false}.split("ab123c4½x", func(p string) { got = append(got, p) })
	if strings.Join(got, "|") != "ab|123|c|4½|x" {
		t.Errorf("Digits: %q", got)
	}
}

func TestLossyUTF8(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe2\x82", "\uFFFD"},                 // truncated 3-byte sequence: one U+FFFD
		{"\xe2\x82x", "\uFFFDx"},               //
		{"\xff\xfe", "\uFFFD\uFFFD"},           // two invalid bytes
		{"\xf0\x9f\x98", "\uFFFD"},             // truncated emoji
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate: each byte
		{"\xc3\xa9\xe4", "é\uFFFD"},
	} {
		if got := lossyUTF8([]byte(c.in)); got != c.want {
			t.Errorf("lossyUTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ name, json string }{
		{"wordpiece", `{"model": {"type": "WordPiece", "vocab": {}}}`},
		{"no vocab", `{"model": {"type": "BPE"}}`},
		{"bad merge", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`},
		{"metaspace", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Metaspace"}}`},
		{"bad regex", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}}`},
		{"dropout", `{"model": {"type": "BPE", "dropout": 0.1, "vocab": {"a": 0}, "merges": []}}`},
	} {
		if _, err := FromJSON([]byte(c.json)); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := FromGGUF(map[string]any{KeyModel: "llama"}); err == nil {
		t.Error("GGUF llama (SentencePiece) accepted")
	}
	if _, err := FromGGUF(map[string]any{KeyModel: "gpt2", KeyPre: "unknown-pre"}); err == nil {
		t.Error("unknown GGUF pre accepted")
	}
	if _, err := FromFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

// TestGGUFTypedValues feeds FromGGUF the Go types a GGUF reader produces.
func TestGGUFTypedValues(t *testing.T) {
	tokens := []string{"<|endoftext|>", "a", "b", "ab", "Ġ", "Ġab", "<think>"}
	for b := 0; b < 256; b++ {
		if s := byteToStr[b]; !slices.Contains(tokens, s) {
			tokens = append(tokens, s)
		}
	}
	types := make([]int32, len(tokens))
	for i := range types {
		types[i] = TokenTypeNormal
	}
	types[0], types[6] = TokenTypeControl, TokenTypeUserDefined
	tok, err := FromGGUFMetadata(MetaMap{
		KeyModel: "gpt2", KeyPre: "qwen2", KeyTokens: tokens, KeyTokenType: types,
		KeyMerges: []string{"a b", "Ġ ab"}, KeyBOS: uint32(0), KeyEOS: uint32(0),
		KeyAddBOS: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := tok.TokenID("Ġab")
	think, _ := tok.TokenID("<think>")
	a, _ := tok.TokenID("a")
	got := tok.Encode("ab ab<think>a<|endoftext|>", true)
	want := []int{0, 3, ab, think, a, 0}
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if tok.IsSpecial(think) || !tok.IsSpecial(0) {
		t.Error("token types not applied")
	}
	if s := tok.Decode(got, true); s != "ab ab<think>a" {
		t.Errorf("Decode = %q", s)
	}
}

func corpusText(b *testing.B) string {
	data, err := os.ReadFile(filepath.Join(goldenDir, "corpus.txt"))
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

func benchTokenizer(b *testing.B, name string) *Tokenizer {
	if name == "smollm2" {
		return loadSmolLM2(b)
	}
	return loadTrained(b, name)
}

// BenchmarkEncode encodes the whole corpus (about 9 KB) as one text, with
// the word cache warm (its steady state) and with no cache at all.
func BenchmarkEncode(b *testing.B) {
	text := corpusText(b)
	for _, name := range []string{"qwen2_style", "llama3_style", "gpt2_style", "smollm2"} {
		for _, cached := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/cache=%v", name, cached), func(b *testing.B) {
				tok := benchTokenizer(b, name)
				if !cached {
					tok.model.cache = nil
				}
				n := len(tok.Encode(text, false))
				b.SetBytes(int64(len(text)))
				b.ResetTimer()
				for b.Loop() {
					tok.Encode(text, false)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkEncodeBatch encodes the corpus lines as a batch on all CPUs.
func BenchmarkEncodeBatch(b *testing.B) {
	lines := strings.Split(corpusText(b), "\n")
	tok := benchTokenizer(b, "smollm2")
	n := 0
	for _, ids := range tok.EncodeBatch(lines, false) {
		n += len(ids)
	}
	b.ResetTimer()
	for b.Loop() {
		tok.EncodeBatch(lines, false)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkDecode(b *testing.B) {
	text := corpusText(b)
	tok := benchTokenizer(b, "smollm2")
	ids := tok.Encode(text, false)
	b.ResetTimer()
	for b.Loop() {
		tok.Decode(ids, false)
	}
	b.ReportMetric(float64(len(ids))*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkPreTokenizer compares the Qwen2 scanner with regexp2.
func BenchmarkPreTokenizer(b *testing.B) {
	text := corpusText(b)
	re, err := newRegexMatcher(PatternQwen2)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []struct {
		name string
		m    matcher
	}{{"scanner", llamaScanner{maxDigits: 1}}, {"regexp2", re}} {
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				m.m.findAll(text, func(int, int) {})
			}
		})
	}
}

// TestNoDecoder: without a decoder, Hugging Face joins tokens with spaces.
func TestNoDecoder(t *testing.T) {
	tok, err := FromJSON([]byte(`{"added_tokens": [{"id": 3, "content": "<s>", "special": true}],
		"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": [["a", "b"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("<s>abab", false)
	if !slices.Equal(ids, []int{3, 2, 2}) {
		t.Fatalf("Encode = %v", ids)
	}
	if got := tok.Decode(ids, false); got != "<s> ab ab" {
		t.Errorf("Decode = %q", got)
	}
	if got := streamDecode(tok, ids, true); got != "ab ab" {
		t.Errorf("stream = %q", got)
	}
}

// TestStreamDecoderHoldsPartialUTF8: a character split over tokens comes
// out whole, once.
func TestStreamDecoderHoldsPartialUTF8(t *testing.T) {
	tok := loadTrained(t, "gpt2_style")
	fox := "🦊" // 4 bytes, one byte-level token each at most
	var ids []int
	for i := 0; i < len(fox); i++ {
		id, ok := tok.TokenID(byteToStr[fox[i]])
		if !ok {
			t.Fatalf("byte %x missing", fox[i])
		}
		ids = append(ids, id)
	}
	d := tok.NewStreamDecoder(false)
	for i, id := range ids[:3] {
		if s := d.Next(id); s != "" {
			t.Fatalf("byte %d gave %q early", i, s)
		}
	}
	if s := d.Next(ids[3]); s != fox {
		t.Fatalf("got %q, want %q", s, fox)
	}
	d.Next(ids[0])
	if s := d.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush = %q", s)
	}
}

func TestGGUFPreTokenizersListed(t *testing.T) {
	for pre := range GGUFPreTokenizers {
		if _, err := ggufPreSteps(pre); err != nil {
			t.Errorf("%s listed but not built: %v", pre, err)
		}
	}
}

// TestGoldenMisc: tiny non-byte-level BPE models (unk, fuse_unk,
// byte_fallback, subword prefix/suffix, String/Removed splits, regexes
// that only regexp2 runs), against tokenizers' output.
func TestGoldenMisc(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "golden_misc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Tokenizers []struct {
			Name      string          `json:"name"`
			Tokenizer json.RawMessage `json:"tokenizer"`
			Cases     []struct {
				Text        string `json:"text"`
				IDs         []int  `json:"ids"`
				Decoded     string `json:"decoded"`
				DecodedSkip string `json:"decoded_skip"`
			} `json:"cases"`
		} `json:"tokenizers"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for _, tc := range g.Tokenizers {
		t.Run(tc.Name, func(t *testing.T) {
			tok, err := FromJSON(tc.Tokenizer)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.Cases {
				if got := tok.Encode(c.Text, false); !slices.Equal(got, c.IDs) {
					t.Errorf("%q: got %v, want %v", c.Text, got, c.IDs)
				}
				if got := tok.Decode(c.IDs, false); got != c.Decoded {
					t.Errorf("%q: Decode = %q, want %q", c.Text, got, c.Decoded)
				}
				if got := tok.Decode(c.IDs, true); got != c.DecodedSkip {
					t.Errorf("%q: Decode(skip) = %q, want %q", c.Text, got, c.DecodedSkip)
				}
			}
		})
	}
}
