package jupyter

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ProtocolVersion is the version of the messaging protocol the client speaks.
const ProtocolVersion = "5.3"

// delimiter separates the routing identities from the message proper.
var delimiter = []byte("<IDS|MSG>")

// channel names one of the kernel's sockets.
type channel string

const (
	shellChannel   channel = "shell"
	controlChannel channel = "control"
	stdinChannel   channel = "stdin"
	iopubChannel   channel = "iopub"
)

// header is a message header. Every field is omitted when empty so that
// the zero header encodes as {}, the parent header of a request.
type header struct {
	MsgID    string `json:"msg_id,omitempty"`
	Session  string `json:"session,omitempty"`
	Username string `json:"username,omitempty"`
	Date     string `json:"date,omitempty"`
	MsgType  string `json:"msg_type,omitempty"`
	Version  string `json:"version,omitempty"`
}

// message is one Jupyter message, with its content left encoded until
// whoever waits for it knows its type.
type message struct {
	Header       header
	ParentHeader header
	Metadata     map[string]any
	Content      json.RawMessage
	Buffers      [][]byte
}

// signer signs and verifies messages with the connection's key.
type signer struct {
	key []byte // empty: messages are neither signed nor checked
}

func (s signer) sign(frames [][]byte) []byte {
	if len(s.key) == 0 {
		return nil
	}
	mac := hmac.New(sha256.New, s.key)
	for _, f := range frames {
		mac.Write(f)
	}
	sum := mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// encode returns the frames of m, without routing identities: a DEALER
// socket needs none, the kernel's ROUTER adds ours.
func (s signer) encode(m *message) ([][]byte, error) {
	content := m.Content
	if content == nil {
		content = json.RawMessage("{}")
	}
	metadata := m.Metadata
	if metadata == nil {
		metadata = map[string]any{}
	}
	parts := make([][]byte, 4)
	var err error
	for i, v := range []any{m.Header, m.ParentHeader, metadata, content} {
		if parts[i], err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("encode %s: %w", m.Header.MsgType, err)
		}
	}
	frames := make([][]byte, 0, 6+len(m.Buffers))
	frames = append(frames, delimiter, s.sign(parts))
	frames = append(frames, parts...)
	frames = append(frames, m.Buffers...)
	return frames, nil
}

// errBadSignature reports a message whose HMAC does not match its frames.
var errBadSignature = errors.New("invalid message signature")

// decode parses the frames of a message received on ch and checks its
// signature. On a bad signature it returns the message along with the
// error, so that the error can reach the request the message names.
func (s signer) decode(ch channel, frames [][]byte) (*message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], delimiter) {
		i++
	}
	if len(frames)-i < 6 {
		return nil, fmt.Errorf("%s channel: malformed message: %d frames", ch, len(frames))
	}
	sig, parts := frames[i+1], frames[i+2:i+6]
	m := &message{Content: json.RawMessage(bytes.Clone(parts[3])), Buffers: frames[i+6:]}
	// The headers are parsed before the signature is checked so that a
	// rejected message can still be reported to the request it answers.
	if err := json.Unmarshal(parts[0], &m.Header); err != nil {
		return nil, fmt.Errorf("%s channel: header: %w", ch, err)
	}
	if err := json.Unmarshal(parts[1], &m.ParentHeader); err != nil {
		return nil, fmt.Errorf("%s channel: parent header: %w", ch, err)
	}
	if len(s.key) > 0 && !hmac.Equal(sig, s.sign(parts)) {
		return m, fmt.Errorf("%s channel: %s: %w", ch, m.Header.MsgType, errBadSignature)
	}
	if err := json.Unmarshal(parts[2], &m.Metadata); err != nil {
		return m, fmt.Errorf("%s channel: %s: metadata: %w", ch, m.Header.MsgType, err)
	}
	return m, nil
}

// newHeader returns the header of a new request of type msgType.
func (c *Client) newHeader(msgType string) header {
	return header{
		MsgID:    newID(),
		Session:  c.session,
		Username: c.username,
		Date:     time.Now().UTC().Format(time.RFC3339Nano),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}
