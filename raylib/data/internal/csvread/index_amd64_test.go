//go:build amd64 && !purego

package csvread

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestIndexAVX2MatchesSWAR compares the AVX2 and the portable separator
// scans on random buffers and offsets.
func TestIndexAVX2MatchesSWAR(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab,;\n\r 1\x00\xff")
	for iter := 0; iter < 2000; iter++ {
		buf := make([]byte, rng.IntN(300))
		for i := range buf {
			buf[i] = alphabet[rng.IntN(len(alphabet))]
		}
		from := 0
		if len(buf) > 0 {
			from = rng.IntN(len(buf) + 1)
		}
		delim := []byte{',', ';', '\t'}[rng.IntN(3)]
		s1 := make([]uint32, len(buf)+8)
		s2 := make([]uint32, len(buf)+8)
		n1, l1, a1 := fastIndex(buf, from, len(buf), delim, s1, true)
		n2, l2 := indexSWAR(buf, from, len(buf), delim, s2)
		if a2 := isASCII(buf[from:]); a1 != a2 {
			t.Fatalf("buf %q from %d: ascii %v, want %v", buf, from, a1, a2)
		}
		if n1 != n2 || l1 != l2 || !reflect.DeepEqual(s1[:n1], s2[:n2]) {
			t.Fatalf("buf %q from %d: avx2 %d/%d %v, swar %d/%d %v", buf, from, n1, l1, s1[:n1], n2, l2, s2[:n2])
		}
	}
}

// TestReaderWithoutAVX2 reruns the reference comparison on the portable path.
func TestReaderWithoutAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2: the portable path is already the one tested")
	}
	useAVX2 = false
	defer func() { useAVX2 = true }()
	TestRandomAgainstReference(t)
	TestSplitEqualsWhole(t)
}
