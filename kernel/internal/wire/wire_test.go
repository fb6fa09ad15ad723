package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

func TestParseFramesRoundTrip(t *testing.T) {
	frames := [][]byte{[]byte("client"), []byte("other"), Delimiter, []byte("sig"),
		[]byte(`{"msg_id":"1","msg_type":"execute_request"}`), []byte("{}"), []byte("{}"), []byte(`{"code":"1"}`), []byte("buf")}
	m, err := Parse(frames)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Identities) != 2 || string(m.Content) != `{"code":"1"}` || len(m.Buffers) != 1 {
		t.Fatalf("parsed %+v", m)
	}
	if !reflect.DeepEqual(m.Frames(), frames) {
		t.Errorf("Frames() = %q, want %q", m.Frames(), frames)
	}
	h, err := ParseHeader(m.Header)
	if err != nil || h.MsgID != "1" || h.MsgType != "execute_request" {
		t.Errorf("header = %+v, %v", h, err)
	}
	if _, err := Parse(frames[:5]); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(short) err = %v", err)
	}
}

func TestSignAndVerify(t *testing.T) {
	s, err := NewSigner("hmac-sha256", "key")
	if err != nil {
		t.Fatal(err)
	}
	req, err := NewRequest("sess", "", "history_request", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	req.Identities = [][]byte{[]byte("id")}
	m, err := NewReply(req, "history_reply", map[string]any{"status": "ok"})
	if err != nil {
		t.Fatal(err)
	}
	s.Sign(m)
	if len(m.Signature) != 64 || !s.Verify(m) {
		t.Fatalf("signature %q does not verify", m.Signature)
	}
	h, _ := ParseHeader(m.Header)
	if h.MsgType != "history_reply" || h.Session != "sess" || h.MsgID == "" || h.Version != ProtocolVersion {
		t.Errorf("header %+v", h)
	}
	var fields map[string]any
	json.Unmarshal(m.Header, &fields)
	if _, ok := fields["username"]; !ok || len(fields) != 6 {
		t.Errorf("header %s: want all six fields, an empty username too", m.Header)
	}
	if !bytes.Equal(m.ParentHeader, req.Header) || !reflect.DeepEqual(m.Identities, req.Identities) {
		t.Errorf("reply has parent %s and identities %q, want the request's", m.ParentHeader, m.Identities)
	}
	m.Content = []byte(`{"status":"error"}`)
	if s.Verify(m) {
		t.Error("tampered content verifies")
	}
	other, _ := NewSigner("hmac-sha256", "other")
	s.Sign(m)
	if other.Verify(m) {
		t.Error("a message signed with another key verifies")
	}
	if none, _ := NewSigner("", ""); !none.Verify(m) {
		t.Error("without a key every message verifies")
	}
	if _, err := NewSigner("hmac-md5", "key"); err == nil {
		t.Error("hmac-md5 accepted")
	}
}

func TestConnectionFile(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	ci := &ConnectionInfo{ShellPort: ports[0], IOPubPort: ports[1], StdinPort: ports[2], ControlPort: ports[3], HBPort: ports[4],
		IP: "127.0.0.1", Key: "k", Transport: "tcp", SignatureScheme: "hmac-sha256", KernelName: "goray"}
	path := filepath.Join(t.TempDir(), "kernel-1.json")
	if err := ci.Write(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("connection file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := ci.Write(path); err == nil {
		t.Error("Write replaced an existing file")
	}
	got, err := ReadConnectionFile(path)
	if err != nil || *got != *ci {
		t.Errorf("read %+v, %v; want %+v", got, err, ci)
	}
	if e := got.Endpoint(got.ShellPort); e != "tcp://127.0.0.1:"+strconv.Itoa(ports[0]) {
		t.Errorf("Endpoint = %s", e)
	}
	for ip, want := range map[string]string{"*": "tcp://0.0.0.0:5", "::1": "tcp://[::1]:5"} {
		if e := (&ConnectionInfo{IP: ip, Transport: "tcp"}).Endpoint(5); e != want {
			t.Errorf("Endpoint with ip %s = %s, want %s", ip, e, want)
		}
	}
	if e := (&ConnectionInfo{IP: "/tmp/k", Transport: "ipc"}).Endpoint(5); e != "ipc:///tmp/k-5" {
		t.Errorf("ipc Endpoint = %s", e)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"shell_port": 1}`), 0o600)
	if _, err := ReadConnectionFile(bad); err == nil {
		t.Error("a connection file without ports was accepted")
	}
}

func TestNewRequest(t *testing.T) {
	m, err := NewRequest("sess", "u", "kernel_info_request", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ParseHeader(m.Header)
	if string(m.ParentHeader) != "{}" || len(m.Identities) != 0 || h.Session != "sess" || h.MsgType != "kernel_info_request" {
		t.Errorf("request %s %s %+v", m.ParentHeader, m.Identities, h)
	}
}
