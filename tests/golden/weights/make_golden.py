#!/usr/bin/env python3
"""Writes the golden fixtures for goray's raylib/infer/weights package.

Run it from anywhere, inside a throwaway virtual environment with exactly the
pinned packages below (the fixtures depend on numpy's random generator and on
the gguf package's quantisers, so other versions may produce other bytes):

    python3.11 -m venv .venv-golden
    .venv-golden/bin/pip install numpy==2.4.6 safetensors==0.8.0 gguf==0.19.0
    .venv-golden/bin/python tests/golden/weights/make_golden.py

Everything is written next to this script:

    single.safetensors          F32/F16/BF16/I64/I32/U8 tensors (+ a scalar) and __metadata__
    hf_tiny/                    a tiny Llama model folder: config.json,
                                generation_config.json, tokenizer_config.json,
                                tokenizer.json (stub), two BF16 safetensors shards
                                and model.safetensors.index.json
    quants.gguf                 GGUF v3, alignment 32: metadata of every value type,
                                F32/F16/BF16/F64/I32 tensors, Q8_0/Q4_0/Q4_1/Q5_0/Q5_1
                                quantised by gguf.quants.quantize, K-quant tensors
                                (Q2_K..Q6_K, Q8_K) from random but valid block bytes,
                                an IQ2_XXS tensor (unsupported by goray on purpose),
                                and llama.cpp-permuted copies of hf_tiny's layer 0 Q/K
    small_v2.gguf               GGUF v2 (same layout as v3, version field 2),
                                general.alignment 64, qwen2.* metadata
    expected/*.f32              expected values as raw little-endian float32, one
                                blob per fixture; manifest.json gives offsets
    manifest.json               what the Go tests check (tensors, shapes, offsets,
                                expected metadata with value types)

Expected values: F32 tensors are the stored bits; F16 is numpy's astype(float32);
BF16 is bits << 16; quantised GGUF tensors are gguf.quants.dequantize() of the
bytes read back with gguf.GGUFReader, except Q8_K, which the gguf package cannot
dequantise: its expectation is computed here with numpy (d * q in float32).
"""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import numpy as np

import gguf
import safetensors
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT
from safetensors import TensorSpec, serialize_file

PINNED = {"numpy": "2.4.6", "safetensors": "0.8.0", "gguf": "0.19.0"}

OUT = Path(__file__).resolve().parent


def check_versions() -> None:
    from importlib.metadata import version

    bad = {k: version(k) for k in PINNED if version(k) != PINNED[k]}
    if bad:
        sys.exit(f"make_golden.py: wrong package versions {bad}; want {PINNED}")


# --------------------------------------------------------------------------
# helpers


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even, NaN kept quiet."""
    n = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (n & 0x7FFFFFFF) > 0x7F800000
    r = (n + 0x7FFF + ((n >> 16) & 1)) >> 16
    r = np.where(nan, (n >> 16) | 0x40, r)
    return r.astype(np.uint16)


def bf16_bits_to_f32(b: np.ndarray) -> np.ndarray:
    return (b.astype(np.uint32) << 16).view(np.float32)


class Blob:
    """Concatenates expected float32 arrays; remembers offsets for the manifest."""

    def __init__(self, name: str):
        self.name = name
        self.parts: list[np.ndarray] = []
        self.n = 0

    def add(self, arr: np.ndarray) -> dict:
        a = np.ascontiguousarray(arr, dtype=np.float32).ravel()
        entry = {"expected_offset": self.n, "count": int(a.size)}
        self.parts.append(a)
        self.n += a.size
        return entry

    def write(self) -> str:
        rel = f"expected/{self.name}.f32"
        p = OUT / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
        p.write_bytes(data.astype("<f4").tobytes())
        return rel


def save_safetensors(path: Path, tensors: dict[str, tuple[str, tuple[int, ...], np.ndarray]],
                     metadata: dict[str, str] | None) -> None:
    """tensors: name -> (safetensors dtype name for TensorSpec, shape, raw array)."""
    keep = []
    specs = {}
    for name, (dtype, shape, arr) in tensors.items():
        a = np.ascontiguousarray(arr)
        keep.append(a)
        specs[name] = TensorSpec(dtype=dtype, shape=tuple(shape), data_ptr=a.ctypes.data, data_len=a.nbytes)
    serialize_file(specs, str(path), metadata=metadata)
    os.chmod(path, 0o644)


# --------------------------------------------------------------------------
# 1. single.safetensors


def make_single(manifest: dict) -> None:
    rng = np.random.default_rng(1)
    blob = Blob("single")
    entries = []
    tensors = {}

    def add(name, st_dtype, goray_dtype, shape, raw, expected):
        tensors[name] = (st_dtype, shape, raw)
        e = {"name": name, "dtype": goray_dtype, "shape": list(shape)}
        e.update(blob.add(expected))
        entries.append(e)

    special = np.array([0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, 1e-45, -1e-45,
                        np.finfo(np.float32).max, np.finfo(np.float32).tiny, np.pi, -np.e,
                        1e-38, 123456.789], dtype=np.float32).reshape(3, 5)
    add("f32.special", "float32", "F32", (3, 5), special, special)
    m = rng.standard_normal((4, 8)).astype(np.float32)
    add("f32.matrix", "float32", "F32", (4, 8), m, m)
    add("f32.scalar", "float32", "F32", (), np.array(2.5, np.float32), np.array([2.5], np.float32))

    h = rng.standard_normal(24).astype(np.float16)
    h[:9] = np.array([0.0, -0.0, 65504.0, -65504.0, np.inf, -np.inf, np.nan, 2.0 ** -24, -(2.0 ** -20)],
                     dtype=np.float16)
    h = h.reshape(4, 6)
    add("f16.values", "float16", "F16", (4, 6), h, h.astype(np.float32))

    b = rng.standard_normal(16).astype(np.float32) * 100
    b[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40]
    bb = f32_to_bf16_bits(b).reshape(2, 8)
    add("bf16.values", "bfloat16", "BF16", (2, 8), bb, bf16_bits_to_f32(bb))

    i64 = np.array([0, -1, 7, 1 << 40, -(1 << 33)], dtype=np.int64)
    add("i64.ids", "int64", "I64", (5,), i64, i64.astype(np.float32))
    i32 = np.array([[1, -2, 3], [2147483647, -2147483648, 0]], dtype=np.int32)
    add("i32.ids", "int32", "I32", (2, 3), i32, i32.astype(np.float32))
    u8 = np.array([0, 1, 2, 127, 128, 254, 255], dtype=np.uint8)
    add("u8.bytes", "uint8", "U8", (7,), u8, u8.astype(np.float32))

    meta = {"format": "np", "producer": "goray make_golden.py"}
    save_safetensors(OUT / "single.safetensors", tensors, meta)
    manifest["single"] = {"file": "single.safetensors", "metadata": meta,
                          "expected": blob.write(), "tensors": entries}


# --------------------------------------------------------------------------
# 2. hf_tiny/: a tiny sharded Llama folder

TINY = dict(hidden=32, heads=4, kv_heads=2, inter=48, layers=2, vocab=64)


def llama_cpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """What llama.cpp's convert_hf_to_gguf.py does to Llama q_proj/k_proj rows."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def make_hf_tiny(manifest: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    d = OUT / "hf_tiny"
    d.mkdir(parents=True, exist_ok=True)
    H, nh, nkv, I, L, V = (TINY[k] for k in ("hidden", "heads", "kv_heads", "inter", "layers", "vocab"))
    hd = H // nh

    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (V, H)}
    for i in range(L):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (H,)
        shapes[p + "self_attn.q_proj.weight"] = (nh * hd, H)
        shapes[p + "self_attn.k_proj.weight"] = (nkv * hd, H)
        shapes[p + "self_attn.v_proj.weight"] = (nkv * hd, H)
        shapes[p + "self_attn.o_proj.weight"] = (H, nh * hd)
        shapes[p + "post_attention_layernorm.weight"] = (H,)
        shapes[p + "mlp.gate_proj.weight"] = (I, H)
        shapes[p + "mlp.up_proj.weight"] = (I, H)
        shapes[p + "mlp.down_proj.weight"] = (H, I)
    shapes["model.norm.weight"] = (H,)
    shapes["lm_head.weight"] = (V, H)

    values: dict[str, np.ndarray] = {}
    bits: dict[str, np.ndarray] = {}
    for name, shp in shapes.items():
        x = (rng.standard_normal(shp) * 0.1).astype(np.float32)
        if name.endswith("norm.weight"):
            x = (1.0 + x).astype(np.float32)
        bits[name] = f32_to_bf16_bits(x).reshape(shp)
        values[name] = bf16_bits_to_f32(bits[name]).reshape(shp)

    shard_of = {}
    for name in shapes:
        first = name.startswith("model.embed_tokens") or name.startswith("model.layers.0.")
        shard_of[name] = "model-00001-of-00002.safetensors" if first else "model-00002-of-00002.safetensors"
    total = 0
    for shard in sorted(set(shard_of.values())):
        ts = {n: ("bfloat16", shapes[n], bits[n]) for n in shapes if shard_of[n] == shard}
        total += sum(b.nbytes for (_, _, b) in ts.values())
        save_safetensors(d / shard, ts, {"format": "pt"})
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(shard_of.items()))}, indent=2) + "\n")

    config = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": [2, 3],
        "head_dim": hd,
        "hidden_act": "silu",
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": I,
        "max_position_embeddings": 256,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": nh,
        "num_hidden_layers": L,
        "num_key_value_heads": nkv,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 128, "rope_type": "llama3"},
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.45.0",
        "use_cache": True,
        "vocab_size": V,
    }
    (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    gen = {"bos_token_id": 1, "do_sample": True, "eos_token_id": [2, 3], "temperature": 0.6,
           "top_k": 40, "top_p": 0.9, "repetition_penalty": 1.1, "max_new_tokens": 64,
           "transformers_version": "4.45.0"}
    (d / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
    tok = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False},
        "pad_token": None,
        "chat_template": "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}",
        "model_max_length": 256,
        "tokenizer_class": "LlamaTokenizer",
    }
    (d / "tokenizer_config.json").write_text(json.dumps(tok, indent=2) + "\n")
    (d / "tokenizer.json").write_text(json.dumps(
        {"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}}) + "\n")

    blob = Blob("hf_tiny")
    entries = []
    for name in sorted(shapes):
        e = {"name": name, "dtype": "BF16", "shape": list(shapes[name]), "shard": shard_of[name]}
        e.update(blob.add(values[name]))
        entries.append(e)
    manifest["hf_tiny"] = {"dir": "hf_tiny", "expected": blob.write(), "tensors": entries,
                           "config": config, "generation_config": gen, "tokenizer_config": tok,
                           "total_size": total}
    return values


# --------------------------------------------------------------------------
# 3. GGUF files

# (key, value type, value, element type for arrays, inner element type for nested arrays)
def every_type_metadata() -> list[tuple]:
    return [
        ("goray.u8", VT.UINT8, 200, None),
        ("goray.i8", VT.INT8, -100, None),
        ("goray.u16", VT.UINT16, 65000, None),
        ("goray.i16", VT.INT16, -32000, None),
        ("goray.u32", VT.UINT32, 4000000000, None),
        ("goray.i32", VT.INT32, -2000000000, None),
        ("goray.f32", VT.FLOAT32, 0.1, None),
        ("goray.bool_true", VT.BOOL, True, None),
        ("goray.bool_false", VT.BOOL, False, None),
        ("goray.string", VT.STRING, "héllo, wörld ✓ 🦙", None),
        ("goray.empty_string", VT.STRING, "", None),
        ("goray.u64", VT.UINT64, (1 << 63) + 5, None),
        ("goray.i64", VT.INT64, -(1 << 62) - 3, None),
        ("goray.f64", VT.FLOAT64, 2.718281828459045, None),
        ("goray.arr.u8", VT.ARRAY, [0, 1, 255], VT.UINT8),
        ("goray.arr.i8", VT.ARRAY, [-128, 0, 127], VT.INT8),
        ("goray.arr.u16", VT.ARRAY, [0, 65535], VT.UINT16),
        ("goray.arr.i16", VT.ARRAY, [-32768, 32767], VT.INT16),
        ("goray.arr.u32", VT.ARRAY, [1, 4294967295], VT.UINT32),
        ("goray.arr.i32", VT.ARRAY, [-5, 6, -7], VT.INT32),
        ("goray.arr.f32", VT.ARRAY, [1.5, -0.25, 3.0e-3], VT.FLOAT32),
        ("goray.arr.bool", VT.ARRAY, [True, False, True], VT.BOOL),
        ("goray.arr.str", VT.ARRAY, ["a", "", "ünï", "<|im_end|>"], VT.STRING),
        ("goray.arr.u64", VT.ARRAY, [0, (1 << 64) - 1], VT.UINT64),
        ("goray.arr.i64", VT.ARRAY, [-(1 << 63), (1 << 63) - 1], VT.INT64),
        ("goray.arr.f64", VT.ARRAY, [0.1, -1e300], VT.FLOAT64),
        ("goray.arr.nested", VT.ARRAY, [[1, 2, 3], [4]], VT.ARRAY),  # inner arrays are INT32
    ]


def json_value(vt, value, sub):
    """Manifest form of a metadata value: float32 values as the exact double of the float32."""
    if vt == VT.FLOAT32:
        return float(np.float32(value))
    if vt == VT.ARRAY:
        if sub == VT.FLOAT32:
            return [float(np.float32(v)) for v in value]
        return value
    return value


def tiny_tokens() -> list[str]:
    toks = ["<unk>", "<s>", "</s>", "<|eot|>"]
    toks += [f"tok{i}" for i in range(4, 60)]
    toks += ["Ġthe", "ĠÃ©", "✓", "🦙"]
    return toks


def gguf_expected(path: Path, blob: Blob, wanted: dict[str, str]) -> list[dict]:
    """Read the file back with gguf's reader and record dequantised expectations."""
    r = gguf.GGUFReader(str(path))
    entries = []
    for t in r.tensors:
        qt = QT(int(t.tensor_type))
        shape = [int(x) for x in reversed(t.shape.tolist())]  # row-major (numpy) order
        e = {"name": t.name, "dtype": qt.name, "shape": shape, "ggml_type": int(qt),
             "data_offset": int(t.data_offset), "n_bytes": int(t.n_bytes)}
        assert wanted[t.name] == qt.name, (t.name, qt.name)
        raw = np.asarray(t.data)
        if qt == QT.IQ2_XXS:
            e["unsupported"] = True
        elif qt == QT.Q8_K:
            blocks = raw.view(np.uint8).reshape(-1, 292)
            dd = blocks[:, :4].copy().view(np.float32)
            qs = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
            e.update(blob.add((dd * qs).reshape(-1)))
            e["reference"] = "numpy (gguf has no Q8_K dequantiser)"
        elif qt in (QT.F32, QT.F16, QT.F64, QT.I32):
            e.update(blob.add(raw.astype(np.float32)))
        else:
            e.update(blob.add(gguf.quants.dequantize(raw.view(np.uint8), qt)))
        entries.append(e)
    return entries


def random_kquant_blocks(rng, qt: QT, n_blocks: int) -> np.ndarray:
    """Random but valid block bytes: random quants/scales, finite f16 super-block scales."""
    _, size = gguf.GGML_QUANT_SIZES[qt]
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)

    def f16(col: int, scale: float):
        v = (rng.standard_normal(n_blocks) * scale).astype(np.float16)
        b[:, col:col + 2] = v.view(np.uint8).reshape(n_blocks, 2)

    if qt == QT.Q2_K:   # scales[16] qs[64] d dmin
        f16(80, 0.01); f16(82, 0.01)
    elif qt == QT.Q3_K:  # hmask[32] qs[64] scales[12] d
        f16(108, 0.01)
    elif qt in (QT.Q4_K, QT.Q5_K):  # d dmin scales[12] ...
        f16(0, 0.01); f16(2, 0.01)
    elif qt == QT.Q6_K:  # ql[128] qh[64] scales[16] d
        f16(208, 0.01)
    elif qt == QT.Q8_K:  # d(f32) qs[256] bsums[16]
        d = (rng.standard_normal(n_blocks) * 0.01).astype(np.float32)
        b[:, 0:4] = d.view(np.uint8).reshape(n_blocks, 4)
        qs = b[:, 4:260].view(np.int8).astype(np.int16).reshape(n_blocks, 16, 16)
        b[:, 260:292] = qs.sum(axis=-1).astype("<i2").view(np.uint8).reshape(n_blocks, 32)
    return b


def make_quants_gguf(manifest: dict, hf: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    path = OUT / "quants.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    meta_entries = [{"key": "general.architecture", "type": "STRING", "value": "llama"}]
    for key, vt, value, sub in every_type_metadata():
        w.add_key_value(key, value, vt, sub_type=sub)
        e = {"key": key, "type": vt.name, "value": json_value(vt, value, sub)}
        if sub is not None:
            e["elem"] = sub.name
            if sub == VT.ARRAY:
                e["inner"] = "INT32"
        meta_entries.append(e)

    H, nh, nkv, I, L, V = (TINY[k] for k in ("hidden", "heads", "kv_heads", "inter", "layers", "vocab"))
    llama = [
        ("general.name", VT.STRING, "goray tiny llama"),
        ("llama.context_length", VT.UINT32, 256),
        ("llama.embedding_length", VT.UINT32, H),
        ("llama.feed_forward_length", VT.UINT32, I),
        ("llama.block_count", VT.UINT32, L),
        ("llama.attention.head_count", VT.UINT32, nh),
        ("llama.attention.head_count_kv", VT.UINT32, nkv),
        ("llama.rope.freq_base", VT.FLOAT32, 500000.0),
        ("llama.attention.layer_norm_rms_epsilon", VT.FLOAT32, 1e-5),
        ("llama.rope.dimension_count", VT.UINT32, H // nh),
        ("llama.vocab_size", VT.UINT32, V),
        ("llama.rope.scaling.type", VT.STRING, "linear"),
        ("llama.rope.scaling.factor", VT.FLOAT32, 2.0),
        ("tokenizer.ggml.model", VT.STRING, "llama"),
        ("tokenizer.ggml.bos_token_id", VT.UINT32, 1),
        ("tokenizer.ggml.eos_token_id", VT.UINT32, 2),
        ("tokenizer.chat_template", VT.STRING, "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"),
    ]
    for key, vt, value in llama:
        w.add_key_value(key, value, vt)
        meta_entries.append({"key": key, "type": vt.name, "value": json_value(vt, value, None)})
    toks = tiny_tokens()
    w.add_key_value("tokenizer.ggml.tokens", toks, VT.ARRAY, sub_type=VT.STRING)
    meta_entries.append({"key": "tokenizer.ggml.tokens", "type": "ARRAY", "elem": "STRING", "value": toks})

    wanted: dict[str, str] = {}

    def add(name, arr, raw_dtype=None, kind=None):
        w.add_tensor(name, arr, raw_dtype=raw_dtype)
        wanted[name] = kind

    base = lambda shape: (rng.standard_normal(shape) * 0.5).astype(np.float32)
    f = base((4, 64)); f[0, :4] = [0.0, -0.0, 1e-45, 3.0e38]
    add("plain.f32", f, kind="F32")
    add("plain.f16", base((4, 64)).astype(np.float16), kind="F16")
    add("plain.bf16", gguf.quants.quantize(base((4, 64)), QT.BF16), QT.BF16, "BF16")
    add("plain.f64", rng.standard_normal(3), kind="F64")
    add("plain.i32", np.array([1, -2, 300000], dtype=np.int32), kind="I32")
    for qt, shape in [(QT.Q8_0, (2, 3, 64)), (QT.Q4_0, (6, 64)), (QT.Q4_1, (6, 64)),
                      (QT.Q5_0, (6, 64)), (QT.Q5_1, (6, 64))]:
        x = base(shape)
        x.reshape(-1)[::37] *= 8.0  # a few outliers per block
        add(f"quant.{qt.name.lower()}", gguf.quants.quantize(x, qt), qt, qt.name)
    for qt, rows in [(QT.Q2_K, 3), (QT.Q3_K, 3), (QT.Q4_K, 3), (QT.Q5_K, 3), (QT.Q6_K, 3), (QT.Q8_K, 2)]:
        blocks = random_kquant_blocks(rng, qt, rows)  # one 256-element block per row
        add(f"kquant.{qt.name.lower()}", blocks.reshape(rows, -1), qt, qt.name)
    add("unsupported.iq2_xxs", rng.integers(0, 256, size=(1, 66), dtype=np.uint8), QT.IQ2_XXS, "IQ2_XXS")

    # llama.cpp layout of hf_tiny's layer-0 attention: F32, rows permuted for its RoPE
    q = hf["model.layers.0.self_attn.q_proj.weight"]
    k = hf["model.layers.0.self_attn.k_proj.weight"]
    add("blk.0.attn_q.weight", llama_cpp_permute(q, nh), kind="F32")
    add("blk.0.attn_k.weight", llama_cpp_permute(k, nkv), kind="F32")
    add("output.weight", gguf.quants.quantize(hf["lm_head.weight"], QT.Q8_0), QT.Q8_0, "Q8_0")

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    blob = Blob("quants")
    entries = gguf_expected(path, blob, wanted)
    manifest["quants"] = {"file": "quants.gguf", "version": 3, "alignment": 32,
                          "expected": blob.write(), "metadata": meta_entries, "tensors": entries,
                          "permuted": {"blk.0.attn_q.weight": ["model.layers.0.self_attn.q_proj.weight", nh],
                                       "blk.0.attn_k.weight": ["model.layers.0.self_attn.k_proj.weight", nkv]}}


def make_small_v2(manifest: dict) -> None:
    rng = np.random.default_rng(4)
    path = OUT / "small_v2.gguf"
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_custom_alignment(64)
    meta = [("general.architecture", VT.STRING, "qwen2"), ("general.alignment", VT.UINT32, 64)]
    qwen = [
        ("qwen2.context_length", VT.UINT32, 32768),
        ("qwen2.embedding_length", VT.UINT32, 896),
        ("qwen2.feed_forward_length", VT.UINT32, 4864),
        ("qwen2.block_count", VT.UINT32, 24),
        ("qwen2.attention.head_count", VT.UINT32, 14),
        ("qwen2.attention.head_count_kv", VT.UINT32, 2),
        ("qwen2.rope.freq_base", VT.FLOAT32, 1000000.0),
        ("qwen2.attention.layer_norm_rms_epsilon", VT.FLOAT32, 1e-6),
        ("tokenizer.ggml.bos_token_id", VT.UINT32, 151643),
        ("tokenizer.ggml.eos_token_id", VT.UINT32, 151645),
    ]
    for key, vt, value in qwen:
        w.add_key_value(key, value, vt)
    meta += qwen
    toks = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b", "c", "Ġd", "é"]
    w.add_key_value("tokenizer.ggml.tokens", toks, VT.ARRAY, sub_type=VT.STRING)
    wanted = {}
    a = rng.standard_normal((3, 5)).astype(np.float32)  # 60 bytes: forces padding to 64
    w.add_tensor("odd.f32", a); wanted["odd.f32"] = "F32"
    w.add_tensor("odd.f16", rng.standard_normal(7).astype(np.float16)); wanted["odd.f16"] = "F16"
    w.add_tensor("blk.0.attn_q.bias", gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32), QT.Q8_0),
                 raw_dtype=QT.Q8_0); wanted["blk.0.attn_q.bias"] = "Q8_0"
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # GGUF v2 and v3 share the little-endian layout; only the version field differs.
    raw = bytearray(path.read_bytes())
    assert raw[:4] == b"GGUF" and struct.unpack("<I", raw[4:8])[0] == 3
    raw[4:8] = struct.pack("<I", 2)
    path.write_bytes(bytes(raw))

    blob = Blob("small_v2")
    entries = gguf_expected(path, blob, wanted)
    manifest["small_v2"] = {"file": "small_v2.gguf", "version": 2, "alignment": 64,
                            "expected": blob.write(),
                            "metadata": [{"key": k, "type": vt.name, "value": json_value(vt, v, None)}
                                         for k, vt, v in meta]
                            + [{"key": "tokenizer.ggml.tokens", "type": "ARRAY", "elem": "STRING", "value": toks}],
                            "tensors": entries}


def main() -> None:
    check_versions()
    manifest: dict = {"generator": "tests/golden/weights/make_golden.py", "versions": PINNED}
    make_single(manifest)
    hf = make_hf_tiny(manifest)
    make_quants_gguf(manifest, hf)
    make_small_v2(manifest)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote fixtures into {OUT} ({total} bytes in all, including this script)")


if __name__ == "__main__":
    main()
