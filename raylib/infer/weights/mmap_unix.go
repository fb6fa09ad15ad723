//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package weights

import (
	"os"
	"syscall"
)

// mapFile maps f read-only; ok is false if the file cannot be mapped (empty,
// too large for int, or the call fails), in which case callers use ReadAt.
func mapFile(f *os.File, size int64) (data []byte, ok bool) {
	if size <= 0 || int64(int(size)) != size {
		return nil, false
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	return b, true
}

func unmapFile(b []byte) error { return syscall.Munmap(b) }
