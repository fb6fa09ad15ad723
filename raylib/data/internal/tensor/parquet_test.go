package tensor

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// testRecord is a batch with an image column (with a null when withNulls),
// a float tensor, an id column, a struct holding a tensor and a uuid column.
func testRecord(t *testing.T, mem memory.Allocator, withNulls bool) arrow.RecordBatch {
	t.Helper()
	imgs := []image.Image{testImage(5, 4), testImage(5, 4), testImage(5, 4), testImage(5, 4)}
	imgs[2].(*image.NRGBA).Pix[7] = 42
	if withNulls {
		imgs[1] = nil
	}
	img, err := FromImages(mem, imgs, ModeRGB)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Release()
	rows := [][]float32{{1, 2, 3, 4, 5, 6}, {-1, -2, -3, -4, -5, -6}, {0.5, 0, 0, 0, 0, 0}, {9, 9, 9, 9, 9, 9}}
	if withNulls {
		rows[3] = nil
	}
	f32, err := FromSlices(mem, []int{2, 3}, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.AppendValues([]int64{10, 11, 12, 13}, nil)
	ids := ib.NewArray()
	defer ids.Release()
	small, err := FromSlices(mem, []int{2}, [][]int32{{1, 2}, {3, 4}, {5, 6}, {7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Release()
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendValues([]string{"a", "b", "c", "d"}, nil)
	strs := sb.NewArray()
	defer strs.Release()
	st, err := array.NewStructArrayWithFields([]arrow.Array{small, strs}, []arrow.Field{
		{Name: "t", Type: small.DataType(), Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	ub := extensions.NewUUIDBuilder(mem)
	defer ub.Release()
	for i := range 4 {
		ub.AppendBytes([16]byte{byte(i), 1, 2, 3})
	}
	uuids := ub.NewArray()
	defer uuids.Release()

	md := arrow.NewMetadata([]string{"goray"}, []string{"test"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "image", Type: img.DataType(), Nullable: true},
		{Name: "f", Type: f32.DataType(), Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "st", Type: st.DataType(), Nullable: true},
		{Name: "u", Type: uuids.DataType(), Nullable: true},
	}, &md)
	return array.NewRecordBatch(schema, []arrow.Array{img, f32, ids, st, uuids}, 4)
}

func TestStorageSchemaAndRecord(t *testing.T) {
	mem := checkedMem(t)
	rec := testRecord(t, mem, false)
	defer rec.Release()
	ss := StorageSchema(rec.Schema())
	if got, want := ss.Field(0).Type.String(), "fixed_size_list<item: uint8, nullable>[60]"; got != want {
		t.Errorf("image storage %s, want %s", got, want)
	}
	if got := ss.Field(3).Type.(*arrow.StructType).Field(0).Type; got.ID() != arrow.FIXED_SIZE_LIST {
		t.Errorf("tensor in struct not unwrapped: %s", got)
	}
	if _, ok := ss.Field(4).Type.(*extensions.UUIDType); !ok {
		t.Errorf("uuid (primitive storage) was unwrapped: %s", ss.Field(4).Type)
	}
	if v, _ := ss.Metadata().GetValue("goray"); v != "test" {
		t.Error("schema metadata lost")
	}

	srec := StorageRecord(rec)
	defer srec.Release()
	if !srec.Schema().Equal(ss) {
		t.Errorf("record schema %s, want %s", srec.Schema(), ss)
	}
	a, _ := Values[uint8](rec.Column(0))
	b, _ := Values[uint8](srec.Column(0))
	if &a[0] != &b[0] {
		t.Error("StorageRecord copied the values")
	}
	// Restore undoes StorageRecord
	back, err := Restore(srec, rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	defer back.Release()
	assertRecordsEqual(t, back, rec)
}

func assertRecordsEqual(t *testing.T, got, want arrow.RecordBatch) {
	t.Helper()
	if got.NumCols() != want.NumCols() || got.NumRows() != want.NumRows() {
		t.Fatalf("got %dx%d, want %dx%d", got.NumRows(), got.NumCols(), want.NumRows(), want.NumCols())
	}
	for i := range int(want.NumCols()) {
		if !arrow.TypeEqual(got.Column(i).DataType(), want.Column(i).DataType()) {
			t.Errorf("column %q: type %s, want %s", want.ColumnName(i), got.Column(i).DataType(), want.Column(i).DataType())
			continue
		}
		if !array.Equal(got.Column(i), want.Column(i)) {
			t.Errorf("column %q:\n got %s\nwant %s", want.ColumnName(i), got.Column(i), want.Column(i))
		}
	}
	if got.ColumnName(0) != want.ColumnName(0) {
		t.Errorf("names %q vs %q", got.ColumnName(0), want.ColumnName(0))
	}
}

// writeByHand writes rec the way the package documentation describes for
// pqarrow users: storage schema, no WithStoreSchema, ARROW:schema appended.
func writeByHand(t *testing.T, rec arrow.RecordBatch, withSchemaKey bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(StorageSchema(rec.Schema()), &buf, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if withSchemaKey {
		md, err := ArrowSchemaMetadata(rec.Schema(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.AppendKeyValueMetadata(ArrowSchemaKey, md); err != nil {
			t.Fatal(err)
		}
	}
	srec := StorageRecord(rec)
	defer srec.Release()
	if err := fw.Write(srec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readStorage reads a Parquet file with pqarrow and returns its records
// (whatever types pqarrow gives) and the key-value metadata.
func readStorage(t *testing.T, data []byte, mem memory.Allocator) (arrow.RecordBatch, metadata.KeyValueMetadata) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, mem)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() {
		t.Fatal(rr.Err())
	}
	rec := rr.RecordBatch()
	rec.Retain()
	return rec, pf.MetaData().KeyValueMetadata()
}

func TestParquetRoundTripByHand(t *testing.T) {
	mem := checkedMem(t)
	rec := testRecord(t, mem, false)
	defer rec.Release()
	data := writeByHand(t, rec, true)

	got, kv := readStorage(t, data, mem)
	defer got.Release()
	want, err := FromParquetMetadata(kv)
	if err != nil {
		t.Fatal(err)
	}
	if !want.Equal(rec.Schema()) {
		t.Errorf("ARROW:schema decodes to\n%s\nwant\n%s", want, rec.Schema())
	}
	restored, err := Restore(got, want)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Release()
	assertRecordsEqual(t, restored, rec)
	if _, ok := restored.Column(0).(*Array); !ok {
		t.Errorf("restored image column is %T", restored.Column(0))
	}

	// The same from bare storage columns (as pqarrow gives when the type
	// is not registered): unwrap what pqarrow restored, then Restore.
	bare := StorageRecord(got)
	defer bare.Release()
	restored2, err := Restore(bare, want)
	if err != nil {
		t.Fatal(err)
	}
	defer restored2.Release()
	assertRecordsEqual(t, restored2, rec)
}

func TestParquetByHandSliced(t *testing.T) {
	// pqarrow ignores fixed_size_list offsets; StorageRecord rebases them
	mem := checkedMem(t)
	rec := testRecord(t, mem, false)
	defer rec.Release()
	sl := rec.NewSlice(1, 4)
	defer sl.Release()
	got, kv := readStorage(t, writeByHand(t, sl, true), mem)
	defer got.Release()
	want, err := FromParquetMetadata(kv)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(got, want)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Release()
	assertRecordsEqual(t, restored, sl)
}

func TestParquetWithoutSchemaKey(t *testing.T) {
	// Without ARROW:schema, pqarrow reads tensors as plain lists; Restore
	// turns them into tensor columns given the wanted schema.
	mem := checkedMem(t)
	rec := testRecord(t, mem, false)
	defer rec.Release()
	got, kv := readStorage(t, writeByHand(t, rec, false), mem)
	defer got.Release()
	if _, err := FromParquetMetadata(kv); !errors.Is(err, ErrNoArrowSchema) {
		t.Errorf("err = %v, want ErrNoArrowSchema", err)
	}
	if id := got.Column(0).DataType().ID(); id != arrow.LIST {
		t.Fatalf("pqarrow read the image column as %s", got.Column(0).DataType())
	}
	// (the uuid column comes back as uuid through its Parquet logical type)
	restored, err := Restore(got, rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Release()
	assertRecordsEqual(t, restored, rec)
}

func TestParquetWriterNulls(t *testing.T) {
	mem := checkedMem(t)
	rec := testRecord(t, mem, true)
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithAllocator(mem), parquet.WithMaxRowGroupLength(3))
	w, err := NewParquetWriter(&buf, rec.Schema(), props, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	sl := rec.NewSlice(1, 4) // a slice with an offset, nulls included
	defer sl.Release()
	if err := w.Write(sl); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if n := pf.NumRowGroups(); n != 3 {
		t.Errorf("%d row groups, want 3", n)
	}
	pf.Close()

	recs, err := ReadParquet(bytes.NewReader(buf.Bytes()), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	got := concatRecords(t, mem, recs)
	defer got.Release()
	want := concatRecords(t, mem, []arrow.RecordBatch{rec, sl})
	defer want.Release()
	if got.NumRows() != 7 {
		t.Fatalf("%d rows, want 7", got.NumRows())
	}
	assertRecordsEqual(t, got, want)
	imgs, err := ToImages(got.Column(0))
	if err != nil {
		t.Fatal(err)
	}
	if imgs[1] != nil || imgs[4] != nil || imgs[0] == nil {
		t.Errorf("null images not preserved: %v %v", imgs[1] == nil, imgs[4] == nil)
	}
}

func TestRestoreFromLists(t *testing.T) {
	mem := checkedMem(t)
	typ, _ := NewFixedShapeType(arrow.PrimitiveTypes.Int32, []int{2})
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Int32Builder)
	lb.Append(true)
	vb.AppendValues([]int32{1, 2}, nil)
	lb.AppendNull() // empty null row: forces the copying path
	lb.Append(true)
	vb.AppendValues([]int32{3, 4}, nil)
	lb.Append(true)
	vb.AppendValues([]int32{5, 6}, nil)
	list := lb.NewArray()
	defer list.Release()

	schema := arrow.NewSchema([]arrow.Field{{Name: "t", Type: typ, Nullable: true}}, nil)
	for _, tc := range []struct {
		name string
		from arrow.Array
	}{{"with empty null", list}, {"contiguous slice", array.NewSlice(list, 2, 4)}} {
		rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "t", Type: tc.from.DataType(), Nullable: true}}, nil), []arrow.Array{tc.from}, int64(tc.from.Len()))
		out, err := Restore(rec, schema)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		col := out.Column(0)
		for i := range col.Len() {
			l := tc.from.(*array.List)
			if col.IsNull(i) != l.IsNull(i) {
				t.Errorf("%s: row %d null %v", tc.name, i, col.IsNull(i))
				continue
			}
			if col.IsValid(i) {
				s, e := l.ValueOffsets(i)
				want := l.ListValues().(*array.Int32).Int32Values()[s:e]
				if got := Row[int32](col, i); !equalSlices(got, want) {
					t.Errorf("%s: row %d = %v, want %v", tc.name, i, got, want)
				}
			}
		}
		out.Release()
		rec.Release()
		if tc.from != list {
			tc.from.Release()
		}
	}

	// a row of the wrong length is an error naming the row
	lb.Append(true)
	vb.AppendValues([]int32{1, 2, 3}, nil)
	bad := lb.NewArray()
	defer bad.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "t", Type: bad.DataType(), Nullable: true}}, nil), []arrow.Array{bad}, 1)
	defer rec.Release()
	if _, err := Restore(rec, schema); err == nil {
		t.Error("row of 3 elements restored into shape [2]")
	}
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: typ}}, nil)
	if _, err := Restore(rec, other); err == nil {
		t.Error("column name mismatch accepted")
	}
}

func concatRecords(t *testing.T, mem memory.Allocator, recs []arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	cols := make([]arrow.Array, recs[0].NumCols())
	rows := int64(0)
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		var err error
		if cols[i], err = array.Concatenate(parts, mem); err != nil {
			t.Fatal(err)
		}
		defer cols[i].Release()
	}
	return array.NewRecordBatch(recs[0].Schema(), cols, rows)
}

func TestParquetNested(t *testing.T) {
	// tensors inside a struct with null rows, and inside a list, through
	// sliced writes (offsets) and back
	mem := checkedMem(t)
	small, err := FromSlices(mem, []int{2}, [][]int32{{1, 2}, {3, 4}, nil, {7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Release()
	sd0, err := array.NewStructArrayWithFields([]arrow.Array{small}, []arrow.Field{{Name: "t", Type: small.DataType(), Nullable: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer sd0.Release()
	valid := memory.NewBufferBytes([]byte{0b1101}) // struct row 1 is null over a valid tensor
	sd := array.NewData(sd0.DataType(), 4, []*memory.Buffer{valid}, sd0.Data().Children(), 1, 0)
	defer sd.Release()
	st := array.MakeFromData(sd)
	defer st.Release()
	lt := arrow.ListOf(small.DataType())
	offs := memory.NewBufferBytes(arrow.GetBytes([]int32{0, 2, 2, 3, 4}))
	ld := array.NewData(lt, 4, []*memory.Buffer{nil, offs}, []arrow.ArrayData{small.Data()}, 0, 0)
	defer ld.Release()
	la := array.MakeFromData(ld)
	defer la.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: st.DataType(), Nullable: true}, {Name: "l", Type: lt, Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{st, la}, 4)
	defer rec.Release()

	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, schema, parquet.NewWriterProperties(parquet.WithAllocator(mem)), mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	sl := rec.NewSlice(1, 4)
	defer sl.Release()
	if err := w.Write(sl); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadParquet(bytes.NewReader(buf.Bytes()), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	got := concatRecords(t, mem, recs)
	defer got.Release()
	want := concatRecords(t, mem, []arrow.RecordBatch{rec, sl})
	defer want.Release()

	// the list column is equal as it is
	if !array.Equal(got.Column(1), want.Column(1)) {
		t.Errorf("list<tensor>:\n got %s\nwant %s", got.Column(1), want.Column(1))
	}
	// the struct column agrees on nulls and on the tensors of valid rows
	// (under a null struct row the tensor reads back null)
	gs, ws := got.Column(0).(*array.Struct), want.Column(0).(*array.Struct)
	if gs.Len() != ws.Len() {
		t.Fatalf("len %d, want %d", gs.Len(), ws.Len())
	}
	if !arrow.TypeEqual(gs.DataType(), ws.DataType()) {
		t.Errorf("struct type %s, want %s", gs.DataType(), ws.DataType())
	}
	for i := range ws.Len() {
		if gs.IsNull(i) != ws.IsNull(i) {
			t.Errorf("struct row %d null %v, want %v", i, gs.IsNull(i), ws.IsNull(i))
			continue
		}
		if ws.IsValid(i) {
			if g, w := Row[int32](gs.Field(0), i), Row[int32](ws.Field(0), i); !equalSlices(g, w) {
				t.Errorf("struct row %d tensor %v, want %v", i, g, w)
			}
		}
	}
}

func TestReadParquetBatches(t *testing.T) {
	mem := checkedMem(t)
	const n = 2*ReadBatchRows + 100
	rows := make([][]uint16, n)
	for i := range rows {
		if i%97 != 5 {
			rows[i] = []uint16{uint16(i), uint16(i >> 8), 7}
		}
	}
	arr, err := FromSlices(mem, []int{3, 1}, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "t", Type: arr.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{arr}, n)
	defer rec.Release()
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, schema, parquet.NewWriterProperties(parquet.WithAllocator(mem), parquet.WithMaxRowGroupLength(1000)), mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadParquet(bytes.NewReader(buf.Bytes()), mem)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if len(recs) < 3 {
		t.Errorf("%d batches", len(recs))
	}
	got := concatRecords(t, mem, recs)
	defer got.Release()
	assertRecordsEqual(t, got, rec)
}
