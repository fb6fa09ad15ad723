package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// A decoder converts whole blocks: len(src) is exactly the byte size of
// len(dst) elements. Every arithmetic step is rounded to float32 on its own
// (explicit float32(...) conversions forbid fused multiply-adds), in the same
// order as ggml's reference dequantisers, so results are bit-exact.
type decoder func(src []byte, dst []float32)

var decoders map[DType]decoder

func init() {
	decoders = map[DType]decoder{
		F32: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		},
		F16: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		},
		BF16: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		},
		F64: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
			}
		},
		I64: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(int64(binary.LittleEndian.Uint64(src[8*i:])))
			}
		},
		U64: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(binary.LittleEndian.Uint64(src[8*i:]))
			}
		},
		I32: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
			}
		},
		U32: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(binary.LittleEndian.Uint32(src[4*i:]))
			}
		},
		I16: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
			}
		},
		U16: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		},
		I8: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(int8(src[i]))
			}
		},
		U8: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = float32(src[i])
			}
		},
		Bool: func(src []byte, dst []float32) {
			for i := range dst {
				if src[i] != 0 {
					dst[i] = 1
				} else {
					dst[i] = 0
				}
			}
		},
		F8E4M3: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = f8e4m3ToF32(src[i])
			}
		},
		F8E5M2: func(src []byte, dst []float32) {
			for i := range dst {
				dst[i] = F16ToF32(uint16(src[i]) << 8) // E5M2 is the top byte of an F16
			}
		},
		Q4_0: blocks(Q4_0, deqQ4_0),
		Q4_1: blocks(Q4_1, deqQ4_1),
		Q5_0: blocks(Q5_0, deqQ5_0),
		Q5_1: blocks(Q5_1, deqQ5_1),
		Q8_0: blocks(Q8_0, deqQ8_0),
		Q2_K: blocks(Q2_K, deqQ2_K),
		Q3_K: blocks(Q3_K, deqQ3_K),
		Q4_K: blocks(Q4_K, deqQ4_K),
		Q5_K: blocks(Q5_K, deqQ5_K),
		Q6_K: blocks(Q6_K, deqQ6_K),
		Q8_K: blocks(Q8_K, deqQ8_K),
	}
}

// f8e4m3ToF32 decodes float8 E4M3FN (bias 7, no infinities, S.1111.111 is NaN).
func f8e4m3ToF32(b byte) float32 {
	sign := float32(1)
	if b&0x80 != 0 {
		sign = -1
	}
	exp := int(b>>3) & 0xf
	mant := float32(b & 7)
	switch {
	case exp == 0xf && b&7 == 7:
		return float32(math.NaN())
	case exp == 0:
		return sign * mant * (1.0 / 512) // mant/8 * 2^-6
	default:
		return sign * (1 + mant/8) * float32(math.Ldexp(1, exp-7))
	}
}

// blocks adapts a one-block dequantiser to a decoder over many blocks.
func blocks(dt DType, one func(b []byte, y []float32)) decoder {
	t := traits[dt]
	return func(src []byte, dst []float32) {
		nb := len(dst) / t.blockElems
		for i := range nb {
			one(src[i*t.blockBytes:(i+1)*t.blockBytes], dst[i*t.blockElems:(i+1)*t.blockElems])
		}
	}
}

// parallelMin is the element count above which DecodeFloat32 splits work
// across goroutines.
const parallelMin = 1 << 16

// DecodeFloat32 converts len(dst) elements of type dt from src into dst.
// len(src) must be exactly the byte size of len(dst) elements. Large inputs
// are split across GOMAXPROCS goroutines on block boundaries.
func DecodeFloat32(dt DType, src []byte, dst []float32) error {
	dec, ok := decoders[dt]
	if !ok {
		return fmt.Errorf("weights: no float32 conversion for dtype %s", dt)
	}
	need, err := dt.ByteSize(int64(len(dst)))
	if err != nil {
		return err
	}
	if int64(len(src)) != need {
		return fmt.Errorf("weights: %d elements of %s need %d bytes, got %d", len(dst), dt, need, len(src))
	}
	workers := runtime.GOMAXPROCS(0)
	if len(dst) < parallelMin || workers < 2 {
		dec(src, dst)
		return nil
	}
	t := traits[dt]
	nBlocks := len(dst) / t.blockElems
	per := (nBlocks + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < nBlocks; lo += per {
		hi := min(lo+per, nBlocks)
		wg.Go(func() {
			dec(src[lo*t.blockBytes:hi*t.blockBytes], dst[lo*t.blockElems:hi*t.blockElems])
		})
	}
	wg.Wait()
	return nil
}

// ---------------------------------------------------------------------------
// 32-element blocks.

// block_q4_0: d f16 | qs[16]; x = ((nibble) - 8) * d, low nibbles are
// elements 0..15, high nibbles 16..31.
func deqQ4_0(b []byte, y []float32) {
	d := f16At(b, 0)
	qs := b[2:18]
	for j := range 16 {
		y[j] = float32(int(qs[j]&0x0f)-8) * d
		y[j+16] = float32(int(qs[j]>>4)-8) * d
	}
}

// block_q4_1: d f16 | m f16 | qs[16]; x = nibble*d + m.
func deqQ4_1(b []byte, y []float32) {
	d := f16At(b, 0)
	m := f16At(b, 2)
	qs := b[4:20]
	for j := range 16 {
		y[j] = float32(d*float32(qs[j]&0x0f)) + m
		y[j+16] = float32(d*float32(qs[j]>>4)) + m
	}
}

// block_q5_0: d f16 | qh u32 | qs[16]; bit j of qh is the fifth bit of
// element j; x = (q - 16) * d.
func deqQ5_0(b []byte, y []float32) {
	d := f16At(b, 0)
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6:22]
	for j := range 16 {
		h0 := byte((qh>>j)&1) << 4
		h1 := byte((qh>>(j+16))&1) << 4
		y[j] = float32(int(qs[j]&0x0f|h0)-16) * d
		y[j+16] = float32(int(qs[j]>>4|h1)-16) * d
	}
}

// block_q5_1: d f16 | m f16 | qh u32 | qs[16]; x = q*d + m.
func deqQ5_1(b []byte, y []float32) {
	d := f16At(b, 0)
	m := f16At(b, 2)
	qh := binary.LittleEndian.Uint32(b[4:])
	qs := b[8:24]
	for j := range 16 {
		h0 := byte((qh>>j)&1) << 4
		h1 := byte((qh>>(j+16))&1) << 4
		y[j] = float32(d*float32(qs[j]&0x0f|h0)) + m
		y[j+16] = float32(d*float32(qs[j]>>4|h1)) + m
	}
}

// block_q8_0: d f16 | qs int8[32]; x = q * d.
func deqQ8_0(b []byte, y []float32) {
	d := f16At(b, 0)
	for j := range 32 {
		y[j] = float32(int8(b[2+j])) * d
	}
}

// ---------------------------------------------------------------------------
// 256-element K-quant super-blocks.

// block_q2_K: scales[16] | qs[64] | d f16 | dmin f16. Sixteen groups of 16;
// scale byte s gives dl = d*(s&15), ml = dmin*(s>>4); x = dl*q - ml with q
// two bits of qs.
func deqQ2_K(b []byte, y []float32) {
	scales := b[0:16]
	q := b[16:80]
	d := f16At(b, 80)
	dmin := f16At(b, 82)
	is, out := 0, 0
	for n := 0; n < qk; n += 128 {
		shift := uint(0)
		for range 4 {
			for half := range 2 {
				sc := scales[is]
				is++
				dl := float32(d * float32(sc&0x0f))
				ml := float32(dmin * float32(sc>>4))
				for l := range 16 {
					y[out] = float32(dl*float32((q[l+16*half]>>shift)&3)) - ml
					out++
				}
			}
			shift += 2
		}
		q = q[32:]
	}
}

// block_q3_K: hmask[32] | qs[64] | scales[12] | d f16. Sixteen 6-bit scales
// (offset by 32); element bits: two from qs, one (inverted, worth 4) from
// hmask.
func deqQ3_K(b []byte, y []float32) {
	hm := b[0:32]
	q := b[32:96]
	sb := b[96:108]
	d := f16At(b, 108)
	var sc [16]int
	for i := range 16 {
		var lo byte
		if i < 8 {
			lo = sb[i] & 0x0f
		} else {
			lo = sb[i-8] >> 4
		}
		hi := (sb[8+i%4] >> (2 * uint(i/4))) & 3
		sc[i] = int(lo|hi<<4) - 32
	}
	is, out := 0, 0
	m := byte(1)
	for n := 0; n < qk; n += 128 {
		shift := uint(0)
		for range 4 {
			for half := range 2 {
				dl := float32(d * float32(sc[is]))
				is++
				for l := range 16 {
					k := l + 16*half
					v := int((q[k] >> shift) & 3)
					if hm[k]&m == 0 {
						v -= 4
					}
					y[out] = dl * float32(v)
					out++
				}
			}
			shift += 2
			m <<= 1
		}
		q = q[32:]
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of Q4_K/Q5_K.
func scaleMinK4(j int, s []byte) (sc, m byte) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0x0f | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

// block_q4_K: d f16 | dmin f16 | scales[12] | qs[128]. Eight groups of 32
// with 6-bit scale/min; x = (d*sc)*q - dmin*m.
func deqQ4_K(b []byte, y []float32) {
	d := f16At(b, 0)
	dmin := f16At(b, 2)
	s := b[4:16]
	q := b[16:144]
	out, is := 0, 0
	for j := 0; j < qk; j += 64 {
		sc, m := scaleMinK4(is, s)
		d1, m1 := float32(d*float32(sc)), float32(dmin*float32(m))
		sc, m = scaleMinK4(is+1, s)
		d2, m2 := float32(d*float32(sc)), float32(dmin*float32(m))
		for l := range 32 {
			y[out+l] = float32(d1*float32(q[l]&0x0f)) - m1
			y[out+32+l] = float32(d2*float32(q[l]>>4)) - m2
		}
		q = q[32:]
		out += 64
		is += 2
	}
}

// block_q5_K: d f16 | dmin f16 | scales[12] | qh[32] | qs[128]; as Q4_K
// with a fifth bit (worth 16) from qh.
func deqQ5_K(b []byte, y []float32) {
	d := f16At(b, 0)
	dmin := f16At(b, 2)
	s := b[4:16]
	qh := b[16:48]
	ql := b[48:176]
	out, is := 0, 0
	u1, u2 := byte(1), byte(2)
	for j := 0; j < qk; j += 64 {
		sc, m := scaleMinK4(is, s)
		d1, m1 := float32(d*float32(sc)), float32(dmin*float32(m))
		sc, m = scaleMinK4(is+1, s)
		d2, m2 := float32(d*float32(sc)), float32(dmin*float32(m))
		for l := range 32 {
			v1 := ql[l] & 0x0f
			if qh[l]&u1 != 0 {
				v1 += 16
			}
			v2 := ql[l] >> 4
			if qh[l]&u2 != 0 {
				v2 += 16
			}
			y[out+l] = float32(d1*float32(v1)) - m1
			y[out+32+l] = float32(d2*float32(v2)) - m2
		}
		ql = ql[32:]
		out += 64
		is += 2
		u1 <<= 2
		u2 <<= 2
	}
}

// block_q6_K: ql[128] | qh[64] | scales int8[16] | d f16; sixteen groups
// of 16; x = (d*sc)*(q - 32) with q four bits from ql and two from qh.
func deqQ6_K(b []byte, y []float32) {
	ql := b[0:128]
	qh := b[128:192]
	sc := b[192:208]
	d := f16At(b, 208)
	out := 0
	for n := 0; n < qk; n += 128 {
		for l := range 32 {
			is := l / 16
			q1 := int(ql[l]&0x0f|((qh[l]>>0)&3)<<4) - 32
			q2 := int(ql[l+32]&0x0f|((qh[l]>>2)&3)<<4) - 32
			q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
			q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
			y[out+l] = float32(d*float32(int8(sc[is+0]))) * float32(q1)
			y[out+l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			y[out+l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			y[out+l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
		out += 128
		ql = ql[64:]
		qh = qh[32:]
		sc = sc[8:]
	}
}

// block_q8_K: d f32 | qs int8[256] | bsums int16[16]; x = d * q.
func deqQ8_K(b []byte, y []float32) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b[0:]))
	for j := range qk {
		y[j] = d * float32(int8(b[4+j]))
	}
}
