// Package enhance rewrites image-generation prompts with a small chat LLM
// (Qwen2 or a ChatML Llama such as SmolLM2, run by package llm) inside a
// goray Dataset pipeline.
//
// An Enhancer is an actor-pool UDF: it loads the model once per actor and,
// for every batch, picks a season for each prompt (stable for a given Seed
// and prompt text), asks the model to add two elements of that season to
// the prompt, and writes the answer back into the prompt column, adding a
// "season" column:
//
//	cfg := enhance.Config{Model: "Qwen/Qwen2.5-0.5B-Instruct", Seed: 7}
//	ds = ds.MapBatches(data.ActorPool1(enhance.FromConfig, cfg, 2), data.BatchSize(4))
//
// Generation samples with temperature 0.7 and top-p 0.9 from a per-prompt
// seed derived from Seed and the prompt text, so a rerun with the same
// Seed produces the same text for the same inputs and batch layout.
package enhance
