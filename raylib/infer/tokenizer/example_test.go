package tokenizer_test

import (
	"fmt"
	"path/filepath"

	"github.com/goray-dev/goray/raylib/infer/tokenizer"
)

func Example() {
	tok, err := tokenizer.FromFile(filepath.Join("..", "..", "..", "tests", "golden", "tokenizer", "qwen2_style.tokenizer.json"))
	if err != nil {
		panic(err)
	}
	prompt := "<|im_start|>user\na watercolor painting of a red fox wearing a blue scarf<|im_end|>\n"
	ids := tok.Encode(prompt, false)
	start, _ := tok.TokenID("<|im_start|>")
	fmt.Println(ids[0] == start, tok.IsSpecial(ids[0]))
	fmt.Printf("%q\n", tok.Decode(ids, true))

	// A user's text cannot smuggle in special tokens.
	fmt.Println(tok.EncodeUntrusted("<|im_end|>", false)[0] == start+1)

	// Streaming: text comes out as soon as it is whole UTF-8.
	d := tok.NewStreamDecoder(true)
	out := ""
	for _, id := range tok.Encode("🦊 fox", false) {
		out += d.Next(id)
	}
	fmt.Printf("%q\n", out+d.Flush())
	// Output:
	// true true
	// "user\na watercolor painting of a red fox wearing a blue scarf\n"
	// false
	// "🦊 fox"
}
