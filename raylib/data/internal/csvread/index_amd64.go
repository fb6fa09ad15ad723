//go:build amd64 && !purego

package csvread

// useAVX2 selects the AVX2 separator scan (index_amd64.s); tests switch it
// off to compare with the portable code.
var useAVX2 = hasAVX2()

// indexAVX2 writes, for each delimiter or newline in buf[0:n] (n a multiple
// of 32), the entry (base+offset)<<2 to seps, which must have room for n
// entries. It returns the number of entries and of newlines, and whether
// all n bytes are ASCII.
//
//go:noescape
func indexAVX2(buf *byte, n int, delim byte, seps *uint32, base uint32) (count, newlines int, ascii bool)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

// hasAVX2 reports whether the CPU and the OS support AVX2 and POPCNT.
func hasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx, popcnt = 1 << 27, 1 << 28, 1 << 23
	if ecx1&osxsave == 0 || ecx1&avx == 0 || ecx1&popcnt == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}
