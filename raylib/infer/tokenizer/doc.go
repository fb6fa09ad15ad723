// Package tokenizer is a byte-level BPE tokenizer that gives the same ids
// as Hugging Face `tokenizers` for Llama/Qwen2-family chat models
// (SmolLM2-135M-Instruct, Qwen2.5-0.5B-Instruct, Llama 3).
//
//	tok, err := tokenizer.FromFile("tokenizer.json")   // Hugging Face (+ tokenizer_config.json beside it)
//	tok, err := tokenizer.FromGGUF(meta)               // GGUF metadata: map[string]any
//	tok, err := tokenizer.FromGGUFMetadata(reader)     // or anything with Lookup(key) (any, bool)
//	ids := tok.Encode("<|im_start|>user\nHi!<|im_end|>\n", false)
//	ids = tok.EncodeUntrusted(userText, false)         // "<|im_end|>" in userText stays text
//	text := tok.Decode(ids, true)                      // true: skip special tokens
//	d := tok.NewStreamDecoder(true)                    // d.Next(id) while generating, then d.Flush()
//	bos, eos, pad := tok.BOS(), tok.EOS(), tok.PAD()   // -1 when unknown
//
// Encoding follows the Hugging Face pipeline step by step:
//
//  1. added tokens (special ones such as <|im_start|> and plain ones such
//     as <tool_call>) are cut out of the raw text, leftmost-longest, with
//     their single_word/lstrip/rstrip/normalized flags;
//  2. the rest is normalized (none, NFC, ...);
//  3. the pre-tokenizer cuts it into words: Split with the model's regex
//     (Qwen2 and Llama 3 patterns, with the \s+(?!\S) lookahead), Digits,
//     ByteLevel (which maps every byte to a printable rune and may run
//     GPT-2's regex itself);
//  4. each word goes through BPE: symbols merged by merge rank, lowest
//     first, leftmost on ties, as Hugging Face's merge loop does; results
//     are cached per word (a bounded sync.Map shared by all goroutines);
//  5. with addSpecial, the post-processor's template adds BOS/EOS (Llama 3:
//     <|begin_of_text|>; Qwen2 and SmolLM2: nothing).
//
// The known regexes (PatternGPT2, PatternLlama3, PatternQwen2) run on
// hand-written scanners, about 35 times faster than a backtracking engine;
// any other pattern runs on github.com/dlclark/regexp2. Tests check the
// scanners against regexp2 (golden cases, 20,000 random strings and a fuzz
// target) and every id against goldens produced by `tokenizers` 0.23.3
// (tests/golden/tokenizer/make_golden.py).
//
// Decode concatenates the tokens' bytes and turns invalid UTF-8 into
// U+FFFD the way Rust's from_utf8_lossy does, so a partial multi-byte
// character decodes exactly as in Hugging Face.
//
// Not supported: models other than BPE (WordPiece, Unigram, and
// SentencePiece "llama" GGUF vocabularies), BPE dropout, the
// Metaspace/Replace/Strip/Prepend/ByteFallback components of
// SentencePiece-style BPE tokenizers, pair sequences, offsets, truncation
// and padding. GGUF files are read through tokenizer.ggml.pre, and only
// the pre-tokenizers listed in GGUFPreTokenizers are known.
package tokenizer
