package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gomlx/go-xla/pkg/pjrt"
)

// checkPlugin loads a PJRT plugin the way raylib/infer/device does (by
// absolute path, through go-xla) and prints what it says about itself. It
// creates no client, so it runs without a GPU: it shows that go-xla
// v0.1.4 and the plugin agree on the PJRT C API before any device time is
// spent.
func checkPlugin(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
		_ = os.Setenv("GOPJRT_CUDA_CHECKS", "0") // go-xla's nvidia/ check only warns, wrongly for pip layouts
	}
	p, err := pjrt.GetPlugin(abs)
	if err != nil {
		return fmt.Errorf("load PJRT plugin %s: %w", abs, err)
	}
	major, minor := p.Version()
	fmt.Printf("plugin %s: name %q, PJRT C API %d.%d\n", abs, p.Name(), major, minor)
	attrs := p.Attributes()
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %s = %v\n", k, attrs[k])
	}
	return nil
}
