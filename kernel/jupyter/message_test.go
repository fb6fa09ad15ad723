package jupyter

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/goray-dev/goray/kernel/internal/wire"
)

func TestMessageRoundTrip(t *testing.T) {
	s := newSigner(t, "secret")
	m := &message{
		Header:   wire.Header{MsgID: wire.NewID(), Session: "s", Username: "u", Date: "2024-01-01T00:00:00Z", MsgType: "execute_request", Version: ProtocolVersion},
		Metadata: map[string]any{"k": "v"},
		Content:  json.RawMessage(`{"code":"1"}`),
		Buffers:  [][]byte{[]byte("buf")},
	}
	frames, err := encode(s, m)
	if err != nil {
		t.Fatal(err)
	}
	if string(frames[0]) != "<IDS|MSG>" || len(frames[1]) != 64 {
		t.Fatalf("frames start %q %q, want the delimiter and a hex HMAC-SHA256", frames[0], frames[1])
	}
	if string(frames[3]) != "{}" {
		t.Errorf("parent header of a request = %s, want {}", frames[3])
	}
	// A ROUTER's identities and a PUB topic come before the delimiter.
	got, err := decode(s, shellChannel, append([][]byte{[]byte("id1"), []byte("id2")}, frames...))
	if err != nil {
		t.Fatal(err)
	}
	if got.Header != m.Header || string(got.Content) != `{"code":"1"}` || got.Metadata["k"] != "v" ||
		!reflect.DeepEqual(got.Buffers, m.Buffers) {
		t.Errorf("decoded %+v, want %+v", got, m)
	}
}

func TestBadSignatureRejected(t *testing.T) {
	m := &message{Header: wire.Header{MsgID: "1", MsgType: "status"}, ParentHeader: wire.Header{MsgID: "parent"}}
	frames, err := encode(newSigner(t, "right"), m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(newSigner(t, "wrong"), iopubChannel, frames)
	if !errors.Is(err, errBadSignature) || !strings.Contains(err.Error(), "iopub channel") {
		t.Fatalf("err = %v, want a bad signature on the iopub channel", err)
	}
	if got == nil || got.ParentHeader.MsgID != "parent" {
		t.Error("a rejected message must still name its parent, to fail its request")
	}

	// Tampered content fails too.
	frames[5] = []byte(`{"execution_state":"idle"}`)
	if _, err := decode(newSigner(t, "right"), shellChannel, frames); !errors.Is(err, errBadSignature) {
		t.Errorf("tampered content: err = %v", err)
	}
	if _, err := decode(wire.Signer{}, shellChannel, [][]byte{[]byte("x")}); err == nil || !strings.Contains(err.Error(), "shell channel") {
		t.Errorf("malformed message: err = %v", err)
	}
}

func newSigner(t *testing.T, key string) wire.Signer {
	t.Helper()
	s, err := wire.NewSigner("hmac-sha256", key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDispatchBadSignatureFailsRequest(t *testing.T) {
	c := &Client{pending: map[string]*inbox{}, log: &logWriter{}}
	box := newInbox()
	c.register("req", box)
	c.dispatch(event{ch: iopubChannel, err: errBadSignature})
	evs := box.take()
	if len(evs) != 1 || !errors.Is(evs[0].err, errBadSignature) {
		t.Fatalf("events = %+v, want the error delivered to the pending request", evs)
	}
}

// TestNewID checks the ids the client makes its session and requests
// with (wire's tests do not cover wire.NewID).
func TestNewID(t *testing.T) {
	a, b := wire.NewID(), wire.NewID()
	if a == b || len(a) != 36 || a[14] != '4' || strings.Count(a, "-") != 4 {
		t.Errorf("ids %q %q are not distinct version-4 UUIDs", a, b)
	}
}

func TestMergeEnv(t *testing.T) {
	base := []string{"PATH=/usr/bin", "HOME=/h", "KEEP=1"}
	got := mergeEnv(base, map[string]string{"PATH": "/bin:${PATH}", "NEW": "${HOME}/x ${UNSET}"})
	want := []string{"HOME=/h", "KEEP=1", "NEW=/h/x ${UNSET}", "PATH=/bin:/usr/bin"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeEnv = %q, want %q", got, want)
	}
}

func TestConnectionInfo(t *testing.T) {
	ci, err := newConnectionInfo("k")
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]bool{}
	for _, p := range []int{ci.ShellPort, ci.IOPubPort, ci.StdinPort, ci.ControlPort, ci.HBPort} {
		if p == 0 || ports[p] {
			t.Errorf("port %d is zero or used twice", p)
		}
		ports[p] = true
	}
	if len(ci.Key) != 64 || ci.SignatureScheme != "hmac-sha256" || ci.IP != "127.0.0.1" {
		t.Errorf("connection info %+v", ci)
	}
	if got := ci.Endpoint(ci.ShellPort); !strings.HasPrefix(got, "tcp://127.0.0.1:") {
		t.Errorf("endpoint %q", got)
	}
}

func TestLogWriterTail(t *testing.T) {
	l := &logWriter{}
	for i := range 3 * logTail / 10 {
		l.Write([]byte("line " + strings.Repeat("x", i%3) + "\n"))
	}
	l.Write([]byte("the end\n"))
	got := l.lastLines(2)
	if !strings.HasSuffix(got, "\n\tthe end") || strings.Count(got, "\n\t") != 2 {
		t.Errorf("lastLines(2) = %q", got)
	}
	if len(l.tail) > 2*logTail {
		t.Errorf("tail holds %d bytes", len(l.tail))
	}
	if (&logWriter{}).lastLines(5) != "" {
		t.Error("empty log gives text")
	}
}
