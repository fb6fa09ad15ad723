package device

// Bucket layout used by BucketSize.
const (
	// BucketPow2Max is the largest power-of-two bucket; above it buckets
	// are multiples of BucketStep.
	BucketPow2Max = 256
	// BucketStep is the spacing of the buckets above BucketPow2Max.
	BucketStep = 64
)

// BucketSize rounds a sequence length or batch size n up to the size a
// model should pad it to, so that a graph.Exec, which compiles one program
// per distinct input shape, compiles only a few: the smallest power of two
// that is at least max(n, minSize) while that is at most 256 (1, 2, 4, …,
// 256), and above 256 the next multiple of 64 (320, 384, 448, …), which
// keeps the padding under 25% for long inputs without a compile per token.
//
// minSize (at least 1) is the smallest bucket wanted, e.g. 8 or 16 so that
// short prompts share one program; it is rounded up the same way (10
// gives 16). n <= 0 gives the smallest bucket.
//
// Buckets lists the buckets between two sizes: use it to warm up
// (Exec.PreCompile) and to size the Exec cache (Exec.SetMaxCache), whose
// default of 32 programs holds exactly the buckets from 1 to 1728 for one varying
// axis; with two varying axes (batch and sequence) the cache needs the
// product.
func BucketSize(n, minSize int) int {
	m := max(n, minSize, 1)
	if m <= BucketPow2Max {
		b := 1
		for b < m {
			b <<= 1
		}
		return b
	}
	return (m + BucketStep - 1) / BucketStep * BucketStep
}

// Buckets returns, ascending, every size BucketSize gives for n in
// [minSize, maxSize]: the shapes an Exec fed by BucketSize compiles.
func Buckets(minSize, maxSize int) []int {
	last := BucketSize(maxSize, minSize)
	var out []int
	for b := BucketSize(minSize, minSize); ; b = BucketSize(b+1, minSize) {
		out = append(out, b)
		if b >= last {
			return out
		}
	}
}
