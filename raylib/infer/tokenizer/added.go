package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is a token matched in the raw text before the BPE model runs,
// as in Hugging Face's added_tokens (special tokens such as <|im_start|>,
// and plain added tokens such as Qwen's <tool_call>).
type AddedToken struct {
	ID      int
	Content string
	// Special tokens are dropped by Decode(ids, skipSpecial=true).
	Special bool
	// SingleWord: only match when not inside a word.
	SingleWord bool
	// LStrip / RStrip: also swallow the whitespace on that side.
	LStrip, RStrip bool
	// Normalized: match against the normalized text rather than the raw one.
	Normalized bool
}

// addedMatcher finds added tokens in text, leftmost-longest, the way the
// Aho-Corasick automaton of Hugging Face's AddedVocabulary does.
type addedMatcher struct {
	tokens []*AddedToken
	// byFirst[b] lists the tokens starting with byte b, longest first.
	byFirst [256][]*AddedToken
	// first is the only byte added tokens start with (as '<' in most chat
	// vocabularies), or -1: then candidates are found with IndexByte.
	first int
}

func newAddedMatcher(tokens []*AddedToken) *addedMatcher {
	if len(tokens) == 0 {
		return nil
	}
	m := &addedMatcher{tokens: tokens, first: -1}
	starts := 0
	for _, t := range tokens {
		if t.Content == "" {
			continue
		}
		b := t.Content[0]
		if m.byFirst[b] == nil {
			starts++
			m.first = int(b)
		}
		m.byFirst[b] = append(m.byFirst[b], t)
	}
	if starts != 1 {
		m.first = -1
	}
	for b := range m.byFirst {
		l := m.byFirst[b]
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].Content) > len(l[j].Content) })
	}
	return m
}

// piece is a span of text that is either an added token (tok != nil) or
// text left for the normalizer, pre-tokenizer and model.
type piece struct {
	text string
	tok  *AddedToken
}

// split cuts s into pieces around the added tokens it contains, appending
// to out. With no matcher the whole text is one piece. With noSpecial,
// special tokens found are left in the text (Hugging Face's
// split_special_tokens); like there, the automaton still consumed them.
func (m *addedMatcher) split(s string, noSpecial bool, out []piece) []piece {
	if m == nil {
		return append(out, piece{text: s})
	}
	startOffset := 0
	for i := 0; i < len(s); {
		if m.first >= 0 {
			k := strings.IndexByte(s[i:], byte(m.first))
			if k < 0 {
				break
			}
			i += k
		}
		var tok *AddedToken
		for _, t := range m.byFirst[s[i]] {
			if len(s)-i >= len(t.Content) && s[i:i+len(t.Content)] == t.Content {
				tok = t
				break
			}
		}
		if tok == nil {
			i++
			continue
		}
		start, stop := i, i+len(tok.Content)
		i = stop
		if noSpecial && tok.Special {
			continue
		}
		if tok.SingleWord {
			startOK := start == 0 || !endsWithWord(s[:start])
			stopOK := stop == len(s) || !startsWithWord(s[stop:])
			if !startOK || !stopOK {
				continue
			}
		}
		if tok.LStrip {
			start = max(leftmostSpaceAtEnd(s[:start]), startOffset)
		}
		if tok.RStrip {
			stop += rightmostSpaceAtStart(s[stop:])
		}
		// The automaton's next match may start inside whitespace an
		// rstrip swallowed; never hand out overlapping pieces.
		start = max(start, startOffset)
		if stop <= start {
			continue
		}
		if startOffset < start {
			out = append(out, piece{text: s[startOffset:start]})
		}
		out = append(out, piece{text: s[start:stop], tok: tok})
		startOffset = stop
	}
	if startOffset < len(s) {
		out = append(out, piece{text: s[startOffset:]})
	}
	return out
}

// isWordRune is the Unicode \w of Rust's regex crate: Alphabetic, Mark,
// Decimal_Number, Connector_Punctuation, Join_Control.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.IsDigit(r) || unicode.Is(unicode.Pc, r) || r == '\u200c' || r == '\u200d'
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordRune(r)
}

// leftmostSpaceAtEnd is the start of the whitespace that ends s.
func leftmostSpaceAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= size
	}
	return i
}

// rightmostSpaceAtStart is the length of the whitespace that starts s.
func rightmostSpaceAtStart(s string) int {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}
