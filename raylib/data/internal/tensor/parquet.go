package tensor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// ArrowSchemaKey is the Parquet key-value metadata key under which Arrow
// writers (pyarrow, pqarrow) store the base64 IPC-serialized Arrow schema.
const ArrowSchemaKey = "ARROW:schema"

// ErrNoArrowSchema is returned by [FromParquetMetadata] when the metadata
// holds no ARROW:schema key.
var ErrNoArrowSchema = errors.New("tensor: no " + ArrowSchemaKey + " in the Parquet metadata")

// needsUnwrap reports whether pqarrow cannot write ext natively: extension
// types with nested storage (such as fixed shape tensors), except variant,
// which pqarrow maps to the Parquet VARIANT type. Extension types with
// primitive storage (uuid, json, bool8, ...) are written by pqarrow as they
// are and keep their Parquet logical types.
func needsUnwrap(ext arrow.ExtensionType) bool {
	if extensions.IsVariantExtensionName(ext.ExtensionName()) {
		return false
	}
	_, nested := ext.StorageType().(arrow.NestedType)
	return nested
}

// storageType returns dt with the extension types pqarrow cannot write
// replaced by their storage, looking inside struct, list, large_list,
// fixed_size_list and map types, and whether anything changed.
func storageType(dt arrow.DataType) (arrow.DataType, bool) {
	field := func(f arrow.Field) (arrow.Field, bool) {
		t, ch := storageType(f.Type)
		f.Type = t
		return f, ch
	}
	switch t := dt.(type) {
	case arrow.ExtensionType:
		if !needsUnwrap(t) {
			return dt, false
		}
		st, _ := storageType(t.StorageType())
		return st, true
	case *arrow.ListType:
		if f, ch := field(t.ElemField()); ch {
			return arrow.ListOfField(f), true
		}
	case *arrow.LargeListType:
		if f, ch := field(t.ElemField()); ch {
			return arrow.LargeListOfField(f), true
		}
	case *arrow.FixedSizeListType:
		if f, ch := field(t.ElemField()); ch {
			return arrow.FixedSizeListOfField(t.Len(), f), true
		}
	case *arrow.MapType:
		k, kch := field(t.KeyField())
		v, vch := field(t.ItemField())
		if kch || vch {
			m := arrow.MapOfFields(k, v)
			m.KeysSorted = t.KeysSorted
			return m, true
		}
	case *arrow.StructType:
		fields := t.Fields()
		changed := false
		for i, f := range fields {
			var ch bool
			fields[i], ch = field(f)
			changed = changed || ch
		}
		if changed {
			return arrow.StructOf(fields...), true
		}
	}
	return dt, false
}

func withoutArrowSchemaKey(md arrow.Metadata) *arrow.Metadata {
	if md.FindKey(ArrowSchemaKey) < 0 {
		return &md
	}
	var keys, vals []string
	for i, k := range md.Keys() {
		if k != ArrowSchemaKey {
			keys = append(keys, k)
			vals = append(vals, md.Values()[i])
		}
	}
	out := arrow.NewMetadata(keys, vals)
	return &out
}

// StorageSchema returns s with every extension type pqarrow cannot write (a
// fixed shape tensor, or any extension with nested storage other than
// variant, also inside struct and list types) replaced by its storage type.
// Field and schema metadata are kept, except a stale ARROW:schema key.
func StorageSchema(s *arrow.Schema) *arrow.Schema {
	fields := s.Fields()
	for i, f := range fields {
		fields[i].Type, _ = storageType(f.Type)
	}
	return arrow.NewSchema(fields, withoutArrowSchemaKey(s.Metadata()))
}

// StorageRecord returns rec with its columns unwrapped as [StorageSchema]
// unwraps its schema, sharing rec's value buffers (no copy). pqarrow
// ignores the offset of a fixed_size_list (as a sliced record has), so such
// columns, and struct columns holding one, are rebased onto slices of their
// values: only their validity bitmaps are copied. The caller releases the
// result (and still owns rec).
//
// pqarrow.FileWriter.Write still rejects fixed_size_list columns with null
// rows ("lists with non-zero length null components are not supported");
// [ParquetWriter] writes those.
func StorageRecord(rec arrow.RecordBatch) arrow.RecordBatch {
	schema := StorageSchema(rec.Schema())
	cols := make([]arrow.Array, rec.NumCols())
	for i, col := range rec.Columns() {
		d, err := conform(col.Data(), schema.Field(i).Type, nil)
		if err != nil { // cannot happen: the storage is the data's own layout
			panic(err)
		}
		r := rebaseFixed(d, nil)
		d.Release()
		cols[i] = array.MakeFromData(r)
		r.Release()
	}
	defer releaseAll(cols)
	return array.NewRecordBatch(schema, cols, rec.NumRows())
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

// ArrowSchemaMetadata returns the value to store under the Parquet
// key-value metadata key "ARROW:schema" for a file holding s: the base64
// (standard, padded) Arrow IPC stream serialization of s, as pqarrow's
// WithStoreSchema and pyarrow write it. Readers (pyarrow, pqarrow,
// [FromParquetMetadata]) restore the extension types from it. mem may be nil.
func ArrowSchemaMetadata(s *arrow.Schema, mem memory.Allocator) (string, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	s = arrow.NewSchema(s.Fields(), withoutArrowSchemaKey(s.Metadata()))
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("tensor: serializing the Arrow schema: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeArrowSchema decodes an ARROW:schema metadata value (base64, padded
// or not, of an IPC-serialized schema). Fixed shape tensor fields come back
// as [FixedShapeType].
func DecodeArrowSchema(value string) (*arrow.Schema, error) {
	_ = Register()
	var (
		raw []byte
		err error
	)
	if len(value)%4 == 0 {
		raw, err = base64.StdEncoding.DecodeString(value)
	}
	if len(raw) == 0 || err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(value)
	}
	if err != nil {
		return nil, fmt.Errorf("tensor: %s is not base64: %w", ArrowSchemaKey, err)
	}
	rdr, err := ipc.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tensor: decoding %s: %w", ArrowSchemaKey, err)
	}
	defer rdr.Release()
	return rdr.Schema(), nil
}

// FromParquetMetadata returns the Arrow schema stored under "ARROW:schema"
// in a Parquet file's key-value metadata (file.Reader.MetaData().
// KeyValueMetadata()), extension types included; [ErrNoArrowSchema] when
// the key is absent.
func FromParquetMetadata(kv metadata.KeyValueMetadata) (*arrow.Schema, error) {
	v := kv.FindValue(ArrowSchemaKey)
	if v == nil {
		return nil, ErrNoArrowSchema
	}
	return DecodeArrowSchema(*v)
}

// Restore returns rec with its columns converted to the types of want
// (matched by position, names must agree): storage columns are wrapped back
// into extension arrays, also inside struct and list columns, sharing rec's
// buffers. A list column is accepted where a fixed_size_list (tensor
// storage) is wanted when every non-null row has the right length; it is
// zero copy when the lists are laid out back to back, copied otherwise.
// Columns that already have the wanted type are kept. The result has want's
// fields and metadata; the caller releases it (and still owns rec).
func Restore(rec arrow.RecordBatch, want *arrow.Schema) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) != want.NumFields() {
		return nil, fmt.Errorf("tensor: record has %d columns, schema %d", rec.NumCols(), want.NumFields())
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer releaseAll(cols)
	for i, col := range rec.Columns() {
		wf := want.Field(i)
		if name := rec.ColumnName(i); name != wf.Name {
			return nil, fmt.Errorf("tensor: column %d is %q, schema has %q", i, name, wf.Name)
		}
		d, err := conform(col.Data(), wf.Type, nil)
		if err != nil {
			return nil, fmt.Errorf("tensor: column %q: %w", wf.Name, err)
		}
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	return array.NewRecordBatch(want, cols, rec.NumRows()), nil
}

// conform returns d with type want, sharing d's buffers, where the layouts
// agree (an extension and its storage, nested types whose children
// conform). A list becomes a fixed_size_list (see Restore). The caller
// releases the result.
func conform(d arrow.ArrayData, want arrow.DataType, mem memory.Allocator) (arrow.ArrayData, error) {
	have := d.DataType()
	if arrow.TypeEqual(have, want) {
		d.Retain()
		return d, nil
	}
	if ext, ok := have.(arrow.ExtensionType); ok {
		// view d as its storage, then conform that
		st := newDataLike(d, ext.StorageType(), d.Children())
		defer st.Release()
		return conform(st, want, mem)
	}
	switch w := want.(type) {
	case arrow.ExtensionType:
		inner, err := conform(d, w.StorageType(), mem)
		if err != nil {
			return nil, err
		}
		defer inner.Release()
		return newDataLike(inner, w, inner.Children()), nil
	case *arrow.FixedSizeListType:
		switch have.ID() {
		case arrow.FIXED_SIZE_LIST:
			if have.(*arrow.FixedSizeListType).Len() != w.Len() {
				break
			}
			return conformChildren(d, want, []arrow.DataType{w.Elem()}, mem)
		case arrow.LIST, arrow.LARGE_LIST:
			fsl, err := listToFixed(d, w, mem)
			if err != nil {
				return nil, err
			}
			defer fsl.Release()
			return conformChildren(fsl, want, []arrow.DataType{w.Elem()}, mem)
		}
	case *arrow.ListType, *arrow.LargeListType, *arrow.MapType:
		if have.ID() == want.ID() {
			return conformChildren(d, want, []arrow.DataType{want.(arrow.ListLikeType).Elem()}, mem)
		}
	case *arrow.StructType:
		if have.ID() == arrow.STRUCT && have.(*arrow.StructType).NumFields() == w.NumFields() {
			types := make([]arrow.DataType, w.NumFields())
			for i, f := range w.Fields() {
				types[i] = f.Type
			}
			return conformChildren(d, want, types, mem)
		}
	}
	return nil, fmt.Errorf("cannot convert %s to %s", have, want)
}

// newDataLike returns d's buffers, length, nulls and offset with another
// type and children.
func newDataLike(d arrow.ArrayData, dt arrow.DataType, children []arrow.ArrayData) arrow.ArrayData {
	out := array.NewData(dt, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
	if dict := d.Dictionary(); dict != nil {
		out.SetDictionary(dict)
	}
	return out
}

func conformChildren(d arrow.ArrayData, want arrow.DataType, types []arrow.DataType, mem memory.Allocator) (arrow.ArrayData, error) {
	children := d.Children()
	if len(children) != len(types) {
		return nil, fmt.Errorf("cannot convert %s to %s", d.DataType(), want)
	}
	out := make([]arrow.ArrayData, len(children))
	defer func() {
		for _, c := range out {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range children {
		var err error
		if out[i], err = conform(c, types[i], mem); err != nil {
			return nil, err
		}
	}
	return newDataLike(d, want, out), nil
}

// listToFixed converts a list or large_list array to a fixed_size_list of
// w.Len() (child type unchanged), zero copy when the lists lie back to back.
func listToFixed(d arrow.ArrayData, w *arrow.FixedSizeListType, mem memory.Allocator) (arrow.ArrayData, error) {
	n, length := int64(w.Len()), d.Len()
	fslType := arrow.FixedSizeListOfField(w.Len(), d.DataType().(arrow.ListLikeType).ElemField())
	if length == 0 {
		values := array.NewSliceData(d.Children()[0], 0, 0)
		defer values.Release()
		return array.NewData(fslType, 0, []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0), nil
	}
	var offsets []int64
	if d.DataType().ID() == arrow.LIST {
		for _, o := range arrow.GetOffsets[int32](d, 1) {
			offsets = append(offsets, int64(o))
		}
	} else {
		offsets = arrow.GetOffsets[int64](d, 1)
	}
	arr := array.MakeFromData(d)
	defer arr.Release()
	contiguous := true
	for i := 0; i < length; i++ {
		got := offsets[i+1] - offsets[i]
		if arr.IsValid(i) && got != n {
			return nil, fmt.Errorf("row %d has %d elements, want %d", i, got, n)
		}
		if offsets[i] != offsets[0]+int64(i)*n || got != n {
			contiguous = false
		}
	}
	child := d.Children()[0]
	var values arrow.ArrayData
	if contiguous {
		values = array.NewSliceData(child, offsets[0], offsets[0]+int64(length)*n)
	} else {
		if mem == nil {
			mem = memory.DefaultAllocator
		}
		childArr := array.MakeFromData(child)
		defer childArr.Release()
		nullRow := array.MakeArrayOfNull(mem, childArr.DataType(), int(n))
		defer nullRow.Release()
		var parts []arrow.Array
		defer func() { releaseAll(parts) }()
		for i := 0; i < length; {
			if !arr.IsValid(i) {
				parts = append(parts, nullRow)
				nullRow.Retain()
				i++
				continue
			}
			j := i + 1 // extend the run of back-to-back valid rows
			for j < length && arr.IsValid(j) && offsets[j] == offsets[i]+int64(j-i)*n {
				j++
			}
			parts = append(parts, array.NewSlice(childArr, offsets[i], offsets[i]+int64(j-i)*n))
			i = j
		}
		if len(parts) == 0 {
			values = array.NewSliceData(child, 0, 0)
		} else {
			cat, err := array.Concatenate(parts, mem)
			if err != nil {
				return nil, err
			}
			values = cat.Data()
			values.Retain()
			cat.Release()
		}
	}
	defer values.Release()

	var validity *memory.Buffer
	if b := d.Buffers()[0]; b != nil && d.NullN() != 0 {
		if d.Offset() == 0 {
			validity = b
			validity.Retain()
		} else {
			if mem == nil {
				mem = memory.DefaultAllocator
			}
			validity = memory.NewResizableBuffer(mem)
			validity.Resize(int(bitutil.BytesForBits(int64(length))))
			bitutil.CopyBitmap(b.Bytes(), d.Offset(), length, validity.Bytes(), 0)
		}
		defer validity.Release()
	}
	return array.NewData(fslType, length, []*memory.Buffer{validity}, []arrow.ArrayData{values}, d.NullN(), 0), nil
}

// rebaseFixed returns d with every fixed_size_list, and every struct that
// holds one, at offset 0 (values sliced, validity bitmaps copied), looking
// inside struct, list and large_list types; d itself (retained) when there
// is nothing to do. Types are unchanged.
func rebaseFixed(d arrow.ArrayData, mem memory.Allocator) arrow.ArrayData {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var base arrow.ArrayData
	switch t := d.DataType().(type) {
	case *arrow.FixedSizeListType:
		if off := int64(d.Offset()); off != 0 {
			n, length := int64(t.Len()), int64(d.Len())
			child := array.NewSliceData(d.Children()[0], off*n, (off+length)*n)
			defer child.Release()
			var valid *memory.Buffer
			nulls := 0
			if b := d.Buffers()[0]; b != nil && d.NullN() != 0 {
				valid = newBitmap(mem, length)
				defer valid.Release()
				bitutil.CopyBitmap(b.Bytes(), int(off), int(length), valid.Bytes(), 0)
				nulls = d.NullN()
			}
			base = array.NewData(t, d.Len(), []*memory.Buffer{valid}, []arrow.ArrayData{child}, nulls, 0)
		}
	case *arrow.StructType:
		if !hasFixedList(t) {
			break
		}
		if d.Offset() != 0 {
			base = rebaseStruct(d, false, mem)
		}
	case *arrow.ListType, *arrow.LargeListType:
		if !hasFixedList(t) {
			break
		}
	default:
		d.Retain()
		return d
	}
	if base == nil {
		base = d
		base.Retain()
	}
	defer base.Release()
	children := make([]arrow.ArrayData, len(base.Children()))
	changed := false
	for i, c := range base.Children() {
		children[i] = rebaseFixed(c, mem)
		defer children[i].Release()
		changed = changed || children[i] != c
	}
	if !changed {
		base.Retain()
		return base
	}
	return newDataLike(base, base.DataType(), children)
}
