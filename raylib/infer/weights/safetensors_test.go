package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildSafetensors writes a safetensors blob from a raw header string.
func buildSafetensors(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func readST(data []byte) (*Safetensors, error) {
	return ReadSafetensors("test.safetensors", bytes.NewReader(data), int64(len(data)))
}

func TestSafetensorsErrors(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"header too long", buildSafetensors(`{}`, nil)[:9], "exceeds the file size"},
		{"header over limit", func() []byte {
			b := make([]byte, 16)
			binary.LittleEndian.PutUint64(b, 200_000_000)
			return b
		}(), "limit"},
		{"not an object", buildSafetensors(`[1, 2]`, nil), "not a JSON object"},
		{"bad json", buildSafetensors(`{"a": `, nil), "header JSON"},
		{"metadata not strings", buildSafetensors(`{"__metadata__": {"a": 1}}`, nil), "__metadata__"},
		{"offsets count", buildSafetensors(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}`, make([]byte, 4)), "2 entries"},
		{"offsets outside", buildSafetensors(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}`, make([]byte, 4)), "outside"},
		{"size mismatch", buildSafetensors(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}`, make([]byte, 8)), "needs 8 bytes"},
		{"negative dim", buildSafetensors(`{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}`, make([]byte, 4)), "invalid dimension"},
		{"no dtype", buildSafetensors(`{"a": {"shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)), "no dtype"},
		{"overlap", buildSafetensors(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}`, make([]byte, 8)), "overlap"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readST(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestSafetensorsUnknownDTypeAndPadding(t *testing.T) {
	// A header padded with spaces (allowed by the format), an unknown dtype
	// (listed, readable as bytes, not convertible) and an F8 tensor.
	hdr := `{"x": {"dtype": "F8_E8M0", "shape": [2], "data_offsets": [0, 2]}, "e4": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [2, 6]}, "e5": {"dtype": "F8_E5M2", "shape": [1], "data_offsets": [6, 7]}, "empty": {"dtype": "F32", "shape": [0, 3], "data_offsets": [7, 7]}}      `
	st, err := readST(buildSafetensors(hdr, []byte{1, 2, 0x38, 0x7e, 0x01, 0xb8, 0x3c}))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := st.Tensor("x")
	if b, err := x.Bytes(); err != nil || !bytes.Equal(b, []byte{1, 2}) {
		t.Errorf("Bytes = %v, %v", b, err)
	}
	var ue *UnsupportedTypeError
	if _, err := x.Float32s(); !errors.As(err, &ue) || !strings.Contains(err.Error(), "F8_E8M0") {
		t.Errorf("Float32s of F8_E8M0: %v", err)
	}
	e4, _ := st.Tensor("e4")
	if v, err := e4.Float32s(); err != nil || !equalF32(v, []float32{1, 448, 1.0 / 512, -1}) {
		t.Errorf("F8_E4M3 = %v, %v", v, err)
	}
	e5, _ := st.Tensor("e5")
	if v, err := e5.Float32s(); err != nil || v[0] != 1 {
		t.Errorf("F8_E5M2 = %v, %v", v, err)
	}
	empty, _ := st.Expect("empty", 0, 3)
	if v, err := empty.Float32s(); err != nil || len(v) != 0 {
		t.Errorf("empty = %v, %v", v, err)
	}
	if len(st.Metadata) != 0 || st.Metadata == nil {
		t.Errorf("Metadata = %#v, want empty map", st.Metadata)
	}
}

func TestSafetensorsTruncations(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "single.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := readST(data[:n]); err == nil {
			t.Fatalf("cut to %d of %d bytes: no error", n, len(data))
		}
	}
}

func TestSafetensorsCloseAndBytes(t *testing.T) {
	st, err := OpenSafetensors(filepath.Join(goldenDir, "single.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := st.Tensor("u8.bytes")
	b, err := tn.Bytes()
	if err != nil || !bytes.Equal(b, []byte{0, 1, 2, 127, 128, 254, 255}) {
		t.Errorf("Bytes = %v, %v", b, err)
	}
	if err := tn.Float32sInto(make([]float32, 3)); err == nil {
		t.Error("Float32sInto with a short slice: no error")
	}
	st.Close()
	if _, err := tn.Bytes(); !errors.Is(err, ErrClosed) {
		t.Errorf("Bytes after Close: %v", err)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestOpenDirVariants(t *testing.T) {
	tiny := filepath.Join(goldenDir, "hf_tiny")

	t.Run("single model.safetensors", func(t *testing.T) {
		dir := t.TempDir()
		data, _ := os.ReadFile(filepath.Join(goldenDir, "single.safetensors"))
		os.WriteFile(filepath.Join(dir, SafetensorsFile), data, 0o644)
		st, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if st.Index != nil || len(st.Names()) != 8 {
			t.Errorf("Index %v, names %v", st.Index, st.Names())
		}
	})

	t.Run("nothing there", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), nil, 0o644)
		_, err := OpenDir(dir)
		if err == nil || !strings.Contains(err.Error(), SafetensorsIndexFile) || !strings.Contains(err.Error(), "adapter_model.safetensors") {
			t.Errorf("error = %v", err)
		}
		_, err = OpenDir(filepath.Join(dir, "nope"))
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("error = %v", err)
		}
	})

	t.Run("missing shard", func(t *testing.T) {
		dir := copyDir(t, tiny)
		os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		_, err := OpenDir(dir)
		if err == nil || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
			t.Errorf("error = %v", err)
		}
		err = CheckFiles(dir)
		var mf *MissingFilesError
		if !errors.As(err, &mf) || !strings.Contains(err.Error(), "1 of 2 shards") || !strings.Contains(err.Error(), "model-00002-of-00002.safetensors") {
			t.Errorf("CheckFiles = %v", err)
		}
	})

	t.Run("index points at the wrong shard", func(t *testing.T) {
		dir := copyDir(t, tiny)
		var ix SafetensorsIndex
		data, _ := os.ReadFile(filepath.Join(dir, SafetensorsIndexFile))
		json.Unmarshal(data, &ix)
		ix.WeightMap["model.norm.weight"] = "model-00001-of-00002.safetensors"
		data, _ = json.Marshal(ix)
		os.WriteFile(filepath.Join(dir, SafetensorsIndexFile), data, 0o644)
		_, err := OpenDir(dir)
		if err == nil || !strings.Contains(err.Error(), "model.norm.weight (in model-00001-of-00002.safetensors)") {
			t.Errorf("error = %v", err)
		}
	})

	t.Run("index with a path in a shard name", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, SafetensorsIndexFile), []byte(`{"weight_map": {"a": "../x.safetensors"}}`), 0o644)
		if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
			t.Errorf("error = %v", err)
		}
	})
}

func FuzzReadSafetensors(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(goldenDir, "single.safetensors")); err == nil {
		f.Add(data)
	}
	f.Add(buildSafetensors(`{"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := readST(data)
		if err != nil {
			return
		}
		for _, tn := range st.Tensors() {
			if tn.NumElements() < 1<<20 {
				_, _ = tn.Float32s()
			}
		}
	})
}
