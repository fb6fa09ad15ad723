package kernel

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/goray-dev/goray/kernel/proxy"
)

// ModulePath is the import path of the goray module.
const ModulePath = "github.com/goray-dev/goray"

// ExitError reports the kernel's non-zero exit status: Launch returns it
// so that the command exits with the same status.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("kernel exited with status %d", e.Code) }

// Launch serves the kernel for the given connection file until it exits.
//
// On Linux, GoNB runs as a child behind a protocol proxy (package
// kernel/proxy) that fixes what GoNB gets wrong: error outputs that name
// panics and compile errors, replies to the requests GoNB ignores,
// stop_on_error, and no process left behind by an interrupted cell or a
// killed kernel. Elsewhere the process becomes GoNB, as before.
//
// GoNB runs with -raw_error: its error output then carries the compiler's
// messages, each with the cell and line it points at ("Cell[3]: Line 7")
// and the code around it, instead of `failed to run "go build ...": exit
// status 1` next to an HTML report. In JupyterLab that is one error block
// with the context in view (the HTML report showed it on hover only, and
// panics came as a third copy of the stack), and nbclient and `goray
// notebook run`, which keep only the error, get the whole story.
func Launch(l Layout, connectionFile string) error {
	gonb := filepath.Join(l.BinDir, "gonb")
	flags := []string{"-go_work=" + l.Module, "-raw_error"}
	env := kernelEnv(os.Environ(), l)
	if !proxy.Supported {
		argv := append([]string{gonb, "--kernel", connectionFile}, flags...)
		if err := syscall.Exec(gonb, argv, env); err != nil {
			return fmt.Errorf("start gonb %s: %w", gonb, err)
		}
		return nil // not reached
	}
	code, err := proxy.Run(proxy.Config{
		ConnectionFile: connectionFile,
		Gonb:           gonb,
		Args:           flags,
		Env:            env,
		Gopls:          filepath.Join(l.BinDir, "gopls"),
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// kernelEnv is the environment GoNB and the cells it compiles run with:
// goray's tools and the chosen go first on PATH; no GOFLAGS=-mod=mod (it
// breaks go.work) and no GOWORK override; GOTOOLCHAIN=local so that a cell
// never tries to download a toolchain.
//
// GOPROXY starts with the local module cache: GoNB runs `go get` after
// every cell, which asks a proxy for the latest version of any module a
// cell imports directly (gonbui, say) even when the goray module already
// requires it. Answered from the cache, that works offline and picks the
// version goray was built with; modules not in the cache still come from
// the user's proxies.
func kernelEnv(environ []string, l Layout) []string {
	out := make([]string, 0, len(environ)+3)
	path, proxy := "", l.GoProxy
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH":
			path = v
			continue
		case "GOPROXY":
			proxy = v
			continue
		case "GOWORK", "GOTOOLCHAIN":
			continue
		case "GOFLAGS":
			v = stripModMod(v)
			if v == "" {
				continue
			}
			kv = k + "=" + v
		}
		out = append(out, kv)
	}
	dirs := []string{l.BinDir, l.GoDir}
	if path != "" {
		dirs = append(dirs, path)
	}
	out = append(out, "PATH="+strings.Join(dirs, string(os.PathListSeparator)), "GOTOOLCHAIN=local")
	if p := localFirstProxy(l.ModCache, proxy); p != "" {
		out = append(out, "GOPROXY="+p)
	}
	return out
}

// localFirstProxy puts the module cache's download folder (a valid
// GOPROXY in itself) before proxy. GOPROXY=off stays off.
func localFirstProxy(modCache, proxy string) string {
	if modCache == "" || proxy == "off" {
		return proxy
	}
	local := "file://" + filepath.ToSlash(filepath.Join(modCache, "cache", "download"))
	if proxy == "" || strings.HasPrefix(proxy, local) {
		return local + "," + "https://proxy.golang.org,direct"
	}
	return local + "," + proxy
}

func stripModMod(flags string) string {
	var keep []string
	for _, f := range strings.Fields(flags) {
		if f == "-mod=mod" || f == "--mod=mod" {
			continue
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " ")
}

// findModule walks up from dir to the goray module's root.
func findModule(dir string) (string, bool) {
	for d := dir; ; d = filepath.Dir(d) {
		if isGorayModule(d) {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

func isGorayModule(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == ModulePath
		}
	}
	return false
}
