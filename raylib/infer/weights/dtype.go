package weights

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType names the storage type of a tensor. Safetensors and GGUF share the
// plain names (F32, F16, BF16, I32, ...); the ggml block-quantised types use
// ggml's names (Q4_0, Q4_K, ...). An unknown GGUF type id n is reported as
// "GGML_TYPE_n".
type DType string

// Plain element types (safetensors and GGUF).
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	Bool   DType = "BOOL"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
)

// ggml block-quantised types.
const (
	Q4_0    DType = "Q4_0"
	Q4_1    DType = "Q4_1"
	Q5_0    DType = "Q5_0"
	Q5_1    DType = "Q5_1"
	Q8_0    DType = "Q8_0"
	Q8_1    DType = "Q8_1"
	Q2_K    DType = "Q2_K"
	Q3_K    DType = "Q3_K"
	Q4_K    DType = "Q4_K"
	Q5_K    DType = "Q5_K"
	Q6_K    DType = "Q6_K"
	Q8_K    DType = "Q8_K"
	IQ2_XXS DType = "IQ2_XXS"
	IQ2_XS  DType = "IQ2_XS"
	IQ3_XXS DType = "IQ3_XXS"
	IQ1_S   DType = "IQ1_S"
	IQ4_NL  DType = "IQ4_NL"
	IQ3_S   DType = "IQ3_S"
	IQ2_S   DType = "IQ2_S"
	IQ4_XS  DType = "IQ4_XS"
	IQ1_M   DType = "IQ1_M"
	TQ1_0   DType = "TQ1_0"
	TQ2_0   DType = "TQ2_0"
	MXFP4   DType = "MXFP4"
	NVFP4   DType = "NVFP4"
	Q1_0    DType = "Q1_0"
)

// qk is the number of elements in a K-quant super-block.
const qk = 256

type typeTraits struct {
	blockElems int // elements per block (1 for plain types)
	blockBytes int // bytes per block
}

var traits = map[DType]typeTraits{
	F64: {1, 8}, F32: {1, 4}, F16: {1, 2}, BF16: {1, 2},
	I64: {1, 8}, I32: {1, 4}, I16: {1, 2}, I8: {1, 1},
	U64: {1, 8}, U32: {1, 4}, U16: {1, 2}, U8: {1, 1}, Bool: {1, 1},
	F8E4M3: {1, 1}, F8E5M2: {1, 1},

	Q4_0: {32, 2 + 16},
	Q4_1: {32, 2 + 2 + 16},
	Q5_0: {32, 2 + 4 + 16},
	Q5_1: {32, 2 + 2 + 4 + 16},
	Q8_0: {32, 2 + 32},
	Q8_1: {32, 4 + 4 + 32},
	Q2_K: {qk, 2 + 2 + qk/16 + qk/4},
	Q3_K: {qk, 2 + qk/4 + qk/8 + 12},
	Q4_K: {qk, 2 + 2 + qk/2 + 12},
	Q5_K: {qk, 2 + 2 + qk/2 + qk/8 + 12},
	Q6_K: {qk, 2 + qk/2 + qk/4 + qk/16},
	Q8_K: {qk, 4 + qk + qk/8},

	IQ2_XXS: {qk, 2 + qk/4},
	IQ2_XS:  {qk, 2 + qk/4 + qk/32},
	IQ3_XXS: {qk, 2 + qk/4 + qk/8},
	IQ1_S:   {qk, 2 + qk/8 + qk/16},
	IQ4_NL:  {32, 2 + 16},
	IQ3_S:   {qk, 2 + qk/4 + qk/8 + qk/32 + 4},
	IQ2_S:   {qk, 2 + qk/4 + qk/16},
	IQ4_XS:  {qk, 2 + 2 + qk/2 + qk/64},
	IQ1_M:   {qk, qk/8 + qk/16 + qk/32},
	TQ1_0:   {qk, 2 + 4*13},
	TQ2_0:   {qk, 2 + 64},
	MXFP4:   {32, 1 + 16},
	NVFP4:   {64, 4 + 32},
	Q1_0:    {128, 2 + 16},
}

// ggmlTypes maps GGUF tensor type ids (enum ggml_type) to DTypes.
var ggmlTypes = map[uint32]DType{
	0: F32, 1: F16, 2: Q4_0, 3: Q4_1, 6: Q5_0, 7: Q5_1, 8: Q8_0, 9: Q8_1,
	10: Q2_K, 11: Q3_K, 12: Q4_K, 13: Q5_K, 14: Q6_K, 15: Q8_K,
	16: IQ2_XXS, 17: IQ2_XS, 18: IQ3_XXS, 19: IQ1_S, 20: IQ4_NL, 21: IQ3_S,
	22: IQ2_S, 23: IQ4_XS, 24: I8, 25: I16, 26: I32, 27: I64, 28: F64,
	29: IQ1_M, 30: BF16, 34: TQ1_0, 35: TQ2_0, 39: MXFP4, 40: NVFP4, 41: Q1_0,
}

// ggmlDType returns the DType for a GGUF tensor type id.
func ggmlDType(id uint32) DType {
	if dt, ok := ggmlTypes[id]; ok {
		return dt
	}
	return DType(fmt.Sprintf("GGML_TYPE_%d", id))
}

// BlockSize returns the number of elements per block (1 for plain types) and
// the bytes per block; ok is false for an unknown type.
func (d DType) BlockSize() (elems, bytes int, ok bool) {
	t, ok := traits[d]
	return t.blockElems, t.blockBytes, ok
}

// Quantized reports whether d is a ggml block format.
func (d DType) Quantized() bool {
	t, ok := traits[d]
	return ok && t.blockElems > 1
}

// CanFloat32 reports whether this package can convert d to float32.
func (d DType) CanFloat32() bool {
	_, ok := decoders[d]
	return ok
}

// ByteSize returns the number of bytes n elements of type d take, or an error
// if the type is unknown or n is not a whole number of blocks.
func (d DType) ByteSize(n int64) (int64, error) {
	t, ok := traits[d]
	if !ok {
		return 0, fmt.Errorf("weights: unknown dtype %s", d)
	}
	if n < 0 || n%int64(t.blockElems) != 0 {
		return 0, fmt.Errorf("weights: %d elements is not a whole number of %s blocks of %d", n, d, t.blockElems)
	}
	blocks := n / int64(t.blockElems)
	if blocks > math.MaxInt64/int64(t.blockBytes) {
		return 0, fmt.Errorf("weights: %d elements of %s overflow int64 bytes", n, d)
	}
	return blocks * int64(t.blockBytes), nil
}

// F16ToF32 converts an IEEE 754 half-precision bit pattern to float32
// exactly (subnormals, infinities and NaN payloads included).
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal half: normalise into a float32 normal.
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// BF16ToF32 converts a bfloat16 bit pattern to float32 (exact).
func BF16ToF32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

func f16At(b []byte, off int) float32 {
	return F16ToF32(binary.LittleEndian.Uint16(b[off:]))
}
