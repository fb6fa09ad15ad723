package tokenizer

import (
	"fmt"
	"sort"
)

// spec is everything a Tokenizer is built from, whatever the source
// (tokenizer.json or GGUF metadata).
type spec struct {
	vocab    map[string]int
	merges   [][2]string
	unkToken string
	bpeOpts  bpeOptions

	norm  normalizer
	steps []preStep
	added []*AddedToken

	prefixIDs, suffixIDs []int
	byteDecoder          bool

	bos, eos, pad int
	chatTemplate  string
}

func build(sp *spec) (*Tokenizer, error) {
	model, err := newBPE(sp.vocab, sp.merges, sp.unkToken, sp.bpeOpts)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		model:        model,
		norm:         sp.norm,
		steps:        sp.steps,
		added:        make(map[string]*AddedToken, len(sp.added)),
		addedByID:    make(map[int]*AddedToken, len(sp.added)),
		prefixIDs:    sp.prefixIDs,
		suffixIDs:    sp.suffixIDs,
		byteDecoder:  sp.byteDecoder,
		bos:          sp.bos,
		eos:          sp.eos,
		pad:          sp.pad,
		unk:          model.unkID,
		chatTemplate: sp.chatTemplate,
	}
	// ByteLevel as the last pre-tokenizer: the model maps bytes itself.
	for k, st := range t.steps {
		if bl, ok := st.(*byteLevelStep); ok {
			bl.mapBytes = k != len(t.steps)-1
			t.rawBytes = k == len(t.steps)-1
		}
	}

	size := len(model.idToTok)
	var rawAdded, normAdded []*AddedToken
	for _, a := range sp.added {
		if a.ID < 0 {
			return nil, fmt.Errorf("tokenizer: added token %q has negative id %d", a.Content, a.ID)
		}
		if a.Content == "" {
			continue
		}
		size = max(size, a.ID+1)
		t.added[a.Content] = a
		t.addedByID[a.ID] = a
		if a.Normalized {
			// Match the token's normalized form in normalized text.
			c := *a
			if t.norm != nil {
				c.Content = t.norm(a.Content)
			}
			normAdded = append(normAdded, &c)
		} else {
			rawAdded = append(rawAdded, a)
		}
	}
	byID := func(l []*AddedToken) {
		sort.Slice(l, func(i, j int) bool { return l[i].ID < l[j].ID })
	}
	byID(rawAdded)
	byID(normAdded)
	t.rawAdded = newAddedMatcher(rawAdded)
	t.normAdded = newAddedMatcher(normAdded)

	t.tokens = make([]string, size)
	t.present = make([]bool, size)
	t.special = make([]bool, size)
	t.decodeBytes = make([][]byte, size)
	for id, tok := range model.idToTok {
		if tok != "" {
			t.tokens[id], t.present[id] = tok, true
		}
	}
	for id, a := range t.addedByID {
		tok := a.Content
		if a.Normalized && t.norm != nil {
			tok = t.norm(a.Content)
		}
		t.tokens[id], t.present[id], t.special[id] = tok, true, a.Special
	}
	if t.byteDecoder {
		for id, tok := range t.tokens {
			if t.present[id] {
				t.decodeBytes[id] = byteLevelDecodeToken(tok)
			}
		}
	}
	for _, id := range []*int{&t.bos, &t.eos, &t.pad} {
		if *id >= size {
			*id = -1
		}
	}
	return t, nil
}
