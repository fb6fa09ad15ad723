package proxy

import (
	"os"
	"testing"
	"time"
)

// ticksAt bounds the start time of every process started before its
// argument, and processes started later exceed it soon after.
func TestTicksAt(t *testing.T) {
	before, err := ticksAt(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	self, ok := readProc(os.Getpid())
	if !ok {
		t.Fatal("cannot read /proc/self/stat")
	}
	if self.start > before {
		t.Errorf("this process started at tick %d, after the bound %d for now", self.start, before)
	}
	earlier, err := ticksAt(time.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if d := int64(before) - int64(earlier); d < 99 || d > 102 {
		t.Errorf("a second earlier is %d ticks earlier, want about 100", d)
	}
}
