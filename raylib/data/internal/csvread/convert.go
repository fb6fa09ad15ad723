package csvread

import "unicode/utf8"

const errBigBatch = "string data of one batch exceeds 2 GiB; use a smaller BlockRows or large_string"

// uniformRows returns how many rows (at most limit) starting at index
// entry k are regular: exactly nf fields, and (for one-column files) not an
// empty line. Regular rows can be converted column by column with fixed
// strides through the index.
func uniformRows(buf []byte, seps []uint32, k, nf, limit int) int {
	n := min((len(seps)-k)/nf, limit)
	if nf == 1 {
		for r := 0; r < n; r++ {
			e := seps[k+r]
			if buf[e>>sepShift-1] != '\n' {
				return r
			}
			if e&sepQuoted == 0 {
				start, end := int(seps[k+r-1]>>sepShift), int(e>>sepShift)-1
				if end == start || (end == start+1 && buf[start] == '\r') {
					return r
				}
			}
		}
		return n
	}
	for r := 0; r < n; r++ {
		row := seps[k+r*nf : k+r*nf+nf]
		for _, e := range row[:nf-1] {
			if buf[e>>sepShift-1] == '\n' {
				return r
			}
		}
		if buf[row[nf-1]>>sepShift-1] != '\n' {
			return r
		}
	}
	return n
}

// field returns the content of the field ending at index entry i, without
// the CR of a CRLF when it is the last field of its row, unquoted when it
// was quoted.
func field(buf []byte, seps []uint32, i int, last bool, scratch *[]byte) []byte {
	f, quoted := rawField(buf, seps, i, last)
	if quoted {
		f = unquote(scratch, f)
	}
	return f
}

// rawField is the inlinable part of field.
func rawField(buf []byte, seps []uint32, i int, last bool) ([]byte, bool) {
	e := seps[i]
	f := buf[seps[i-1]>>sepShift : e>>sepShift-1]
	if last && len(f) > 0 && f[len(f)-1] == '\r' {
		f = f[:len(f)-1]
	}
	return f, e&sepQuoted != 0
}

// convertRows appends n regular rows to the column: its field is at index
// entries i0, i0+stride, ...; row0 is the batch row of the first. On a bad
// value it returns the offending row (relative to the first) and a
// message, with the rows before it appended.
func (c *column) convertRows(buf []byte, seps []uint32, i0, stride, n, row0 int, last bool, scratch *[]byte) (int, string) {
	nulls := c.nulls
	switch c.kind {
	case kInt64:
		for r := 0; r < n; r++ {
			f, quoted := rawField(buf, seps, i0+r*stride, last)
			if quoted {
				f = unquote(scratch, f)
			}
			if v, ok := parseInt64(f); ok && (nulls == nil || !nulls.maybe(f) || !nulls.isNull(f)) {
				c.ints = append(c.ints, v)
				if c.valid != nil {
					c.valid = setBit(c.valid, row0+r)
				}
			} else if nulls != nil && nulls.isNull(f) {
				c.null(row0 + r)
			} else {
				return r, c.cannot(f)
			}
		}
	case kFloat64, kFloat32:
		for r := 0; r < n; r++ {
			f, quoted := rawField(buf, seps, i0+r*stride, last)
			if quoted {
				f = unquote(scratch, f)
			}
			if nulls != nil && nulls.maybe(f) && nulls.isNull(f) {
				c.null(row0 + r)
				continue
			}
			v, ok := parseFloat64(f)
			if !ok {
				return r, c.cannot(f)
			}
			c.floats = append(c.floats, v)
			if c.valid != nil {
				c.valid = setBit(c.valid, row0+r)
			}
		}
	case kBool:
		for r := 0; r < n; r++ {
			f, quoted := rawField(buf, seps, i0+r*stride, last)
			if quoted {
				f = unquote(scratch, f)
			}
			row := row0 + r
			if nulls != nil && nulls.maybe(f) && nulls.isNull(f) {
				c.null(row)
				continue
			}
			v, ok := parseBool(f)
			if !ok {
				return r, c.cannot(f)
			}
			if row&7 == 0 {
				c.bits = append(c.bits, 0)
			}
			if v {
				c.bits[row>>3] |= 1 << uint(row&7)
			}
			if c.valid != nil {
				c.valid = setBit(c.valid, row)
			}
		}
	case kString, kBinary:
		if nulls != nil || c.validate {
			return c.convertGeneric(buf, seps, i0, stride, n, row0, last, scratch)
		}
		data, offs := c.data, c.offs
		for r := 0; r < n; r++ {
			f, quoted := rawField(buf, seps, i0+r*stride, last)
			if quoted {
				f = unquote(scratch, f)
			}
			data = append(data, f...)
			if len(data) > maxInt32Data {
				c.data, c.offs = data, offs
				return r, errBigBatch
			}
			offs = append(offs, int32(len(data)))
		}
		c.data, c.offs = data, offs
	default:
		return c.convertGeneric(buf, seps, i0, stride, n, row0, last, scratch)
	}
	return -1, ""
}

func (c *column) convertGeneric(buf []byte, seps []uint32, i0, stride, n, row0 int, last bool, scratch *[]byte) (int, string) {
	for r := 0; r < n; r++ {
		f := field(buf, seps, i0+r*stride, last, scratch)
		if msg := c.add(f, row0+r); msg != "" {
			return r, msg
		}
	}
	return -1, ""
}

// add converts one field (already unquoted) and appends it at row. It
// returns a non-empty message when the value cannot be converted.
func (c *column) add(f []byte, row int) string {
	if c.nulls != nil && c.nulls.isNull(f) {
		c.null(row)
		return ""
	}
	switch c.kind {
	case kInt64:
		v, ok := parseInt64(f)
		if !ok {
			return c.cannot(f)
		}
		c.ints = append(c.ints, v)
	case kFloat64, kFloat32:
		v, ok := parseFloat64(f)
		if !ok {
			return c.cannot(f)
		}
		c.floats = append(c.floats, v)
	case kString, kBinary:
		if c.validate && !utf8.Valid(f) {
			return "invalid UTF-8 in string value"
		}
		c.data = append(c.data, f...)
		if len(c.data) > maxInt32Data {
			return errBigBatch
		}
		c.offs = append(c.offs, int32(len(c.data)))
	case kLargeString, kLargeBinary:
		if c.validate && !utf8.Valid(f) {
			return "invalid UTF-8 in string value"
		}
		c.data = append(c.data, f...)
		c.loffs = append(c.loffs, int64(len(c.data)))
	case kBool:
		v, ok := parseBool(f)
		if !ok {
			return c.cannot(f)
		}
		if row&7 == 0 {
			c.bits = append(c.bits, 0)
		}
		if v {
			c.bits[row>>3] |= 1 << uint(row&7)
		}
	default:
		if msg := c.addOther(f); msg != "" {
			return msg
		}
	}
	if c.valid != nil {
		c.valid = setBit(c.valid, row)
	}
	return ""
}
