// Command goray installs and launches the goray Jupyter kernel and runs
// notebooks headlessly.
//
//	goray kernel install [--user | --prefix P | --sys-prefix] [--module M] [--bin B] [--no-prewarm]
//	goray kernel uninstall [--user | --prefix P | --sys-prefix]
//	goray kernel spec                  print the kernelspec install would write
//	goray notebook run IN.ipynb [-o OUT.ipynb] [--timeout D] [--kernel NAME]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/goray-dev/goray/kernel/proxy"
)

func main() {
	// The kernel launcher starts this binary under other names (a gopls
	// shim, a guard; see proxy.Helper): those run before any flag parsing.
	if run, ok := proxy.Helper(os.Args); ok {
		os.Exit(run())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintln(os.Stderr, "goray:", err)
			os.Exit(2)
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "goray:", err)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage:
  goray kernel install [--user | --prefix P | --sys-prefix] [--module M] [--bin B] [--go G] [--force] [--no-prewarm]
  goray kernel uninstall [--user | --prefix P | --sys-prefix]
  goray kernel spec [--module M] [--bin B] [--go G]
  goray notebook run IN.ipynb [-o OUT.ipynb] [--timeout D] [--kernel NAME]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, usage)
			return nil
		}
		return usageError{"missing command\n" + usage}
	}
	switch args[0] + " " + args[1] {
	case "kernel install":
		return kernelInstall(ctx, args[2:], stdout, stderr)
	case "kernel uninstall":
		return kernelUninstall(args[2:], stdout, stderr)
	case "kernel spec":
		return kernelSpec(args[2:], stdout, stderr)
	case "kernel launch":
		return kernelLaunch(args[2:], stderr)
	case "notebook run":
		return notebookRun(ctx, args[2:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0]+" "+args[1], usage)}
}

// parseInterspersed parses flags that may come after positional arguments
// (`run IN.ipynb -o OUT.ipynb`), which the flag package alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
