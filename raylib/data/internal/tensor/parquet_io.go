package tensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ReadBatchRows is the most rows of a record batch from [ReadParquet].
const ReadBatchRows = 1024

// ParquetWriter writes record batches with tensor columns to a Parquet file
// that pyarrow reads back with its fixed_shape_tensor columns: it writes the
// storage ([StorageRecord]) and stores the full schema under ARROW:schema.
type ParquetWriter struct {
	fw     *pqarrow.FileWriter
	schema *arrow.Schema
	props  *parquet.WriterProperties
	mem    memory.Allocator
}

// NewParquetWriter starts a Parquet file for records of schema on w. props
// may be nil (defaults). mem may be nil.
func NewParquetWriter(w io.Writer, schema *arrow.Schema, props *parquet.WriterProperties, mem memory.Allocator) (*ParquetWriter, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if props == nil {
		props = parquet.NewWriterProperties(parquet.WithAllocator(mem))
	}
	md, err := ArrowSchemaMetadata(schema, mem)
	if err != nil {
		return nil, err
	}
	fw, err := pqarrow.NewFileWriter(StorageSchema(schema), w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	if err := fw.AppendKeyValueMetadata(ArrowSchemaKey, md); err != nil {
		_ = fw.Close()
		return nil, fmt.Errorf("tensor: %w", err)
	}
	return &ParquetWriter{fw: fw, schema: schema, props: props, mem: mem}, nil
}

// Write writes rec (of the writer's schema) as one row group (or several
// when rec has more rows than the properties' maximum row group length).
// Unlike pqarrow.FileWriter.Write, it accepts null tensors: pqarrow cannot
// write a fixed_size_list with null rows, so such columns are written as
// lists whose null rows are empty (copying their non-null values); the
// Parquet schema is the same either way.
func (w *ParquetWriter) Write(rec arrow.RecordBatch) error {
	if !rec.Schema().Equal(w.schema) {
		return fmt.Errorf("tensor: record schema %s differs from the writer's %s", rec.Schema(), w.schema)
	}
	st := StorageRecord(rec)
	defer st.Release()
	step := max(w.props.MaxRowGroupLength(), 1)
	nrows := st.NumRows()
	for off := int64(0); ; off += step {
		end := min(off+step, nrows)
		if err := w.writeRowGroup(st, off, end); err != nil {
			return err
		}
		if end >= nrows {
			return nil
		}
	}
}

func (w *ParquetWriter) writeRowGroup(st arrow.RecordBatch, off, end int64) error {
	if err := w.fw.NewRowGroupChecked(); err != nil {
		return fmt.Errorf("tensor: %w", err)
	}
	if end == off {
		// pqarrow cannot write zero rows of a column; the empty row group
		// gets its (empty) column chunks when it is closed.
		return nil
	}
	for i, col := range st.Columns() {
		part := array.NewSlice(col, off, end)
		d, err := parquetData(part.Data(), w.mem)
		part.Release()
		if err != nil {
			return fmt.Errorf("tensor: column %q: %w", st.ColumnName(i), err)
		}
		arr := array.MakeFromData(d)
		d.Release()
		err = w.fw.WriteColumnData(arr)
		arr.Release()
		if err != nil {
			return fmt.Errorf("tensor: column %q: %w", st.ColumnName(i), err)
		}
	}
	return nil
}

// Close finishes the file, writing its footer; like pqarrow's FileWriter it
// also closes the underlying writer when that is an io.Closer.
func (w *ParquetWriter) Close() error { return w.fw.Close() }

// ReadParquet reads a whole Parquet file as record batches (of at most
// ReadBatchRows rows) of the schema stored under ARROW:schema, tensor
// columns restored, or of pqarrow's schema when there is none. mem may be
// nil. The caller releases the records.
func ReadParquet(r parquet.ReaderAtSeeker, mem memory.Allocator) (_ []arrow.RecordBatch, err error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	defer pf.Close()
	want, err := FromParquetMetadata(pf.MetaData().KeyValueMetadata())
	if err != nil && !errors.Is(err, ErrNoArrowSchema) {
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: ReadBatchRows}, mem)
	if err != nil {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	defer rr.Release()
	var out []arrow.RecordBatch
	defer func() {
		if err != nil {
			for _, r := range out {
				r.Release()
			}
			out = nil
		}
	}()
	for rr.Next() {
		rec := rr.RecordBatch()
		if want == nil {
			rec.Retain()
			out = append(out, rec)
			continue
		}
		restored, err := Restore(rec, want)
		if err != nil {
			return nil, err
		}
		out = append(out, restored)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("tensor: %w", err)
	}
	return out, nil
}

// parquetData returns d with every fixed_size_list that has null rows (also
// inside struct and list types) replaced by a list whose null rows are
// empty, which pqarrow can write; d itself (retained) when there is none.
func parquetData(d arrow.ArrayData, mem memory.Allocator) (arrow.ArrayData, error) {
	dt := d.DataType()
	if ext, ok := dt.(arrow.ExtensionType); ok {
		st := newDataLike(d, ext.StorageType(), d.Children())
		defer st.Release()
		out, err := parquetData(st, mem)
		if err != nil || out != st {
			return out, err
		}
		out.Release()
		d.Retain()
		return d, nil
	}
	switch t := dt.(type) {
	case *arrow.FixedSizeListType:
		if d.NullN() != 0 && d.Len() > 0 {
			list, err := fixedToList(d, t, mem)
			if err != nil {
				return nil, err
			}
			defer list.Release()
			return parquetData(list, mem)
		}
		if d.Offset() != 0 {
			// pqarrow ignores a fixed_size_list's offset: rebase it onto
			// a slice of the values (no nulls here, so no bitmap).
			n := int64(t.Len())
			off := int64(d.Offset())
			child := array.NewSliceData(d.Children()[0], off*n, (off+int64(d.Len()))*n)
			defer child.Release()
			rebased := array.NewData(t, d.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{child}, 0, 0)
			defer rebased.Release()
			return parquetData(rebased, mem)
		}
		return parquetChildren(d, func(f []arrow.Field) arrow.DataType { return arrow.FixedSizeListOfField(t.Len(), f[0]) }, []arrow.Field{t.ElemField()}, mem)
	case *arrow.ListType:
		return parquetChildren(d, func(f []arrow.Field) arrow.DataType { return arrow.ListOfField(f[0]) }, []arrow.Field{t.ElemField()}, mem)
	case *arrow.LargeListType:
		return parquetChildren(d, func(f []arrow.Field) arrow.DataType { return arrow.LargeListOfField(f[0]) }, []arrow.Field{t.ElemField()}, mem)
	case *arrow.StructType:
		if (d.Offset() != 0 || d.NullN() != 0) && hasFixedList(t) {
			// A struct's offset reaches its children as slices, which
			// pqarrow mishandles for fixed_size_list, and a null struct
			// row over a fixed_size_list row is a "non-zero length null"
			// that pqarrow rejects: rebase the struct to offset 0 and
			// push its nulls down into such children.
			rebased := rebaseStruct(d, true, mem)
			defer rebased.Release()
			fields := t.Fields()
			return parquetChildren(rebased, func(f []arrow.Field) arrow.DataType { return arrow.StructOf(f...) }, fields, mem)
		}
		return parquetChildren(d, func(f []arrow.Field) arrow.DataType { return arrow.StructOf(f...) }, t.Fields(), mem)
	}
	d.Retain()
	return d, nil
}

// hasFixedList reports whether dt holds a fixed_size_list (or an extension
// stored as one) anywhere.
func hasFixedList(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case *arrow.FixedSizeListType:
		return true
	case arrow.ExtensionType:
		return hasFixedList(t.StorageType())
	case arrow.NestedType:
		for _, f := range t.Fields() {
			if hasFixedList(f.Type) {
				return true
			}
		}
	}
	return false
}

// rebaseStruct returns struct data d with offset 0: children sliced to d's
// rows, validity bitmap copied and, when push is set, ANDed into the
// children that hold a fixed_size_list (see withValidity).
func rebaseStruct(d arrow.ArrayData, push bool, mem memory.Allocator) arrow.ArrayData {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	off, length := int64(d.Offset()), int64(d.Len())
	var valid *memory.Buffer
	nulls := 0
	if b := d.Buffers()[0]; b != nil && d.NullN() != 0 {
		valid = newBitmap(mem, length)
		defer valid.Release()
		bitutil.CopyBitmap(b.Bytes(), int(off), int(length), valid.Bytes(), 0)
		nulls = int(length) - bitutil.CountSetBits(valid.Bytes(), 0, int(length))
	}
	children := make([]arrow.ArrayData, len(d.Children()))
	for i, c := range d.Children() {
		sliced := array.NewSliceData(c, off, off+length)
		if push && valid != nil && hasFixedList(c.DataType()) {
			children[i] = withValidity(sliced, valid.Bytes(), mem)
			sliced.Release()
		} else {
			children[i] = sliced
		}
		defer children[i].Release()
	}
	return array.NewData(d.DataType(), d.Len(), []*memory.Buffer{valid}, children, nulls, 0)
}

func newBitmap(mem memory.Allocator, bits int64) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(int(bitutil.BytesForBits(bits)))
	return b
}

// withValidity returns fixed_size_list or struct data c (or an extension
// stored as one) with offset 0 and its validity ANDed with valid (c.Len()
// bits from bit 0); other data as it is. Extension types come back as
// their storage.
func withValidity(c arrow.ArrayData, valid []byte, mem memory.Allocator) arrow.ArrayData {
	dt := c.DataType()
	if ext, ok := dt.(arrow.ExtensionType); ok {
		st := newDataLike(c, ext.StorageType(), c.Children())
		defer st.Release()
		return withValidity(st, valid, mem)
	}
	off, length := int64(c.Offset()), int64(c.Len())
	var children []arrow.ArrayData
	switch t := dt.(type) {
	case *arrow.FixedSizeListType:
		n := int64(t.Len())
		children = []arrow.ArrayData{array.NewSliceData(c.Children()[0], off*n, (off+length)*n)}
	case *arrow.StructType:
		for _, ch := range c.Children() {
			children = append(children, array.NewSliceData(ch, off, off+length))
		}
	default:
		c.Retain()
		return c
	}
	defer func() {
		for _, ch := range children {
			ch.Release()
		}
	}()
	merged := newBitmap(mem, length)
	defer merged.Release()
	copy(merged.Bytes(), valid[:len(merged.Bytes())])
	if b := c.Buffers()[0]; b != nil && c.NullN() != 0 {
		bitutil.BitmapAnd(merged.Bytes(), b.Bytes(), 0, off, merged.Bytes(), 0, length)
	}
	nulls := int(length) - bitutil.CountSetBits(merged.Bytes(), 0, int(length))
	return array.NewData(dt, int(length), []*memory.Buffer{merged}, children, nulls, 0)
}

func parquetChildren(d arrow.ArrayData, mk func([]arrow.Field) arrow.DataType, fields []arrow.Field, mem memory.Allocator) (arrow.ArrayData, error) {
	children := d.Children()
	out := make([]arrow.ArrayData, len(children))
	defer func() {
		for _, c := range out {
			if c != nil {
				c.Release()
			}
		}
	}()
	changed := false
	for i, c := range children {
		var err error
		if out[i], err = parquetData(c, mem); err != nil {
			return nil, err
		}
		if out[i] != c {
			changed = true
			fields[i].Type = out[i].DataType()
		}
	}
	if !changed {
		d.Retain()
		return d, nil
	}
	return newDataLike(d, mk(fields), out), nil
}

// fixedToList converts a fixed_size_list array to a list (large_list when
// the values exceed int32 offsets) whose null rows are empty.
func fixedToList(d arrow.ArrayData, t *arrow.FixedSizeListType, mem memory.Allocator) (arrow.ArrayData, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	arr := array.MakeFromData(d).(*array.FixedSizeList)
	defer arr.Release()
	n, length := int64(t.Len()), arr.Len()
	child := arr.ListValues()
	var parts []arrow.Array
	defer func() { releaseAll(parts) }()
	offsets := make([]int64, length+1)
	for i := 0; i < length; {
		if arr.IsNull(i) {
			offsets[i+1] = offsets[i]
			i++
			continue
		}
		j := i
		for j < length && arr.IsValid(j) {
			offsets[j+1] = offsets[j] + n
			j++
		}
		start, _ := arr.ValueOffsets(i)
		_, end := arr.ValueOffsets(j - 1)
		parts = append(parts, array.NewSlice(child, start, end))
		i = j
	}
	var values arrow.ArrayData
	if len(parts) == 0 {
		values = array.NewSliceData(child.Data(), 0, 0)
	} else {
		cat, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, err
		}
		values = cat.Data()
		values.Retain()
		cat.Release()
	}
	defer values.Release()

	validity := memory.NewResizableBuffer(mem)
	defer validity.Release()
	validity.Resize(int(bitutil.BytesForBits(int64(length))))
	bitutil.CopyBitmap(d.Buffers()[0].Bytes(), d.Offset(), length, validity.Bytes(), 0)

	offBuf := memory.NewResizableBuffer(mem)
	defer offBuf.Release()
	var lt arrow.DataType
	if offsets[length] <= math.MaxInt32 {
		offBuf.Resize((length + 1) * 4)
		o := arrow.GetData[int32](offBuf.Bytes())
		for i, v := range offsets {
			o[i] = int32(v)
		}
		lt = arrow.ListOfField(t.ElemField())
	} else {
		offBuf.Resize((length + 1) * 8)
		copy(arrow.GetData[int64](offBuf.Bytes()), offsets)
		lt = arrow.LargeListOfField(t.ElemField())
	}
	return array.NewData(lt, length, []*memory.Buffer{validity, offBuf}, []arrow.ArrayData{values}, d.NullN(), 0), nil
}
