// Command ray_actor_counter shows actors: four Counter actors, each holding
// its own state, called through refs. Calls to one actor run in the order
// they were made, so the five increments of the first counter return
// 2, 3, 4, 5, 6.
package main

import (
	"fmt"
	"log"
	"strings"

	"github.com/goray-dev/goray/raylib/ray"
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
	defer ray.Shutdown()

	counters := make([]*ray.Actor[Counter], 4)
	for i := range counters {
		c, err := ray.NewActor(NewCounter)
		if err != nil {
			log.Fatal(err)
		}
		counters[i] = c
	}

	callAll := func(m func(*Counter) int) []int {
		refs := make([]ray.ObjectRef[int], len(counters))
		for i, c := range counters {
			refs[i] = ray.Call(c, m)
		}
		return must(ray.GetAll(refs))
	}

	fmt.Println("Initial counts: ", pyList(callAll((*Counter).Increment)))

	refs := make([]ray.ObjectRef[int], 5)
	for i := range refs {
		refs[i] = ray.Call(counters[0], (*Counter).Increment)
	}
	fmt.Println("Incremented first counter five times: ", pyList(must(ray.GetAll(refs))))

	fmt.Println("Get the counts: ", pyList(callAll((*Counter).GetCounter)))

	fmt.Println("Look at the final counts after incrementing each counter once: ", pyList(callAll((*Counter).Increment)))
}

func must(xs []int, err error) []int {
	if err != nil {
		log.Fatal(err)
	}
	return xs
}

// pyList formats ints the way Python prints a list: [1, 2, 3].
func pyList(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
