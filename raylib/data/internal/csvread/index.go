package csvread

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// The tokenizer works in two passes over a window of the read buffer. The
// first pass builds a structural index: one uint32 per field separator
// (delimiter or newline outside quotes), holding
//
//	(position+1)<<2 | quoted<<1 | newline
//
// so that entry>>2 is where the next field starts and buf[entry>>2-1] is
// the separator itself. quoted says the field that ends there began with a
// quote (and so must be unquoted); newline says the separator ends a row,
// but only slowIndex sets it: other code looks at the separator byte. Entry 0 is a sentinel whose entry>>2 is
// the start of the window, so field i always spans
// buf[seps[i-1]>>2 : seps[i]>>2-1]. The second pass (Reader.walk) checks
// the shape of the rows and converts only the projected fields, one column
// at a time.
//
// Windows without any '"' use fastIndex, which finds separators eight bytes
// at a time with SWAR bit tricks; windows with quotes use slowIndex, a
// byte-level state machine.

const (
	sepNewline = 1
	sepQuoted  = 2
	sepShift   = 2

	// maxBuffer bounds the read buffer so positions fit in a uint32 entry.
	maxBuffer = 1 << 30

	lsb  = 0x0101010101010101
	low7 = 0x7f7f7f7f7f7f7f7f
	msb  = 0x8080808080808080
)

// zeroBytes returns a word with the high bit set in exactly the bytes of x
// that are zero (no false positives: no carries cross byte lanes).
func zeroBytes(x uint64) uint64 {
	return ^(((x & low7) + low7) | x | low7)
}

// fastIndex writes the separators of buf[from:to], which must not contain
// a '"', to seps (which must have room for to-from entries), without
// flags, and returns the number of entries and of newlines. When
// wantASCII, ascii reports whether buf[from:to] is all ASCII. On amd64
// with AVX2 the bulk goes 32 bytes at a time (index_amd64.s); the rest
// eight bytes at a time with SWAR bit tricks.
func fastIndex(buf []byte, from, to int, delim byte, seps []uint32, wantASCII bool) (n, newlines int, ascii bool) {
	ascii = true
	if useAVX2 && to-from >= 32 {
		m := (to - from) &^ 31
		_ = buf[from : from+m]
		_ = seps[:m]
		n, newlines, ascii = indexAVX2(&buf[from], m, delim, &seps[0], uint32(from+1))
		from += m
		seps = seps[n:]
	}
	k, nl := indexSWAR(buf, from, to, delim, seps)
	if wantASCII {
		ascii = ascii && isASCII(buf[from:to])
	}
	return n + k, newlines + nl, ascii
}

// indexSWAR is fastIndex eight bytes at a time.
func indexSWAR(buf []byte, from, to int, delim byte, seps []uint32) (n, newlines int) {
	dm := uint64(delim) * lsb
	const nm = uint64('\n') * lsb
	i := from
	for ; i+8 <= to; i += 8 {
		x := binary.LittleEndian.Uint64(buf[i:])
		mn := zeroBytes(x ^ nm)
		m := zeroBytes(x^dm) | mn
		// One bit per byte lane: a multiply sums the lanes into the top byte.
		newlines += int((mn >> 7) * lsb >> 56)
		base := uint32(i+1) << sepShift
		for m != 0 {
			seps[n] = base + uint32(bits.TrailingZeros64(m)>>3)<<sepShift
			n++
			m &= m - 1
		}
	}
	for ; i < to; i++ {
		switch buf[i] {
		case delim:
			seps[n] = uint32(i+1) << sepShift
			n++
		case '\n':
			seps[n] = uint32(i+1) << sepShift
			n++
			newlines++
		}
	}
	return n, newlines
}

// slowIndex indexes buf from a row start, honouring RFC 4180 quotes: a
// quote opens a quoted field only at the start of a field, "" inside it is
// an escaped quote, and delimiters and newlines inside it are data. It
// stops after the first row that ends at or beyond softEnd, or at valid.
// It appends to seps (which holds the sentinel) and returns it truncated to
// complete rows and, when the data ran out inside a quoted field, the
// position of its opening quote (else -1).
func slowIndex(buf []byte, from, softEnd, valid int, delim byte, seps []uint32) ([]uint32, int) {
	complete := len(seps)
	dm := uint64(delim) * lsb
	const nm = uint64('\n') * lsb
	const qm = uint64('"') * lsb
	fstart := from // start of the current field
	var quoted uint32
	i := from
words:
	for i < valid {
		// The delimiters, newlines and quotes of the next eight bytes.
		var m uint64
		if i+8 <= valid {
			x := binary.LittleEndian.Uint64(buf[i:])
			m = zeroBytes(x^dm) | zeroBytes(x^nm) | zeroBytes(x^qm)
		} else {
			for k := i; k < valid; k++ {
				if c := buf[k]; c == delim || c == '\n' || c == '"' {
					m |= 0x80 << (8 * uint(k-i))
				}
			}
		}
		for ; m != 0; m &= m - 1 {
			p := i + bits.TrailingZeros64(m)>>3
			switch buf[p] {
			case delim:
				seps = append(seps, uint32(p+1)<<sepShift|quoted)
				quoted = 0
				fstart = p + 1
			case '\n':
				seps = append(seps, uint32(p+1)<<sepShift|quoted|sepNewline)
				quoted = 0
				fstart = p + 1
				complete = len(seps)
				if p+1 >= softEnd {
					return seps, -1
				}
			default: // '"'
				if p != fstart {
					continue // a quote inside an unquoted field is data
				}
				quoted = sepQuoted
				j := p + 1
				for {
					q := bytes.IndexByte(buf[j:valid], '"')
					if q < 0 {
						return seps[:complete], p
					}
					j += q
					if j+1 >= valid {
						// Cannot tell a closing quote from an escaped one yet.
						return seps[:complete], p
					}
					if buf[j+1] != '"' {
						break
					}
					j += 2
				}
				// Characters after the closing quote stay in the field.
				i = j + 1
				continue words
			}
		}
		i += 8
	}
	return seps[:complete], -1
}

// unquote returns the content of a quoted field f (f[0] == '"'): "" becomes
// ", and characters after the closing quote are kept literally (as pyarrow
// does). It returns a subslice of f when nothing needs rewriting, else it
// writes into *scratch (and keeps the grown buffer there).
func unquote(scratch *[]byte, f []byte) []byte {
	if q := bytes.IndexByte(f[1:], '"'); len(f) >= 2 && q == len(f)-2 {
		return f[1 : len(f)-1]
	}
	dst := (*scratch)[:0]
	i := 1
	for {
		q := bytes.IndexByte(f[i:], '"')
		if q < 0 {
			dst = append(dst, f[i:]...)
			break
		}
		dst = append(dst, f[i:i+q]...)
		i += q + 1
		if i < len(f) && f[i] == '"' {
			dst = append(dst, '"')
			i++
			continue
		}
		dst = append(dst, f[i:]...)
		break
	}
	*scratch = dst
	return dst
}

// isASCII reports whether b holds only bytes below 0x80.
func isASCII(b []byte) bool {
	var acc uint64
	i := 0
	for ; i+32 <= len(b); i += 32 {
		acc |= binary.LittleEndian.Uint64(b[i:]) | binary.LittleEndian.Uint64(b[i+8:]) |
			binary.LittleEndian.Uint64(b[i+16:]) | binary.LittleEndian.Uint64(b[i+24:])
	}
	for ; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])
	}
	for ; i < len(b); i++ {
		acc |= uint64(b[i])
	}
	return acc&msb == 0
}
