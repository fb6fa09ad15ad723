#!/usr/bin/env python3
"""Regenerates the tiny random Llama/Qwen2 checkpoints and golden.json used by
raylib/infer/llm's parity tests.

Pinned environment. The PyPI torch wheel is the CUDA build and will not
import without its nvidia-* / cuda-toolkit dependencies (about 3 GB), even
on a machine without a GPU, so install it with them; it then runs on the
CPU:

    python3.11 -m venv .venv-golden
    .venv-golden/bin/pip install torch==2.15.0 transformers==5.23.0 \
        safetensors==0.8.0 numpy==2.4.6
    .venv-golden/bin/python tests/golden/llm/make_golden.py

The output is deterministic: rerunning it reproduces the files byte for byte.

It writes tests/golden/llm/tiny-qwen2/, tests/golden/llm/tiny-llama/ and
tests/golden/llm/golden.json. Everything is float32 and seeded.
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
import safetensors
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
PAD = 0
MAX_NEW = 32

# Fixed prompts of token ids; the batch of all three is left-padded with PAD.
PROMPTS = [
    [1, 17, 42, 99, 3, 250, 7, 8],
    [5, 6, 7],
    [200, 100, 50, 25, 12, 6, 3, 1, 0, 128, 64],
]

COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=256,
    max_position_embeddings=128,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=PAD,
    hidden_act="silu",
)

MODELS = {
    "tiny-qwen2": (Qwen2Config, Qwen2ForCausalLM, dict(tie_word_embeddings=True), 1234),
    "tiny-llama": (LlamaConfig, LlamaForCausalLM, dict(tie_word_embeddings=False, attention_bias=False), 5678),
}


def randomize(model, seed):
    """HF initialises norms to 1 and biases to 0; make every parameter random
    so that the parity test exercises all of them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith(".bias"):
                p.copy_(0.1 * r)
            else:
                p.copy_(0.15 * r)


def f32list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def left_pad(prompts):
    n = max(len(p) for p in prompts)
    ids = [[PAD] * (n - len(p)) + p for p in prompts]
    mask = [[0] * (n - len(p)) + [1] * len(p) for p in prompts]
    return torch.tensor(ids), torch.tensor(mask)


def positions(mask):
    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def golden_for(name, cfg_cls, model_cls, extra, seed):
    torch.manual_seed(seed)
    cfg = cfg_cls(**COMMON, **extra)
    cfg._attn_implementation = "eager"
    model = model_cls(cfg).eval()
    randomize(model, seed)
    out_dir = os.path.join(HERE, name)
    model.save_pretrained(out_dir, safe_serialization=True)

    res = {"model": name, "architecture": model_cls.__name__, "single": [], "batch": {}}
    with torch.no_grad():
        for p in PROMPTS:
            ids = torch.tensor([p])
            logits = model(input_ids=ids).logits[0]  # [T, V]
            gen = model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=MAX_NEW,
                min_new_tokens=MAX_NEW, do_sample=False, pad_token_id=PAD, eos_token_id=None)
            res["single"].append({
                "ids": p,
                "logits": f32list(logits),
                "greedy": gen[0, len(p):].tolist(),
            })
        ids, mask = left_pad(PROMPTS)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions(mask)).logits
        gen = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=MAX_NEW, min_new_tokens=MAX_NEW,
            do_sample=False, pad_token_id=PAD, eos_token_id=None)
        # Only the real (non-pad) positions are kept: row i's last len(p) positions.
        res["batch"] = {
            "logits": [f32list(logits[i, ids.shape[1] - len(p):]) for i, p in enumerate(PROMPTS)],
            "greedy": [gen[i, ids.shape[1]:].tolist() for i in range(len(PROMPTS))],
        }
    return res


def main():
    goldens = {
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": np.__version__,
        },
        "vocab": COMMON["vocab_size"],
        "max_new": MAX_NEW,
        "pad": PAD,
        "models": {},
    }
    for name, (cfg_cls, model_cls, extra, seed) in MODELS.items():
        goldens["models"][name] = golden_for(name, cfg_cls, model_cls, extra, seed)
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(goldens, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
