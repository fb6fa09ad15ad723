package wire

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// ConnectionInfo is a kernel's connection file, in the format
// jupyter_client writes.
type ConnectionInfo struct {
	ShellPort       int    `json:"shell_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	ControlPort     int    `json:"control_port"`
	HBPort          int    `json:"hb_port"`
	IP              string `json:"ip"`
	Key             string `json:"key"`
	Transport       string `json:"transport"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name,omitempty"`
}

// ReadConnectionFile reads and checks a connection file.
func ReadConnectionFile(path string) (*ConnectionInfo, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connection file: %w", err)
	}
	var ci ConnectionInfo
	if err := json.Unmarshal(raw, &ci); err != nil {
		return nil, fmt.Errorf("connection file %s: %w", path, err)
	}
	if ci.Transport == "" {
		ci.Transport = "tcp"
	}
	if ci.Transport != "tcp" && ci.Transport != "ipc" {
		return nil, fmt.Errorf("connection file %s: unknown transport %q", path, ci.Transport)
	}
	if ci.IP == "" {
		ci.IP = "127.0.0.1"
	}
	for _, p := range []int{ci.ShellPort, ci.IOPubPort, ci.StdinPort, ci.ControlPort, ci.HBPort} {
		if p <= 0 {
			return nil, fmt.Errorf("connection file %s: missing or invalid port %d", path, p)
		}
	}
	return &ci, nil
}

// Write saves the connection file, readable by its owner only since it
// holds the signing key. The file must not exist yet.
func (ci *ConnectionInfo) Write(path string) error {
	raw, err := json.MarshalIndent(ci, "", "  ")
	if err != nil {
		return fmt.Errorf("connection file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("connection file: %w", err)
	}
	_, err = f.Write(append(raw, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("connection file: %w", err)
	}
	return nil
}

// Endpoint is the ZeroMQ address of port, as kernels bind it: for tcp,
// "*" and "0.0.0.0" mean every interface; for ipc, ip is a path prefix.
func (ci *ConnectionInfo) Endpoint(port int) string {
	if ci.Transport == "ipc" {
		return "ipc://" + ci.IP + "-" + strconv.Itoa(port)
	}
	ip := ci.IP
	if ip == "*" {
		ip = "0.0.0.0"
	}
	if strings.Contains(ip, ":") { // IPv6
		ip = "[" + strings.Trim(ip, "[]") + "]"
	}
	return "tcp://" + ip + ":" + strconv.Itoa(port)
}

// FreePorts returns n distinct TCP ports on 127.0.0.1 that are free now.
// All listeners stay open until every port is picked, so the ports
// differ; like jupyter_client, we accept the small chance that another
// process takes one before the kernel binds it.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
