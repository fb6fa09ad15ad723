package data

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Range is a dataset of n rows with one int64 column "id": 0..n-1.
func Range(n int64, opts ...ReadOption) *Dataset {
	cfg, err := readOptions("Range", opts)
	if err != nil {
		return failed(err)
	}
	if n < 0 {
		return failed(fmt.Errorf("Range(%d): must not be negative", n))
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rs := &readSpec{name: "ReadRange", schema: schema, rows: n,
		source: rangeSource{n: n, parallelism: cfg.parallelism}}
	return readDataset(rs, cfg)
}

type rangeSource struct {
	n           int64
	parallelism int
}

func (r rangeSource) tasks(_ context.Context, rs *readSpec, dc *DataContext) ([]*readTask, error) {
	parts := int64(r.parallelism)
	if parts == 0 {
		parts = readParallelism(8*r.n, dc)
	}
	parts = max(min(parts, r.n), 1)
	var out []*readTask
	for i := range parts {
		lo, hi := r.n*i/parts, r.n*(i+1)/parts
		out = append(out, &readTask{label: fmt.Sprintf("range [%d, %d)", lo, hi), rows: hi - lo, bytes: 8 * (hi - lo),
			run: func(ctx context.Context, emit emitFn) error {
				const chunk = 1 << 20
				for start := lo; start < hi; start += chunk {
					end := min(start+chunk, hi)
					vals := make([]int64, end-start)
					for j := range vals {
						vals[j] = start + int64(j)
					}
					arr, _ := toArray(vals)
					if err := emit(array.NewRecordBatch(rs.schema, []arrow.Array{arr}, end-start)); err != nil {
						return err
					}
				}
				return nil
			}})
	}
	if r.n == 0 {
		out = append(out, &readTask{label: "range [0, 0)", run: func(_ context.Context, emit emitFn) error {
			return emit(emptyRecord(rs.schema))
		}})
	}
	return out, nil
}

// FromItems is a dataset of the given rows (Ray's from_items); the rows
// are converted to Arrow once, when the dataset is made.
func FromItems(items []Row) *Dataset {
	rec, err := rowsToRecord(items, nil)
	if err != nil {
		return failed(fmt.Errorf("FromItems: %w", err))
	}
	return FromArrow(rec)
}

// FromArrow is a dataset of Arrow record batches, put in the object store
// as its blocks.
func FromArrow(recs ...arrow.RecordBatch) *Dataset {
	var refs []BlockRef
	schemas := make([]*arrow.Schema, 0, len(recs))
	where := make([]string, 0, len(recs))
	for i, r := range recs {
		schemas = append(schemas, r.Schema())
		where = append(where, fmt.Sprintf("record %d", i))
		ref := putBlock(NewBlock(r), nil)
		ref.owned = false // the dataset's, for every execution of it
		refs = append(refs, ref)
	}
	schema, err := unifySchemas(schemas, where)
	if err != nil {
		return failed(fmt.Errorf("FromArrow: %w", err))
	}
	return newDataset(&node{kind: nodeBlocks, blocks: refs, schema: schema, label: "FromArrow"})
}

// ReadText reads text files, one row per line in a column "text".
func ReadText(path string, opts ...ReadOption) *Dataset {
	return fileRead("ReadText", path, opts, func(f sourceFile, _ readConfig, emit emitFn) error {
		fh, err := os.Open(f.path)
		if err != nil {
			return err
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		schema := arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String}}, nil)
		b := array.NewStringBuilder(mem)
		flush := func() error {
			n := b.Len()
			return emit(array.NewRecordBatch(schema, []arrow.Array{b.NewArray()}, int64(n)))
		}
		for sc.Scan() {
			b.Append(string(bytes.TrimSuffix(sc.Bytes(), []byte("\r"))))
			if b.Len() == 64<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		return flush()
	})
}

// ReadBinaryFiles reads whole files as rows with a "bytes" column (and a
// "path" column with IncludePaths).
func ReadBinaryFiles(path string, opts ...ReadOption) *Dataset {
	return fileRead("ReadBinary", path, opts, func(f sourceFile, _ readConfig, emit emitFn) error {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		arr, _ := toArray([][]byte{data})
		schema := arrow.NewSchema([]arrow.Field{{Name: "bytes", Type: arrow.BinaryTypes.Binary}}, nil)
		return emit(array.NewRecordBatch(schema, []arrow.Array{arr}, 1))
	})
}

// ReadJSON reads JSON-lines files (one object per line); a file holding a
// JSON array of objects is read too.
func ReadJSON(path string, opts ...ReadOption) *Dataset {
	return fileRead("ReadJSON", path, opts, func(f sourceFile, _ readConfig, emit emitFn) error {
		fh, err := os.Open(f.path)
		if err != nil {
			return err
		}
		defer fh.Close()
		br := bufio.NewReaderSize(fh, 1<<20)
		first, _ := br.Peek(1)
		dec := json.NewDecoder(br)
		dec.UseNumber()
		var rows []Row
		var order []string
		seen := map[string]bool{}
		flush := func() error {
			if len(rows) == 0 {
				return nil
			}
			rec, err := rowsToRecord(rows, order)
			if err != nil {
				return err
			}
			rows = rows[:0]
			return emit(rec)
		}
		if len(first) == 1 && first[0] == '[' {
			if _, err := dec.Token(); err != nil {
				return err
			}
		}
		for n := 1; dec.More(); n++ {
			v, err := decodeJSON(dec)
			if err != nil {
				return fmt.Errorf("record %d (byte %d): %w", n, dec.InputOffset(), err)
			}
			obj, ok := v.(*jsonObject)
			if !ok {
				return fmt.Errorf("record %d: want a JSON object, got %T", n, v)
			}
			for _, k := range obj.keys {
				if !seen[k] {
					seen[k] = true
					order = append(order, k)
				}
			}
			rows = append(rows, Row(obj.vals))
			if len(rows) == 16<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
}

// decodeJSON reads one JSON value, keeping object keys in file order and
// integers exact.
func decodeJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &jsonObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, fmt.Errorf("%q: %w", k, err)
				}
				if _, dup := obj.vals[k]; !dup {
					obj.keys = append(obj.keys, k)
				}
				obj.vals[k] = v
			}
			_, err := dec.Token() // }
			return obj, err
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token() // ]
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return f, nil
	}
	return tok, nil
}

// fileRead is a read with one task per file.
func fileRead(name string, path string, opts []ReadOption, read func(sourceFile, readConfig, emitFn) error) *Dataset {
	cfg, err := readOptions(name, opts)
	if err != nil {
		return failed(err)
	}
	files, err := listFiles(name, append([]string{path}, cfg.morePaths...), cfg.extensions)
	if err != nil {
		return failed(err)
	}
	rs := &readSpec{name: name, files: files, rows: -1, source: perFileSource{cfg: cfg, read: read}}
	return readDataset(rs, cfg)
}

type perFileSource struct {
	cfg  readConfig
	read func(sourceFile, readConfig, emitFn) error
}

func (p perFileSource) tasks(_ context.Context, rs *readSpec, _ *DataContext) ([]*readTask, error) {
	parts := partitionFields(rs.files)
	out := make([]*readTask, 0, len(rs.files))
	for _, f := range rs.files {
		out = append(out, &readTask{label: f.path, files: []string{f.path}, rows: -1, bytes: f.size,
			run: func(ctx context.Context, emit emitFn) error {
				// The task's error names the operator and the file.
				return p.read(f, p.cfg, func(rec arrow.RecordBatch) error {
					return emit(addConstColumns(rec, f, parts, p.cfg.includePath))
				})
			}})
	}
	return out, nil
}
