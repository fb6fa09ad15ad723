package data

import (
	"bytes"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/goray-dev/goray/raylib/ray"
)

// Block is the unit a Dataset is made of: one immutable Arrow record batch,
// kept in the object store behind a BlockRef, as Ray Data keeps Arrow
// tables in Plasma.
type Block struct {
	rec arrow.RecordBatch
}

// NewBlock wraps a record batch. The block takes over the caller's
// reference: blocks are never mutated after they are made.
func NewBlock(rec arrow.RecordBatch) *Block { return &Block{rec: rec} }

// Record returns the block's record batch; it must not be mutated.
func (b *Block) Record() arrow.RecordBatch { return b.rec }

// NumRows is the number of rows in the block.
func (b *Block) NumRows() int64 {
	if b == nil || b.rec == nil {
		return 0
	}
	return b.rec.NumRows()
}

// Schema is the block's Arrow schema.
func (b *Block) Schema() *arrow.Schema { return b.rec.Schema() }

// SizeBytes is the memory held by the block's buffers; the object store
// uses it for its budget and the executor for backpressure.
func (b *Block) SizeBytes() int64 {
	if b == nil || b.rec == nil {
		return 0
	}
	var n int64
	for _, c := range b.rec.Columns() {
		n += arrayBytes(c.Data())
	}
	return n
}

// arrayBytes counts the bytes an array holds. Slices count only what
// they view, so a block cut from a bigger one is not charged for all of it.
func arrayBytes(d arrow.ArrayData) int64 {
	n := int64(0)
	bufs := d.Buffers()
	if len(bufs) > 0 && bufs[0] != nil {
		n += int64(d.Len()+7) / 8 // validity bitmap
	}
	switch t := d.DataType().(type) {
	case arrow.FixedWidthDataType:
		if t.ID() != arrow.DICTIONARY {
			return n + int64(d.Len())*int64(t.BitWidth())/8
		}
	case arrow.BinaryDataType:
		if t.ID() == arrow.STRING || t.ID() == arrow.BINARY {
			if len(bufs) == 3 && bufs[1] != nil && d.Len() > 0 {
				offs := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[d.Offset() : d.Offset()+d.Len()+1]
				return n + int64(4*(d.Len()+1)) + int64(offs[d.Len()]-offs[0])
			}
		}
	}
	for i, buf := range bufs {
		if buf != nil && i > 0 {
			n += int64(buf.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += arrayBytes(d.Dictionary())
	}
	return n
}

// GobEncode writes the block as an Arrow IPC stream, so a block spilled by
// the object store (or sent to another process) keeps its exact types.
func (b *Block) GobEncode() ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(b.rec.Schema()))
	if err := w.Write(b.rec); err != nil {
		return nil, fmt.Errorf("data: encode block: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("data: encode block: %w", err)
	}
	return buf.Bytes(), nil
}

// GobDecode reads a block written by GobEncode.
func (b *Block) GobDecode(p []byte) error {
	r, err := ipc.NewReader(bytes.NewReader(p), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return fmt.Errorf("data: decode block: %w", err)
	}
	defer r.Release()
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("data: decode block: %w", err)
	}
	switch len(recs) {
	case 0:
		b.rec = emptyRecord(r.Schema())
	case 1:
		b.rec = recs[0]
	default:
		rec, err := concatRecords(r.Schema(), recs)
		if err != nil {
			return err
		}
		b.rec = rec
	}
	return nil
}

// BlockMetadata describes a block without fetching it: the executor and
// count() work from metadata alone.
type BlockMetadata struct {
	NumRows    int64
	SizeBytes  int64
	Schema     *arrow.Schema
	InputFiles []string
	// Exec is the work of the task that made the block; a task making
	// several blocks reports it on its first.
	Exec ExecStats
}

// ExecStats is the wall and CPU time of a task.
type ExecStats struct {
	Wall, CPU time.Duration
}

// BlockRef is a block in the object store with its metadata, as the
// materialised dataset's RefBundles are in Ray Data.
type BlockRef struct {
	Ref  ray.ObjectRef[*Block]
	Meta BlockMetadata

	owned bool // made by an execution, which frees it once consumed
}

// Get fetches the block from the object store.
func (r BlockRef) Get() (*Block, error) { return ray.Get(r.Ref) }

func emptyRecord(s *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
	}
	return array.NewRecordBatch(s, cols, 0)
}

// concatRecords joins records of one schema into a single record.
func concatRecords(s *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	if len(recs) == 0 {
		return emptyRecord(s), nil
	}
	cols := make([]arrow.Array, s.NumFields())
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, fmt.Errorf("data: concatenate column %q: %w", s.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(s, cols, rows), nil
}
