package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A preStep is one pre-tokenizer: it cuts a piece of text into smaller
// pieces, calling emit for each non-empty one in order.
type preStep interface {
	split(s string, emit func(string))
}

// splitBehavior is what a Split does with the matches (delimiters).
type splitBehavior int

const (
	behaviorIsolated splitBehavior = iota
	behaviorRemoved
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

func parseBehavior(s string) (splitBehavior, error) {
	switch strings.ToLower(s) {
	case "isolated", "":
		return behaviorIsolated, nil
	case "removed":
		return behaviorRemoved, nil
	case "mergedwithprevious", "merged_with_previous":
		return behaviorMergedWithPrevious, nil
	case "mergedwithnext", "merged_with_next":
		return behaviorMergedWithNext, nil
	case "contiguous":
		return behaviorContiguous, nil
	}
	return 0, fmt.Errorf("tokenizer: unknown split behavior %q", s)
}

// splitStep is the Split pre-tokenizer.
type splitStep struct {
	m        matcher
	behavior splitBehavior
	invert   bool
}

type segment struct {
	start, end int
	match      bool
}

func (st *splitStep) split(s string, emit func(string)) {
	if !st.invert && st.behavior == behaviorIsolated {
		prev := 0
		st.m.findAll(s, func(a, b int) {
			if a > prev {
				emit(s[prev:a])
			}
			if b > a {
				emit(s[a:b])
			}
			prev = b
		})
		if prev < len(s) {
			emit(s[prev:])
		}
		return
	}
	var segs []segment
	prev := 0
	st.m.findAll(s, func(a, b int) {
		if a > prev {
			segs = append(segs, segment{prev, a, st.invert})
		}
		segs = append(segs, segment{a, b, !st.invert})
		prev = b
	})
	if prev < len(s) {
		segs = append(segs, segment{prev, len(s), st.invert})
	}
	for _, sg := range applyBehavior(segs, st.behavior) {
		if sg.end > sg.start {
			emit(s[sg.start:sg.end])
		}
	}
}

// applyBehavior turns the match/non-match segments covering a string into
// the pieces a split with behavior b keeps.
func applyBehavior(segs []segment, b splitBehavior) []segment {
	var out []segment
	switch b {
	case behaviorIsolated:
		return segs
	case behaviorRemoved:
		for _, sg := range segs {
			if !sg.match {
				out = append(out, sg)
			}
		}
	case behaviorContiguous:
		prevMatch := false
		for _, sg := range segs {
			if sg.match == prevMatch && len(out) > 0 {
				out[len(out)-1].end = sg.end
			} else {
				out = append(out, segment{sg.start, sg.end, false})
			}
			prevMatch = sg.match
		}
	case behaviorMergedWithPrevious:
		prevMatch := false
		for _, sg := range segs {
			if sg.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = sg.end
			} else {
				out = append(out, segment{sg.start, sg.end, false})
			}
			prevMatch = sg.match
		}
	case behaviorMergedWithNext:
		prevMatch := false
		for k := len(segs) - 1; k >= 0; k-- {
			sg := segs[k]
			if sg.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].start = sg.start
			} else {
				out = append(out, segment{sg.start, sg.end, false})
			}
			prevMatch = sg.match
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// literalMatcher finds a fixed string (Split with a String pattern).
type literalMatcher struct{ lit string }

func (l literalMatcher) findAll(s string, emit func(start, end int)) {
	if l.lit == "" {
		return
	}
	for off := 0; ; {
		k := strings.Index(s[off:], l.lit)
		if k < 0 {
			return
		}
		emit(off+k, off+k+len(l.lit))
		off += k + len(l.lit)
	}
}

// digitsStep is the Digits pre-tokenizer: numbers (\p{N}) are cut from the
// rest, one by one (individual) or as runs.
type digitsStep struct{ individual bool }

func (d digitsStep) split(s string, emit func(string)) {
	start := 0
	prevNum := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		num := unicode.IsNumber(r)
		if i > start && (num != prevNum || (num && d.individual)) {
			emit(s[start:i])
			start = i
		}
		prevNum = num
		i += size
	}
	if start < len(s) {
		emit(s[start:])
	}
}

// byteLevelStep is the ByteLevel pre-tokenizer. The byte-to-rune mapping
// itself is done here only when mapBytes is set; when ByteLevel is the last
// step the BPE model maps bytes itself, which saves a copy per piece.
type byteLevelStep struct {
	addPrefixSpace bool
	useRegex       bool
	mapBytes       bool
}

func (b *byteLevelStep) split(s string, emit func(string)) {
	if b.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	out := emit
	if b.mapBytes {
		out = func(p string) { emit(byteLevelEncode(p)) }
	}
	if !b.useRegex {
		out(s)
		return
	}
	for i := 0; i < len(s); {
		end := gpt2Next(s, i)
		out(s[i:end])
		i = end
	}
}

// normalizer rewrites text before pre-tokenization.
type normalizer func(string) string

func normalizerFor(kind string) (normalizer, error) {
	switch kind {
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return strings.ToLower, nil
	}
	return nil, fmt.Errorf("tokenizer: unsupported normalizer %q", kind)
}
