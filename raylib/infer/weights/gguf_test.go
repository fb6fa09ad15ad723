package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ggufBuilder writes small GGUF files for error-path tests.
type ggufBuilder struct {
	version   uint32
	alignment int
	kv        bytes.Buffer
	nKV       int
	infos     bytes.Buffer
	nTensors  int
	data      bytes.Buffer
}

func newGGUFBuilder() *ggufBuilder { return &ggufBuilder{version: 3, alignment: 32} }

func putStr(b *bytes.Buffer, s string) {
	binary.Write(b, binary.LittleEndian, uint64(len(s)))
	b.WriteString(s)
}

func (g *ggufBuilder) addKV(key string, typ ValueType, payload ...any) {
	putStr(&g.kv, key)
	binary.Write(&g.kv, binary.LittleEndian, uint32(typ))
	for _, p := range payload {
		if s, ok := p.(string); ok {
			putStr(&g.kv, s)
		} else {
			binary.Write(&g.kv, binary.LittleEndian, p)
		}
	}
	g.nKV++
}

// addTensor appends raw data (padded) and its info; ne is ggml order.
func (g *ggufBuilder) addTensor(name string, typ uint32, ne []uint64, raw []byte) {
	for g.data.Len()%g.alignment != 0 {
		g.data.WriteByte(0)
	}
	g.addTensorAt(name, typ, ne, uint64(g.data.Len()))
	g.data.Write(raw)
}

func (g *ggufBuilder) addTensorAt(name string, typ uint32, ne []uint64, off uint64) {
	putStr(&g.infos, name)
	binary.Write(&g.infos, binary.LittleEndian, uint32(len(ne)))
	for _, d := range ne {
		binary.Write(&g.infos, binary.LittleEndian, d)
	}
	binary.Write(&g.infos, binary.LittleEndian, typ)
	binary.Write(&g.infos, binary.LittleEndian, off)
	g.nTensors++
}

func (g *ggufBuilder) bytes() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(ggufMagic))
	binary.Write(&b, binary.LittleEndian, g.version)
	binary.Write(&b, binary.LittleEndian, uint64(g.nTensors))
	binary.Write(&b, binary.LittleEndian, uint64(g.nKV))
	b.Write(g.kv.Bytes())
	b.Write(g.infos.Bytes())
	for b.Len()%g.alignment != 0 {
		b.WriteByte(0)
	}
	b.Write(g.data.Bytes())
	return b.Bytes()
}

func readGGUFBytes(data []byte) (*GGUF, error) {
	return ReadGGUF("test.gguf", bytes.NewReader(data), int64(len(data)))
}

func f32Bytes(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func TestGGUFBuilderRoundTrip(t *testing.T) {
	b := newGGUFBuilder()
	b.addKV("general.architecture", TypeString, "llama")
	b.addKV("x.nested", TypeArray, uint32(TypeArray), uint64(2),
		uint32(TypeUint16), uint64(2), uint16(7), uint16(8),
		uint32(TypeString), uint64(1), "hi")
	b.addTensor("w", 0, []uint64{3, 2}, f32Bytes(1, 2, 3, 4, 5, 6))
	b.addTensor("s", 0, nil, f32Bytes(9)) // 0-dimensional: a scalar
	g, err := readGGUFBytes(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	nested := g.Metadata["x.nested"].([]any)
	if len(nested) != 2 || nested[0].([]uint16)[1] != 8 || nested[1].([]string)[0] != "hi" {
		t.Errorf("nested = %#v", nested)
	}
	w, err := g.Expect("w", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := w.Float32s()
	if v[5] != 6 {
		t.Errorf("w = %v", v)
	}
	s, err := g.Expect("s")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Float32s(); len(v) != 1 || v[0] != 9 {
		t.Errorf("scalar = %v", v)
	}
}

func TestGGUFErrors(t *testing.T) {
	base := func() *ggufBuilder {
		b := newGGUFBuilder()
		b.addKV("general.architecture", TypeString, "llama")
		return b
	}
	cases := []struct {
		name string
		data func() []byte
		want string
	}{
		{"magic", func() []byte { d := base().bytes(); d[0] = 'X'; return d }, "bad magic"},
		{"v1", func() []byte { b := base(); b.version = 1; return b.bytes() }, "version 1 is not supported"},
		{"big-endian", func() []byte { b := base(); b.version = 0x03000000; return b.bytes() }, "big-endian"},
		{"empty", func() []byte { return nil }, "unexpected end"},
		{"huge kv count", func() []byte {
			d := base().bytes()
			binary.LittleEndian.PutUint64(d[16:], 1<<40)
			return d
		}, "cannot fit"},
		{"huge array", func() []byte {
			b := base()
			b.addKV("a", TypeArray, uint32(TypeUint32), uint64(1)<<50)
			return b.bytes()
		}, "cannot fit"},
		{"huge string", func() []byte {
			b := base()
			b.addKV("a", TypeString, uint64(1)<<40)
			return b.bytes()
		}, "string of 1099511627776 bytes"},
		{"unknown value type", func() []byte { b := base(); b.addKV("a", ValueType(77), uint32(0)); return b.bytes() }, "unknown metadata value type"},
		{"duplicate key", func() []byte { b := base(); b.addKV("general.architecture", TypeString, "x"); return b.bytes() }, "duplicate metadata key"},
		{"alignment not a power of two", func() []byte { b := base(); b.addKV("general.alignment", TypeUint32, uint32(24)); return b.bytes() }, "power of two"},
		{"alignment wrong type", func() []byte { b := base(); b.addKV("general.alignment", TypeString, "32"); return b.bytes() }, "power of two"},
		{"misaligned tensor", func() []byte {
			b := base()
			b.addTensorAt("w", 0, []uint64{4}, 4)
			b.data.Write(make([]byte, 64))
			return b.bytes()
		}, "not aligned"},
		{"past the end", func() []byte {
			b := base()
			b.addTensorAt("w", 0, []uint64{1000}, 0)
			return b.bytes()
		}, "past the end"},
		{"row not whole blocks", func() []byte {
			b := base()
			b.addTensor("q", 8, []uint64{16, 2}, make([]byte, 64))
			return b.bytes()
		}, "not a multiple of the Q8_0 block size"},
		{"too many dims", func() []byte {
			b := base()
			b.addTensorAt("w", 0, make([]uint64, 9), 0)
			return b.bytes()
		}, "dimensions"},
		{"duplicate tensor", func() []byte {
			b := base()
			b.addTensor("w", 0, []uint64{1}, f32Bytes(1))
			b.addTensor("w", 0, []uint64{1}, f32Bytes(2))
			return b.bytes()
		}, "appears twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readGGUFBytes(c.data())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestGGUFUnknownTensorType(t *testing.T) {
	b := newGGUFBuilder()
	b.addKV("general.architecture", TypeString, "llama")
	b.addTensor("mystery", 99, []uint64{32}, make([]byte, 32))
	b.addTensor("iq", 16, []uint64{256}, make([]byte, 66)) // IQ2_XXS
	g, err := readGGUFBytes(b.bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mystery", "iq"} {
		tn, _ := g.Tensor(name)
		_, err := tn.Float32s()
		var ue *UnsupportedTypeError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), string(tn.DType)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if tn, _ := g.Tensor("mystery"); tn.DType != "GGML_TYPE_99" || tn.Size != -1 {
		t.Errorf("mystery = %+v", tn)
	}
	if tn, _ := g.Tensor("iq"); tn.Size != 66 {
		t.Errorf("iq size %d", tn.Size)
	}
}

// Every truncation of a valid file fails cleanly (no panic) unless it only
// drops trailing padding. Cuts inside the header are all tried; cuts inside
// the tensor data are sampled.
func TestGGUFTruncations(t *testing.T) {
	for _, name := range []string{"small_v2.gguf", "quants.gguf"} {
		data, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		full, err := readGGUFBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		var end int64
		for _, tn := range full.Tensors() {
			end = max(end, tn.Offset+tn.Size)
		}
		for n := 0; n < len(data); n++ {
			if int64(n) > full.DataOffset+64 && n%61 != 0 {
				continue // inside tensor data only a sample: each try parses the whole header
			}
			_, err := readGGUFBytes(data[:n])
			if (err == nil) != (int64(n) >= end) {
				t.Fatalf("%s cut to %d bytes (data ends at %d): err = %v", name, n, end, err)
			}
		}
	}
}

func TestGGUFClose(t *testing.T) {
	g, err := OpenGGUF(filepath.Join(goldenDir, "small_v2.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := g.Tensor("odd.f32")
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.Float32s(); !errors.Is(err, ErrClosed) {
		t.Errorf("read after Close: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestUnpermuteQK(t *testing.T) {
	// One head of 4 rows, 1 column: GGUF row 2j+i holds HF row i*2+j.
	got, err := UnpermuteQK([]float32{10, 11, 12, 13}, 4, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{10, 12, 11, 13}; !equalF32(got, want) {
		t.Errorf("UnpermuteQK = %v, want %v", got, want)
	}
	// Two heads of 6 rows, 2 columns: round trip and the documented mapping.
	const heads, d, cols = 2, 6, 2
	w := make([]float32, heads*d*cols)
	for i := range w {
		w[i] = float32(i)
	}
	un, err := UnpermuteQK(w, heads*d, cols, heads)
	if err != nil {
		t.Fatal(err)
	}
	for h := range heads {
		for i := range 2 {
			for j := range d / 2 {
				hf, gg := h*d+i*(d/2)+j, h*d+2*j+i
				for c := range cols {
					if un[hf*cols+c] != w[gg*cols+c] {
						t.Fatalf("row %d col %d = %v, want gguf row %d", hf, c, un[hf*cols+c], gg)
					}
				}
			}
		}
	}
	back, _ := PermuteQK(un, heads*d, cols, heads)
	if !equalF32(back, w) {
		t.Error("PermuteQK is not the inverse of UnpermuteQK")
	}
	for _, bad := range [][4]int{{12, 2, 5, 0}, {12, 2, 8, 24}, {10, 2, 2, 20}, {0, 1, 1, 0}} {
		if _, err := UnpermuteQK(make([]float32, bad[3]), bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("UnpermuteQK(rows %d cols %d heads %d, len %d): no error", bad[0], bad[1], bad[2], bad[3])
		}
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func FuzzReadGGUF(f *testing.F) {
	for _, name := range []string{"small_v2.gguf", "quants.gguf"} {
		if data, err := os.ReadFile(filepath.Join(goldenDir, name)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := readGGUFBytes(data)
		if err != nil {
			return
		}
		_, _ = g.Config()
		_ = g.TokenizerConfig()
		for _, tn := range g.Tensors() {
			if tn.NumElements() < 1<<20 {
				_, _ = tn.Float32s()
			}
		}
	})
}
