// Package wire reads, writes and signs Jupyter messages as ZeroMQ frames,
// for code that passes messages on rather than interpreting all of them:
// a message keeps its JSON parts as received, so relaying it unchanged
// costs no decoding, and only the parts a relay rewrites are re-encoded.
//
// A message on the wire is
//
//	identities... <IDS|MSG> signature header parent_header metadata content buffers...
//
// where the signature is the hex HMAC of the four JSON parts
// (https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol).
package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"
)

// ProtocolVersion is the protocol version of the messages this package
// makes (GoNB v0.11.4 speaks 5.4 as well).
const ProtocolVersion = "5.4"

// Delimiter separates the routing identities from the message proper.
var Delimiter = []byte("<IDS|MSG>")

// Header is a message header. Every field is always written: Jupyter's
// frontends reject a header that lacks one, even an empty username.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one message, its parts still JSON.
type Message struct {
	// Identities are the frames before the delimiter: the routing
	// identities a ROUTER socket prepends, or a PUB topic.
	Identities [][]byte
	Signature  []byte
	// Header, ParentHeader, Metadata and Content are JSON objects.
	Header, ParentHeader, Metadata, Content []byte
	Buffers                                 [][]byte
}

// ErrMalformed reports frames that are not a Jupyter message.
var ErrMalformed = errors.New("malformed Jupyter message")

// Parse splits frames into a message. The message shares the frames'
// memory.
func Parse(frames [][]byte) (*Message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], Delimiter) {
		i++
	}
	if len(frames)-i < 6 {
		return nil, fmt.Errorf("%w: %d frames, %d after the delimiter", ErrMalformed, len(frames), max(len(frames)-i-1, 0))
	}
	return &Message{
		Identities:   frames[:i],
		Signature:    frames[i+1],
		Header:       frames[i+2],
		ParentHeader: frames[i+3],
		Metadata:     frames[i+4],
		Content:      frames[i+5],
		Buffers:      frames[i+6:],
	}, nil
}

// Frames returns the message as frames, identities first.
func (m *Message) Frames() [][]byte {
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, Delimiter, m.Signature, m.Header, m.ParentHeader, m.Metadata, m.Content)
	return append(frames, m.Buffers...)
}

// ParseHeader decodes a header or parent header part.
func ParseHeader(raw []byte) (Header, error) {
	var h Header
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	return h, nil
}

// NewReply returns a message of type msgType about the request req, with
// content encoded as JSON: a reply or an iopub message. It goes to req's
// identities, its parent header is req's header as received, and like a
// kernel's messages it carries the request's session and username. It is
// not signed yet.
func NewReply(req *Message, msgType string, content any) (*Message, error) {
	parent, err := ParseHeader(req.Header)
	if err != nil {
		return nil, err
	}
	return newMessage(req.Identities, newHeader(msgType, parent.Session, parent.Username), json.RawMessage(req.Header), content)
}

// NewRequest returns a request of type msgType in session: its parent
// header is empty. It is not signed yet.
func NewRequest(session, username, msgType string, content any) (*Message, error) {
	return newMessage(nil, newHeader(msgType, session, username), struct{}{}, content)
}

func newHeader(msgType, session, username string) Header {
	return Header{
		MsgID:    NewID(),
		Session:  session,
		Username: username,
		Date:     time.Now().UTC().Format(time.RFC3339Nano),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}

func newMessage(identities [][]byte, h Header, parent, content any) (*Message, error) {
	m := &Message{Identities: identities, Metadata: []byte("{}")}
	var err error
	if m.Header, err = json.Marshal(h); err != nil {
		return nil, fmt.Errorf("encode %s header: %w", h.MsgType, err)
	}
	if m.ParentHeader, err = json.Marshal(parent); err != nil {
		return nil, fmt.Errorf("encode %s parent header: %w", h.MsgType, err)
	}
	if m.Content, err = json.Marshal(content); err != nil {
		return nil, fmt.Errorf("encode %s content: %w", h.MsgType, err)
	}
	return m, nil
}

// Signer signs and checks messages with a connection's key.
type Signer struct {
	key []byte // empty: messages are neither signed nor checked
	alg func() hash.Hash
}

// NewSigner returns the signer for a connection file's signature_scheme
// and key. GoNB only implements hmac-sha256, the scheme Jupyter uses.
func NewSigner(scheme, key string) (Signer, error) {
	if key == "" {
		return Signer{}, nil
	}
	if scheme != "hmac-sha256" && scheme != "" {
		return Signer{}, fmt.Errorf("signature scheme %q is not supported (want hmac-sha256)", scheme)
	}
	return Signer{key: []byte(key), alg: sha256.New}, nil
}

func (s Signer) signature(m *Message) []byte {
	if len(s.key) == 0 {
		return nil
	}
	mac := hmac.New(s.alg, s.key)
	mac.Write(m.Header)
	mac.Write(m.ParentHeader)
	mac.Write(m.Metadata)
	mac.Write(m.Content)
	sum := mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// Sign sets m's signature for its current parts.
func (s Signer) Sign(m *Message) {
	m.Signature = s.signature(m)
}

// Verify reports whether m's signature matches its parts.
func (s Signer) Verify(m *Message) bool {
	if len(s.key) == 0 {
		return true
	}
	return hmac.Equal(m.Signature, s.signature(m))
}

// NewID returns a random UUID (version 4) in its usual text form.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
