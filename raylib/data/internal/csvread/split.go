package csvread

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// Split cuts the file into ranges of about target bytes, each ending at a
// line boundary (just after a '\n', or at the end of the file). The header
// line (and a BOM) belong to the first range, the only one with First set.
// If the file holds a '"' anywhere it returns one range for the whole file:
// a quoted field may hold newlines, so a cut could fall inside a row. The
// check reads the whole file (in parallel). target <= 0 means one range.
func Split(path string, target int64) ([]Range, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csvread: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("csvread: %w", err)
	}
	size := st.Size()
	whole := []Range{{Path: path, Start: 0, End: size, First: true}}
	if target <= 0 || size <= target {
		return whole, nil
	}
	quoted, err := containsQuote(f, size)
	if err != nil {
		return nil, fmt.Errorf("csvread: %s: %w", path, err)
	}
	if quoted {
		return whole, nil
	}
	var ranges []Range
	for start := int64(0); start < size; {
		end := size
		if start+target < size {
			end, err = lineStartFrom(f, start+target, size)
			if err != nil {
				return nil, fmt.Errorf("csvread: %s: %w", path, err)
			}
		}
		ranges = append(ranges, Range{Path: path, Start: start, End: end, First: start == 0})
		start = end
	}
	return ranges, nil
}

// lineStartFrom returns the first offset q >= p that starts a line (the
// byte before it is '\n'), or size.
func lineStartFrom(f io.ReaderAt, p, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for off := p - 1; off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
		off += int64(n)
		if err != nil {
			if err == io.EOF {
				break
			}
			return 0, err
		}
	}
	return size, nil
}

// containsQuote reports whether the file holds a '"', reading it with one
// goroutine per CPU.
func containsQuote(f io.ReaderAt, size int64) (bool, error) {
	const chunk = 4 << 20
	nchunks := (size + chunk - 1) / chunk
	workers := min(int64(runtime.GOMAXPROCS(0)), nchunks)
	var next atomic.Int64
	var found atomic.Bool
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, chunk)
			for !found.Load() {
				c := next.Add(1) - 1
				if c >= nchunks {
					return
				}
				off := c * chunk
				n, err := f.ReadAt(buf[:min(chunk, size-off)], off)
				if bytes.IndexByte(buf[:n], '"') >= 0 {
					found.Store(true)
					return
				}
				if err != nil && err != io.EOF {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if found.Load() {
		return true, nil
	}
	for _, err := range errs {
		if err != nil {
			return false, err
		}
	}
	return false, nil
}
