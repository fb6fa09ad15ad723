//go:build race

package proxy_test

// raceEnabled builds the kernel under test with the race detector too.
const raceEnabled = true
