package objstore

import (
	"reflect"
)

// Sizer is implemented by values that know their own footprint in bytes,
// such as Arrow record batches wrapped by the data package.
type Sizer interface {
	SizeBytes() int64
}

// SizeOf estimates the bytes a value holds: exact for byte slices, strings
// and slices of fixed-size numbers, the value's own answer for a Sizer, and
// a bounded reflective walk otherwise.
func SizeOf(v any) int64 {
	switch x := v.(type) {
	case nil:
		return 0
	case Sizer:
		return x.SizeBytes()
	case []byte:
		return int64(len(x))
	case string:
		return int64(len(x))
	case []float64:
		return int64(len(x)) * 8
	case []float32:
		return int64(len(x)) * 4
	case []int64:
		return int64(len(x)) * 8
	case []int32:
		return int64(len(x)) * 4
	case []int:
		return int64(len(x)) * 8
	case int, int64, uint64, float64, bool, int32, float32, struct{}:
		return int64(reflect.TypeOf(v).Size())
	}
	budget := 10000 // nodes visited at most; beyond it the estimate extrapolates
	return sizeOf(reflect.ValueOf(v), &budget)
}

var sizerType = reflect.TypeFor[Sizer]()

func sizeOf(v reflect.Value, budget *int) int64 {
	*budget--
	if *budget < 0 || !v.IsValid() {
		return 0
	}
	if v.Type().Implements(sizerType) && v.Kind() != reflect.Interface {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return int64(v.Type().Size())
		}
		if v.CanInterface() {
			return v.Interface().(Sizer).SizeBytes()
		}
		// Unexported field: the value cannot be asked; count its header
		// only rather than walk into what it refers to.
		return int64(v.Type().Size())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return int64(v.Type().Size())
		}
		return int64(v.Type().Size()) + sizeOf(v.Elem(), budget)
	case reflect.String:
		return int64(v.Type().Size()) + int64(v.Len())
	case reflect.Slice, reflect.Array:
		n := v.Len()
		elem := v.Type().Elem()
		head := int64(0)
		if v.Kind() == reflect.Slice {
			head = int64(v.Type().Size())
		}
		if n == 0 {
			return head
		}
		if isFlat(elem) {
			return head + int64(n)*int64(elem.Size())
		}
		// Walk a sample of elements and extrapolate.
		sample := n
		if sample > 64 {
			sample = 64
		}
		var s int64
		for i := 0; i < sample; i++ {
			s += sizeOf(v.Index(i), budget)
		}
		return head + s*int64(n)/int64(sample)
	case reflect.Map:
		s := int64(v.Type().Size())
		it := v.MapRange()
		for it.Next() {
			s += sizeOf(it.Key(), budget) + sizeOf(it.Value(), budget)
			if *budget < 0 {
				break
			}
		}
		return s
	case reflect.Struct:
		var s int64
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if isFlat(f.Type()) {
				s += int64(f.Type().Size())
			} else {
				s += sizeOf(f, budget)
			}
		}
		return s
	default:
		return int64(v.Type().Size())
	}
}

func isFlat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return isFlat(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !isFlat(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
