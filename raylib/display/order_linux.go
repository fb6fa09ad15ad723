package display

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// waitStdoutRead waits (at most limit) until the kernel has read
// everything the cell wrote to stdout. GoNB reads stdout and the display
// pipe on separate goroutines, so without this wait a table shown right
// after a Println can reach the notebook before the text. FIONREAD works
// on either end of a Linux pipe; on anything else it fails and we return.
func waitStdoutRead(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		var n int32
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, os.Stdout.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		if errno != 0 || n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	// The reader may still be publishing the last chunk it read.
	time.Sleep(time.Millisecond)
}
