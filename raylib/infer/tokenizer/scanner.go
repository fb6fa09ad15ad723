package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// Pre-tokenizer regexes that are recognised and run by hand-written
// scanners instead of the backtracking regex engine. They are the patterns
// byte-level BPE chat models ship with; each scanner reproduces the
// leftmost-first backtracking semantics of its pattern exactly (checked
// against regexp2 in the tests).
const (
	// PatternGPT2 is GPT-2's pattern, used by ByteLevel(use_regex=true)
	// (SmolLM2, GPT-2, RoBERTa, StarCoder...).
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// PatternLlama3 is Llama 3's Split pattern (digits in runs of up to 3).
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternQwen2 is Qwen2's Split pattern (every digit on its own).
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// matcher finds the successive non-overlapping matches of a pattern in s,
// left to right, calling emit with byte offsets.
type matcher interface {
	findAll(s string, emit func(start, end int))
}

// newMatcher returns a hand-written scanner for the known patterns and a
// regexp2 matcher otherwise.
func newMatcher(pattern string) (matcher, error) {
	switch pattern {
	case PatternGPT2:
		return gpt2Scanner{}, nil
	case PatternLlama3:
		return llamaScanner{maxDigits: 3}, nil
	case PatternQwen2:
		return llamaScanner{maxDigits: 1}, nil
	}
	return newRegexMatcher(pattern)
}

// Character classes the patterns are built from.
const (
	clsOther  = iota // [^\s\p{L}\p{N}]
	clsLetter        // \p{L}
	clsNumber        // \p{N}
	clsSpace         // \s
)

var asciiClass [128]uint8

func init() {
	for b := 0; b < 128; b++ {
		r := rune(b)
		switch {
		case unicode.IsLetter(r):
			asciiClass[b] = clsLetter
		case unicode.IsNumber(r):
			asciiClass[b] = clsNumber
		case unicode.IsSpace(r):
			asciiClass[b] = clsSpace
		default:
			asciiClass[b] = clsOther
		}
	}
}

// classAt returns the class and byte size of the rune at s[i:].
// Invalid UTF-8 counts as one "other" byte.
func classAt(s string, i int) (cls uint8, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return clsOther, 1
	case unicode.IsLetter(r):
		return clsLetter, size
	case unicode.IsNumber(r):
		return clsNumber, size
	case unicode.IsSpace(r):
		return clsSpace, size
	}
	return clsOther, size
}

// runOf returns the end of the run of runes of class cls starting at i.
func runOf(s string, i int, cls uint8) int {
	for i < len(s) {
		c, size := classAt(s, i)
		if c != cls {
			break
		}
		i += size
	}
	return i
}

// spaceRun scans the whitespace run at i (s[i] is whitespace) and returns
// its end and the start of its last rune.
func spaceRun(s string, i int) (end, last int) {
	end, last = i, i
	for end < len(s) {
		c, size := classAt(s, end)
		if c != clsSpace {
			break
		}
		last = end
		end += size
	}
	return end, last
}

// contraction matches 's 't 're 've 'm 'll 'd at i (s[i] is an apostrophe);
// fold allows upper case letters too.
func contraction(s string, i int, fold bool) int {
	if i+1 >= len(s) {
		return 0
	}
	lower := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + ('a' - 'A')
		}
		return c
	}
	switch lower(s[i+1]) {
	case 's', 't', 'm', 'd':
		return i + 2
	case 0xC5:
		// U+017F LATIN SMALL LETTER LONG S case-folds to s, and
		// Oniguruma's (?i) matches it (regexp2's does not).
		if fold && i+2 < len(s) && s[i+2] == 0xBF {
			return i + 3
		}
	case 'r', 'v':
		if i+2 < len(s) && lower(s[i+2]) == 'e' {
			return i + 3
		}
	case 'l':
		if i+2 < len(s) && lower(s[i+2]) == 'l' {
			return i + 3
		}
	}
	return 0
}

// gpt2Scanner runs PatternGPT2:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
type gpt2Scanner struct{}

func (gpt2Scanner) findAll(s string, emit func(start, end int)) {
	for i := 0; i < len(s); {
		end := gpt2Next(s, i)
		emit(i, end)
		i = end
	}
}

// gpt2Next returns the end of the match starting at i; every position
// starts a match for this pattern, so there are no gaps.
func gpt2Next(s string, i int) int {
	if s[i] == '\'' {
		if e := contraction(s, i, false); e > 0 {
			return e
		}
	}
	if s[i] == ' ' && i+1 < len(s) {
		// ` ?X+` with the optional space taken.
		if c, _ := classAt(s, i+1); c != clsSpace {
			return runOf(s, i+1, c)
		}
	}
	c, _ := classAt(s, i)
	if c != clsSpace {
		return runOf(s, i, c)
	}
	end, last := spaceRun(s, i)
	if end < len(s) && last > i {
		// \s+(?!\S): give back the last space, which then starts the next token.
		return last
	}
	return end
}

// llamaScanner runs PatternLlama3 (maxDigits 3) and PatternQwen2 (1):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}|
// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
type llamaScanner struct{ maxDigits int }

func (l llamaScanner) findAll(s string, emit func(start, end int)) {
	for i := 0; i < len(s); {
		end := l.next(s, i)
		emit(i, end)
		i = end
	}
}

func (l llamaScanner) next(s string, i int) int {
	b := s[i]
	if b == '\'' {
		if e := contraction(s, i, true); e > 0 {
			return e
		}
	}
	c, size := classAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == clsLetter {
		return runOf(s, i, clsLetter)
	}
	if c != clsNumber && b != '\r' && b != '\n' && i+size < len(s) {
		if c2, _ := classAt(s, i+size); c2 == clsLetter {
			return runOf(s, i+size, clsLetter)
		}
	}
	// \p{N}{1,N}
	if c == clsNumber {
		end := i + size
		for k := 1; k < l.maxDigits && end < len(s); k++ {
			c2, size2 := classAt(s, end)
			if c2 != clsNumber {
				break
			}
			end += size2
		}
		return end
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	start := -1
	if c == clsOther {
		start = i
	} else if b == ' ' && i+1 < len(s) {
		if c2, _ := classAt(s, i+1); c2 == clsOther {
			start = i + 1
		}
	}
	if start >= 0 {
		end := runOf(s, start, clsOther)
		for end < len(s) && (s[end] == '\r' || s[end] == '\n') {
			end++
		}
		return end
	}
	// c is whitespace here.
	end, last := spaceRun(s, i)
	// \s*[\r\n]+ : up to and including the last \r or \n of the run.
	for p := end - 1; p >= i; p-- {
		if s[p] == '\r' || s[p] == '\n' {
			return p + 1
		}
	}
	if end < len(s) && last > i {
		return last // \s+(?!\S)
	}
	return end // \s+
}

// regexMatcher runs any other pattern with regexp2 (a backtracking engine
// with the lookaround that Go's regexp lacks, close to Oniguruma, which
// Hugging Face tokenizers uses).
type regexMatcher struct {
	re *regexp2.Regexp
}

func newRegexMatcher(pattern string) (*regexMatcher, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: compiling pattern %q: %w", pattern, err)
	}
	return &regexMatcher{re: re}, nil
}

func (m *regexMatcher) findAll(s string, emit func(start, end int)) {
	if s == "" {
		return
	}
	runes := []rune(s)
	// regexp2 reports rune offsets; map them back to bytes.
	offs := make([]int, len(runes)+1)
	o := 0
	for k, r := range runes {
		offs[k] = o
		if r == utf8.RuneError {
			// An invalid byte decodes to one RuneError of width 1.
			_, w := utf8.DecodeRuneInString(s[o:])
			o += w
		} else {
			o += utf8.RuneLen(r)
		}
	}
	offs[len(runes)] = o
	match, err := m.re.FindRunesMatch(runes)
	for err == nil && match != nil {
		emit(offs[match.Index], offs[match.Index+match.Length])
		match, err = m.re.FindNextMatch(match)
	}
}
