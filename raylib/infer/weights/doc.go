// Package weights loads model weights and model descriptions for LLM
// inference: safetensors files (single or sharded), Hugging Face model
// folders (config.json, generation_config.json, tokenizer_config.json, the
// local Hugging Face cache) and GGUF files (v2 and v3) with dequantisation of
// the common ggml block formats to float32.
//
// It reads local files, except [Download], which fetches a model from the
// Hugging Face Hub into the standard Hugging Face cache (HF_HOME,
// HF_HUB_CACHE, HF_ENDPOINT and HF_TOKEN respected; with HF_HUB_OFFLINE=1
// only the cache is used), in huggingface_hub's layout so that the Python
// tools and this package share the files.
//
// # Tensors
//
// Every format yields [*Tensor] values with a Name, a [DType] and a Shape in
// row-major order, outermost dimension first (numpy/PyTorch order). For GGUF
// files this is the reverse of ggml's ne[] order, so a GGUF token embedding
// of ne = [hidden, vocab] has Shape [vocab, hidden], the same as the
// Hugging Face tensor it was converted from. [Tensor.Float32s] converts or
// dequantises a tensor to a new []float32; [Tensor.Bytes] gives the raw bytes.
//
// Both [*Safetensors] and [*GGUF] implement [Source], whose Expect method
// returns a [*MissingTensorError] or a [*ShapeMismatchError] that names the
// tensor, the file and what was wanted.
//
// Files are memory-mapped read-only where the platform allows it (Linux, the
// BSDs, macOS) and read with ReadAt elsewhere. Reading tensors from several
// goroutines at once is safe; Close must not race with reads, and byte slices
// returned by [Tensor.Bytes] must neither be written to nor used after Close.
//
// # Safetensors
//
// [OpenSafetensors] opens one file; [OpenDir] opens model.safetensors or,
// failing that, every shard listed in model.safetensors.index.json. dtypes
// F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8 and BOOL convert
// to float32 (integers above 2^24 round to the nearest float32).
//
// # Hugging Face model folders
//
// [LoadConfig] parses config.json into a [ModelConfig] (Llama and Qwen2
// fields), [LoadGenerationConfig] and [LoadTokenizerConfig] parse the other
// two JSON files, [CheckFiles] reports what an inference run would miss,
// [OpenHFModel] does all of it, and [FindInHFCache] finds a snapshot folder
// in the local Hugging Face cache (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME,
// ~/.cache/huggingface/hub); [Download] fills it.
//
// # GGUF
//
// [OpenGGUF] parses the header, the metadata (every value type, including
// nested arrays), the tensor infos and the alignment (general.alignment,
// default 32). Metadata is a map[string]any ([Metadata]) with typed getters
// such as [Metadata.Uint32] and [Metadata.Strings]; [GGUF.Config] maps the
// architecture-prefixed keys (llama.*, qwen2.*) to the same [ModelConfig]
// that config.json gives.
//
// Dequantisation covers F32, F16, BF16, F64, I8, I16, I32, I64, Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K, written from the
// ggml block layouts; results match ggml's reference dequantisers (and the
// gguf Python package) bit for bit. Other types (the IQ*, TQ*, MXFP4 and
// NVFP4 families, Q8_1) open and list fine but Float32s returns an
// [*UnsupportedTypeError] naming the tensor and the type.
//
// # llama.cpp's Q/K permutation
//
// llama.cpp's converter reorders the rows of the Llama attn_q and attn_k
// weights (and of their biases, if any) so that its RoPE, which rotates
// adjacent pairs (x[2i], x[2i+1]), matches Hugging Face's, which rotates the
// two halves (x[i], x[i+d/2]) of each head. Within each head of size d, with
// half = d/2, i in {0, 1} and j in [0, half):
//
//	gguf row  h*d + 2*j + i  ==  HF row  h*d + i*half + j
//
// [UnpermuteQK] undoes this, so that HF-layout (rotate-half) RoPE can be
// used with weights read from GGUF; pass the query head count for attn_q and
// the key/value head count for attn_k. Only architectures that llama.cpp
// runs with its "normal" RoPE are permuted; Qwen2 (NEOX RoPE) is stored in HF
// order. [QKPermuted] tells which is which for the architectures this
// package knows.
package weights
