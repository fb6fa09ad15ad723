package jupyter

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// connectionInfo is the connection file a kernel is started with, in the
// format jupyter_client writes.
type connectionInfo struct {
	ShellPort       int    `json:"shell_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	ControlPort     int    `json:"control_port"`
	HBPort          int    `json:"hb_port"`
	IP              string `json:"ip"`
	Key             string `json:"key"`
	Transport       string `json:"transport"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name"`
}

const localhost = "127.0.0.1"

// newConnectionInfo picks five free TCP ports on 127.0.0.1 and a random
// key. The ports are free when picked; like jupyter_client, we accept the
// small chance that another process takes one before the kernel binds it.
func newConnectionInfo(kernelName string) (*connectionInfo, error) {
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	key, err := randomHex(32)
	if err != nil {
		return nil, err
	}
	return &connectionInfo{
		ShellPort:       ports[0],
		IOPubPort:       ports[1],
		StdinPort:       ports[2],
		ControlPort:     ports[3],
		HBPort:          ports[4],
		IP:              localhost,
		Key:             key,
		Transport:       "tcp",
		SignatureScheme: "hmac-sha256",
		KernelName:      kernelName,
	}, nil
}

// freePorts returns n distinct free ports. All listeners stay open until
// every port is picked, so the kernel gets n different ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(localhost, "0"))
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (ci *connectionInfo) endpoint(port int) string {
	return ci.Transport + "://" + net.JoinHostPort(ci.IP, strconv.Itoa(port))
}

// write saves the connection file, readable by its owner only since it
// holds the signing key, in a new temporary folder, and returns its path.
func (ci *connectionInfo) write() (string, error) {
	dir, err := os.MkdirTemp("", "jupyter-kernel-")
	if err != nil {
		return "", fmt.Errorf("connection file: %w", err)
	}
	raw, err := json.MarshalIndent(ci, "", "  ")
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("connection file: %w", err)
	}
	path := filepath.Join(dir, "kernel.json")
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("connection file: %w", err)
	}
	return path, nil
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// newID returns a random UUID (version 4) in its usual text form.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
