package tokenizer

import (
	"unicode/utf8"
)

// The GPT-2 byte-level alphabet: every byte 0..255 is shown as one printable
// rune so that a byte string can live in a BPE vocabulary made of strings.
// Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
// themselves; the others are moved, in byte order, to U+0100 upwards.
var (
	byteToRune [256]rune
	// byteToStr is byteToRune as ready-made one-rune strings.
	byteToStr [256]string
	// runeToByte inverts byteToRune; runes above 0x1FF are never mapped.
	runeToByte [0x200]int16
)

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	next := rune(256)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printable(b) {
			r = next
			next++
		}
		byteToRune[b] = r
		byteToStr[b] = string(r)
		runeToByte[r] = int16(b)
	}
}

// byteLevelEncode maps every byte of s to its byte-level rune.
func byteLevelEncode(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}

// byteLevelDecodeToken is what the ByteLevel decoder turns one token into:
// the bytes its runes stand for, or, when some rune is outside the
// byte-level alphabet (an added token such as "<tool_call> " with a real
// space), the token's own UTF-8 bytes.
func byteLevelDecodeToken(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return []byte(tok)
		}
		out = append(out, byte(runeToByte[r]))
	}
	return out
}

// lossyUTF8 converts b to a string the way Rust's String::from_utf8_lossy
// does (and so Hugging Face tokenizers' decoders): every maximal invalid
// subsequence (a truncated sequence counts once) becomes one U+FFFD.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		n := validPrefix(b[i:])
		if n > 0 {
			out = append(out, b[i:i+n]...)
			i += n
			continue
		}
		// Invalid: skip the maximal subpart of a well-formed sequence.
		out = append(out, "\uFFFD"...)
		i += maximalSubpart(b[i:])
	}
	return string(out)
}

// validPrefix returns the length of the valid multi-byte sequence at the
// start of b, or 0 when it is not a complete valid sequence.
func validPrefix(b []byte) int {
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size <= 1 {
		return 0
	}
	return size
}

// maximalSubpart is the length (>= 1) of the longest prefix of b that is
// the start of some well-formed UTF-8 sequence (Unicode's "maximal subpart"
// rule, which from_utf8_lossy follows).
func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				break
			}
		} else if x < 0x80 || x > 0xBF {
			break
		}
		n++
	}
	return n
}
