#!/usr/bin/env python3
"""The transformers/torch side of bench/llm: SmolLM2-135M-Instruct (the same
Q4_1 GGUF, dequantised to float32 by transformers) on the CPU, greedy, with
the key/value cache. bench/llm/main.go embeds this script, runs it with the
golden venv's interpreter and talks to it in JSON lines, so that its timed
runs alternate with goray's (both sides then see the same background load):

    stdin : {"gguf": path, "ids": [...], "decode_steps": 64, "threads": 2}
    stdout: {"ready": true, "torch": ..., "load_s": ...}
    stdin : {"op": "run", "batch": B}       one prefill + decode_steps steps
    stdout: {"prefill_s": ..., "decode_s": ..., "tokens": [...], "rows_agree": ...}
    stdin : {"op": "generate", "batch": B}  generate() end to end
    stdout: {"generate_s": ..., "agrees": ...}
    stdin : {"op": "quit"}

Every row of a batch is the prompt `ids` (no padding). A run times:

- prefill: one forward over the [B, prompt_len] ids with use_cache=True and
  logits_to_keep=1 (only the last position's logits, as goray computes),
  then the argmax of those logits (the first new token);
- decode: decode_steps forwards of one token per row, each feeding the
  previous step's argmax and the cache (past_key_values), then taking the
  argmax of the new logits: transformers' generate() loop without its
  bookkeeping (logits processors, stopping criteria).

"generate" times model.generate (do_sample=False, use_cache=True,
min_new_tokens = max_new_tokens = decode_steps + 1, no eos) end to end, for
reference, and says whether its tokens equal the last run's.

Everything else the libraries print goes to stderr. It also runs by hand:
    echo '{"gguf": "...", "ids": [1, 2, 3], "decode_steps": 4, "threads": 2}
    {"op": "run", "batch": 1}' | .venv-golden/bin/python bench/llm/torch_peer.py
"""
import json
import os
import sys
import time


def main():
    proto = sys.stdout
    sys.stdout = sys.stderr  # keep stdout for the protocol

    def reply(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    cfg = json.loads(sys.stdin.readline())
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    d, name = os.path.split(cfg["gguf"])
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32)
    model.eval()
    load_s = time.perf_counter() - t0
    model.generation_config.eos_token_id = None
    ids = cfg["ids"]
    steps = cfg["decode_steps"]

    def run(x):
        """One prefill and `steps` decode steps; returns the two times and
        the tokens [B, steps+1]."""
        t0 = time.perf_counter()
        o = model(input_ids=x, use_cache=True, logits_to_keep=1)
        nxt = o.logits[:, -1].argmax(-1)
        pkv = o.past_key_values
        toks = [nxt]
        t1 = time.perf_counter()
        for _ in range(steps):
            o = model(input_ids=nxt[:, None], past_key_values=pkv, use_cache=True)
            pkv = o.past_key_values
            nxt = o.logits[:, -1].argmax(-1)
            toks.append(nxt)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, torch.stack(toks, 1)

    reply({
        "ready": True,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "load_s": load_s,
    })
    last = {}
    with torch.inference_mode():
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            op = req["op"]
            if op == "quit":
                return
            B = req["batch"]
            x = torch.tensor([ids] * B, dtype=torch.long)
            if op == "run":
                p, dec, toks = run(x)
                rows = toks.tolist()
                last[B] = rows
                reply({"prefill_s": p, "decode_s": dec, "tokens": rows[0],
                       "rows_agree": all(r == rows[0] for r in rows)})
            elif op == "generate":
                t0 = time.perf_counter()
                g = model.generate(
                    x, attention_mask=torch.ones_like(x), do_sample=False, use_cache=True,
                    max_new_tokens=steps + 1, min_new_tokens=steps + 1,
                    eos_token_id=None, pad_token_id=0,
                )
                gs = time.perf_counter() - t0
                reply({"generate_s": gs, "agrees": g[:, len(ids):].tolist() == last.get(B)})
            else:
                raise ValueError(f"unknown op {op!r}")


if __name__ == "__main__":
    main()
