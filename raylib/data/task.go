package data

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/goray-dev/goray/raylib/ray"
)

// readTask reads part of a datasource (a file, a byte range, row groups)
// and emits records.
type readTask struct {
	label string // for errors and stats: the file and the part of it
	files []string
	rows  int64 // expected rows, -1 if unknown
	bytes int64 // expected bytes in memory, 0 if unknown
	run   func(ctx context.Context, emit emitFn) error
}

// stageFactory makes an operator's stage for one task; udf is the actor's
// instance when the operator runs on an actor pool.
type stageFactory func(udf any) (stage, error)

// taskInput is everything a map task needs: its input (a read task or
// blocks) and the fused chain of stages to run on it.
type taskInput struct {
	op       string
	seq      int
	read     *readTask
	blocks   []BlockRef
	stages   []stageFactory
	maxBlock int64
}

func (in *taskInput) describe() string {
	if in.read != nil {
		return in.read.label
	}
	var files []string
	var rows int64
	for _, b := range in.blocks {
		rows += b.Meta.NumRows
		for _, f := range b.Meta.InputFiles {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	s := fmt.Sprintf("input block %d (%d rows", in.seq, rows)
	if len(files) > 0 {
		s += " from " + strings.Join(files, ", ")
	}
	return s + ")"
}

func (in *taskInput) files() []string {
	if in.read != nil {
		return in.read.files
	}
	var files []string
	for _, b := range in.blocks {
		files = append(files, b.Meta.InputFiles...)
	}
	return files
}

// runTask is the body of every map task and actor call: it feeds the input
// through the stages and stores the output as blocks of at most maxBlock
// bytes.
func runTask(ctx context.Context, in taskInput, udf any) (refs []BlockRef, err error) {
	// The task's CPU time is its thread's: keep the goroutine on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, wall0 := threadCPU(), time.Now()
	defer func() {
		if len(refs) > 0 {
			refs[0].Meta.Exec = ExecStats{Wall: time.Since(wall0), CPU: threadCPU() - cpu0}
		}
	}()
	// A panic anywhere in the task (not only in the UDF) fails the task
	// with an error naming the operator and the input; it must not kill
	// the actor that runs it.
	defer func() {
		if r := recover(); r != nil {
			refs, err = nil, &UDFError{Operator: in.op, Block: in.describe(), Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	stages := make([]stage, len(in.stages))
	for i, f := range in.stages {
		s, err := f(udf)
		if err != nil {
			return nil, &UDFError{Operator: in.op, Block: in.describe(), Err: err}
		}
		stages[i] = s
	}
	out := &outputBuffer{max: in.maxBlock, files: in.files()}
	emits := make([]emitFn, len(stages)+1)
	emits[len(stages)] = out.add
	for i := len(stages) - 1; i >= 0; i-- {
		s, next := stages[i], emits[i+1]
		emits[i] = func(rec arrow.RecordBatch) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return s.process(ctx, rec, next)
		}
	}
	err = feed(ctx, in, emits[0])
	if err == nil {
		for i, s := range stages {
			if err = s.flush(ctx, emits[i+1]); err != nil {
				break
			}
		}
	}
	if err != nil && !errors.Is(err, errLimitReached) {
		for _, s := range stages {
			if a, ok := s.(interface{ abort() }); ok {
				a.abort()
			}
		}
		out.release()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *UDFError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, &UDFError{Operator: in.op, Block: in.describe(), Err: err}
	}
	return out.finish()
}

func feed(ctx context.Context, in taskInput, emit emitFn) error {
	if in.read != nil {
		return in.read.run(ctx, emit)
	}
	for _, b := range in.blocks {
		blk, err := ray.Get(b.Ref, ray.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("fetch block: %w", err)
		}
		if err := emit(blk.rec); err != nil {
			return err
		}
	}
	return nil
}

// outputBuffer gathers a task's output records into blocks of about max
// bytes, as Ray's block output buffer does, and puts them in the store.
type outputBuffer struct {
	max     int64
	files   []string
	pending []arrow.RecordBatch
	bytes   int64
	refs    []BlockRef
	schema  *arrow.Schema
}

func (o *outputBuffer) add(rec arrow.RecordBatch) error {
	if o.schema == nil {
		o.schema = rec.Schema()
	} else if !o.schema.Equal(rec.Schema()) {
		// A UDF may return different schemas for different batches;
		// each distinct schema run becomes its own block.
		if err := o.seal(); err != nil {
			return err
		}
		o.schema = rec.Schema()
	}
	if rec.NumRows() == 0 {
		return nil
	}
	size := NewBlock(rec).SizeBytes()
	if o.max > 0 && size > o.max && rec.NumRows() > 1 {
		// Too big for one block: split it in row ranges.
		parts := (size + o.max - 1) / o.max
		step := (rec.NumRows() + parts - 1) / parts
		for off := int64(0); off < rec.NumRows(); off += step {
			if err := o.add(rec.NewSlice(off, min(off+step, rec.NumRows()))); err != nil {
				return err
			}
		}
		return nil
	}
	if o.max > 0 && o.bytes+size > o.max {
		if err := o.seal(); err != nil {
			return err
		}
	}
	o.pending = append(o.pending, rec)
	o.bytes += size
	return nil
}

func (o *outputBuffer) seal() error {
	if len(o.pending) == 0 {
		return nil
	}
	rec, err := concatRecords(o.pending[0].Schema(), o.pending)
	if err != nil {
		return err
	}
	o.pending, o.bytes = o.pending[:0], 0
	o.refs = append(o.refs, putBlock(NewBlock(rec), o.files))
	return nil
}

func (o *outputBuffer) finish() ([]BlockRef, error) {
	if err := o.seal(); err != nil {
		o.release()
		return nil, err
	}
	if len(o.refs) == 0 && o.schema != nil {
		// An empty output still carries its schema downstream.
		o.refs = append(o.refs, putBlock(NewBlock(emptyRecord(o.schema)), o.files))
	}
	return o.refs, nil
}

func (o *outputBuffer) release() {
	releaseRefs(o.refs)
	o.refs = nil
}

func putBlock(b *Block, files []string) BlockRef {
	return BlockRef{Ref: ray.Put(b), Meta: BlockMetadata{NumRows: b.NumRows(), SizeBytes: b.SizeBytes(),
		Schema: b.Schema(), InputFiles: files}, owned: true}
}
