package weights

import (
	"fmt"
	"math"
)

// Metadata is GGUF metadata: key -> value, with the Go types listed on GGUF.
// The typed getters return a *MetadataError when the key is missing or its
// value does not fit the asked-for type. Integer getters accept any stored
// integer type whose value fits (writers differ on uint32 vs int32 vs
// uint64); float getters accept float32, float64 and integers.
type Metadata map[string]any

// MetadataError reports a missing key or a value of the wrong type.
type MetadataError struct {
	Key     string
	Want    string // the asked-for type
	Got     any    // the stored value (nil when Missing)
	Missing bool
}

func (e *MetadataError) Error() string {
	if e.Missing {
		return fmt.Sprintf("weights: metadata key %q not found", e.Key)
	}
	return fmt.Sprintf("weights: metadata key %q holds %T %v, not a %s", e.Key, e.Got, short(e.Got), e.Want)
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// Has reports whether key is present.
func (m Metadata) Has(key string) bool {
	_, ok := m[key]
	return ok
}

func (m Metadata) get(key, want string) (any, error) {
	v, ok := m[key]
	if !ok {
		return nil, &MetadataError{Key: key, Want: want, Missing: true}
	}
	return v, nil
}

// asInt64 converts any integer value; ok is false for non-integers and for
// uint64 values above MaxInt64.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

func intIn[T int | int32 | int64 | uint32 | uint64](m Metadata, key, want string, lo, hi int64) (T, error) {
	v, err := m.get(key, want)
	if err != nil {
		return 0, err
	}
	if u, ok := v.(uint64); ok && want == "uint64" {
		return T(u), nil
	}
	i, ok := asInt64(v)
	if !ok || i < lo || i > hi {
		return 0, &MetadataError{Key: key, Want: want, Got: v}
	}
	return T(i), nil
}

// Uint32 returns an integer value that fits in a uint32.
func (m Metadata) Uint32(key string) (uint32, error) {
	return intIn[uint32](m, key, "uint32", 0, math.MaxUint32)
}

// Int32 returns an integer value that fits in an int32.
func (m Metadata) Int32(key string) (int32, error) {
	return intIn[int32](m, key, "int32", math.MinInt32, math.MaxInt32)
}

// Uint64 returns a non-negative integer value.
func (m Metadata) Uint64(key string) (uint64, error) {
	return intIn[uint64](m, key, "uint64", 0, math.MaxInt64)
}

// Int64 returns an integer value that fits in an int64.
func (m Metadata) Int64(key string) (int64, error) {
	return intIn[int64](m, key, "int64", math.MinInt64, math.MaxInt64)
}

// Int returns an integer value that fits in an int.
func (m Metadata) Int(key string) (int, error) {
	return intIn[int](m, key, "int", math.MinInt, math.MaxInt)
}

// Float64 returns a float (float32 values convert exactly) or integer value.
func (m Metadata) Float64(key string) (float64, error) {
	v, err := m.get(key, "float64")
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	if i, ok := asInt64(v); ok {
		return float64(i), nil
	}
	return 0, &MetadataError{Key: key, Want: "float64", Got: v}
}

// Float32 returns a float or integer value as float32.
func (m Metadata) Float32(key string) (float32, error) {
	if x, ok := m[key].(float32); ok {
		return x, nil
	}
	f, err := m.Float64(key)
	if err != nil {
		if me, ok := err.(*MetadataError); ok {
			me.Want = "float32"
		}
		return 0, err
	}
	return float32(f), nil
}

// Bool returns a bool value.
func (m Metadata) Bool(key string) (bool, error) {
	v, err := m.get(key, "bool")
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &MetadataError{Key: key, Want: "bool", Got: v}
	}
	return b, nil
}

// String returns a string value.
func (m Metadata) String(key string) (string, error) {
	v, err := m.get(key, "string")
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", &MetadataError{Key: key, Want: "string", Got: v}
	}
	return s, nil
}

// Strings returns an array of strings (tokenizer.ggml.tokens, ...). The
// slice is the stored one: do not modify it.
func (m Metadata) Strings(key string) ([]string, error) {
	v, err := m.get(key, "[]string")
	if err != nil {
		return nil, err
	}
	s, ok := v.([]string)
	if !ok {
		return nil, &MetadataError{Key: key, Want: "[]string", Got: v}
	}
	return s, nil
}

// Ints returns an array of any integer type as []int.
func (m Metadata) Ints(key string) ([]int, error) {
	v, err := m.get(key, "[]int")
	if err != nil {
		return nil, err
	}
	var out []int
	conv := func(n int, at func(int) (int64, bool)) error {
		out = make([]int, n)
		for i := range n {
			x, ok := at(i)
			if !ok || int64(int(x)) != x {
				return &MetadataError{Key: key, Want: "[]int", Got: v}
			}
			out[i] = int(x)
		}
		return nil
	}
	switch a := v.(type) {
	case []uint8:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []int8:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []uint16:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []int16:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []uint32:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []int32:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []uint64:
		err = conv(len(a), func(i int) (int64, bool) { return asInt64(a[i]) })
	case []int64:
		err = conv(len(a), func(i int) (int64, bool) { return a[i], true })
	default:
		return nil, &MetadataError{Key: key, Want: "[]int", Got: v}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Float32s returns an array of float32 (float64 arrays are converted).
func (m Metadata) Float32s(key string) ([]float32, error) {
	v, err := m.get(key, "[]float32")
	if err != nil {
		return nil, err
	}
	switch a := v.(type) {
	case []float32:
		return a, nil
	case []float64:
		out := make([]float32, len(a))
		for i, x := range a {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, &MetadataError{Key: key, Want: "[]float32", Got: v}
}
