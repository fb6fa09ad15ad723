package llm

import (
	"fmt"
	"strings"

	"github.com/goray-dev/goray/raylib/infer/tokenizer"
)

// Message is one chat turn: Role is "system", "user" or "assistant".
type Message struct {
	Role, Content string
}

// Chat template families known to ChatPrompt and FormatChat. All use
// ChatML; they differ in the system prompt added when the conversation
// does not start with one.
const (
	// FamilyChatML is plain ChatML with no default system prompt.
	FamilyChatML = "chatml"
	// FamilyQwen2 is Qwen2.5-Instruct's template.
	FamilyQwen2 = "qwen2"
	// FamilySmolLM2 is SmolLM2-Instruct's template.
	FamilySmolLM2 = "smollm2"
)

// Default system prompts, copied from the models' chat templates.
const (
	// Qwen2.5-Instruct (tokenizer_config.json chat_template). Qwen2-Instruct
	// (not 2.5) used "You are a helpful assistant." instead.
	QwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
	// SmolLM2-Instruct (no final period in the template).
	SmolLM2DefaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
)

// ChatML's control tokens.
const (
	imStart = "<|im_start|>"
	imEnd   = "<|im_end|>"
)

// DefaultSystemPrompt is the system prompt family's template adds when the
// first message is not a system message ("" for none). family is one of
// the Family constants; "" means FamilyChatML.
func DefaultSystemPrompt(family string) (string, error) {
	switch strings.ToLower(family) {
	case "", FamilyChatML:
		return "", nil
	case FamilyQwen2, "qwen2.5":
		return QwenDefaultSystem, nil
	case FamilySmolLM2:
		return SmolLM2DefaultSystem, nil
	}
	return "", fmt.Errorf("llm: unknown chat family %q (want %q, %q or %q)", family, FamilyChatML, FamilyQwen2, FamilySmolLM2)
}

// withDefaultSystem prepends family's default system prompt when msgs does
// not start with a system message.
func withDefaultSystem(msgs []Message, family string) ([]Message, error) {
	sys, err := DefaultSystemPrompt(family)
	if err != nil {
		return nil, err
	}
	if sys == "" || (len(msgs) > 0 && msgs[0].Role == "system") {
		return msgs, nil
	}
	return append([]Message{{Role: "system", Content: sys}}, msgs...), nil
}

// FormatChatML renders msgs as ChatML, "<|im_start|>role\ncontent<|im_end|>\n"
// per message, followed by "<|im_start|>assistant\n" when
// addGenerationPrompt. It adds no system prompt: see FormatChat.
func FormatChatML(msgs []Message, addGenerationPrompt bool) string {
	var sb strings.Builder
	for _, m := range msgs {
		sb.WriteString(imStart)
		sb.WriteString(m.Role)
		sb.WriteByte('\n')
		sb.WriteString(m.Content)
		sb.WriteString(imEnd)
		sb.WriteByte('\n')
	}
	if addGenerationPrompt {
		sb.WriteString(imStart + "assistant\n")
	}
	return sb.String()
}

// FormatChat renders msgs as family's chat template does (Hugging Face's
// apply_chat_template(tokenize=False)): FormatChatML after prepending the
// family's default system prompt when the first message is not a system
// message. Tool calls are not supported.
func FormatChat(msgs []Message, family string, addGenerationPrompt bool) (string, error) {
	msgs, err := withDefaultSystem(msgs, family)
	if err != nil {
		return "", err
	}
	return FormatChatML(msgs, addGenerationPrompt), nil
}

// ChatPrompt is the token ids of FormatChat(msgs, family, true): the
// ChatML control tokens are encoded as special tokens, each message's role
// and content with tok.EncodeUntrusted, so that "<|im_end|>" or
// "<|im_start|>" written inside a message cannot end it or start another.
// For messages that contain no special-token text the ids equal
// tok.Encode(FormatChat(...), false). The tokenizer must have
// <|im_start|> and <|im_end|> tokens.
func ChatPrompt(tok *tokenizer.Tokenizer, msgs []Message, family string) ([]int, error) {
	msgs, err := withDefaultSystem(msgs, family)
	if err != nil {
		return nil, err
	}
	start, ok1 := tok.TokenID(imStart)
	end, ok2 := tok.TokenID(imEnd)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("llm: tokenizer has no %s/%s tokens: it is not a ChatML tokenizer", imStart, imEnd)
	}
	nl := tok.Encode("\n", false)
	var ids []int
	for _, m := range msgs {
		// Hugging Face splits the text at special tokens first, so
		// "role\ncontent" is one piece between <|im_start|> and <|im_end|>.
		ids = append(ids, start)
		ids = append(ids, tok.EncodeUntrusted(m.Role+"\n"+m.Content, false)...)
		ids = append(ids, end)
		ids = append(ids, nl...)
	}
	ids = append(ids, start)
	ids = append(ids, tok.Encode("assistant\n", false)...)
	return ids, nil
}

// ChatStopIDs is the ids that end an assistant turn in a ChatML model:
// <|im_end|> and the tokenizer's EOS (when known and different).
func ChatStopIDs(tok *tokenizer.Tokenizer) []int {
	var out []int
	if id, ok := tok.TokenID(imEnd); ok {
		out = append(out, id)
	}
	if e := tok.EOS(); e >= 0 && (len(out) == 0 || out[0] != e) {
		out = append(out, e)
	}
	return out
}
