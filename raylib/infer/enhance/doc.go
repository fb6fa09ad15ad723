// Package enhance rewrites image-generation prompts with a small chat LLM
// (Qwen2 or a ChatML Llama such as SmolLM2, run by package llm) inside a
// goray Dataset pipeline: the lab's Step 4.
//
// An Enhancer is an actor-pool UDF: it loads the model once per actor
// (and compiles its programs there, with llm.Model.Warmup) and, for every
// batch, picks a season for each prompt (stable for a given Seed and prompt
// text), asks the model to add two details of that season to the prompt,
// and writes the answer back into the prompt column, adding a "season"
// column. Config's fields are the actor's constructor arguments, and its
// Open method is the constructor data.ActorPoolCtx calls:
//
//	cfg := enhance.Config{Model: "Qwen/Qwen2.5-0.5B-Instruct", PromptColumn: "prompt", Seed: 7}
//	ds = ds.MapBatches(data.ActorPoolCtx(cfg.Open, 2), data.NumGPUs(0.6), data.BatchSize(4))
//
// Model is a Hugging Face repo id (looked up in the local cache, downloaded
// when missing and online), a model folder or a GGUF file (ResolveModel);
// LabModel picks the lab's model on this machine. An actor that holds a GPU
// share runs its model on that GPU (device.OpenShare); Close, which the
// actor pool calls when the actor ends, gives the share back.
//
// Generation samples with temperature 0.7 and top-p 0.9 from a per-prompt
// seed derived from Seed and the prompt text, so a rerun with the same
// Seed produces the same text for the same inputs and batch layout.
package enhance
