package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/goray-dev/goray/kernel"
)

type layoutFlags struct{ module, bin, goDir string }

func (f *layoutFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.module, "module", "", "the goray module folder (default: found above the working folder or the goray binary)")
	fs.StringVar(&f.bin, "bin", "", "folder with gonb, goimports and gopls (default: the goray binary's folder)")
	fs.StringVar(&f.goDir, "go", "", "folder of the go command cells compile with (default: from PATH)")
}

func (f *layoutFlags) layout() (kernel.Layout, error) {
	return kernel.DetectLayout(kernel.Layout{Module: f.module, BinDir: f.bin, GoDir: f.goDir})
}

type destFlags struct {
	user, sysPrefix bool
	prefix          string
}

func (f *destFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.user, "user", false, "the user's Jupyter data folder (the default)")
	fs.StringVar(&f.prefix, "prefix", "", "install under `P`/share/jupyter (e.g. a virtualenv)")
	fs.BoolVar(&f.sysPrefix, "sys-prefix", false, "install into the active Python environment")
}

func (f *destFlags) dest() (string, error) {
	n := 0
	for _, set := range []bool{f.user, f.prefix != "", f.sysPrefix} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", usageError{"choose one of --user, --prefix and --sys-prefix"}
	}
	return kernel.Destination(f.user, f.prefix, f.sysPrefix)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("goray "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func kernelInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel install", stderr)
	var lf layoutFlags
	var df destFlags
	lf.register(fs)
	df.register(fs)
	force := fs.Bool("force", false, "replace a kernelspec named goray that goray did not write")
	noPrewarm := fs.Bool("no-prewarm", false, "skip compiling the runtime into the Go build cache")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("kernel install: unexpected argument %q", fs.Arg(0))}
	}
	dest, err := df.dest()
	if err != nil {
		return err
	}
	l, err := lf.layout()
	if err != nil {
		return fmt.Errorf("kernel install: %w", err)
	}
	dir, err := kernel.Install(dest, l, *force)
	if err != nil {
		return fmt.Errorf("kernel install: %w", err)
	}
	fmt.Fprintf(stdout, "installed kernelspec %q (%s) in %s\n", kernel.Name, kernel.DisplayName, dir)
	if *noPrewarm {
		return nil
	}
	start := time.Now()
	if err := kernel.Prewarm(ctx, l); err != nil {
		return fmt.Errorf("kernel install: %w", err)
	}
	fmt.Fprintf(stdout, "compiled the runtime into the Go build cache in %.1f s\n", time.Since(start).Seconds())
	return nil
}

func kernelUninstall(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel uninstall", stderr)
	var df destFlags
	df.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dest, err := df.dest()
	if err != nil {
		return err
	}
	removed, err := kernel.Uninstall(dest)
	if err != nil {
		return fmt.Errorf("kernel uninstall: %w", err)
	}
	if removed {
		fmt.Fprintf(stdout, "removed kernelspec %q from %s\n", kernel.Name, dest)
	} else {
		fmt.Fprintf(stdout, "no kernelspec %q in %s\n", kernel.Name, dest)
	}
	return nil
}

func kernelSpec(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("kernel spec", stderr)
	var lf layoutFlags
	lf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	l, err := lf.layout()
	if err != nil {
		return fmt.Errorf("kernel spec: %w", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(l.Spec())
}

// kernelLaunch is what the kernelspec runs: it serves the kernel until
// it exits, and exits with its status.
func kernelLaunch(args []string, stderr io.Writer) error {
	fs := newFlagSet("kernel launch", stderr)
	var lf layoutFlags
	lf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"kernel launch: want exactly one connection file"}
	}
	l, err := lf.layout()
	if err != nil {
		return fmt.Errorf("kernel launch: %w", err)
	}
	err = kernel.Launch(l, fs.Arg(0))
	if exit, ok := errors.AsType[*kernel.ExitError](err); ok {
		os.Exit(exit.Code) // GoNB has said why
	}
	if err != nil {
		return fmt.Errorf("kernel launch: %w", err)
	}
	return nil
}
