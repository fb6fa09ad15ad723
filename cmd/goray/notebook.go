package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/goray-dev/goray/kernel"
	"github.com/goray-dev/goray/kernel/notebook"
)

// notebookRun executes a notebook headlessly, as nbclient does.
func notebookRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("notebook run", stderr)
	out := fs.String("o", "", "write the executed notebook to `OUT.ipynb` (also written when a cell fails)")
	fs.StringVar(out, "output", "", "same as -o")
	inplace := fs.Bool("inplace", false, "write the outputs back into the input notebook")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for each cell (0: none)")
	kernelName := fs.String("kernel", "", "kernelspec to run on (default: the notebook's, else goray)")
	quiet := fs.Bool("q", false, "no progress lines")
	var lf layoutFlags
	lf.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"notebook run: want exactly one notebook (goray notebook run IN.ipynb [-o OUT.ipynb])"}
	}
	if *inplace && *out != "" {
		return usageError{"notebook run: -o and --inplace exclude each other"}
	}
	in := pos[0]
	nb, err := notebook.Read(in)
	if err != nil {
		return err
	}
	name := *kernelName
	if name == "" {
		name = notebookKernel(nb)
	}
	spec, err := findSpec(name, lf)
	if err != nil {
		return fmt.Errorf("notebook run %s: %w", in, err)
	}
	opts := notebook.RunOptions{Spec: spec, CellTimeout: *timeout, Dir: filepath.Dir(in)}
	if !*quiet {
		opts.Log = stderr
	}
	start := time.Now()
	runErr := notebook.Run(ctx, nb, opts)
	dest := *out
	if *inplace {
		dest = in
	}
	if dest != "" {
		if err := nb.Write(dest); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		return fmt.Errorf("notebook run %s: %w", in, runErr)
	}
	if !*quiet {
		fmt.Fprintf(stderr, "%s: every cell ran in %.1f s", in, time.Since(start).Seconds())
		if dest != "" {
			fmt.Fprintf(stderr, "; outputs in %s", dest)
		}
		fmt.Fprintln(stderr)
	}
	return nil
}

// notebookKernel is the kernelspec name the notebook's metadata asks for.
func notebookKernel(nb *notebook.Notebook) string {
	if ks, ok := nb.Metadata["kernelspec"].(map[string]any); ok {
		if name, ok := ks["name"].(string); ok && name != "" {
			return name
		}
	}
	return kernel.Name
}

// findSpec looks the kernel up where Jupyter would; the goray kernel also
// works uninstalled (no Jupyter on the machine), from this binary's layout.
func findSpec(name string, lf layoutFlags) (*kernel.Spec, error) {
	spec, err := kernel.Find(name, nil)
	if err == nil {
		return spec, nil
	}
	if name != kernel.Name || !errors.Is(err, kernel.ErrNotFound) {
		return nil, err
	}
	l, lerr := lf.layout()
	if lerr != nil {
		return nil, fmt.Errorf("%w; and the built-in goray kernel is not usable: %w", err, lerr)
	}
	return l.Spec(), nil
}
