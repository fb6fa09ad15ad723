//go:build !amd64 || purego

package csvread

const useAVX2 = false

func indexAVX2(buf *byte, n int, delim byte, seps *uint32, base uint32) (count, newlines int, ascii bool) {
	panic("csvread: indexAVX2 without AVX2")
}
