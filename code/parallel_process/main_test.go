package main

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// The eight one-second filters overlap: with 8 logical CPUs the run is
// about one second, not eight, and the line has the lab's format.
func TestEightCPUsRunTheFiltersTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the command")
	}
	out, err := exec.Command("go", "run", ".", "-cpus", "8").CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`^Processed 8 images in (\d+\.\d\d) seconds\.\n$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("output %q does not match the lab's line", out)
	}
	secs, _ := strconv.ParseFloat(string(m[1]), 64)
	if secs < 1 || secs > 4 {
		t.Fatalf("took %.2f s; eight 1 s tasks on 8 CPUs should take about 1 s", secs)
	}
}
