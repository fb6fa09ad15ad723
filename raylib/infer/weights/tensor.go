package weights

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
)

// ErrClosed is returned when a tensor is read after its file was closed.
var ErrClosed = errors.New("weights: file already closed")

// Source is what every weight container here offers: *Safetensors (one file
// or a sharded set) and *GGUF.
type Source interface {
	// Names lists the tensor names, sorted.
	Names() []string
	// Tensors lists the tensors, sorted by name.
	Tensors() []*Tensor
	// Tensor returns the named tensor or a *MissingTensorError.
	Tensor(name string) (*Tensor, error)
	// Expect returns the named tensor after checking its shape (-1 matches
	// any size); the error is a *MissingTensorError or *ShapeMismatchError.
	Expect(name string, shape ...int) (*Tensor, error)
	// Close releases the files; tensors must not be read afterwards.
	Close() error
}

// Tensor describes one stored tensor and reads its data on demand.
type Tensor struct {
	Name  string
	DType DType
	// Shape is row-major, outermost dimension first; empty for a scalar.
	Shape []int
	// File is the path of the file holding the data (or the name given to
	// a Read* function for in-memory data).
	File string
	// Offset is the absolute byte offset of the data in File.
	Offset int64
	// Size is the data's length in bytes, or -1 where the type's block size
	// is unknown (an unknown GGUF type).
	Size int64

	src *backing
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%s %s %v", t.Name, t.DType, t.Shape)
}

// Bytes returns the tensor's raw little-endian bytes. When the file is
// memory-mapped the slice aliases the read-only mapping: do not modify it,
// and do not use it after Close. Otherwise it is a fresh copy.
func (t *Tensor) Bytes() ([]byte, error) {
	if t.Size < 0 {
		return nil, &UnsupportedTypeError{Name: t.Name, File: t.File, DType: t.DType}
	}
	return t.src.bytes(t.Offset, t.Size)
}

// Float32s converts (or dequantises) the tensor into a new []float32 of
// NumElements values, in row-major order. Unsupported types give an
// *UnsupportedTypeError naming the tensor and its type.
func (t *Tensor) Float32s() ([]float32, error) {
	n := t.NumElements()
	if int64(int(n)) != n {
		return nil, fmt.Errorf("weights: tensor %q in %s has %d elements, too many for this platform", t.Name, t.File, n)
	}
	if !t.DType.CanFloat32() {
		return nil, &UnsupportedTypeError{Name: t.Name, File: t.File, DType: t.DType}
	}
	dst := make([]float32, n)
	if err := t.Float32sInto(dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// Float32sInto is Float32s into a caller-provided slice of exactly
// NumElements values.
func (t *Tensor) Float32sInto(dst []float32) error {
	if !t.DType.CanFloat32() {
		return &UnsupportedTypeError{Name: t.Name, File: t.File, DType: t.DType}
	}
	if int64(len(dst)) != t.NumElements() {
		return fmt.Errorf("weights: tensor %q has %d elements, destination has %d", t.Name, t.NumElements(), len(dst))
	}
	raw, err := t.Bytes()
	if err != nil {
		return err
	}
	if err := DecodeFloat32(t.DType, raw, dst); err != nil {
		return fmt.Errorf("weights: tensor %q in %s: %w", t.Name, t.File, err)
	}
	return nil
}

// MissingTensorError reports a tensor name that a file or model lacks.
type MissingTensorError struct {
	Name      string   // the name asked for
	Where     string   // file or folder searched
	Available int      // how many tensors it has
	Similar   []string // up to three close names, if any
}

func (e *MissingTensorError) Error() string {
	s := fmt.Sprintf("weights: tensor %q not found in %s (%d tensors)", e.Name, e.Where, e.Available)
	if len(e.Similar) > 0 {
		s += "; similar: " + strings.Join(e.Similar, ", ")
	}
	return s
}

// ShapeMismatchError reports a tensor whose shape is not the expected one.
type ShapeMismatchError struct {
	Name  string
	Where string
	DType DType
	Got   []int
	Want  []int // -1 entries match anything
}

func (e *ShapeMismatchError) Error() string {
	return fmt.Sprintf("weights: tensor %q in %s has shape %v (%s), want %v", e.Name, e.Where, e.Got, e.DType, e.Want)
}

// UnsupportedTypeError reports a tensor whose type cannot be converted to
// float32 by this package.
type UnsupportedTypeError struct {
	Name  string
	File  string
	DType DType
}

func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("weights: tensor %q in %s has type %s, which this package cannot dequantise", e.Name, e.File, e.DType)
}

// tensorSet is the name index shared by the containers.
type tensorSet struct {
	where  string
	byName map[string]*Tensor
	names  []string
}

func newTensorSet(where string, ts []*Tensor) (*tensorSet, error) {
	s := &tensorSet{where: where, byName: make(map[string]*Tensor, len(ts))}
	for _, t := range ts {
		if prev, dup := s.byName[t.Name]; dup {
			return nil, fmt.Errorf("weights: tensor %q appears twice in %s (%s and %s)", t.Name, where, prev.File, t.File)
		}
		s.byName[t.Name] = t
		s.names = append(s.names, t.Name)
	}
	sort.Strings(s.names)
	return s, nil
}

func (s *tensorSet) Names() []string { return slices.Clone(s.names) }

func (s *tensorSet) Tensors() []*Tensor {
	out := make([]*Tensor, len(s.names))
	for i, n := range s.names {
		out[i] = s.byName[n]
	}
	return out
}

func (s *tensorSet) Tensor(name string) (*Tensor, error) {
	if t, ok := s.byName[name]; ok {
		return t, nil
	}
	return nil, &MissingTensorError{Name: name, Where: s.where, Available: len(s.names), Similar: similarNames(name, s.names)}
}

func (s *tensorSet) Expect(name string, shape ...int) (*Tensor, error) {
	t, err := s.Tensor(name)
	if err != nil {
		return nil, err
	}
	if !shapeMatches(t.Shape, shape) {
		return nil, &ShapeMismatchError{Name: name, Where: t.File, DType: t.DType, Got: slices.Clone(t.Shape), Want: slices.Clone(shape)}
	}
	return t, nil
}

func shapeMatches(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if want[i] != -1 && want[i] != got[i] {
			return false
		}
	}
	return true
}

// similarNames returns up to three names within a small edit distance.
func similarNames(name string, names []string) []string {
	type cand struct {
		name string
		dist int
	}
	limit := max(3, len(name)/4)
	var cs []cand
	for _, n := range names {
		if d := editDistance(name, n, limit); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// editDistance is Levenshtein distance, giving up (returning limit+1) once
// the length difference alone exceeds limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// backing is one readable file (or in-memory ReaderAt).
type backing struct {
	name   string
	f      *os.File // nil for caller-supplied readers
	ra     io.ReaderAt
	size   int64
	data   []byte // the read-only mapping, or nil
	closed atomic.Bool
}

func openBacking(path string) (*backing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("weights: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("weights: %s is a directory", path)
	}
	b := &backing{name: path, f: f, ra: f, size: st.Size()}
	if data, ok := mapFile(f, b.size); ok {
		b.data = data
	}
	return b, nil
}

func newBacking(name string, r io.ReaderAt, size int64) *backing {
	return &backing{name: name, ra: r, size: size}
}

// bytes returns n bytes at off: a sub-slice of the mapping, or a fresh copy.
func (b *backing) bytes(off, n int64) ([]byte, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if off < 0 || n < 0 || off > b.size || n > b.size-off {
		return nil, fmt.Errorf("weights: %s: range [%d, %d) is outside the file (%d bytes)", b.name, off, off+n, b.size)
	}
	if b.data != nil {
		return b.data[off : off+n : off+n], nil
	}
	if int64(int(n)) != n {
		return nil, fmt.Errorf("weights: %s: %d bytes too large to read on this platform", b.name, n)
	}
	buf := make([]byte, n)
	if err := readFullAt(b.ra, buf, off); err != nil {
		return nil, fmt.Errorf("weights: %s: %w", b.name, err)
	}
	return buf, nil
}

func (b *backing) close() error {
	if b == nil || b.closed.Swap(true) {
		return nil
	}
	var err error
	if b.data != nil {
		err = unmapFile(b.data)
		b.data = nil
	}
	if b.f != nil {
		if cerr := b.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// readFullAt fills buf from r at off; an EOF that comes with a full buffer is
// not an error (io.ReaderAt allows either).
func readFullAt(r io.ReaderAt, buf []byte, off int64) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
