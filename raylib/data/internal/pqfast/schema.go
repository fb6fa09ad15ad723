package pqfast

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go"
)

// conv says how a column's Parquet values become Arrow values.
type conv uint8

const (
	convBool  conv = iota // BOOLEAN -> bool (bit-packed both sides)
	convI32               // INT32 -> int32, uint32, date32, time32 (same bits)
	convI64               // INT64 -> int64, uint64, timestamp, time64 (same bits)
	convF32               // FLOAT -> float32
	convF64               // DOUBLE -> float64
	convI8                // INT32 -> int8 (Go conversion, as pqarrow)
	convU8                // INT32 -> uint8
	convI16               // INT32 -> int16
	convU16               // INT32 -> uint16
	convBytes             // BYTE_ARRAY -> string or binary
)

// column is one column of a read plan.
type column struct {
	name     string
	leaf     int         // leaf (column chunk) index in the file
	field    arrow.Field // what pqarrow gives for it
	conv     conv
	optional bool
	maxDef   byte
}

// Open opens a Parquet file with parquet-go with the options Read uses
// (no page index, no bloom filters: Read needs neither). Close the returned
// *os.File when done with the *parquet.File.
func Open(path string) (*parquet.File, *os.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	pf, err := parquet.OpenFile(fh, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(readBufferSize))
	if err != nil {
		fh.Close()
		return nil, nil, fmt.Errorf("pqfast: %s: %w", path, err)
	}
	return pf, fh, nil
}

// Supported reports whether every one of the named columns (nil: all) of
// the file is a flat, non-repeated column of a supported type, so Read can
// read it. It returns a reason when not.
//
// A column is supported when it is a top-level primitive column (REQUIRED
// or OPTIONAL, not REPEATED, not inside a group) and the Arrow type pqarrow
// reads it as is one of: bool; int8, uint8, int16, uint16, int32, uint32,
// date32, time32 from INT32; int64, uint64, timestamp (ms, us, ns, any time
// zone), time64 from INT64; float32 from FLOAT; float64 from DOUBLE; string
// and binary from BYTE_ARRAY. The Arrow type is pqarrow's, including what
// the file's stored Arrow schema (ARROW:schema) changes: a column pqarrow
// reads as large_string, a dictionary or an extension type is unsupported.
func Supported(f *parquet.File, columns []string) (ok bool, reason string) {
	if _, _, err := plan(f, columns); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// Schema gives the Arrow schema Read produces for the file: the fields (in
// Read's order) are those of pqarrow.FileReader.Schema() for these columns,
// with the same types, nullability and field metadata (PARQUET:field_id).
// Like the record batches of pqarrow's RecordReader, it carries no
// schema-level metadata. It returns an error where Supported is false.
func Schema(f *parquet.File, columns []string) (*arrow.Schema, error) {
	_, sc, err := plan(f, columns)
	return sc, err
}

// arrowSchema is what pqarrow.FileReader.Schema() gives for the file: the
// footer is decoded a second time, by arrow-go, so that the mapping
// (logical types, converted types, the stored ARROW:schema) is pqarrow's
// own.
func arrowSchema(f *parquet.File) (*arrow.Schema, error) {
	size := f.Size()
	if size < 12 {
		return nil, fmt.Errorf("file too short (%d bytes)", size)
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading footer: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return nil, fmt.Errorf("encrypted or invalid footer (magic %q)", tail[4:])
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n <= 0 || n > size-12 {
		return nil, fmt.Errorf("invalid footer length %d", n)
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-8-n); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading footer: %w", err)
	}
	md, err := metadata.NewFileMetaData(buf, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding footer: %w", err)
	}
	return pqarrow.FromParquet(md.Schema, &pqarrow.ArrowReadProperties{}, md.KeyValueMetadata())
}

// plan resolves columns (nil: all) to the file's leaves and checks that
// Read supports each.
func plan(f *parquet.File, columns []string) ([]column, *arrow.Schema, error) {
	md := f.Metadata()
	if md.EncryptionAlgorithm.Value != nil {
		return nil, nil, fmt.Errorf("encrypted file")
	}
	full, err := arrowSchema(f)
	if err != nil {
		return nil, nil, fmt.Errorf("schema: %w", err)
	}
	top := f.Root().Columns()
	if len(top) != full.NumFields() {
		return nil, nil, fmt.Errorf("schema: %d top-level columns, pqarrow sees %d", len(top), full.NumFields())
	}
	var idx []int
	if columns == nil {
		idx = make([]int, len(top))
		for i := range idx {
			idx[i] = i
		}
	} else {
		seen := make(map[string]bool, len(columns))
		for _, name := range columns {
			if seen[name] {
				return nil, nil, fmt.Errorf("column %q listed twice", name)
			}
			seen[name] = true
			at := -1
			for i, c := range top {
				if c.Name() != name {
					continue
				}
				if at >= 0 {
					return nil, nil, fmt.Errorf("column %q: name is not unique in the file", name)
				}
				at = i
			}
			if at < 0 {
				return nil, nil, fmt.Errorf("no column %q in the file", name)
			}
			idx = append(idx, at)
		}
	}
	cols := make([]column, len(idx))
	fields := make([]arrow.Field, len(idx))
	for j, i := range idx {
		c := top[i]
		fld := full.Field(i)
		if fld.Name != c.Name() {
			return nil, nil, fmt.Errorf("column %q: pqarrow names it %q", c.Name(), fld.Name)
		}
		if !c.Leaf() {
			return nil, nil, fmt.Errorf("column %q: nested (%s)", c.Name(), fld.Type)
		}
		if c.Repeated() {
			return nil, nil, fmt.Errorf("column %q: repeated (%s)", c.Name(), fld.Type)
		}
		if c.MaxRepetitionLevel() != 0 || c.MaxDefinitionLevel() > 1 ||
			(c.Optional() != (c.MaxDefinitionLevel() == 1)) || fld.Nullable != c.Optional() {
			return nil, nil, fmt.Errorf("column %q: unexpected levels", c.Name())
		}
		cv, err := convOf(c, fld.Type)
		if err != nil {
			return nil, nil, fmt.Errorf("column %q: %w", c.Name(), err)
		}
		for _, rg := range md.RowGroups {
			if c.Index() >= len(rg.Columns) {
				return nil, nil, fmt.Errorf("column %q: missing in a row group", c.Name())
			}
			cc := &rg.Columns[c.Index()]
			if cc.CryptoMetadata.Value != nil || len(cc.EncryptedColumnMetadata) > 0 {
				return nil, nil, fmt.Errorf("column %q: encrypted", c.Name())
			}
			if cc.FilePath != "" {
				return nil, nil, fmt.Errorf("column %q: data in another file (%s)", c.Name(), cc.FilePath)
			}
		}
		cols[j] = column{name: c.Name(), leaf: c.Index(), field: fld, conv: cv, optional: c.Optional(),
			maxDef: byte(c.MaxDefinitionLevel())}
		fields[j] = fld
	}
	return cols, arrow.NewSchema(fields, nil), nil
}

// convOf maps (Parquet physical type, pqarrow's Arrow type) to a
// conversion, or says why there is none.
func convOf(c *parquet.Column, dt arrow.DataType) (conv, error) {
	kind := c.Type().Kind()
	bad := fmt.Errorf("unsupported type: Parquet %s read by pqarrow as %s", kind, dt)
	switch kind {
	case parquet.Boolean:
		if dt.ID() == arrow.BOOL {
			return convBool, nil
		}
	case parquet.Int32:
		switch dt.ID() {
		case arrow.INT32, arrow.UINT32, arrow.DATE32, arrow.TIME32:
			return convI32, nil
		case arrow.INT8:
			return convI8, nil
		case arrow.UINT8:
			return convU8, nil
		case arrow.INT16:
			return convI16, nil
		case arrow.UINT16:
			return convU16, nil
		}
	case parquet.Int64:
		switch dt.ID() {
		case arrow.INT64, arrow.UINT64, arrow.TIME64:
			return convI64, nil
		case arrow.TIMESTAMP:
			// pqarrow copies ms, us and ns; it fails on seconds.
			if dt.(*arrow.TimestampType).Unit != arrow.Second {
				return convI64, nil
			}
		}
	case parquet.Float:
		if dt.ID() == arrow.FLOAT32 {
			return convF32, nil
		}
	case parquet.Double:
		if dt.ID() == arrow.FLOAT64 {
			return convF64, nil
		}
	case parquet.ByteArray:
		switch dt.ID() {
		case arrow.STRING, arrow.BINARY:
			return convBytes, nil
		}
	}
	return 0, bad
}
