package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FromFile loads a Hugging Face tokenizer.json. When a tokenizer_config.json
// sits beside it, its bos/eos/pad tokens and chat template are read too.
func FromFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := FromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if cfg, err := os.ReadFile(cfgPath); err == nil {
		if err := t.applyConfig(cfg); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", cfgPath, err)
		}
	}
	return t, nil
}

// FromJSON builds a tokenizer from the contents of a tokenizer.json.
//
// Supported: model BPE (vocab; merges as "a b" strings or [a, b] arrays;
// unk_token, fuse_unk, byte_fallback, ignore_merges,
// continuing_subword_prefix, end_of_word_suffix; dropout must be off);
// normalizer null, NFC, NFD, NFKC, NFKD, Lowercase or a Sequence of them;
// pre_tokenizer null, Split (Regex or String pattern, every behavior,
// invert), ByteLevel, Digits, or a Sequence of them; post_processor
// null, ByteLevel, TemplateProcessing (single sequences), Roberta/Bert
// processing, or a Sequence; decoder null or ByteLevel.
func FromJSON(data []byte) (*Tokenizer, error) {
	var f struct {
		AddedTokens []struct {
			ID         int    `json:"id"`
			Content    string `json:"content"`
			SingleWord bool   `json:"single_word"`
			LStrip     bool   `json:"lstrip"`
			RStrip     bool   `json:"rstrip"`
			Normalized bool   `json:"normalized"`
			Special    bool   `json:"special"`
		} `json:"added_tokens"`
		Normalizer    json.RawMessage `json:"normalizer"`
		PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
		PostProcessor json.RawMessage `json:"post_processor"`
		Decoder       json.RawMessage `json:"decoder"`
		Model         struct {
			Type                    string            `json:"type"`
			Dropout                 *float64          `json:"dropout"`
			UnkToken                *string           `json:"unk_token"`
			ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
			EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
			FuseUnk                 bool              `json:"fuse_unk"`
			ByteFallback            bool              `json:"byte_fallback"`
			IgnoreMerges            bool              `json:"ignore_merges"`
			Vocab                   map[string]int    `json:"vocab"`
			Merges                  []json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parsing tokenizer.json: %w", err)
	}
	m := f.Model
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (only BPE)", m.Type)
	}
	if m.Vocab == nil {
		return nil, errors.New("model has no vocab")
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, errors.New("BPE dropout is not supported")
	}
	sp := &spec{
		vocab: m.Vocab,
		bpeOpts: bpeOptions{
			fuseUnk:      m.FuseUnk,
			byteFallback: m.ByteFallback,
			ignoreMerges: m.IgnoreMerges,
			cacheSize:    DefaultCacheSize,
		},
		bos: -1, eos: -1, pad: -1,
	}
	if m.UnkToken != nil {
		sp.unkToken = *m.UnkToken
	}
	if m.ContinuingSubwordPrefix != nil {
		sp.bpeOpts.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		sp.bpeOpts.suffix = *m.EndOfWordSuffix
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	sp.merges = merges
	for _, a := range f.AddedTokens {
		sp.added = append(sp.added, &AddedToken{
			ID: a.ID, Content: a.Content, Special: a.Special, SingleWord: a.SingleWord,
			LStrip: a.LStrip, RStrip: a.RStrip, Normalized: a.Normalized,
		})
	}
	if sp.norm, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if sp.steps, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if sp.prefixIDs, sp.suffixIDs, err = parsePostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	if sp.byteDecoder, err = parseDecoder(f.Decoder); err != nil {
		return nil, err
	}
	// Without tokenizer_config.json, a template's lone leading/trailing
	// special token is the best guess for BOS/EOS.
	if len(sp.prefixIDs) == 1 {
		sp.bos = sp.prefixIDs[0]
	}
	if len(sp.suffixIDs) == 1 {
		sp.eos = sp.suffixIDs[0]
	}
	return build(sp)
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func parseMerges(raw []json.RawMessage) ([][2]string, error) {
	out := make([][2]string, 0, len(raw))
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '[' {
			var pair []string
			if err := json.Unmarshal(r, &pair); err != nil || len(pair) != 2 {
				return nil, fmt.Errorf("merge %d: want [a, b], got %s", i, r)
			}
			out = append(out, [2]string{pair[0], pair[1]})
			continue
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, fmt.Errorf("merge %d: %w", i, err)
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, fmt.Errorf("merge %d: want \"a b\", got %q", i, s)
		}
		out = append(out, [2]string{a, b})
	}
	return out, nil
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if c.Type != "Sequence" {
		return normalizerFor(c.Type)
	}
	var seq []normalizer
	for _, r := range c.Normalizers {
		n, err := parseNormalizer(r)
		if err != nil {
			return nil, err
		}
		if n != nil {
			seq = append(seq, n)
		}
	}
	switch len(seq) {
	case 0:
		return nil, nil
	case 1:
		return seq[0], nil
	}
	return func(s string) string {
		for _, n := range seq {
			s = n(s)
		}
		return s
	}, nil
}

func parsePreTokenizer(raw json.RawMessage) ([]preStep, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c struct {
		Type           string            `json:"type"`
		PreTokenizers  []json.RawMessage `json:"pretokenizers"`
		AddPrefixSpace bool              `json:"add_prefix_space"`
		UseRegex       *bool             `json:"use_regex"`
		Individual     bool              `json:"individual_digits"`
		Behavior       string            `json:"behavior"`
		Invert         bool              `json:"invert"`
		Pattern        struct {
			Regex  *string `json:"Regex"`
			String *string `json:"String"`
		} `json:"pattern"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch c.Type {
	case "Sequence":
		var steps []preStep
		for _, r := range c.PreTokenizers {
			s, err := parsePreTokenizer(r)
			if err != nil {
				return nil, err
			}
			steps = append(steps, s...)
		}
		return steps, nil
	case "ByteLevel":
		useRegex := c.UseRegex == nil || *c.UseRegex // HF's default is true
		return []preStep{&byteLevelStep{addPrefixSpace: c.AddPrefixSpace, useRegex: useRegex}}, nil
	case "Digits":
		return []preStep{digitsStep{individual: c.Individual}}, nil
	case "Split":
		b, err := parseBehavior(c.Behavior)
		if err != nil {
			return nil, err
		}
		var m matcher
		switch {
		case c.Pattern.Regex != nil:
			if m, err = newMatcher(*c.Pattern.Regex); err != nil {
				return nil, err
			}
		case c.Pattern.String != nil:
			m = literalMatcher{lit: *c.Pattern.String}
		default:
			return nil, errors.New("pre_tokenizer Split without a Regex or String pattern")
		}
		return []preStep{&splitStep{m: m, behavior: b, invert: c.Invert}}, nil
	}
	return nil, fmt.Errorf("pre_tokenizer %q is not supported", c.Type)
}

func parsePostProcessor(raw json.RawMessage) (prefix, suffix []int, err error) {
	if isNull(raw) {
		return nil, nil, nil
	}
	var c struct {
		Type       string            `json:"type"`
		Processors []json.RawMessage `json:"processors"`
		Single     []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int `json:"ids"`
		} `json:"special_tokens"`
		Cls []json.RawMessage `json:"cls"`
		Sep []json.RawMessage `json:"sep"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	switch c.Type {
	case "ByteLevel":
		return nil, nil, nil
	case "Sequence":
		for _, r := range c.Processors {
			p, s, err := parsePostProcessor(r)
			if err != nil {
				return nil, nil, err
			}
			// Each processor wraps what the previous ones produced.
			prefix = append(p, prefix...)
			suffix = append(suffix, s...)
		}
		return prefix, suffix, nil
	case "TemplateProcessing":
		seen := false
		for _, item := range c.Single {
			switch {
			case item.Sequence != nil:
				if seen {
					return nil, nil, errors.New("TemplateProcessing: single template repeats the sequence")
				}
				seen = true
			case item.SpecialToken != nil:
				st, ok := c.SpecialTokens[item.SpecialToken.ID]
				if !ok {
					return nil, nil, fmt.Errorf("TemplateProcessing: unknown special token %q", item.SpecialToken.ID)
				}
				if seen {
					suffix = append(suffix, st.IDs...)
				} else {
					prefix = append(prefix, st.IDs...)
				}
			}
		}
		return prefix, suffix, nil
	case "RobertaProcessing", "BertProcessing":
		id := func(pair []json.RawMessage) (int, error) {
			var v int
			if len(pair) != 2 {
				return 0, fmt.Errorf("%s: want [token, id]", c.Type)
			}
			return v, json.Unmarshal(pair[1], &v)
		}
		cls, err := id(c.Cls)
		if err != nil {
			return nil, nil, err
		}
		sep, err := id(c.Sep)
		if err != nil {
			return nil, nil, err
		}
		return []int{cls}, []int{sep}, nil
	}
	return nil, nil, fmt.Errorf("post_processor %q is not supported", c.Type)
}

func parseDecoder(raw json.RawMessage) (byteLevel bool, err error) {
	if isNull(raw) {
		return false, nil
	}
	var c struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, fmt.Errorf("decoder: %w", err)
	}
	switch c.Type {
	case "ByteLevel":
		return true, nil
	case "Sequence":
		if len(c.Decoders) == 1 {
			return parseDecoder(c.Decoders[0])
		}
	}
	return false, fmt.Errorf("decoder %q is not supported (only ByteLevel)", c.Type)
}

// applyConfig reads bos/eos/pad and the chat template from a
// tokenizer_config.json.
func (t *Tokenizer) applyConfig(data []byte) error {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(data, &cfg); err != nil {
		return err
	}
	tokenOf := func(key string) (int, bool) {
		raw, ok := cfg[key]
		if !ok || isNull(raw) {
			return -1, false
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var obj struct {
				Content string `json:"content"`
			}
			if json.Unmarshal(raw, &obj) != nil {
				return -1, false
			}
			s = obj.Content
		}
		return t.TokenID(s)
	}
	if id, ok := tokenOf("bos_token"); ok {
		t.bos = id
	}
	if id, ok := tokenOf("eos_token"); ok {
		t.eos = id
	}
	if id, ok := tokenOf("pad_token"); ok {
		t.pad = id
	}
	if raw, ok := cfg["chat_template"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			t.chatTemplate = s
		} else {
			var named []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
			}
			if json.Unmarshal(raw, &named) == nil {
				for _, n := range named {
					if n.Name == "default" || t.chatTemplate == "" {
						t.chatTemplate = n.Template
					}
				}
			}
		}
	}
	return nil
}
