package proxy

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The proxy's helpers are the binary Config.Self names, started under
// these names (argv[0]).
const (
	// goplsShim is the name GoNB looks up on PATH.
	goplsShim = "gopls"
	// guardName is a process that kills the kernel's process group when
	// the proxy dies without cleaning up (SIGKILL, a crash).
	guardName = "goray-kernel-guard"
	// realGoplsEnv tells the shim which gopls to exec.
	realGoplsEnv = "GORAY_KERNEL_GOPLS"
)

// Helper returns the helper that argv (os.Args) asks for, if any. A
// command that serves as Config.Self calls it before anything else and
// exits with what run returns:
//
//	if run, ok := proxy.Helper(os.Args); ok {
//		os.Exit(run())
//	}
func Helper(argv []string) (run func() int, ok bool) {
	if len(argv) == 0 {
		return nil, false
	}
	switch filepath.Base(argv[0]) {
	case goplsShim:
		return func() int { return runGoplsShim(argv) }, true
	case guardName:
		return func() int { return runGuard(argv) }, true
	}
	return nil, false
}

// runGoplsShim makes itself die with its parent (GoNB) and becomes the
// real gopls: the parent-death signal survives execve. SIGTERM lets gopls
// remove its socket file.
func runGoplsShim(argv []string) int {
	real := os.Getenv(realGoplsEnv)
	if real == "" {
		fmt.Fprintf(os.Stderr, "gopls shim: %s is not set\n", realGoplsEnv)
		return 2
	}
	// The signal setting belongs to the thread, and execve keeps the
	// calling thread's: both must happen on the same one.
	runtime.LockOSThread()
	parent := os.Getppid()
	if err := setParentDeathSignal(syscall.SIGTERM); err != nil {
		fmt.Fprintf(os.Stderr, "gopls shim: set the parent-death signal: %v\n", err)
		return 1
	}
	if os.Getppid() != parent {
		return 1 // GoNB died before the signal was set
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, realGoplsEnv+"=")
	})
	err := syscall.Exec(real, append([]string{real}, argv[1:]...), env)
	fmt.Fprintf(os.Stderr, "gopls shim: exec %s: %v\n", real, err)
	return 1
}

// runGuard waits for the proxy, whose pid is argv[1], to die, then kills
// its own process group, GoNB's, which holds the cells and what they
// started (GoNB itself dies by its own parent-death signal, gopls by the
// shim's), and removes the proxy's folder, argv[2]. The proxy starts it
// with SIGTERM as its parent-death signal; the same signal from anyone
// else while the proxy lives is ignored.
func runGuard(argv []string) int {
	if len(argv) != 3 {
		fmt.Fprintf(os.Stderr, "%s: want the proxy's pid and folder\n", guardName)
		return 2
	}
	proxyPID, err := strconv.Atoi(argv[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", guardName, err)
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
	// By the time the parent-death signal arrives, the guard has a new
	// parent: that is how it tells the proxy's death from a signal sent to
	// the whole group.
	for os.Getppid() == proxyPID {
		<-sigs
	}
	// First, since the group kill ends the guard too: the folder holds
	// the signing key, and nobody else will remove it now.
	_ = os.RemoveAll(argv[2])
	_ = syscall.Kill(-syscall.Getpgrp(), syscall.SIGKILL)
	return 0
}
