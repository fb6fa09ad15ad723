package jupyter

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goray-dev/goray/kernel/internal/wire"
)

// newConnectionInfo picks five free TCP ports on 127.0.0.1 and a random
// key. The ports are free when picked; like jupyter_client, we accept the
// small chance that another process takes one before the kernel binds it.
func newConnectionInfo(kernelName string) (*wire.ConnectionInfo, error) {
	ports, err := wire.FreePorts(5)
	if err != nil {
		return nil, err
	}
	key, err := randomHex(32)
	if err != nil {
		return nil, err
	}
	return &wire.ConnectionInfo{
		ShellPort:       ports[0],
		IOPubPort:       ports[1],
		StdinPort:       ports[2],
		ControlPort:     ports[3],
		HBPort:          ports[4],
		IP:              "127.0.0.1",
		Key:             key,
		Transport:       "tcp",
		SignatureScheme: "hmac-sha256",
		KernelName:      kernelName,
	}, nil
}

// writeConnectionFile saves ci, readable by its owner only since it holds
// the signing key, in a new temporary folder, and returns its path.
func writeConnectionFile(ci *wire.ConnectionInfo) (string, error) {
	dir, err := os.MkdirTemp("", "jupyter-kernel-")
	if err != nil {
		return "", fmt.Errorf("connection file: %w", err)
	}
	path := filepath.Join(dir, "kernel.json")
	if err := ci.Write(path); err != nil {
		os.RemoveAll(dir)
		return "", err
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
