//go:build !linux

package proxy

import "errors"

// Supported reports whether Run works on this system: the proxy needs
// Linux's /proc and prctl.
const Supported = false

// Run is not supported on this system.
func Run(Config) (int, error) {
	return 0, errors.ErrUnsupported
}

// Helper never finds a helper on this system: Run starts none.
func Helper([]string) (run func() int, ok bool) {
	return nil, false
}
