package jupyter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/goray-dev/goray/kernel/internal/wire"
)

// ProtocolVersion is the version of the messaging protocol the client speaks.
const ProtocolVersion = "5.3"

// channel names one of the kernel's sockets.
type channel string

const (
	shellChannel   channel = "shell"
	controlChannel channel = "control"
	stdinChannel   channel = "stdin"
	iopubChannel   channel = "iopub"
)

// message is one Jupyter message, with its content left encoded until
// whoever waits for it knows its type. A zero ParentHeader is that of a
// request.
type message struct {
	Header       wire.Header
	ParentHeader wire.Header
	Metadata     map[string]any
	Content      json.RawMessage
	Buffers      [][]byte
}

// encode returns the frames of m signed by s, without routing
// identities: a DEALER socket needs none, the kernel's ROUTER adds ours.
func encode(s wire.Signer, m *message) ([][]byte, error) {
	content := m.Content
	if content == nil {
		content = json.RawMessage("{}")
	}
	metadata := m.Metadata
	if metadata == nil {
		metadata = map[string]any{}
	}
	var parent any = m.ParentHeader
	if m.ParentHeader == (wire.Header{}) {
		parent = struct{}{} // a request's parent header is {}
	}
	w := &wire.Message{Buffers: m.Buffers}
	var err error
	if w.Header, err = json.Marshal(m.Header); err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Header.MsgType, err)
	}
	if w.ParentHeader, err = json.Marshal(parent); err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Header.MsgType, err)
	}
	if w.Metadata, err = json.Marshal(metadata); err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Header.MsgType, err)
	}
	if w.Content, err = json.Marshal(content); err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Header.MsgType, err)
	}
	s.Sign(w)
	return w.Frames(), nil
}

// errBadSignature reports a message whose HMAC does not match its frames.
var errBadSignature = errors.New("invalid message signature")

// decode parses the frames of a message received on ch and checks its
// signature with s. On a bad signature it returns the message along with
// the error, so that the error can reach the request the message names.
func decode(s wire.Signer, ch channel, frames [][]byte) (*message, error) {
	w, err := wire.Parse(frames)
	if err != nil {
		return nil, fmt.Errorf("%s channel: %w", ch, err)
	}
	m := &message{Content: json.RawMessage(bytes.Clone(w.Content)), Buffers: w.Buffers}
	// The headers are parsed before the signature is checked so that a
	// rejected message can still be reported to the request it answers.
	if err := json.Unmarshal(w.Header, &m.Header); err != nil {
		return nil, fmt.Errorf("%s channel: header: %w", ch, err)
	}
	if err := json.Unmarshal(w.ParentHeader, &m.ParentHeader); err != nil {
		return nil, fmt.Errorf("%s channel: parent header: %w", ch, err)
	}
	if !s.Verify(w) {
		return m, fmt.Errorf("%s channel: %s: %w", ch, m.Header.MsgType, errBadSignature)
	}
	if err := json.Unmarshal(w.Metadata, &m.Metadata); err != nil {
		return m, fmt.Errorf("%s channel: %s: metadata: %w", ch, m.Header.MsgType, err)
	}
	return m, nil
}

// newHeader returns the header of a new request of type msgType.
func (c *Client) newHeader(msgType string) wire.Header {
	return wire.Header{
		MsgID:    wire.NewID(),
		Session:  c.session,
		Username: c.username,
		Date:     time.Now().UTC().Format(time.RFC3339Nano),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}
