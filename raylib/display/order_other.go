//go:build !linux

package display

import "time"

// waitStdoutRead gives the kernel a moment to publish earlier stdout text
// before a display; see the Linux version for the exact wait.
func waitStdoutRead(limit time.Duration) { time.Sleep(2 * time.Millisecond) }
