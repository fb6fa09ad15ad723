#!/usr/bin/env python3
"""Regenerates tests/golden/sampling/golden.json, the reference for
raylib/infer/llm/sample_parity_test.go: what Hugging Face transformers'
model.generate() does to one step's logits with do_sample / temperature /
top_k / top_p / repetition_penalty (RepetitionPenaltyLogitsProcessor,
TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, in the order
GenerationMixin._get_logits_processor builds them).

Every case goes through model.generate() itself, not through hand-built
processors: a tiny random Qwen2 model of the case's vocabulary size gets a
forward hook that replaces its last-position logits with the case's logits,
the case's seen ids are the prompt (attention mask all ones), and
generate(max_new_tokens=1, output_logits=True, output_scores=True,
return_dict_in_generate=True) returns the processed scores. A second group of
cases is a real multi-step sampled run of tests/golden/llm/tiny-qwen2, where
the seen ids are the prompt plus the tokens sampled so far.

Parameters are float32-exact (our API takes float32), so transformers'
float32 arithmetic on them is the same as ours.

Pinned environment (the Makefile's golden-llm target installs it):

    .venv-golden/bin/pip install torch==2.15.0 transformers==5.23.0 numpy==2.4.6
    PYTHONHASHSEED=0 .venv-golden/bin/python tests/golden/sampling/make_golden.py

The output is deterministic: rerunning it reproduces golden.json byte for
byte.

Format: float arrays are JSON lists (null for -inf) when short, otherwise
"b64f32:" / "b64f64:" / "b64i32:" + base64 of little-endian values. Each
case stores the processed scores as the kept (finite) token ids, their
values (float32) and their probabilities (float64 softmax of the float32
processed scores; transformers samples from the float32 softmax, which is
checked here to agree within 1e-5).
"""
import base64
import json
import os
import sys
import warnings

import numpy as np
import torch
import transformers
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
LLM_DIR = os.path.join(HERE, "..", "llm")
INLINE = 64  # arrays up to this long are inline JSON lists
MAX_KEPT = 4096  # cases keeping more tokens store only some of them
TOP_STORED = 256


def f32(x):
    """x rounded to float32, as a Python float (exact)."""
    return float(np.float32(x))


def enc_f32(a):
    a = np.asarray(a, dtype=np.float32).reshape(-1)
    if a.size <= INLINE:
        return [None if np.isneginf(v) else float(v) for v in a]
    return "b64f32:" + base64.b64encode(a.astype("<f4").tobytes()).decode()


def enc_f64(a):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size <= INLINE:
        return [float(v) for v in a]
    return "b64f64:" + base64.b64encode(a.astype("<f8").tobytes()).decode()


def enc_i32(a):
    a = np.asarray(a, dtype=np.int64).reshape(-1)
    if a.size <= INLINE:
        return [int(v) for v in a]
    return "b64i32:" + base64.b64encode(a.astype("<i4").tobytes()).decode()


# ---------------------------------------------------------------- settings
#
# Each setting is (name, hf kwargs for generate, our GenerateOptions). Our
# TopK 0 and TopP 0 mean "off"; transformers' generate defaults top_k to 50
# when neither the call nor the model's generation_config sets it, so the
# "hf_default_top_k" setting (no top_k passed) is TopK 50 on our side.


def setting(name, go, hf=None, greedy=False):
    t, k, p, r = go
    go = {"temperature": f32(t), "top_k": k, "top_p": f32(p), "repetition_penalty": f32(r)}
    if hf is None:
        hf = {"do_sample": not greedy, "repetition_penalty": f32(r) if r else 1.0}
        if not greedy:
            hf.update(temperature=f32(t), top_k=k, top_p=f32(p) if 0 < p < 1 else 1.0)
    return {"name": name, "hf": hf, "go": go, "greedy": greedy}


COMMON_SETTINGS = [
    setting("greedy", (0, 0, 0, 1), greedy=True),
    setting("greedy_penalty1.3", (0, 0, 0, 1.3), greedy=True),
    # greedy ignores top_k/top_p/temperature in both implementations
    setting("greedy_penalty2_topk1", (0, 1, 0.1, 2),
            hf={"do_sample": False, "repetition_penalty": 2.0, "top_k": 1, "top_p": f32(0.1),
                "temperature": f32(0.5)},
            greedy=True),
    setting("t1", (1, 0, 0, 1)),
    setting("t0.7", (0.7, 0, 0, 1)),
    setting("t1.5_penalty1.3", (1.5, 0, 0, 1.3)),
    setting("penalty0.8", (1, 0, 0, 0.8)),
    setting("topk1", (1, 1, 0, 1)),
    setting("topk3", (1, 3, 0, 1)),
    setting("t0.7_topk10", (0.7, 10, 0, 1)),
    setting("topp0.5", (1, 0, 0.5, 1)),
    setting("topp0.9", (1, 0, 0.9, 1)),
    setting("t1.3_topk10_topp0.8_penalty1.2", (1.3, 10, 0.8, 1.2)),
    setting("t0.6_topk50_topp0.95_penalty1.1", (0.6, 50, 0.95, 1.1)),
    setting("t2_topp0.3_penalty1.5", (2, 0, 0.3, 1.5)),
    setting("hf_default_top_k_t0.9", (0.9, 50, 0, 1),
            hf={"do_sample": True, "temperature": f32(0.9)}),
]

TIE_SETTINGS = [
    setting("topk1", (1, 1, 0, 1)),
    setting("topk2", (1, 2, 0, 1)),
    setting("topk3", (1, 3, 0, 1)),
    setting("topk5", (1, 5, 0, 1)),
    setting("topp0.25", (1, 0, 0.25, 1)),
    setting("topp0.5", (1, 0, 0.5, 1)),
    setting("topp0.75", (1, 0, 0.75, 1)),
    setting("topp0.74", (1, 0, 0.74, 1)),
    setting("topp0.76", (1, 0, 0.76, 1)),
    setting("topp0.01", (1, 0, 0.01, 1)),
    setting("topk3_topp0.5", (1, 3, 0.5, 1)),
    setting("greedy", (0, 0, 0, 1), greedy=True),
]


# ------------------------------------------------------------------ inputs

def make_inputs():
    rng = np.random.default_rng(20240607)
    inputs = []

    def add(name, logits, seen, settings, note=""):
        logits = np.asarray(logits, dtype=np.float32)
        inputs.append({"name": name, "logits": logits, "seen": [int(s) for s in seen],
                       "settings": settings, "note": note})

    add("v5_mixed_sign", [2, -1, 0.5, -3, 0], [0, 1, 1, 4], COMMON_SETTINGS,
        "positive, negative and zero logits; seen has a repeat")
    add("v5_topk_tie", [1, 3, 3, 2, 0.5], [2, 3], COMMON_SETTINGS + TIE_SETTINGS,
        "two tokens tie for the maximum")
    add("v8_equal", np.zeros(8), [7], TIE_SETTINGS,
        "all equal: exact probabilities 1/8, top-p cuts land exactly on cumulative sums "
        "(the <= rule); ties at the cut are resolved by torch.sort's order")
    add("v8_two_groups", [0, 0, 0, 0, 1, 1, 1, 1], [0, 4, 4], COMMON_SETTINGS + TIE_SETTINGS,
        "two tie groups")
    add("v6_neg_inf", [1.5, -np.inf, 0.25, -2, -np.inf, 1.5], [1, 2, 3, 3], COMMON_SETTINGS + TIE_SETTINGS,
        "input logits already -inf (masked), a seen -inf token, a tie for the maximum")
    add("v17_int_ties", rng.integers(-3, 4, 17).astype(np.float32), rng.integers(0, 17, 9),
        COMMON_SETTINGS + TIE_SETTINGS,
        "integer logits, many ties; n > 16, so torch.sort is not stable")
    add("v17_peaked", np.concatenate([[20.0], rng.normal(0, 1, 16)]), [0, 3, 3, 16],
        COMMON_SETTINGS, "one token holds almost all the mass, and is penalised")
    add("v17_flat", rng.normal(0, 1e-3, 17), [5, 6, 5], COMMON_SETTINGS, "nearly uniform")
    add("v17_negative", rng.normal(-8, 2, 17), [0, 1, 2, 2, 15], COMMON_SETTINGS, "all negative")
    add("v17_positive", rng.normal(8, 2, 17), [0, 1, 2, 2, 15], COMMON_SETTINGS, "all positive")
    v = rng.normal(0, 2, 1000)
    v[rng.choice(1000, 40, replace=False)] = np.round(v[:40])  # some exact ties
    add("v1000_normal", v, rng.integers(0, 1000, 120), COMMON_SETTINGS,
        "normal(0,2), some rounded to integers (ties); seen with repeats")
    v = rng.normal(0, 1, 49152)
    v[rng.choice(49152, 4, replace=False)] = [14.0, 13.0, 13.0, 12.5]
    add("v49152_spiky", v, np.concatenate([rng.integers(0, 49152, 300), np.flatnonzero(v > 12.9)]),
        COMMON_SETTINGS, "normal(0,1) with four spikes (two tied, seen)")
    v = np.round(rng.normal(0, 3, 49152) * 4) / 4  # quarter steps: many ties at the top-k cut
    add("v49152_quarters", v, rng.integers(0, 49152, 500),
        COMMON_SETTINGS, "normal(0,3) rounded to 1/4: many ties at every top-k boundary")
    return inputs


# ------------------------------------------------------------------- model

def hooked_model(vocab):
    cfg = Qwen2Config(vocab_size=vocab, hidden_size=8, intermediate_size=8, num_hidden_layers=1,
                      num_attention_heads=1, num_key_value_heads=1, max_position_embeddings=1024,
                      bos_token_id=None, eos_token_id=None, pad_token_id=None,
                      tie_word_embeddings=True)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg).eval()
    model.generation_config = GenerationConfig()  # no model-specific generation defaults
    state = {}

    def hook(_module, _args, out):
        lg = out.logits.clone()
        lg[:, -1, :] = state["logits"]
        out.logits = lg
        return out

    model.register_forward_hook(hook)
    return model, state


def processor_names(model, hf, seq_len):
    gc, kw = model._prepare_generation_config(None, **hf)
    procs = model._get_logits_processor(generation_config=gc, input_ids_seq_length=seq_len,
                                        device="cpu", model_kwargs=kw)
    return [type(p).__name__ for p in procs]


def softmax64(scores):
    s = np.asarray(scores, dtype=np.float64)
    fin = np.isfinite(s)
    out = np.zeros_like(s)
    e = np.exp(s[fin] - s[fin].max())
    out[fin] = e / e.sum()
    return out


def top_p_info(scores_before_top_p, top_p, processed):
    """Whether top-p's cut splits a group of tied values (transformers then
    drops whichever of them torch.sort puts first, an order that is not by
    index for n > 16), and the float64 distance of the cumulative sums from
    the threshold 1-top_p (how safe the cut is from rounding)."""
    s = np.asarray(scores_before_top_p, dtype=np.float32)
    probs = softmax64(s)
    order = np.argsort(s, kind="stable")
    cum = np.cumsum(probs[order])
    limit = 1 - top_p
    margin = float(np.min(np.abs(cum[:-1] - limit))) if len(cum) > 1 else 1.0
    kept = np.isfinite(processed)
    split = False
    for val in np.unique(s[np.isfinite(s)]):
        grp = s == val
        if kept[grp].any() and not kept[grp].all():
            split = True
    return split, margin


def run_case(model, state, logits, seen, st):
    V = logits.shape[0]
    state["logits"] = torch.from_numpy(logits.copy())
    ids = torch.tensor([seen])
    torch.manual_seed(0)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=1,
                         output_logits=True, output_scores=True, return_dict_in_generate=True,
                         **st["hf"])
    raw = out.logits[0][0].numpy()
    assert np.array_equal(raw, logits), "hook failed"
    scores = out.scores[0][0].numpy().astype(np.float32)
    res = case_record(st, scores, seen, processor_names(model, st["hf"], len(seen)))
    if st["greedy"]:
        res["argmax"] = int(out.sequences[0, -1])
        assert res["argmax"] == int(np.argmax(scores))
    res.update(top_p_record(st, logits, seen, scores))
    assert scores.shape[0] == V
    return res


def case_record(st, scores, seen, procs):
    """The processed scores as kept ids, values and probabilities. When more
    than MAX_KEPT tokens are kept (no filtering on a big vocabulary), only
    the seen ids and the TOP_STORED most likely are stored ("partial")."""
    fin = np.isfinite(scores)
    assert not np.isnan(scores).any() and not np.isposinf(scores).any()
    kept = np.flatnonzero(fin)
    probs = softmax64(scores)
    # transformers samples from the float32 softmax; it is the same
    # distribution up to float32 rounding.
    p32 = torch.softmax(torch.from_numpy(scores), dim=-1).double().numpy()
    err = np.max(np.abs(p32[kept] - probs[kept]) / probs[kept])
    assert err < 1e-5, err
    n_kept = int(kept.size)
    partial = n_kept > MAX_KEPT
    if partial:
        top = np.argsort(-scores, kind="stable")[:TOP_STORED]
        kept = np.unique(np.concatenate([top, [i for i in seen if fin[i]]])).astype(np.int64)
    return {
        "name": st["name"], "hf": st["hf"], "go": st["go"], "greedy": st["greedy"],
        "processors": procs,
        "n_kept": n_kept,
        "partial": partial,
        "kept": enc_i32(kept),
        "values": enc_f32(scores[kept]),
        "probs": enc_f64(probs[kept]),
    }


def top_p_record(st, logits, seen, scores):
    """Recomputes the scores top-p saw (in generate's order) for the tie/margin
    bookkeeping; the processed scores themselves come from generate."""
    g = st["go"]
    if st["greedy"] or not (0 < g["top_p"] < 1):
        return {}
    x = torch.from_numpy(logits.copy())[None]
    ids = torch.tensor([seen])
    from transformers.generation.logits_process import (RepetitionPenaltyLogitsProcessor,
                                                        TemperatureLogitsWarper, TopKLogitsWarper)
    if g["repetition_penalty"] not in (0.0, 1.0):
        x = RepetitionPenaltyLogitsProcessor(g["repetition_penalty"])(ids, x)
    if g["temperature"] != 1.0:
        x = TemperatureLogitsWarper(g["temperature"])(ids, x)
    if g["top_k"] > 0:
        x = TopKLogitsWarper(g["top_k"])(ids, x)
    split, margin = top_p_info(x[0].numpy(), g["top_p"], scores)
    return {"top_p_tie_split": split, "top_p_margin": margin}


def main():
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    warnings.simplefilter("ignore")
    out = {
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
        },
        "about": "see make_golden.py",
        "inputs": [],
    }
    models = {}
    for inp in make_inputs():
        V = inp["logits"].shape[0]
        if V not in models:
            models[V] = hooked_model(V)
        model, state = models[V]
        cases = [run_case(model, state, inp["logits"], inp["seen"], st) for st in inp["settings"]]
        for c in cases:
            if not c.get("top_p_tie_split") and c.get("top_p_margin", 1) < 1e-6:
                print(f"warning: {inp['name']}/{c['name']}: top-p cut {c['top_p_margin']:.2e} "
                      "from the threshold", file=sys.stderr)
        out["inputs"].append({"name": inp["name"], "note": inp["note"], "source": "synthetic",
                              "vocab": V, "logits": enc_f32(inp["logits"]), "seen": enc_i32(inp["seen"]),
                              "cases": cases})
    out["inputs"] += tiny_qwen2_run()
    path = os.path.join(HERE, "golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    n = sum(len(i["cases"]) for i in out["inputs"])
    print(f"wrote {path}: {len(out['inputs'])} inputs, {n} cases, {os.path.getsize(path)} bytes")


# ------------------------------------------------ real multi-step generate

TINY_PROMPT = [1, 17, 42, 99, 3, 42, 7, 8, 42, 17]
TINY_STEPS = 6
TINY_SETTINGS = [
    setting("t0.8_topk20_topp0.9_penalty1.3", (0.8, 20, 0.9, 1.3)),
    setting("hf_default_top_k_t1.2_penalty0.9", (1.2, 50, 0, 0.9),
            hf={"do_sample": True, "temperature": f32(1.2), "repetition_penalty": f32(0.9)}),
    setting("greedy_penalty1.5", (0, 0, 0, 1.5), greedy=True),
]


def tiny_qwen2_run():
    """Samples TINY_STEPS tokens from tests/golden/llm/tiny-qwen2 with
    generate and records each step as an input: its raw logits, the ids seen
    so far (prompt + sampled) and the processed scores."""
    model = Qwen2ForCausalLM.from_pretrained(os.path.join(LLM_DIR, "tiny-qwen2"), dtype=torch.float32).eval()
    inputs = []
    for st in TINY_SETTINGS:
        ids = torch.tensor([TINY_PROMPT])
        torch.manual_seed(1234)
        # pad_token_id 0 is in the prompt: the explicit all-ones mask keeps
        # generate from treating it as padding.
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             max_new_tokens=TINY_STEPS, min_new_tokens=TINY_STEPS,
                             output_logits=True, output_scores=True,
                             return_dict_in_generate=True, **st["hf"])
        seq = out.sequences[0].tolist()
        for step in range(TINY_STEPS):
            seen = seq[:len(TINY_PROMPT) + step]
            raw = out.logits[step][0].numpy().astype(np.float32)
            scores = out.scores[step][0].numpy().astype(np.float32)
            c = case_record(st, scores, seen, processor_names(model, st["hf"], len(seen)))
            c["sampled"] = seq[len(TINY_PROMPT) + step]
            assert np.isfinite(scores[c["sampled"]])
            if st["greedy"]:
                c["argmax"] = c["sampled"]
            c.update(top_p_record(st, raw, seen, scores))
            inputs.append({"name": f"tiny-qwen2/{st['name']}/step{step}", "source": "tiny-qwen2 generate",
                           "note": "a real sampled run: seen is the prompt plus the tokens sampled so far",
                           "vocab": int(raw.shape[0]), "logits": enc_f32(raw), "seen": enc_i32(seen),
                           "cases": [c]})
    return inputs


if __name__ == "__main__":
    main()
