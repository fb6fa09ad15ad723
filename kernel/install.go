package kernel

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed logo.svg
var logoSVG []byte

// metadataKey marks a kernelspec as written by goray, so that reinstalling
// replaces our own spec but never a kernelspec someone else wrote.
const metadataKey = "goray"

// Layout says where the kernel's parts live.
type Layout struct {
	// Module is the absolute path of the goray module (the folder with its
	// go.mod); every notebook's go.work uses it.
	Module string
	// BinDir holds goray, gonb, goimports and gopls.
	BinDir string
	// GoDir is the folder of the go command the kernel compiles cells with.
	GoDir string
	// ModCache and GoProxy are that go's GOMODCACHE and GOPROXY; the
	// kernel puts the module cache first on GOPROXY (see kernelEnv).
	ModCache, GoProxy string
}

// DetectLayout fills a Layout from the running goray binary: BinDir is its
// folder, Module is found by walking up from the working folder and then
// from BinDir, GoDir from the PATH. Empty fields of given are detected;
// set fields are kept (made absolute).
func DetectLayout(given Layout) (Layout, error) {
	l := given
	var err error
	if l.BinDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return l, fmt.Errorf("locate the goray binary: %w", err)
		}
		if exe, err = filepath.EvalSymlinks(exe); err != nil {
			return l, fmt.Errorf("locate the goray binary: %w", err)
		}
		l.BinDir = filepath.Dir(exe)
	}
	if l.BinDir, err = filepath.Abs(l.BinDir); err != nil {
		return l, err
	}
	if l.Module == "" {
		wd, _ := os.Getwd()
		for _, start := range []string{wd, l.BinDir} {
			if m, ok := findModule(start); ok {
				l.Module = m
				break
			}
		}
		if l.Module == "" {
			return l, errors.New("cannot find the goray module (a go.mod declaring " + ModulePath + ") above the working folder or the goray binary: pass --module")
		}
	}
	if l.Module, err = filepath.Abs(l.Module); err != nil {
		return l, err
	}
	if !isGorayModule(l.Module) {
		return l, fmt.Errorf("%s: no go.mod declaring module %s", l.Module, ModulePath)
	}
	if l.GoDir == "" {
		goBin, err := exec.LookPath("go")
		if err != nil {
			return l, errors.New("the go command is not on PATH: install Go 1.26 or pass --go")
		}
		if goBin, err = filepath.EvalSymlinks(goBin); err != nil {
			return l, err
		}
		l.GoDir = filepath.Dir(goBin)
	}
	if l.ModCache == "" {
		out, err := exec.Command(filepath.Join(l.GoDir, "go"), "env", "GOMODCACHE", "GOPROXY").Output()
		if err != nil {
			return l, fmt.Errorf("go env: %w", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 2 {
			l.ModCache, l.GoProxy = lines[0], lines[1]
		}
	}
	for _, tool := range []string{"gonb", "goimports", "gopls"} {
		if _, err := os.Stat(filepath.Join(l.BinDir, tool)); err != nil {
			return l, fmt.Errorf("%s is missing from %s (run `make tools`, or pass --bin with the folder holding gonb, goimports and gopls)", tool, l.BinDir)
		}
	}
	return l, nil
}

// Spec returns the kernelspec that starts goray's kernel: the goray binary
// in launch mode, which prepares the environment and becomes gonb.
func (l Layout) Spec() *Spec {
	return &Spec{
		Argv: []string{
			filepath.Join(l.BinDir, "goray"), "kernel", "launch",
			"--module", l.Module, "--bin", l.BinDir, "--go", l.GoDir,
			ConnectionFileArg,
		},
		DisplayName: DisplayName,
		Language:    "go",
		// GoNB handles interrupt_request on the control channel and
		// forwards SIGINT to the running cell only.
		InterruptMode: "message",
		Metadata: map[string]any{
			metadataKey: map[string]any{"module": l.Module},
			"debugger":  false,
		},
	}
}

// Destination resolves where a kernelspec is installed, as `jupyter
// kernelspec install` does: the user's data folder, a prefix
// (PREFIX/share/jupyter), or the active Python environment's prefix.
func Destination(user bool, prefix string, sysPrefix bool) (string, error) {
	switch {
	case prefix != "":
		return filepath.Abs(filepath.Join(prefix, "share", "jupyter"))
	case sysPrefix:
		p, err := pythonPrefix()
		if err != nil {
			return "", err
		}
		return filepath.Join(p, "share", "jupyter"), nil
	default:
		return UserDataDir()
	}
}

func pythonPrefix() (string, error) {
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		return v, nil
	}
	out, err := exec.Command("python3", "-c", "import sys; print(sys.prefix)").Output()
	if err != nil {
		return "", fmt.Errorf("--sys-prefix: no VIRTUAL_ENV and python3 did not answer: %w", err)
	}
	return string(trimNewline(out)), nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Install writes the kernelspec into dataDir/kernels/goray (kernel.json and
// a logo) atomically, and returns that folder. Reinstalling replaces a
// spec goray wrote; a foreign spec under the same name is left alone and
// reported, unless force is set.
func Install(dataDir string, l Layout, force bool) (string, error) {
	dir := filepath.Join(dataDir, "kernels", Name)
	if old, err := ReadSpec(dir); err == nil && !force {
		if _, ours := old.Metadata[metadataKey]; !ours {
			return "", fmt.Errorf("%s holds a kernelspec goray did not write: remove it or pass --force", dir)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) && !force {
		return "", fmt.Errorf("%s: %w (pass --force to replace it)", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	// Build the new spec in a sibling folder, then swap it in, so a
	// failure never leaves a half-written kernelspec for Jupyter to find.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+Name+"-")
	if err != nil {
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	defer os.RemoveAll(tmp)
	raw, err := json.MarshalIndent(l.Spec(), "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "kernel.json"), append(raw, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "logo-svg.svg"), logoSVG, 0o644); err != nil {
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Rename(old, dir)
		return "", fmt.Errorf("install kernelspec: %w", err)
	}
	_ = os.RemoveAll(old)
	return dir, nil
}

// Uninstall removes the goray kernelspec from dataDir, if goray wrote it.
// It reports whether something was removed.
func Uninstall(dataDir string) (bool, error) {
	dir := filepath.Join(dataDir, "kernels", Name)
	spec, err := ReadSpec(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, ours := spec.Metadata[metadataKey]; !ours {
		return false, fmt.Errorf("%s holds a kernelspec goray did not write: not removing it", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("uninstall kernelspec: %w", err)
	}
	return true, nil
}

// Prewarm compiles a throw-away program that imports the packages cells
// use, the way GoNB compiles a cell (a module in a temporary folder with a
// go.work that uses the goray module), so the Go build cache already holds
// them when the first cell runs.
func Prewarm(ctx context.Context, l Layout) error {
	dir, err := os.MkdirTemp("", "goray-prewarm-")
	if err != nil {
		return fmt.Errorf("prewarm: %w", err)
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":  "module gonb_prewarm\n\ngo 1.26\n",
		"main.go": prewarmProgram,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("prewarm: %w", err)
		}
	}
	env := kernelEnv(os.Environ(), l)
	for _, args := range [][]string{
		{"work", "init"},
		{"work", "use", ".", l.Module},
		{"build", "-o", filepath.Join(dir, "prewarm")},
	} {
		cmd := exec.CommandContext(ctx, filepath.Join(l.GoDir, "go"), args...)
		cmd.Dir = dir
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("prewarm: go %v: %w\n%s", args, err, out)
		}
	}
	return nil
}

const prewarmProgram = `package main

import (
	"fmt"

	"github.com/goray-dev/goray/raylib/data"
	"github.com/goray-dev/goray/raylib/display"
	"github.com/goray-dev/goray/raylib/infer/enhance"
	"github.com/goray-dev/goray/raylib/ray"
	"github.com/janpfeifer/gonb/gonbui"
)

func main() {
	fmt.Println(ray.IsInitialized(), gonbui.IsNotebook, display.Show, data.Range, enhance.LabModel)
}
`
