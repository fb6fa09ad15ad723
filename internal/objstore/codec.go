package objstore

import (
	"encoding/gob"
	"fmt"
	"io"
)

// Codec writes a value to disk and reads it back; the store uses it only to
// spill. A nil Codec marks a value that cannot be spilled.
type Codec interface {
	Encode(w io.Writer, v any) error
	Decode(r io.Reader) (any, error)
}

// GobCodec spills values of type T with encoding/gob.
type GobCodec[T any] struct{}

// Encode implements Codec.
func (GobCodec[T]) Encode(w io.Writer, v any) error {
	t, ok := v.(T)
	if !ok {
		return fmt.Errorf("gob codec: value is %T, not %T", v, *new(T))
	}
	return gob.NewEncoder(w).Encode(&t)
}

// Decode implements Codec.
func (GobCodec[T]) Decode(r io.Reader) (any, error) {
	var t T
	if err := gob.NewDecoder(r).Decode(&t); err != nil {
		return nil, err
	}
	return t, nil
}

// BytesCodec spills byte slices verbatim.
type BytesCodec struct{}

// Encode implements Codec.
func (BytesCodec) Encode(w io.Writer, v any) error {
	b, ok := v.([]byte)
	if !ok {
		return fmt.Errorf("bytes codec: value is %T", v)
	}
	_, err := w.Write(b)
	return err
}

// Decode implements Codec.
func (BytesCodec) Decode(r io.Reader) (any, error) { return io.ReadAll(r) }
