package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File names OpenDir and CheckFiles look for.
const (
	SafetensorsFile      = "model.safetensors"
	SafetensorsIndexFile = "model.safetensors.index.json"
)

// maxSafetensorsHeader is the safetensors library's own limit (100 MB).
const maxSafetensorsHeader = 100_000_000

// Safetensors is one safetensors file or a sharded set opened through its
// index. It implements Source.
type Safetensors struct {
	// Files lists the opened files: one, or the shards in sorted order.
	Files []string
	// Metadata is the __metadata__ map (for shards, merged; the first shard
	// in Files wins on conflicts). Empty, not nil, when absent.
	Metadata map[string]string
	// Index is the parsed index for a sharded set, nil for a single file.
	Index *SafetensorsIndex

	set   *tensorSet
	backs []*backing
}

// SafetensorsIndex is model.safetensors.index.json.
type SafetensorsIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"` // tensor name -> shard file name
}

// Shards returns the distinct shard file names of the index, sorted.
func (ix *SafetensorsIndex) Shards() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ix.WeightMap {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

type stEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

var safetensorsDTypes = map[string]DType{
	"F64": F64, "F32": F32, "F16": F16, "BF16": BF16,
	"I64": I64, "I32": I32, "I16": I16, "I8": I8,
	"U64": U64, "U32": U32, "U16": U16, "U8": U8, "BOOL": Bool,
	"F8_E4M3": F8E4M3, "F8_E5M2": F8E5M2,
}

// OpenSafetensors opens one .safetensors file. The data is memory-mapped
// where possible; only the header is read now.
func OpenSafetensors(path string) (*Safetensors, error) {
	b, err := openBacking(path)
	if err != nil {
		return nil, err
	}
	ts, meta, err := parseSafetensors(b)
	if err != nil {
		b.close()
		return nil, err
	}
	set, err := newTensorSet(path, ts)
	if err != nil {
		b.close()
		return nil, err
	}
	return &Safetensors{Files: []string{path}, Metadata: meta, set: set, backs: []*backing{b}}, nil
}

// ReadSafetensors parses safetensors data from r (size bytes); name is used
// in errors and as Tensor.File. Tensor data is read with ReadAt on demand,
// so r must stay usable until the returned value is no longer needed.
func ReadSafetensors(name string, r io.ReaderAt, size int64) (*Safetensors, error) {
	b := newBacking(name, r, size)
	ts, meta, err := parseSafetensors(b)
	if err != nil {
		return nil, err
	}
	set, err := newTensorSet(name, ts)
	if err != nil {
		return nil, err
	}
	return &Safetensors{Files: []string{name}, Metadata: meta, set: set, backs: []*backing{b}}, nil
}

func parseSafetensors(b *backing) ([]*Tensor, map[string]string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("weights: %s is not a valid safetensors file: %s", b.name, fmt.Sprintf(format, args...))
	}
	if b.size < 8 {
		return nil, nil, bad("%d bytes, shorter than the 8-byte header length", b.size)
	}
	var lenBuf [8]byte
	if err := readFullAt(b.ra, lenBuf[:], 0); err != nil {
		return nil, nil, fmt.Errorf("weights: %s: %w", b.name, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader {
		return nil, nil, bad("header length %d exceeds the %d-byte limit", n, maxSafetensorsHeader)
	}
	if int64(n) > b.size-8 {
		return nil, nil, bad("header length %d exceeds the file size %d", n, b.size)
	}
	hdr := make([]byte, n)
	if err := readFullAt(b.ra, hdr, 8); err != nil {
		return nil, nil, fmt.Errorf("weights: %s: %w", b.name, err)
	}
	if len(bytes.TrimSpace(hdr)) == 0 || bytes.TrimSpace(hdr)[0] != '{' {
		return nil, nil, bad("header is not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, nil, bad("header JSON: %v", err)
	}
	meta := map[string]string{}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, bad("__metadata__ must map strings to strings: %v", err)
		}
		if meta == nil {
			meta = map[string]string{}
		}
		delete(raw, "__metadata__")
	}
	dataStart := int64(8 + n)
	dataLen := b.size - dataStart
	ts := make([]*Tensor, 0, len(raw))
	for name, msg := range raw {
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, bad("tensor %q: %v", name, err)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, bad("tensor %q: data_offsets must have 2 entries, has %d", name, len(e.DataOffsets))
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > dataLen {
			return nil, nil, bad("tensor %q: data_offsets [%d, %d] outside the %d data bytes", name, begin, end, dataLen)
		}
		dt, known := safetensorsDTypes[e.DType]
		if !known {
			if e.DType == "" {
				return nil, nil, bad("tensor %q has no dtype", name)
			}
			dt = DType(e.DType) // listed and readable as bytes, not convertible
		}
		shape := make([]int, len(e.Shape))
		numel := int64(1)
		for i, d := range e.Shape {
			if d < 0 || int64(int(d)) != d {
				return nil, nil, bad("tensor %q: invalid dimension %d", name, d)
			}
			shape[i] = int(d)
			if d != 0 && numel > (1<<62)/d {
				return nil, nil, bad("tensor %q: shape %v overflows", name, e.Shape)
			}
			numel *= d
		}
		if known {
			want, err := dt.ByteSize(numel)
			if err != nil || want != end-begin {
				return nil, nil, bad("tensor %q: %s%v needs %d bytes but data_offsets span %d", name, dt, shape, want, end-begin)
			}
		}
		ts = append(ts, &Tensor{Name: name, DType: dt, Shape: shape, File: b.name, Offset: dataStart + begin, Size: end - begin, src: b})
	}
	// Tensors must not overlap.
	byOff := append([]*Tensor(nil), ts...)
	sort.Slice(byOff, func(i, j int) bool { return byOff[i].Offset < byOff[j].Offset })
	for i := 1; i < len(byOff); i++ {
		p, t := byOff[i-1], byOff[i]
		if t.Offset < p.Offset+p.Size {
			return nil, nil, bad("tensors %q and %q overlap", p.Name, t.Name)
		}
	}
	return ts, meta, nil
}

// OpenSafetensorsIndex opens every shard named by a
// model.safetensors.index.json (shards are looked for next to it) and checks
// that each tensor of the weight map is in the shard the index names.
func OpenSafetensorsIndex(indexPath string) (*Safetensors, error) {
	data, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	var ix SafetensorsIndex
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("weights: %s: %w", indexPath, err)
	}
	if len(ix.WeightMap) == 0 {
		return nil, fmt.Errorf("weights: %s has an empty weight_map", indexPath)
	}
	dir := filepath.Dir(indexPath)
	shards := ix.Shards()
	var missing []string
	for _, s := range shards {
		if s == "" || s != filepath.Base(s) || s == "." || s == ".." || strings.ContainsAny(s, `/\`) {
			return nil, fmt.Errorf("weights: %s names shard %q, which is not a plain file name", indexPath, s)
		}
		if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("weights: %s lists %d shard(s) missing from %s: %s", indexPath, len(missing), dir, strings.Join(missing, ", "))
	}
	st := &Safetensors{Metadata: map[string]string{}, Index: &ix}
	var all []*Tensor
	inShard := map[string]map[string]bool{}
	for _, s := range shards {
		p := filepath.Join(dir, s)
		b, err := openBacking(p)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.backs = append(st.backs, b)
		ts, meta, err := parseSafetensors(b)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.Files = append(st.Files, p)
		for k, v := range meta {
			if _, ok := st.Metadata[k]; !ok {
				st.Metadata[k] = v
			}
		}
		names := map[string]bool{}
		for _, t := range ts {
			names[t.Name] = true
		}
		inShard[s] = names
		all = append(all, ts...)
	}
	var wrong []string
	for name, s := range ix.WeightMap {
		if !inShard[s][name] {
			wrong = append(wrong, fmt.Sprintf("%s (in %s)", name, s))
		}
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		st.Close()
		return nil, fmt.Errorf("weights: %s maps %d tensor(s) to shards that lack them: %s", indexPath, len(wrong), strings.Join(firstN(wrong, 10), ", "))
	}
	set, err := newTensorSet(dir, all)
	if err != nil {
		st.Close()
		return nil, err
	}
	st.set = set
	return st, nil
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("... %d more", len(s)-n))
}

// OpenDir opens the safetensors weights of a model folder: model.safetensors
// if present, otherwise the shards listed in model.safetensors.index.json.
// The error for a folder with neither says where it looked and lists any
// other .safetensors files it saw.
func OpenDir(dir string) (*Safetensors, error) {
	single := filepath.Join(dir, SafetensorsFile)
	if fileExists(single) {
		return OpenSafetensors(single)
	}
	index := filepath.Join(dir, SafetensorsIndexFile)
	if fileExists(index) {
		return OpenSafetensorsIndex(index)
	}
	msg := fmt.Sprintf("weights: no safetensors weights in %s: looked for %s and %s", dir, SafetensorsFile, SafetensorsIndexFile)
	if others, _ := filepath.Glob(filepath.Join(dir, "*.safetensors")); len(others) > 0 {
		for i := range others {
			others[i] = filepath.Base(others[i])
		}
		msg += "; other safetensors files there (open them with OpenSafetensors): " + strings.Join(firstN(others, 10), ", ")
	} else if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		msg += " (the folder does not exist)"
	}
	return nil, errors.New(msg)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Names lists the tensor names, sorted.
func (s *Safetensors) Names() []string { return s.set.Names() }

// Tensors lists the tensors, sorted by name.
func (s *Safetensors) Tensors() []*Tensor { return s.set.Tensors() }

// Tensor returns the named tensor or a *MissingTensorError.
func (s *Safetensors) Tensor(name string) (*Tensor, error) { return s.set.Tensor(name) }

// Expect returns the named tensor if its shape is shape (-1 matches any
// size); otherwise a *MissingTensorError or *ShapeMismatchError.
func (s *Safetensors) Expect(name string, shape ...int) (*Tensor, error) {
	return s.set.Expect(name, shape...)
}

// Close unmaps and closes every file. Tensors must not be read afterwards.
func (s *Safetensors) Close() error {
	var first error
	for _, b := range s.backs {
		if err := b.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var _ Source = (*Safetensors)(nil)
