#!/usr/bin/env python3
"""transformers side of bench/llmgpu: Qwen2ForCausalLM with random weights.

Builds Qwen2ForCausalLM(Qwen2Config(...)) with transformers' random
initialisation (torch.manual_seed) directly on the device, and times, for
each batch size and each variant (float32, float32 with TF32 matmuls,
bfloat16), with the same shapes as the Go side (main.go):

  prefill   model(ids, attention_mask, use_cache=True, logits_to_keep=1)
            plus the argmax of the last position (torch.cuda.synchronize
            before and after)
  generate  model.generate(min_new_tokens=N, max_new_tokens=N,
            do_sample=False): greedy, no early stop
  decode    generate - prefill, for N-1 steps

  prefill tokens/s = batch*prompt/median(prefill)
  decode tokens/s  = batch*(N-1)/(median(generate) - median(prefill))

Prints one JSON object on stdout (and writes it to --out after each batch,
so that a run cut short keeps what it measured). If torch or transformers
cannot be imported it prints a JSON object saying so and exits 3.

  python torch_peer.py --device cuda
  python torch_peer.py --device cpu --layers 2 --hidden 64 --intermediate 128 \
      --heads 4 --kv-heads 2 --head-dim 16 --vocab 1000 --batches 1,2 --prompt 16 --new 4
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=896)
    p.add_argument("--intermediate", type=int, default=4864)
    p.add_argument("--layers", type=int, default=24)
    p.add_argument("--heads", type=int, default=14)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--vocab", type=int, default=151936)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--eps", type=float, default=1e-6)
    p.add_argument("--max-pos", type=int, default=32768)
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--new", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    p.add_argument("--variants", default="float32,tf32,bfloat16",
                   help="comma-separated: float32 (strict), tf32 (float32 weights, TF32 matmuls), bfloat16")
    p.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa or eager)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="", help="also write the JSON here")
    return p.parse_args()


def emit(report, out):
    text = json.dumps(report, indent=2)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, out)
    return text


def main():
    a = parse_args()
    batches = [int(x) for x in a.batches.split(",") if x.strip()]
    variants = [x.strip() for x in a.variants.split(",") if x.strip()]
    report = {
        "tool": "torch_peer", "complete": False, "python": sys.version.split()[0], "hostname": platform.node(),
        "model": {"arch": "qwen2", "hidden": a.hidden, "intermediate": a.intermediate, "layers": a.layers,
                  "heads": a.heads, "kv_heads": a.kv_heads, "head_dim": a.head_dim, "vocab": a.vocab,
                  "rope_theta": a.rope_theta, "rms_eps": a.eps, "tied_embeddings": True, "qkv_bias": True},
        "prompt_len": a.prompt, "new_tokens": a.new, "repeat": a.repeat, "attn_implementation": a.attn,
        "variants": [],
        "definition": "prefill tok/s = batch*prompt/median(forward over the prompt, use_cache, logits_to_keep=1, argmax); "
                      "decode tok/s = batch*(new-1)/(median(generate) - median(prefill)); "
                      "generate tok/s = batch*new/median(generate)",
    }
    try:
        import torch
        import transformers
        from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM
    except Exception as e:  # noqa: BLE001 - report whatever stops the import
        report["error"] = f"missing: cannot import torch/transformers: {type(e).__name__}: {e}"
        print(emit(report, a.out))
        return 3

    report["torch"] = torch.__version__
    report["transformers"] = transformers.__version__
    dev = a.device
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cuda" and not torch.cuda.is_available():
        report["error"] = "no GPU: torch.cuda.is_available() is False (torch %s, built for CUDA %s)" % (
            torch.__version__, torch.version.cuda)
        print(emit(report, a.out))
        return 3
    report["device"] = dev
    if dev == "cuda":
        report["gpu"] = torch.cuda.get_device_name(0)
        report["cuda"] = torch.version.cuda
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    report["threads"] = torch.get_num_threads()
    device = torch.device(dev)

    def sync():
        if dev == "cuda":
            torch.cuda.synchronize()

    cfg = Qwen2Config(
        vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
        num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
        head_dim=a.head_dim, rope_theta=a.rope_theta, rms_norm_eps=a.eps,
        max_position_embeddings=a.max_pos, tie_word_embeddings=True, use_sliding_window=False,
        hidden_act="silu",
    )
    torch.manual_seed(a.seed)
    g = torch.Generator(device="cpu").manual_seed(a.seed + 1)

    model = None
    for variant in variants:
        v = {"name": "torch " + variant, "variant": variant, "results": []}
        report["variants"].append(v)
        try:
            dtype = torch.bfloat16 if variant == "bfloat16" else torch.float32
            v["dtype"] = str(dtype).replace("torch.", "")
            tf32 = variant == "tf32"
            v["tf32"] = tf32
            # "highest": IEEE float32 matmuls; "high": TF32 on GPUs that have it.
            torch.set_float32_matmul_precision("high" if tf32 else "highest")
            v["float32_matmul_precision"] = torch.get_float32_matmul_precision()
            if variant not in ("float32", "tf32", "bfloat16"):
                raise ValueError(f"unknown variant {variant!r}")
            t0 = time.perf_counter()
            if model is None:
                torch.manual_seed(a.seed)
                with device:
                    model = Qwen2ForCausalLM._from_config(cfg, attn_implementation=a.attn)
                model.eval()
            model = model.to(dtype)
            sync()
            v["load_s"] = time.perf_counter() - t0
            v["params"] = sum(p.numel() for p in model.parameters())
            gen_cfg = GenerationConfig(max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False,
                                       pad_token_id=0, eos_token_id=None, bos_token_id=None)
            for n in batches:
                r = {"batch": n, "prompt_len": a.prompt, "new_tokens": a.new, "prefill_s": [], "generate_s": []}
                v["results"].append(r)
                ids = torch.randint(0, a.vocab, (n, a.prompt), generator=g).to(device)
                mask = torch.ones_like(ids)

                def prefill():
                    out = model(input_ids=ids, attention_mask=mask, use_cache=True, logits_to_keep=1)
                    return out.logits[:, -1, :].argmax(-1)

                def generate():
                    return model.generate(input_ids=ids, attention_mask=mask, generation_config=gen_cfg)

                with torch.inference_mode():
                    sync()
                    t0 = time.perf_counter()
                    prefill()
                    out = generate()
                    sync()
                    r["warmup_s"] = time.perf_counter() - t0
                    if out.shape[1] != a.prompt + a.new:
                        raise RuntimeError(f"generate gave {out.shape[1] - a.prompt} new tokens, want {a.new}")
                    for _ in range(a.repeat):
                        sync()
                        t0 = time.perf_counter()
                        prefill()
                        sync()
                        r["prefill_s"].append(time.perf_counter() - t0)
                    for _ in range(a.repeat):
                        sync()
                        t0 = time.perf_counter()
                        generate()
                        sync()
                        r["generate_s"].append(time.perf_counter() - t0)
                p = statistics.median(r["prefill_s"])
                gs = statistics.median(r["generate_s"])
                r["prefill_tok_s"] = n * a.prompt / p
                d = gs - p
                r["decode_tok_s"] = n * (a.new - 1) / d if d > 0 else 0.0
                r["decode_step_ms"] = 1e3 * d / (a.new - 1) if d > 0 else 0.0
                r["generate_tok_s"] = n * a.new / gs
                if dev == "cuda":
                    r["max_memory_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
                print(f"{v['name']:>16} batch {n:3d}: prefill {1e3 * p:8.2f} ms {r['prefill_tok_s']:10.0f} tok/s, "
                      f"decode {r['decode_step_ms']:7.2f} ms/step {r['decode_tok_s']:8.0f} tok/s, "
                      f"generate {r['generate_tok_s']:8.0f} tok/s", file=sys.stderr, flush=True)
                emit(report, a.out)
        except Exception as e:  # noqa: BLE001 - one variant failing must not stop the others
            v["error"] = f"{type(e).__name__}: {e}"
            print(f"{v['name']}: {v['error']}", file=sys.stderr, flush=True)
            if dev == "cuda":
                torch.cuda.empty_cache()
    report["complete"] = True
    print(emit(report, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
