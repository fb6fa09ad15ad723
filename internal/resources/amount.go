package resources

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Scale is the number of units in one whole resource: amounts are kept with
// a precision of 1/Scale (0.0001), which is Ray's precision too.
const Scale = 10000

// Amount is a resource quantity in units of 1/Scale.
type Amount int64

// Well-known resource names.
const (
	CPU               = "CPU"
	GPU               = "GPU"
	Memory            = "memory"
	ObjectStoreMemory = "object_store_memory"
)

// FromFloat converts a user-facing quantity to an Amount. It rejects
// negative, NaN and infinite values and values finer than the precision.
func FromFloat(name string, v float64) (Amount, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("resource %q: %v is not a number", name, v)
	}
	if v < 0 {
		return 0, fmt.Errorf("resource %q: amount %v is negative", name, v)
	}
	if v > math.MaxInt64/Scale {
		return 0, fmt.Errorf("resource %q: amount %v is too large", name, v)
	}
	scaled := v * Scale
	rounded := math.Round(scaled)
	if math.Abs(scaled-rounded) > 1e-6*math.Max(1, scaled) {
		return 0, fmt.Errorf("resource %q: amount %v is finer than the precision 0.0001", name, v)
	}
	return Amount(rounded), nil
}

// Whole returns n whole units.
func Whole(n int64) Amount { return Amount(n * Scale) }

// Float converts back to the user-facing quantity.
func (a Amount) Float() float64 { return float64(a) / Scale }

// IsWhole reports whether a is an integral number of units.
func (a Amount) IsWhole() bool { return a%Scale == 0 }

// String formats the amount without trailing zeros.
func (a Amount) String() string {
	return strconv.FormatFloat(a.Float(), 'f', -1, 64)
}

// Set is a bundle of named amounts. Missing names mean zero.
type Set map[string]Amount

// ParseSet converts user-facing quantities into a Set, validating each one.
// Zero amounts are dropped.
func ParseSet(m map[string]float64) (Set, error) {
	s := make(Set, len(m))
	for name, v := range m {
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("resource name is empty")
		}
		a, err := FromFloat(name, v)
		if err != nil {
			return nil, err
		}
		if a != 0 {
			s[name] = a
		}
	}
	return s, nil
}

// ValidateRequest checks the rules Ray applies to a task or actor request:
// GPU (and any other countable device) amounts above 1 must be whole.
func ValidateRequest(s Set) error {
	if g, ok := s[GPU]; ok && g > Scale && !g.IsWhole() {
		return fmt.Errorf("resource %q: %v GPUs is not valid: fractions must be in (0, 1] and larger requests whole numbers", GPU, g)
	}
	return nil
}

// Clone returns a copy of s.
func (s Set) Clone() Set {
	c := make(Set, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

// Floats converts s to user-facing quantities.
func (s Set) Floats() map[string]float64 {
	m := make(map[string]float64, len(s))
	for k, v := range s {
		m[k] = v.Float()
	}
	return m
}

// String formats s as {CPU: 1, GPU: 0.5} with names sorted.
func (s Set) String() string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", k, s[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Key returns a canonical string for s, used to group requests of the same
// shape into one scheduling class.
func (s Set) Key() string { return s.String() }
