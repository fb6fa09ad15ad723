package csvread

import (
	"math"
	"strconv"
	"unsafe"
)

// Value parsers. They follow Arrow C++ / pyarrow's CSV conversion rules:
// integers and floats (and dates, times, timestamps) may be surrounded by
// spaces and tabs, booleans may not; integers take an optional '-' (no '+')
// or a 0x/0X hexadecimal prefix; floats take an optional sign, "inf",
// "infinity" and "nan" in any case.

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseInt64 parses a signed decimal (or 0x-prefixed hexadecimal) integer.
func parseInt64(b []byte) (int64, bool) {
	n := len(b)
	if n == 0 || n > 18 {
		return parseInt64Slow(b)
	}
	i := 0
	neg := false
	if b[0] == '-' {
		if n == 1 {
			return 0, false
		}
		neg = true
		i = 1
	}
	var v int64
	for ; i < n; i++ {
		d := b[i] - '0'
		if d > 9 {
			return parseInt64Slow(b)
		}
		v = v*10 + int64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}

func parseInt64Slow(b []byte) (int64, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	if u, ok := parseHex(b); ok {
		return int64(u), true
	} else if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	u, ok := parseDecimalDigits(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// parseUint64 parses an unsigned decimal (or 0x-prefixed hexadecimal) integer.
func parseUint64(b []byte) (uint64, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	if u, ok := parseHex(b); ok {
		return u, true
	} else if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		return 0, false
	}
	return parseDecimalDigits(b)
}

func parseDecimalDigits(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		if u > (math.MaxUint64-uint64(d))/10 {
			return 0, false
		}
		u = u*10 + uint64(d)
	}
	return u, true
}

func parseHex(b []byte) (uint64, bool) {
	if len(b) < 3 || b[0] != '0' || (b[1] != 'x' && b[1] != 'X') || len(b) > 18 {
		return 0, false
	}
	var u uint64
	for _, c := range b[2:] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		u = u<<4 | uint64(d)
	}
	return u, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat64 parses a decimal floating-point number. The fast path
// (Clinger's: at most 19 significant digits, a mantissa below 2^53 and a
// decimal exponent within ±22) is exact; everything else goes through
// strconv.ParseFloat after a strict syntax check.
func parseFloat64(b []byte) (float64, bool) {
	n := len(b)
	if n == 0 {
		return 0, false
	}
	i := 0
	neg := false
	if c := b[0]; c == '-' || c == '+' {
		neg = c == '-'
		i = 1
	}
	var mant uint64
	nd := 0 // digits consumed into mant
	exp := 0
	digits := 0
	for ; i < n; i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		mant = mant*10 + uint64(d)
		nd++
	}
	digits = nd
	if i < n && b[i] == '.' {
		i++
		for ; i < n; i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			mant = mant*10 + uint64(d)
			nd++
			exp--
		}
		digits = nd
	}
	if digits == 0 || nd > 19 {
		return parseFloatSlow(b)
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < n && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		e := 0
		ed := 0
		for ; i < n; i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			if e < 10000 {
				e = e*10 + int(d)
			}
			ed++
		}
		if ed == 0 {
			return 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != n {
		return parseFloatSlow(b)
	}
	var f float64
	switch {
	case mant == 0:
		f = 0
	case mant < 1<<53 && exp >= 0 && exp <= 22:
		f = float64(mant) * pow10[exp]
	case mant < 1<<53 && exp < 0 && exp >= -22:
		f = float64(mant) / pow10[-exp]
	default:
		return parseFloatSlow(b)
	}
	if neg {
		f = -f
	}
	return f, true
}

func parseFloatSlow(b []byte) (float64, bool) {
	b = trimSpace(b)
	if !validFloatSyntax(b) {
		return 0, false
	}
	if rest := b[min(1, len(b)):]; (b[0] == '-' || b[0] == '+') && equalFold(rest, "nan") {
		return math.NaN(), true // strconv takes no sign on NaN
	}
	f, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // ±Inf or ±0, as Arrow does
		}
		return 0, false
	}
	return f, true
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// validFloatSyntax accepts [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits]
// and [+-] (inf | infinity | nan), case-insensitive.
func validFloatSyntax(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	i := 0
	if b[0] == '-' || b[0] == '+' {
		i++
	}
	rest := b[i:]
	if equalFold(rest, "inf") || equalFold(rest, "infinity") || equalFold(rest, "nan") {
		return true
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		ed := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			ed++
		}
		if ed == 0 {
			return false
		}
	}
	return i == len(b)
}

// parseBool accepts pyarrow's default true_values and false_values.
func parseBool(b []byte) (v, ok bool) {
	switch len(b) {
	case 1:
		switch b[0] {
		case '1':
			return true, true
		case '0':
			return false, true
		}
	case 4:
		switch string(b) {
		case "true", "True", "TRUE":
			return true, true
		}
	case 5:
		switch string(b) {
		case "false", "False", "FALSE":
			return false, true
		}
	}
	return false, false
}

func num2(b []byte) (int, bool) {
	d0, d1 := b[0]-'0', b[1]-'0'
	if d0 > 9 || d1 > 9 {
		return 0, false
	}
	return int(d0)*10 + int(d1), true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysFromCivil returns days since 1970-01-01 of the proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseDate parses YYYY-MM-DD (no surrounding spaces) into days since the epoch.
func parseDate(b []byte) (int64, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y1, ok1 := num2(b[0:2])
	y2, ok2 := num2(b[2:4])
	m, ok3 := num2(b[5:7])
	d, ok4 := num2(b[8:10])
	if !(ok1 && ok2 && ok3 && ok4) || m < 1 || m > 12 || d < 1 {
		return 0, false
	}
	y := y1*100 + y2
	md := monthDays[m]
	if m == 2 && isLeap(y) {
		md = 29
	}
	if d > md {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseTimeOfDay parses HH:MM[:SS[.fraction]] and returns seconds since
// midnight, the fraction in nanoseconds and the number of fraction digits.
func parseTimeOfDay(b []byte) (secs int64, nanos int64, fracDigits int, ok bool) {
	if len(b) < 2 {
		return 0, 0, 0, false
	}
	h, okh := num2(b)
	if !okh || h > 23 {
		return 0, 0, 0, false
	}
	secs = int64(h) * 3600
	b = b[2:]
	if len(b) == 0 {
		return secs, 0, 0, true // hour only: allowed inside timestamps
	}
	if len(b) < 3 || b[0] != ':' {
		return 0, 0, 0, false
	}
	mi, okm := num2(b[1:3])
	if !okm || mi > 59 {
		return 0, 0, 0, false
	}
	secs += int64(mi) * 60
	b = b[3:]
	if len(b) == 0 {
		return secs, 0, 0, true
	}
	if len(b) < 3 || b[0] != ':' {
		return 0, 0, 0, false
	}
	s, oks := num2(b[1:3])
	if !oks || s > 59 {
		return 0, 0, 0, false
	}
	secs += int64(s)
	b = b[3:]
	if len(b) == 0 {
		return secs, 0, 0, true
	}
	if b[0] != '.' || len(b) < 2 || len(b) > 10 {
		return 0, 0, 0, false
	}
	for _, c := range b[1:] {
		d := c - '0'
		if d > 9 {
			return 0, 0, 0, false
		}
		nanos = nanos*10 + int64(d)
		fracDigits++
	}
	for i := fracDigits; i < 9; i++ {
		nanos *= 10
	}
	return secs, nanos, fracDigits, true
}

// parseTime parses a time of day "HH:MM" or "HH:MM:SS[.fraction]".
func parseTime(b []byte) (secs, nanos int64, fracDigits int, ok bool) {
	b = trimSpace(b)
	if len(b) < 5 || b[2] != ':' {
		return 0, 0, 0, false
	}
	return parseTimeOfDay(b)
}

// timestamp is a parsed ISO 8601 timestamp.
type timestamp struct {
	secs       int64 // seconds since the epoch, UTC when zoned
	nanos      int64 // sub-second part
	fracDigits int   // digits after the decimal point
	zoned      bool  // carried "Z" or a ±HH[[:]MM] offset
}

// parseTimestamp parses YYYY-MM-DD[(T| )HH[:MM[:SS[.f]]]][Z|±HH[[:]MM]].
func parseTimestamp(b []byte) (timestamp, bool) {
	b = trimSpace(b)
	var ts timestamp
	if len(b) < 10 {
		return ts, false
	}
	days, ok := parseDate(b[:10])
	if !ok {
		return ts, false
	}
	ts.secs = days * 86400
	b = b[10:]
	if len(b) == 0 {
		return ts, true
	}
	if b[0] != 'T' && b[0] != ' ' {
		return ts, false
	}
	b = b[1:]
	// zone suffix
	z := len(b)
	for i := 2; i < len(b); i++ {
		if c := b[i]; c == 'Z' || c == '+' || c == '-' {
			z = i
			break
		}
	}
	secs, nanos, fd, ok := parseTimeOfDay(b[:z])
	if !ok {
		return ts, false
	}
	ts.secs += secs
	ts.nanos = nanos
	ts.fracDigits = fd
	if z < len(b) {
		zone := b[z:]
		ts.zoned = true
		switch {
		case len(zone) == 1 && zone[0] == 'Z':
		case len(zone) >= 3:
			sign := int64(1)
			if zone[0] == '-' {
				sign = -1
			} else if zone[0] != '+' {
				return ts, false
			}
			zh, okh := num2(zone[1:3])
			if !okh || zh > 23 {
				return ts, false
			}
			zm := 0
			rest := zone[3:]
			if len(rest) > 0 && rest[0] == ':' {
				rest = rest[1:]
				if len(rest) != 2 {
					return ts, false
				}
			}
			if len(rest) == 2 {
				var okm bool
				zm, okm = num2(rest)
				if !okm || zm > 59 {
					return ts, false
				}
			} else if len(rest) != 0 {
				return ts, false
			}
			ts.secs -= sign * (int64(zh)*3600 + int64(zm)*60)
		default:
			return ts, false
		}
	}
	return ts, true
}

var unitDigits = [4]int{0, 3, 6, 9}         // by arrow.TimeUnit: s, ms, us, ns
var unitPerSec = [4]int64{1, 1e3, 1e6, 1e9} // by arrow.TimeUnit
var nanosPerUnit = [4]int64{1e9, 1e6, 1e3, 1}

// toUnit converts seconds + nanos into the given unit; it fails when the
// fraction is finer than the unit or the value overflows.
func toUnit(secs, nanos int64, fracDigits int, unit int) (int64, bool) {
	if fracDigits > unitDigits[unit] {
		return 0, false
	}
	per := unitPerSec[unit]
	if secs > math.MaxInt64/per || secs < math.MinInt64/per {
		return 0, false
	}
	v := secs * per
	f := nanos / nanosPerUnit[unit]
	if (f > 0 && v > math.MaxInt64-f) || (f < 0 && v < math.MinInt64-f) {
		return 0, false
	}
	return v + f, true
}
