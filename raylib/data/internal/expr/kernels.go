package expr

//go:generate go run gen_kernels.go

import (
	"cmp"
	"encoding/binary"
	"math"
)

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

type float interface{ ~float32 | ~float64 }

type number interface{ integer | float }

// b2u compiles to a zero-extension of the flag, no branch.
func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// cmpScalar evaluates a o b with IEEE semantics (NaN compares false except !=).
func cmpScalar[T cmp.Ordered](o op, a, b T) bool {
	switch o {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	case opGe:
		return a >= b
	}
	return false
}

// cmpResult turns a three-way comparison result into o's outcome.
func cmpResult(o op, c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

// bitmapBytes is the size of an n-bit bitmap, padded to whole words so that
// the logical operators can run a word at a time.
func bitmapBytes(n int) int { return (n + 63) / 64 * 8 }

func newBitmap(n int) []byte { return make([]byte, bitmapBytes(n)) }

// fillBitmap sets the first n bits of a fresh bitmap to v.
func fillBitmap(n int, v bool) []byte {
	b := newBitmap(n)
	if v {
		for i := range b {
			b[i] = 0xff
		}
		clearTail(b, n)
	}
	return b
}

// clearTail zeroes the bits at and beyond n, so padding never reads as set.
func clearTail(b []byte, n int) {
	if n&7 != 0 {
		b[n>>3] &= byte(1)<<(n&7) - 1
		n += 8 - n&7
	}
	clear(b[n>>3:])
}

func getBit(b []byte, i int) bool { return b[i>>3]>>(i&7)&1 != 0 }

// Word-at-a-time bitmap operators over padded bitmaps of equal length.

func word(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

func putWord(b []byte, i int, w uint64) { binary.LittleEndian.PutUint64(b[i:], w) }

// cmpIntLit compares integer values against an int or float literal exactly.
// It returns false, with out untouched, when the literal is not a number.
func cmpIntLit[T integer](v []T, l literal, o op, out []byte) bool {
	switch l.kind {
	case litInt:
		c := T(l.i)
		if int64(c) == l.i && (c < 0) == (l.i < 0) {
			cmpLitKernel(v, c, o, out)
			return true
		}
		// The literal lies outside T's range: above every value if positive.
		fillConst(len(v), outOfRange(o, l.i > 0), out)
		return true
	case litFloat:
		f := l.f
		switch {
		case math.IsNaN(f):
			fillConst(len(v), o == opNe, out)
			return true
		case f >= 0x1p63:
			fillConst(len(v), outOfRange(o, true), out)
			return true
		case f < -0x1p63:
			fillConst(len(v), outOfRange(o, false), out)
			return true
		}
		fl := math.Floor(f)
		if fl == f {
			return cmpIntLit(v, literal{kind: litInt, i: int64(f)}, o, out)
		}
		// For an integer x and a non-integral f: x > f == x > floor(f),
		// x < f == x <= floor(f); equality never holds.
		lit := literal{kind: litInt, i: int64(fl)}
		switch o {
		case opEq, opNe:
			fillConst(len(v), o == opNe, out)
			return true
		case opGt, opGe:
			return cmpIntLit(v, lit, opGt, out)
		default:
			return cmpIntLit(v, lit, opLe, out)
		}
	}
	return false
}

// outOfRange is the outcome of "x o c" for every x when c lies above
// (above=true) or below all representable x.
func outOfRange(o op, above bool) bool {
	switch o {
	case opNe:
		return true
	case opLt, opLe:
		return above
	case opGt, opGe:
		return !above
	}
	return false
}

func fillConst(n int, v bool, out []byte) {
	if v {
		for i := range out[:(n+7)>>3] {
			out[i] = 0xff
		}
		clearTail(out, n)
	}
}

// cmpFloatLit compares floating point values against a numeric literal,
// in T when the literal is exact in T and in float64 otherwise.
func cmpFloatLit[T float](v []T, l literal, o op, out []byte) bool {
	var f float64
	switch l.kind {
	case litInt:
		f = float64(l.i)
	case litFloat:
		f = l.f
	default:
		return false
	}
	if c := T(f); float64(c) == f || math.IsNaN(f) {
		cmpLitKernel(v, c, o, out)
	} else {
		cmpLitKernel(v, f, o, out)
	}
	return true
}

// cmpStrLit compares the strings of an offsets/data pair against c.
func cmpStrLit[O int32 | int64](offs []O, data []byte, c string, o op, out []byte) {
	n := len(offs) - 1
	if o == opEq || o == opNe {
		// Lengths decide most rows without touching the bytes.
		eq, lc := o == opEq, O(len(c))
		for i := 0; i < n; i++ {
			b, e := offs[i], offs[i+1]
			if (e-b == lc && string(data[b:e]) == c) == eq {
				out[i>>3] |= 1 << (i & 7)
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		if cmpScalar(o, string(data[offs[i]:offs[i+1]]), c) {
			out[i>>3] |= 1 << (i & 7)
		}
	}
}

// cmpStrStr compares two string columns row by row.
func cmpStrStr[O1, O2 int32 | int64](ao []O1, ad []byte, bo []O2, bd []byte, o op, out []byte) {
	for i := 0; i < len(ao)-1; i++ {
		if cmpScalar(o, string(ad[ao[i]:ao[i+1]]), string(bd[bo[i]:bo[i+1]])) {
			out[i>>3] |= 1 << (i & 7)
		}
	}
}

// inKernel sets bit i when v[i] is one of set. Short lists are scanned,
// long ones hashed.
func inKernel[T comparable](v []T, set []T, out []byte) {
	switch {
	case len(set) == 0:
	case len(set) <= 8:
		for i, x := range v {
			for _, s := range set {
				if x == s {
					out[i>>3] |= 1 << (i & 7)
					break
				}
			}
		}
	default:
		m := make(map[T]struct{}, len(set))
		for _, s := range set {
			m[s] = struct{}{}
		}
		for i, x := range v {
			if _, ok := m[x]; ok {
				out[i>>3] |= 1 << (i & 7)
			}
		}
	}
}

// inStrKernel is inKernel for string columns.
func inStrKernel[O int32 | int64](offs []O, data []byte, set []string, out []byte) {
	m := make(map[string]struct{}, len(set))
	for _, s := range set {
		m[s] = struct{}{}
	}
	for i := 0; i < len(offs)-1; i++ {
		if _, ok := m[string(data[offs[i]:offs[i+1]])]; ok {
			out[i>>3] |= 1 << (i & 7)
		}
	}
}

// intSet converts the list to the values representable in T exactly.
func intSet[T integer](list []literal) []T {
	var set []T
	for _, l := range list {
		var i int64
		switch l.kind {
		case litInt:
			i = l.i
		case litFloat:
			if l.f != math.Trunc(l.f) || l.f >= 0x1p63 || l.f < -0x1p63 {
				continue
			}
			i = int64(l.f)
		default:
			continue
		}
		if c := T(i); int64(c) == i && (c < 0) == (i < 0) {
			set = append(set, c)
		}
	}
	return set
}

// floatSet converts the list to the values representable in T exactly.
func floatSet[T float](list []literal) []T {
	var set []T
	for _, l := range list {
		var f float64
		switch l.kind {
		case litInt:
			f = float64(l.i)
		case litFloat:
			f = l.f
		default:
			continue
		}
		if c := T(f); float64(c) == f { // NaN never matches and is dropped
			set = append(set, c)
		}
	}
	return set
}

// gatherBits maps per-dictionary-entry results to rows through the indices:
// bit i of vals/valid becomes dict bit idx[i]. Rows whose index is out of
// range (garbage under a null) come out null.
func gatherBits[I integer](idx []I, dict *bitvec, vals, valid []byte) {
	m := uint64(dict.n)
	for i, x := range idx {
		j := uint64(x)
		if j >= m {
			continue
		}
		if getBit(dict.vals, int(j)) {
			vals[i>>3] |= 1 << (i & 7)
		}
		if dict.valid == nil || getBit(dict.valid, int(j)) {
			valid[i>>3] |= 1 << (i & 7)
		}
	}
}

// toInts widens integer indices to int, mapping out-of-range ones to -1.
func toInts[I integer](idx []I, m int) []int {
	out := make([]int, len(idx))
	for i, x := range idx {
		j := int(x)
		if uint64(x) >= uint64(m) {
			j = -1
		}
		out[i] = j
	}
	return out
}

// widen converts numeric values to int64 or float64 for arithmetic.
func widen[T number, R int64 | float64](v []T) []R {
	out := make([]R, len(v))
	for i, x := range v {
		out[i] = R(x)
	}
	return out
}

// arithInt applies an integer operator elementwise; a or b may have length
// 1 to stand for a constant. valid, when not nil, gets bits cleared where
// the result is undefined (division by zero).
func arithInt(o op, a, b []int64, n int, valid []byte) []int64 {
	out := make([]int64, n)
	ai, bi := stride(a), stride(b)
	switch o {
	case opAdd:
		for i := range out {
			out[i] = a[i*ai] + b[i*bi]
		}
	case opSub:
		for i := range out {
			out[i] = a[i*ai] - b[i*bi]
		}
	case opMul:
		for i := range out {
			out[i] = a[i*ai] * b[i*bi]
		}
	case opFloorDiv, opMod:
		for i := range out {
			x, y := a[i*ai], b[i*bi]
			if y == 0 {
				valid[i>>3] &^= 1 << (i & 7)
				continue
			}
			q, r := floorDivMod(x, y)
			if o == opMod {
				out[i] = r
			} else {
				out[i] = q
			}
		}
	}
	return out
}

// floorDivMod is Python's divmod for integers (y != 0).
func floorDivMod(x, y int64) (int64, int64) {
	q, r := x/y, x%y
	if r != 0 && (r < 0) != (y < 0) {
		q--
		r += y
	}
	return q, r
}

// arithFloat is arithInt for float64.
func arithFloat(o op, a, b []float64, n int) []float64 {
	out := make([]float64, n)
	ai, bi := stride(a), stride(b)
	switch o {
	case opAdd:
		for i := range out {
			out[i] = a[i*ai] + b[i*bi]
		}
	case opSub:
		for i := range out {
			out[i] = a[i*ai] - b[i*bi]
		}
	case opMul:
		for i := range out {
			out[i] = a[i*ai] * b[i*bi]
		}
	case opDiv:
		for i := range out {
			out[i] = a[i*ai] / b[i*bi]
		}
	case opFloorDiv:
		for i := range out {
			out[i] = math.Floor(a[i*ai] / b[i*bi])
		}
	case opMod:
		for i := range out {
			out[i] = floatMod(a[i*ai], b[i*bi])
		}
	}
	return out
}

// floatMod is Python's float %: the result takes the divisor's sign.
func floatMod(x, y float64) float64 {
	r := math.Mod(x, y)
	if r != 0 && (r < 0) != (y < 0) {
		r += y
	}
	return r
}

// stride is 0 for a broadcast constant (length 1) and 1 otherwise.
func stride[T any](v []T) int {
	if len(v) == 1 {
		return 0
	}
	return 1
}
