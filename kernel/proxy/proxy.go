// Package proxy runs GoNB behind a thin Jupyter protocol proxy that
// fixes what GoNB v0.11.4 gets wrong as a kernel.
//
// Run reads the connection file Jupyter wrote, writes a private one for
// GoNB (same key, new ports on 127.0.0.1), starts GoNB as its child and
// binds the sockets Jupyter connects to. Shell, control and stdin
// messages go from a ROUTER to a DEALER and back: the client's routing
// identity stays in front of the <IDS|MSG> delimiter, GoNB's ROUTER
// echoes all identity frames back with its reply, and the outer ROUTER
// routes the reply by them. IOPub goes from a SUB to a PUB; the proxy
// answers the heartbeat itself. Messages pass as received, except the
// few the proxy rewrites, which it signs again.
//
// What the proxy fixes:
//
//   - A cell that panics: GoNB reports "exit status 2" and leaves the panic
//     on stderr. The proxy names the panic in the error output and the
//     execute_reply (ename "panic", evalue its value, traceback the stack).
//   - Compile errors: run with -raw_error (kernel.Launch passes it), GoNB
//     puts the compiler's messages in the error output, each with its cell
//     and line ("Cell[3]: Line 7") and the code around it; the proxy drops
//     the build's noise and makes evalue one "Cell[3]: Line 7: message"
//     line per error.
//   - Requests GoNB ignores: history_request, is_complete_request and
//     comm_info_request get replies, with the busy and idle statuses the
//     protocol asks for.
//   - stop_on_error: execute requests go to GoNB one at a time; after a
//     failed one that asked stop_on_error, the requests of the same session
//     waiting behind it are aborted, as ipykernel does.
//   - Interrupts: the processes a cell started are killed with it, and
//     orphans are reaped (the proxy is a child subreaper).
//   - Exit: whatever the kernel started dies with it, gopls included, even
//     when the proxy is killed with SIGKILL: GoNB and a guard process get
//     a parent-death signal, and a gopls shim gives gopls one (see Helper).
//
// The proxy needs Linux (/proc, prctl); elsewhere Supported is false and
// the caller runs GoNB directly.
package proxy

import "io"

// Config says how to run GoNB.
type Config struct {
	// ConnectionFile is the connection file Jupyter gave the kernel.
	ConnectionFile string
	// Gonb is the gonb binary; Args are its flags after
	// "--kernel <connection file>".
	Gonb string
	Args []string
	// Env is GoNB's environment.
	Env []string
	// Gopls is the gopls binary GoNB should run. When set, GoNB finds a
	// shim first on its PATH that execs it after arranging for it to die
	// with GoNB (GoNB starts gopls in a process group of its own, out of
	// reach of the signals that end the kernel).
	Gopls string
	// Self is the binary that runs Helper first thing (the goray
	// command): the gopls shim and the guard are this binary under
	// other names. Empty means os.Executable.
	Self string
	// Log receives the proxy's own messages; nil means os.Stderr. GoNB's
	// stdout and stderr are the proxy's.
	Log io.Writer
}
