//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package weights

import "os"

// mapFile is unavailable on this platform; tensors are read with ReadAt.
func mapFile(*os.File, int64) ([]byte, bool) { return nil, false }

func unmapFile([]byte) error { return nil }
