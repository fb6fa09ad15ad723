package weights

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestF16ToF32Exhaustive checks all 65536 half values against the IEEE
// definition computed in float64.
func TestF16ToF32Exhaustive(t *testing.T) {
	for h := range 1 << 16 {
		got := F16ToF32(uint16(h))
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp := (h >> 10) & 0x1f
		mant := float64(h & 0x3ff)
		var want float64
		switch exp {
		case 0x1f:
			if mant == 0 {
				want = math.Inf(int(sign))
			} else {
				if !math.IsNaN(float64(got)) || math.Float32bits(got)&0x1fff != 0 || (math.Float32bits(got)>>13)&0x3ff != uint32(h&0x3ff) {
					t.Fatalf("F16ToF32(%#04x) = %#08x, want a NaN with the same payload", h, math.Float32bits(got))
				}
				continue
			}
		case 0:
			want = sign * mant * math.Ldexp(1, -24)
		default:
			want = sign * (1024 + mant) * math.Ldexp(1, exp-25)
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
	if BF16ToF32(0x3f80) != 1 || BF16ToF32(0xc040) != -3 {
		t.Error("BF16ToF32")
	}
}

func TestDTypeSizes(t *testing.T) {
	for dt, want := range map[DType][2]int{Q4_0: {32, 18}, Q4_1: {32, 20}, Q5_0: {32, 22}, Q5_1: {32, 24}, Q8_0: {32, 34},
		Q2_K: {256, 84}, Q3_K: {256, 110}, Q4_K: {256, 144}, Q5_K: {256, 176}, Q6_K: {256, 210}, Q8_K: {256, 292}, BF16: {1, 2}} {
		e, b, ok := dt.BlockSize()
		if !ok || e != want[0] || b != want[1] {
			t.Errorf("%s.BlockSize() = %d, %d, %v; want %v", dt, e, b, ok, want)
		}
	}
	if n, err := Q4_K.ByteSize(512); err != nil || n != 288 {
		t.Errorf("Q4_K.ByteSize(512) = %d, %v", n, err)
	}
	if _, err := Q4_K.ByteSize(100); err == nil {
		t.Error("Q4_K.ByteSize(100): no error")
	}
	if _, err := DType("nope").ByteSize(1); err == nil {
		t.Error("unknown dtype: no error")
	}
	if !Q6_K.Quantized() || F16.Quantized() || !Q8_K.CanFloat32() || IQ2_XXS.CanFloat32() {
		t.Error("Quantized/CanFloat32")
	}
}

// The parallel path of DecodeFloat32 gives the same bits as one serial pass.
func TestDecodeFloat32Parallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range []DType{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, F16, BF16} {
		elems, bsz, _ := dt.BlockSize()
		nBlocks := (parallelMin*3)/elems + 7
		src := make([]byte, nBlocks*bsz)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		if dt.Quantized() {
			// Keep the f16 scales finite: clear their exponent's top bit.
			for b := 0; b < len(src); b += 2 {
				src[b+1] &^= 0x40
			}
		}
		serial := make([]float32, nBlocks*elems)
		decoders[dt](src, serial)
		par := make([]float32, nBlocks*elems)
		if err := DecodeFloat32(dt, src, par); err != nil {
			t.Fatal(err)
		}
		if !equalF32(serial, par) {
			t.Errorf("%s: parallel decode differs", dt)
		}
	}
	if err := DecodeFloat32(Q8_0, make([]byte, 33), make([]float32, 32)); err == nil {
		t.Error("short source: no error")
	}
	if err := DecodeFloat32(IQ1_S, nil, nil); err == nil {
		t.Error("unsupported dtype: no error")
	}
}

// A hand-made Q4_K block, checked against the formula written out longhand.
func TestQ4KByHand(t *testing.T) {
	b := make([]byte, 144)
	binary.LittleEndian.PutUint16(b[0:], 0x3c00) // d = 1
	binary.LittleEndian.PutUint16(b[2:], 0x3800) // dmin = 0.5
	s := b[4:16]
	s[0], s[4] = 3, 2            // group 0: scale 3, min 2
	s[8] = 0x51                  // group 4: low 4 bits of scale (1) and min (5)
	s[0] |= 1 << 6               // group 4: scale high bits (1) -> 1 | 1<<4 = 17
	s[4] |= 2 << 6               // group 4: min high bits (2) -> 5 | 2<<4 = 37
	b[16], b[16+64] = 0x2f, 0x09 // q: group 0 elem 0 = 15; group 1 elem 0 = 2; group 4 elem 0 = 9
	y := make([]float32, 256)
	deqQ4_K(b, y)
	if y[0] != 3*15-0.5*2 || y[32] != 0*2-0 || y[128] != 17*9-0.5*37 {
		t.Errorf("y[0] = %v, y[32] = %v, y[128] = %v", y[0], y[32], y[128])
	}
}
