// Package llm runs Llama and Qwen2 decoder-only language models with GoMLX.
//
// Load reads a Hugging Face model folder (config.json and safetensors
// weights, f32/f16/bf16, converted to float32) into a Model:
//
//	be, _ := device.Open(device.Options{})
//	m, err := llm.Load(dir, llm.Options{Backend: be})
//	logits, err := m.Logits([][]int{ids})        // [row][position][vocab]
//	out, err := m.Generate(prompts, 64, eosIDs)  // greedy, new tokens only
//
// The forward pass follows transformers' LlamaForCausalLM and
// Qwen2ForCausalLM in float32: RMSNorm, rotary embeddings in the
// rotate_half layout (with linear and llama3 RoPE scaling), grouped-query
// attention with a causal mask, SwiGLU MLP, tied or separate lm_head, and
// Qwen2's q/k/v biases.
//
// Batches are left-padded: each row has a start slot, its tokens take RoPE
// positions 0, 1, … from there, and nothing attends to the padding.
// Generate prefills the padded prompts into a key/value cache of shape
// [layers, batch, kv_heads, max_len, head_dim] and then decodes one token
// per step. The batch, prompt length and cache length are rounded up with
// device.BucketSize, so a graph is compiled once per bucket and every
// decode step of a generation reuses one program. The cache is written with
// DynamicUpdateSlice where the backend has it (XLA); the pure-Go backend,
// which lacks it, uses an exact one-hot write instead.
//
// LoadGGUF reads a llama.cpp GGUF file instead (dequantised to float32,
// llama's permuted Q/K rows restored) and builds its tokenizer from the
// file's metadata. GenerateWith samples (repetition penalty, temperature,
// top-k, top-p, one seeded stream per row) and streams tokens to a
// callback; ChatPrompt formats ChatML conversations with the model
// family's default system prompt.
//
// Parity with transformers is tested against tiny random checkpoints in
// tests/golden/llm and against SmolLM2-135M-Instruct's GGUF (make
// golden-llm regenerates both references).
package llm
