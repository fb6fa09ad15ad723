// Command counter runs the Counter of ray_actor_counter as plain Go values,
// without the runtime, and prints the same four lines: the actor version
// gives the same answers, only with each counter living in its own actor.
package main

import (
	"fmt"
	"strings"
)

// Counter counts.
type Counter struct{ value int }

// NewCounter returns a counter at zero.
func NewCounter() *Counter { return &Counter{} }

// Increment adds one and returns the new count.
func (c *Counter) Increment() int { c.value++; return c.value }

// GetCounter returns the count.
func (c *Counter) GetCounter() int { return c.value }

func main() {
	counters := []*Counter{NewCounter(), NewCounter(), NewCounter(), NewCounter()}

	var counts []int
	for _, c := range counters {
		counts = append(counts, c.Increment())
	}
	fmt.Println("Initial counts: ", pyList(counts))

	counts = counts[:0]
	for range 5 {
		counts = append(counts, counters[0].Increment())
	}
	fmt.Println("Incremented first counter five times: ", pyList(counts))

	counts = counts[:0]
	for _, c := range counters {
		counts = append(counts, c.GetCounter())
	}
	fmt.Println("Get the counts: ", pyList(counts))

	counts = counts[:0]
	for _, c := range counters {
		counts = append(counts, c.Increment())
	}
	fmt.Println("Look at the final counts after incrementing each counter once: ", pyList(counts))
}

// pyList formats ints the way Python prints a list: [1, 2, 3].
func pyList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
