package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// goldenDir holds the fixtures written by tests/golden/weights/make_golden.py.
var goldenDir = filepath.Join("..", "..", "..", "tests", "golden", "weights")

type goldenTensor struct {
	Name           string `json:"name"`
	DType          string `json:"dtype"`
	Shape          []int  `json:"shape"`
	ExpectedOffset int    `json:"expected_offset"`
	Count          int    `json:"count"`
	Shard          string `json:"shard"`
	DataOffset     int64  `json:"data_offset"`
	NBytes         int64  `json:"n_bytes"`
	Unsupported    bool   `json:"unsupported"`
}

type goldenMeta struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Elem  string          `json:"elem"`
	Inner string          `json:"inner"`
	Value json.RawMessage `json:"value"`
}

type goldenGGUF struct {
	File      string                     `json:"file"`
	Version   uint32                     `json:"version"`
	Alignment int64                      `json:"alignment"`
	Expected  string                     `json:"expected"`
	Metadata  []goldenMeta               `json:"metadata"`
	Tensors   []goldenTensor             `json:"tensors"`
	Permuted  map[string]json.RawMessage `json:"permuted"`
}

type goldenManifest struct {
	Single struct {
		File     string            `json:"file"`
		Metadata map[string]string `json:"metadata"`
		Expected string            `json:"expected"`
		Tensors  []goldenTensor    `json:"tensors"`
	} `json:"single"`
	HFTiny struct {
		Dir       string          `json:"dir"`
		Expected  string          `json:"expected"`
		Tensors   []goldenTensor  `json:"tensors"`
		Config    json.RawMessage `json:"config"`
		TotalSize int64           `json:"total_size"`
	} `json:"hf_tiny"`
	Quants  goldenGGUF `json:"quants"`
	SmallV2 goldenGGUF `json:"small_v2"`
}

func loadManifest(t *testing.T) *goldenManifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, "manifest.json"))
	if err != nil {
		t.Fatalf("golden fixtures missing (regenerate with tests/golden/weights/make_golden.py): %v", err)
	}
	var m goldenManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func loadExpected(t *testing.T, rel string) []float32 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

// sameBits compares float32 slices bit for bit (so NaN == NaN, -0 != 0).
func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v (%#08x), want %v (%#08x)", name, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", name, bad, len(got))
	}
}

func checkTensors(t *testing.T, src Source, tensors []goldenTensor, expected []float32) {
	t.Helper()
	var names []string
	for _, gt := range tensors {
		names = append(names, gt.Name)
		tn, err := src.Expect(gt.Name, gt.Shape...)
		if err != nil {
			t.Errorf("Expect(%q, %v): %v", gt.Name, gt.Shape, err)
			continue
		}
		if string(tn.DType) != gt.DType {
			t.Errorf("%s: dtype %s, want %s", gt.Name, tn.DType, gt.DType)
		}
		if gt.Unsupported {
			_, err := tn.Float32s()
			var ue *UnsupportedTypeError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), gt.Name) || !strings.Contains(err.Error(), gt.DType) {
				t.Errorf("%s: Float32s error = %v, want an UnsupportedTypeError naming the tensor and %s", gt.Name, err, gt.DType)
			}
			continue
		}
		got, err := tn.Float32s()
		if err != nil {
			t.Errorf("%s: %v", gt.Name, err)
			continue
		}
		sameBits(t, gt.Name, got, expected[gt.ExpectedOffset:gt.ExpectedOffset+gt.Count])
	}
	slices.Sort(names)
	if !slices.Equal(src.Names(), names) {
		t.Errorf("Names() = %v, want %v", src.Names(), names)
	}
}

func TestGoldenSafetensorsSingle(t *testing.T) {
	m := loadManifest(t)
	path := filepath.Join(goldenDir, m.Single.File)
	st, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !reflect.DeepEqual(st.Metadata, m.Single.Metadata) {
		t.Errorf("Metadata = %v, want %v", st.Metadata, m.Single.Metadata)
	}
	checkTensors(t, st, m.Single.Tensors, loadExpected(t, m.Single.Expected))

	// The same through ReadAt on an in-memory copy (the non-mmap path).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := ReadSafetensors("mem", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	checkTensors(t, st2, m.Single.Tensors, loadExpected(t, m.Single.Expected))
}

func TestGoldenShardedDir(t *testing.T) {
	m := loadManifest(t)
	dir := filepath.Join(goldenDir, m.HFTiny.Dir)
	if err := CheckFiles(dir); err != nil {
		t.Fatalf("CheckFiles: %v", err)
	}
	st, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(st.Files) != 2 || st.Index == nil {
		t.Fatalf("Files = %v, Index = %v; want two shards and an index", st.Files, st.Index)
	}
	if got := st.Index.Metadata["total_size"]; got != float64(m.HFTiny.TotalSize) {
		t.Errorf("index total_size = %v, want %d", got, m.HFTiny.TotalSize)
	}
	if st.Metadata["format"] != "pt" {
		t.Errorf("Metadata = %v", st.Metadata)
	}
	expected := loadExpected(t, m.HFTiny.Expected)
	checkTensors(t, st, m.HFTiny.Tensors, expected)
	for _, gt := range m.HFTiny.Tensors {
		tn, _ := st.Tensor(gt.Name)
		if filepath.Base(tn.File) != gt.Shard {
			t.Errorf("%s is in %s, want %s", gt.Name, tn.File, gt.Shard)
		}
	}

	// Concurrent reads of every tensor (run with -race).
	var wg sync.WaitGroup
	for range 4 {
		for _, gt := range m.HFTiny.Tensors {
			wg.Go(func() {
				tn, err := st.Tensor(gt.Name)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := tn.Float32s()
				if err != nil {
					t.Error(err)
					return
				}
				want := expected[gt.ExpectedOffset : gt.ExpectedOffset+gt.Count]
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Errorf("%s differs under concurrent reads", gt.Name)
						return
					}
				}
			})
		}
	}
	wg.Wait()

	// Errors name the tensor and what was wanted.
	_, err = st.Expect("model.layers.0.self_attn.q_proj.weight", 32, 16)
	var se *ShapeMismatchError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "q_proj") || !strings.Contains(err.Error(), "[32 16]") || !strings.Contains(err.Error(), "[32 32]") {
		t.Errorf("shape mismatch error = %v", err)
	}
	if _, err := st.Expect("model.layers.0.self_attn.q_proj.weight", -1, 32); err != nil {
		t.Errorf("wildcard Expect: %v", err)
	}
	_, err = st.Expect("model.layers.0.self_attn.q_prj.weight", 32, 32)
	var me *MissingTensorError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), `"model.layers.0.self_attn.q_prj.weight"`) ||
		!slices.Contains(me.Similar, "model.layers.0.self_attn.q_proj.weight") {
		t.Errorf("missing tensor error = %v", err)
	}
}

func TestGoldenHFModel(t *testing.T) {
	m := loadManifest(t)
	dir := filepath.Join(goldenDir, m.HFTiny.Dir)
	hm, err := OpenHFModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	c := hm.Config
	one := 1
	want := &ModelConfig{
		Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama",
		HiddenSize: 32, IntermediateSize: 48, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		HeadDim: 8, RMSNormEps: 1e-5, RopeTheta: 500000, MaxPositionEmbeddings: 256, VocabSize: 64,
		BOSTokenID: &one, EOSTokenIDs: TokenIDs{2, 3}, TorchDType: "bfloat16", HiddenAct: "silu",
		RopeScaling: c.RopeScaling,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("config = %+v\nwant     %+v", c, want)
	}
	rs := c.RopeScaling
	if rs == nil || rs.Type != "llama3" || rs.Factor != 8 || rs.LowFreqFactor != 1 || rs.HighFreqFactor != 4 || rs.OriginalMaxPositionEmbeddings != 128 {
		t.Errorf("rope_scaling = %+v", rs)
	}
	g := hm.Generation
	if g == nil || !slices.Equal(g.EOSTokenIDs, TokenIDs{2, 3}) || *g.Temperature != 0.6 || *g.TopP != 0.9 ||
		*g.TopK != 40 || *g.RepetitionPenalty != 1.1 || !*g.DoSample || *g.BOSTokenID != 1 || *g.MaxNewTokens != 64 || g.MinP != nil {
		t.Errorf("generation config = %+v", g)
	}
	tc := hm.Tokenizer
	if tc == nil || tc.BOSToken != "<s>" || tc.EOSToken != "</s>" || tc.PadToken != "" || !*tc.AddBOSToken ||
		!strings.HasPrefix(tc.ChatTemplate, "{% for m in messages %}") || tc.TokenizerClass != "LlamaTokenizer" {
		t.Errorf("tokenizer config = %+v", tc)
	}
	if !slices.Equal(hm.EOSTokenIDs(), TokenIDs{2, 3}) {
		t.Errorf("EOSTokenIDs = %v", hm.EOSTokenIDs())
	}
	// Every weight has the shape the config implies.
	hd := c.HeadDim
	checks := map[string][]int{
		"model.embed_tokens.weight": {c.VocabSize, c.HiddenSize},
		"lm_head.weight":            {c.VocabSize, c.HiddenSize},
		"model.norm.weight":         {c.HiddenSize},
	}
	for i := range c.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", i)
		checks[p+"self_attn.q_proj.weight"] = []int{c.NumAttentionHeads * hd, c.HiddenSize}
		checks[p+"self_attn.k_proj.weight"] = []int{c.NumKeyValueHeads * hd, c.HiddenSize}
		checks[p+"self_attn.v_proj.weight"] = []int{c.NumKeyValueHeads * hd, c.HiddenSize}
		checks[p+"self_attn.o_proj.weight"] = []int{c.HiddenSize, c.NumAttentionHeads * hd}
		checks[p+"mlp.gate_proj.weight"] = []int{c.IntermediateSize, c.HiddenSize}
		checks[p+"mlp.up_proj.weight"] = []int{c.IntermediateSize, c.HiddenSize}
		checks[p+"mlp.down_proj.weight"] = []int{c.HiddenSize, c.IntermediateSize}
	}
	for name, shape := range checks {
		if _, err := hm.Weights.Expect(name, shape...); err != nil {
			t.Error(err)
		}
	}
}

// expectValue turns a manifest metadata entry into the Go value OpenGGUF
// should produce.
func expectValue(t *testing.T, typ, elem, inner string, raw json.RawMessage) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return convertJSON(t, typ, elem, inner, v)
}

func convertJSON(t *testing.T, typ, elem, inner string, v any) any {
	t.Helper()
	num := func() json.Number { return v.(json.Number) }
	i64 := func() int64 {
		n, err := num().Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	u64 := func() uint64 {
		var u uint64
		if _, err := fmt.Sscan(num().String(), &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	f64 := func() float64 {
		f, err := num().Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	switch typ {
	case "UINT8":
		return uint8(i64())
	case "INT8":
		return int8(i64())
	case "UINT16":
		return uint16(i64())
	case "INT16":
		return int16(i64())
	case "UINT32":
		return uint32(i64())
	case "INT32":
		return int32(i64())
	case "UINT64":
		return u64()
	case "INT64":
		return i64()
	case "FLOAT32":
		return float32(f64())
	case "FLOAT64":
		return f64()
	case "BOOL":
		return v.(bool)
	case "STRING":
		return v.(string)
	case "ARRAY":
		items := v.([]any)
		if elem == "ARRAY" {
			out := make([]any, len(items))
			for i, it := range items {
				out[i] = convertJSON(t, "ARRAY", inner, "", it)
			}
			return out
		}
		// Build a typed slice of the element type via reflection.
		sample := convertJSON(t, elem, "", "", zeroJSON(elem))
		out := reflect.MakeSlice(reflect.SliceOf(reflect.TypeOf(sample)), len(items), len(items))
		for i, it := range items {
			out.Index(i).Set(reflect.ValueOf(convertJSON(t, elem, "", "", it)))
		}
		return out.Interface()
	}
	t.Fatalf("unknown manifest type %s", typ)
	return nil
}

func zeroJSON(typ string) any {
	switch typ {
	case "BOOL":
		return false
	case "STRING":
		return ""
	}
	return json.Number("0")
}

func checkGGUF(t *testing.T, gm goldenGGUF) *GGUF {
	t.Helper()
	g, err := OpenGGUF(filepath.Join(goldenDir, gm.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if g.Version != gm.Version || g.Alignment != gm.Alignment {
		t.Errorf("version %d alignment %d, want %d and %d", g.Version, g.Alignment, gm.Version, gm.Alignment)
	}
	var keys []string
	for _, e := range gm.Metadata {
		keys = append(keys, e.Key)
		want := expectValue(t, e.Type, e.Elem, e.Inner, e.Value)
		got, ok := g.Metadata[e.Key]
		if !ok {
			t.Errorf("metadata %q missing", e.Key)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("metadata %q = %#v, want %#v", e.Key, got, want)
		}
		vt, et, _ := g.ValueType(e.Key)
		if vt.String() != e.Type || (e.Elem != "" && et.String() != e.Elem) {
			t.Errorf("metadata %q has type %s/%s, want %s/%s", e.Key, vt, et, e.Type, e.Elem)
		}
	}
	if !slices.Equal(g.Keys(), keys) {
		t.Errorf("Keys() = %v, want %v", g.Keys(), keys)
	}
	for _, gt := range gm.Tensors {
		tn, err := g.Tensor(gt.Name)
		if err != nil {
			t.Error(err)
			continue
		}
		if tn.Offset != gt.DataOffset || tn.Size != gt.NBytes {
			t.Errorf("%s: offset %d size %d, want %d and %d", gt.Name, tn.Offset, tn.Size, gt.DataOffset, gt.NBytes)
		}
		if tn.Offset%g.Alignment != 0 || tn.Offset < g.DataOffset {
			t.Errorf("%s: offset %d not aligned to %d past %d", gt.Name, tn.Offset, g.Alignment, g.DataOffset)
		}
	}
	checkTensors(t, g, gm.Tensors, loadExpected(t, gm.Expected))
	return g
}

func TestGoldenGGUFQuants(t *testing.T) {
	m := loadManifest(t)
	g := checkGGUF(t, m.Quants)

	// Typed getters.
	if v, err := g.Uint32("llama.block_count"); err != nil || v != 2 {
		t.Errorf("Uint32(llama.block_count) = %v, %v", v, err)
	}
	if v, err := g.Strings("tokenizer.ggml.tokens"); err != nil || len(v) != 64 || v[63] != "🦙" {
		t.Errorf("Strings(tokenizer.ggml.tokens) = %v, %v", v, err)
	}
	if v, err := g.Uint64("goray.u64"); err != nil || v != 1<<63+5 {
		t.Errorf("Uint64(goray.u64) = %v, %v", v, err)
	}
	if v, err := g.Int64("goray.i64"); err != nil || v != -(1<<62)-3 {
		t.Errorf("Int64 = %v, %v", v, err)
	}
	if v, err := g.Int("goray.i8"); err != nil || v != -100 {
		t.Errorf("Int(goray.i8) = %v, %v", v, err)
	}
	if v, err := g.Float32("goray.f32"); err != nil || v != 0.1 {
		t.Errorf("Float32 = %v, %v", v, err)
	}
	if v, err := g.Float64("goray.f64"); err != nil || v != 2.718281828459045 {
		t.Errorf("Float64 = %v, %v", v, err)
	}
	if v, err := g.Bool("goray.bool_true"); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if v, err := g.String("goray.string"); err != nil || v != "héllo, wörld ✓ 🦙" {
		t.Errorf("String = %v, %v", v, err)
	}
	if v, err := g.Ints("goray.arr.i16"); err != nil || !slices.Equal(v, []int{-32768, 32767}) {
		t.Errorf("Ints = %v, %v", v, err)
	}
	if v, err := g.Float32s("goray.arr.f64"); err != nil || len(v) != 2 || v[0] != float32(0.1) {
		t.Errorf("Float32s = %v, %v", v, err)
	}
	var me *MetadataError
	if _, err := g.Uint32("goray.i8"); !errors.As(err, &me) || me.Missing {
		t.Errorf("Uint32 of a negative int8: %v", err)
	}
	if _, err := g.Uint32("goray.u64"); !errors.As(err, &me) {
		t.Errorf("Uint32 of a huge uint64: %v", err)
	}
	if _, err := g.Uint32("no.such.key"); !errors.As(err, &me) || !me.Missing || !strings.Contains(err.Error(), "no.such.key") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := g.Strings("goray.string"); err == nil {
		t.Error("Strings of a string: no error")
	}

	// Config from llama.* keys matches hf_tiny's config.json.
	c, err := g.Config()
	if err != nil {
		t.Fatal(err)
	}
	hf, err := LoadConfig(filepath.Join(goldenDir, m.HFTiny.Dir))
	if err != nil {
		t.Fatal(err)
	}
	type dims struct {
		Arch                              []string
		H, I, L, NH, NKV, HD, Ctx, V, BOS int
		Eps, Theta                        float64
		Tie                               bool
	}
	get := func(c *ModelConfig) dims {
		return dims{c.Architectures, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads,
			c.NumKeyValueHeads, c.HeadDim, c.MaxPositionEmbeddings, c.VocabSize, *c.BOSTokenID, c.RMSNormEps, c.RopeTheta, c.TieWordEmbeddings}
	}
	if !reflect.DeepEqual(get(c), get(hf)) {
		t.Errorf("GGUF config %+v\n != config.json %+v", get(c), get(hf))
	}
	if !slices.Equal(c.EOSTokenIDs, TokenIDs{2}) || c.RopeScaling == nil || c.RopeScaling.Type != "linear" || c.RopeScaling.Factor != 2 {
		t.Errorf("eos %v rope scaling %+v", c.EOSTokenIDs, c.RopeScaling)
	}
	tc := g.TokenizerConfig()
	if tc.BOSToken != "<s>" || tc.EOSToken != "</s>" || !strings.HasPrefix(tc.ChatTemplate, "{{ bos_token }}") {
		t.Errorf("GGUF tokenizer config = %+v", tc)
	}

	// llama.cpp-permuted Q/K: UnpermuteQK gives back the HF rows exactly.
	if p, known := QKPermuted(g.Architecture()); !p || !known {
		t.Errorf("QKPermuted(llama) = %v, %v", p, known)
	}
	hfw, err := OpenDir(filepath.Join(goldenDir, m.HFTiny.Dir))
	if err != nil {
		t.Fatal(err)
	}
	defer hfw.Close()
	for ggName, raw := range m.Quants.Permuted {
		var pair []any
		if err := json.Unmarshal(raw, &pair); err != nil {
			t.Fatal(err)
		}
		hfName, heads := pair[0].(string), int(pair[1].(float64))
		gt, _ := g.Tensor(ggName)
		ht, _ := hfw.Tensor(hfName)
		gw, err := gt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		hwant, err := ht.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		rows, cols := gt.Shape[0], gt.Shape[1]
		un, err := UnpermuteQK(gw, rows, cols, heads)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "unpermuted "+ggName, un, hwant)
		re, err := PermuteQK(hwant, rows, cols, heads)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, "permuted "+hfName, re, gw)
	}
}

func TestGoldenGGUFv2Qwen2(t *testing.T) {
	m := loadManifest(t)
	g := checkGGUF(t, m.SmallV2)
	c, err := g.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelType != "qwen2" || !slices.Equal(c.Architectures, []string{"Qwen2ForCausalLM"}) || c.HiddenSize != 896 ||
		c.IntermediateSize != 4864 || c.NumHiddenLayers != 24 || c.NumAttentionHeads != 14 || c.NumKeyValueHeads != 2 ||
		c.HeadDim != 64 || c.RopeTheta != 1e6 || c.RMSNormEps != 1e-6 || c.MaxPositionEmbeddings != 32768 ||
		c.VocabSize != 8 || !c.TieWordEmbeddings || !c.HasQKVBias() || *c.BOSTokenID != 151643 ||
		!slices.Equal(c.EOSTokenIDs, TokenIDs{151645}) || c.RopeScaling != nil {
		t.Errorf("qwen2 config = %+v", c)
	}
	if p, known := QKPermuted("qwen2"); p || !known {
		t.Errorf("QKPermuted(qwen2) = %v, %v", p, known)
	}
}
