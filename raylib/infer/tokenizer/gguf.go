package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Metadata is read access to a GGUF file's key/value metadata, which is
// all FromGGUFMetadata needs; a GGUF reader can implement it directly or
// hand over a map through MetaMap.
//
// Values may be Go strings, bools, any integer or float type, and slices
// of them ([]string, []int32, []uint32, []any...), as a GGUF reader or
// encoding/json produces them.
type Metadata interface {
	Lookup(key string) (value any, ok bool)
}

// MetaMap is Metadata backed by a map from GGUF key to value.
type MetaMap map[string]any

// Lookup implements Metadata.
func (m MetaMap) Lookup(key string) (any, bool) {
	v, ok := m[key]
	return v, ok
}

// GGUF metadata keys read by FromGGUF.
const (
	KeyModel        = "tokenizer.ggml.model"
	KeyPre          = "tokenizer.ggml.pre"
	KeyTokens       = "tokenizer.ggml.tokens"
	KeyTokenType    = "tokenizer.ggml.token_type"
	KeyMerges       = "tokenizer.ggml.merges"
	KeyBOS          = "tokenizer.ggml.bos_token_id"
	KeyEOS          = "tokenizer.ggml.eos_token_id"
	KeyPAD          = "tokenizer.ggml.padding_token_id"
	KeyUNK          = "tokenizer.ggml.unknown_token_id"
	KeyAddBOS       = "tokenizer.ggml.add_bos_token"
	KeyAddEOS       = "tokenizer.ggml.add_eos_token"
	KeyChatTemplate = "tokenizer.chat_template"
)

// GGUF token types (tokenizer.ggml.token_type).
const (
	TokenTypeNormal      = 1
	TokenTypeUnknown     = 2
	TokenTypeControl     = 3
	TokenTypeUserDefined = 4
	TokenTypeUnused      = 5
	TokenTypeByte        = 6
)

// FromGGUF builds a tokenizer from GGUF metadata given as a map (see
// FromGGUFMetadata).
func FromGGUF(meta map[string]any) (*Tokenizer, error) {
	return FromGGUFMetadata(MetaMap(meta))
}

// FromGGUFMetadata builds a tokenizer from the tokenizer.* keys of a GGUF
// file, as llama.cpp does: tokenizer.ggml.model must be "gpt2" (byte-level
// BPE); tokenizer.ggml.pre picks the pre-tokenizer ("qwen2", "llama-bpe",
// "smollm", "gpt-2", ... see GGUFPreTokenizers); control tokens
// (token_type 3) become special added tokens and user-defined ones (4)
// plain added tokens. With addSpecial, Encode adds BOS/EOS when
// tokenizer.ggml.add_bos_token/add_eos_token say so (absent: false).
func FromGGUFMetadata(meta Metadata) (*Tokenizer, error) {
	get := func(k string) (any, bool) { return meta.Lookup(k) }
	model, _ := metaString(get, KeyModel)
	if model != "gpt2" {
		return nil, fmt.Errorf("tokenizer: GGUF %s %q is not supported (only \"gpt2\", byte-level BPE)", KeyModel, model)
	}
	pre, _ := metaString(get, KeyPre)
	steps, err := ggufPreSteps(pre)
	if err != nil {
		return nil, err
	}
	raw, ok := get(KeyTokens)
	if !ok {
		return nil, fmt.Errorf("tokenizer: GGUF metadata lacks %s", KeyTokens)
	}
	tokens, err := toStrings(raw)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", KeyTokens, err)
	}
	var types []int
	if raw, ok := get(KeyTokenType); ok {
		if types, err = toInts(raw); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", KeyTokenType, err)
		}
		if len(types) != len(tokens) {
			return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(types), len(tokens))
		}
	}
	raw, ok = get(KeyMerges)
	if !ok {
		return nil, fmt.Errorf("tokenizer: GGUF metadata lacks %s", KeyMerges)
	}
	mergeStrs, err := toStrings(raw)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", KeyMerges, err)
	}
	merges := make([][2]string, len(mergeStrs))
	for i, s := range mergeStrs {
		a, b, ok := strings.Cut(s, " ")
		if !ok {
			return nil, fmt.Errorf("tokenizer: merge %d %q has no space", i, s)
		}
		merges[i] = [2]string{a, b}
	}

	sp := &spec{
		vocab:       make(map[string]int, len(tokens)),
		merges:      merges,
		bpeOpts:     bpeOptions{cacheSize: DefaultCacheSize},
		steps:       steps,
		byteDecoder: true,
		bos:         metaInt(get, KeyBOS),
		eos:         metaInt(get, KeyEOS),
		pad:         metaInt(get, KeyPAD),
	}
	for id, tok := range tokens {
		if _, dup := sp.vocab[tok]; !dup {
			sp.vocab[tok] = id
		}
		if types == nil {
			continue
		}
		switch types[id] {
		case TokenTypeControl, TokenTypeUnknown:
			sp.added = append(sp.added, &AddedToken{ID: id, Content: tok, Special: true})
		case TokenTypeUserDefined:
			sp.added = append(sp.added, &AddedToken{ID: id, Content: tok})
		}
	}
	if metaBool(get, KeyAddBOS) && sp.bos >= 0 {
		sp.prefixIDs = []int{sp.bos}
	}
	if metaBool(get, KeyAddEOS) && sp.eos >= 0 {
		sp.suffixIDs = []int{sp.eos}
	}
	sp.chatTemplate, _ = metaString(get, KeyChatTemplate)
	t, err := build(sp)
	if err != nil {
		return nil, err
	}
	// The byte-level model never needs an unknown token; report llama.cpp's.
	if unk := metaInt(get, KeyUNK); unk < t.VocabSize() {
		t.unk = unk
	}
	return t, nil
}

// GGUFPreTokenizers maps the tokenizer.ggml.pre values FromGGUF knows to
// the pre-tokenizer they stand for.
var GGUFPreTokenizers = map[string]string{
	"gpt-2":            "ByteLevel(GPT-2 regex)",
	"smollm":           "Digits(individual) + ByteLevel(GPT-2 regex)",
	"starcoder":        "Digits(individual) + ByteLevel(GPT-2 regex)",
	"refact":           "Digits(individual) + ByteLevel(GPT-2 regex)",
	"llama-bpe":        "Split(Llama 3 regex) + ByteLevel",
	"llama3":           "Split(Llama 3 regex) + ByteLevel",
	"llama-v3":         "Split(Llama 3 regex) + ByteLevel",
	"smaug-bpe":        "Split(Llama 3 regex) + ByteLevel",
	"dbrx":             "Split(Llama 3 regex) + ByteLevel",
	"falcon3":          "Split(Llama 3 regex) + ByteLevel",
	"qwen2":            "Split(Qwen2 regex) + ByteLevel",
	"deepseek-r1-qwen": "Split(Qwen2 regex) + ByteLevel",
	"megrez":           "Split(Qwen2 regex) + ByteLevel",
}

func ggufPreSteps(pre string) ([]preStep, error) {
	gpt2 := &byteLevelStep{useRegex: true}
	switch pre {
	case "gpt-2":
		return []preStep{gpt2}, nil
	case "smollm", "starcoder", "refact":
		return []preStep{digitsStep{individual: true}, gpt2}, nil
	case "llama-bpe", "llama3", "llama-v3", "smaug-bpe", "dbrx", "falcon3":
		return []preStep{&splitStep{m: llamaScanner{maxDigits: 3}}, &byteLevelStep{}}, nil
	case "qwen2", "deepseek-r1-qwen", "megrez":
		return []preStep{&splitStep{m: llamaScanner{maxDigits: 1}}, &byteLevelStep{}}, nil
	}
	return nil, fmt.Errorf("tokenizer: GGUF %s %q is not supported", KeyPre, pre)
}

type lookupFunc func(string) (any, bool)

func metaString(get lookupFunc, k string) (string, bool) {
	v, ok := get(k)
	if !ok {
		return "", false
	}
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

func metaBool(get lookupFunc, k string) bool {
	v, ok := get(k)
	if !ok {
		return false
	}
	b, _ := v.(bool)
	return b
}

// metaInt returns the integer under k, or -1.
func metaInt(get lookupFunc, k string) int {
	v, ok := get(k)
	if !ok {
		return -1
	}
	n, ok := toInt(v)
	if !ok {
		return -1
	}
	return n
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	case float32:
		return int(n), float32(int(n)) == n
	case float64:
		return int(n), float64(int(n)) == n
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

func toInts(v any) ([]int, error) {
	conv := func(n int, at func(int) (int, bool)) ([]int, error) {
		out := make([]int, n)
		for i := range out {
			x, ok := at(i)
			if !ok {
				return nil, fmt.Errorf("element %d is not an integer", i)
			}
			out[i] = x
		}
		return out, nil
	}
	switch s := v.(type) {
	case []int:
		return s, nil
	case []int32:
		return conv(len(s), func(i int) (int, bool) { return int(s[i]), true })
	case []int64:
		return conv(len(s), func(i int) (int, bool) { return int(s[i]), true })
	case []uint32:
		return conv(len(s), func(i int) (int, bool) { return int(s[i]), true })
	case []uint8:
		return conv(len(s), func(i int) (int, bool) { return int(s[i]), true })
	case []int8:
		return conv(len(s), func(i int) (int, bool) { return int(s[i]), true })
	case []float64:
		return conv(len(s), func(i int) (int, bool) { return toInt(s[i]) })
	case []any:
		return conv(len(s), func(i int) (int, bool) { return toInt(s[i]) })
	}
	return nil, fmt.Errorf("want an integer array, got %T", v)
}

func toStrings(v any) ([]string, error) {
	switch s := v.(type) {
	case []string:
		return s, nil
	case [][]byte:
		out := make([]string, len(s))
		for i, b := range s {
			out[i] = string(b)
		}
		return out, nil
	case []any:
		out := make([]string, len(s))
		for i, x := range s {
			switch y := x.(type) {
			case string:
				out[i] = y
			case []byte:
				out[i] = string(y)
			default:
				return nil, fmt.Errorf("element %d is %T, not a string", i, x)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string array, got %T", v)
}
