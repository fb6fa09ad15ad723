package device

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/backends/xla"
)

// Kind is the GoMLX backend family a Backend runs on.
type Kind string

const (
	// KindXLA is XLA through a PJRT plugin (CPU or CUDA).
	KindXLA Kind = "xla"
	// KindGo is GoMLX's pure-Go backend.
	KindGo Kind = "go"
)

// Environment variables read by Open.
const (
	// EnvBackend selects the backend when Options.Backend is empty:
	// "auto", "xla" or "go".
	EnvBackend = "GORAY_BACKEND"
	// EnvPlugin names a PJRT plugin .so when Options.PluginPath is empty.
	EnvPlugin = "GORAY_PJRT_PLUGIN"
)

// LogPrefix starts the line Open writes.
const LogPrefix = "goray/infer: "

// Options configure Open and OpenShare. The zero value means: backend from
// GORAY_BACKEND or "auto", plugin discovered, the plugin's default device
// count, log to os.Stderr.
type Options struct {
	// Backend is "", "auto", "xla" or "go" (case-insensitive). Empty defers
	// to the environment variable GORAY_BACKEND, and then to "auto".
	Backend string
	// PluginPath is a PJRT plugin .so to use instead of discovery. When set
	// it must exist and load, whatever Backend says (except "go").
	PluginPath string
	// Devices is the number of devices the XLA CPU plugin creates (its
	// "cpu_device_count" option); 0 keeps the plugin's default (4 for
	// lammps-jax-pjrt-cpu). Ignored by other backends.
	Devices int
	// ProcessShare is used by OpenShare only: the GPU share the first
	// client on a device is created for, when larger than the share being
	// opened, so that later shares in this process fit on the same client.
	// Typically the sum of the shares of the actors this process will host.
	ProcessShare float64
	// Log receives the one line saying which backend was opened and why;
	// nil means os.Stderr. Use io.Discard to silence it.
	Log io.Writer
}

// Backend is an opened GoMLX backend with the reason it was chosen. Pass
// GoMLX() to graph.NewExec and friends. Close it when done.
type Backend struct {
	gomlx      backends.Backend
	kind       Kind
	name       string
	reason     string
	pluginPath string
	numDevices int

	closeOnce sync.Once
	closeFn   func()
}

// Kind is KindXLA or KindGo.
func (b *Backend) Kind() Kind { return b.kind }

// Name is "go", "xla:cpu" or "xla:cuda" (or "xla:<platform>").
func (b *Backend) Name() string { return b.name }

// Reason says why this backend was chosen; it is the text in parentheses
// of the log line.
func (b *Backend) Reason() string { return b.reason }

// PluginPath is the PJRT plugin loaded ("" for the pure-Go backend).
func (b *Backend) PluginPath() string { return b.pluginPath }

// NumDevices is the number of devices computations can be placed on
// (backends.DeviceNum 0 .. NumDevices()-1). A GPU share has exactly one.
func (b *Backend) NumDevices() int { return b.numDevices }

// GoMLX is the underlying GoMLX backend, for graph.NewExec and the like.
// Do not Finalize it: call Close. For a GPU share it is the process-wide
// client of that device, shared with the other shares in this process.
func (b *Backend) GoMLX() backends.Backend { return b.gomlx }

// String is the name and the reason.
func (b *Backend) String() string { return fmt.Sprintf("%s (%s)", b.name, b.reason) }

// Close releases the backend (for a GPU share: releases the share, and the
// device's client with the last one). It is safe to call more than once.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		if b.closeFn != nil {
			b.closeFn()
		}
	})
	return nil
}

// Open selects and opens a backend; see the package documentation for the
// rules. It writes one line to opts.Log on success.
//
// A CUDA client from Open owns all the visible GPUs with the plugin's
// defaults (XLA then preallocates most of their memory); actors that share
// a GPU use OpenShare instead.
func Open(opts Options) (*Backend, error) {
	b, err := open(opts)
	if err != nil {
		return nil, err
	}
	logChoice(opts.Log, b)
	return b, nil
}

func open(opts Options) (*Backend, error) {
	disableAutoInstall()
	mode, modeSource, err := resolveMode(opts)
	if err != nil {
		return nil, err
	}
	if mode == "go" {
		return openGo(fmt.Sprintf("%s=go", modeSource))
	}

	found, err := findPlugin(opts, gpuVisible())
	if err != nil {
		return nil, err // an explicit plugin that is not there: always an error.
	}
	if found.plugin == nil {
		if mode == "xla" {
			return nil, fmt.Errorf("device: backend xla (%s=xla) but no PJRT plugin found: looked in %s%s",
				modeSource, strings.Join(found.looked, "; "), installHint)
		}
		return openGo(fmt.Sprintf("no PJRT plugin found: looked in %s", strings.Join(found.looked, "; ")))
	}

	p := *found.plugin
	var options pjrt.NamedValuesMap
	if p.platform == "cpu" && opts.Devices > 0 {
		options = pjrt.NamedValuesMap{"cpu_device_count": int64(opts.Devices)}
	}
	b, err := openXLA(p, options)
	if err != nil {
		if mode == "xla" || p.explicit {
			return nil, err
		}
		return openGo(fmt.Sprintf("PJRT plugin %s did not load: %v", p.path, err))
	}
	if len(found.skipped) > 0 {
		b.reason += "; " + strings.Join(found.skipped, "; ")
	}
	return b, nil
}

const installHint = ` (install the CPU plugin with: pip install --no-deps lammps-jax-pjrt-cpu==0.11.2, or set GORAY_PJRT_PLUGIN to a pjrt_c_api_*_plugin.so)`

// resolveMode returns "auto", "xla" or "go", and where it came from.
func resolveMode(opts Options) (mode, source string, err error) {
	mode, source = opts.Backend, "Options.Backend"
	if strings.TrimSpace(mode) == "" {
		mode, source = os.Getenv(EnvBackend), EnvBackend
	}
	if strings.TrimSpace(mode) == "" {
		return "auto", "default", nil
	}
	switch m := strings.ToLower(strings.TrimSpace(mode)); m {
	case "auto", "xla", "go":
		return m, source, nil
	}
	return "", "", fmt.Errorf("device: unknown backend %q (from %s): want auto, xla or go", mode, source)
}

var autoInstallOnce sync.Once

// disableAutoInstall stops GoMLX from downloading plugins: goray installs
// them itself and never reaches the network to pick a backend.
func disableAutoInstall() {
	autoInstallOnce.Do(func() { xla.EnableAutoInstall(false) })
}

func openGo(reason string) (*Backend, error) {
	gb, err := simplego.New("")
	if err != nil {
		return nil, fmt.Errorf("device: open pure-Go backend: %w", err)
	}
	return &Backend{
		gomlx:      gb,
		kind:       KindGo,
		name:       "go",
		reason:     reason,
		numDevices: gb.NumDevices(),
		closeFn:    gb.Finalize,
	}, nil
}

// openXLA loads plugin p and creates a client with the given PJRT create
// options (nil: the plugin's defaults).
func openXLA(p plugin, options pjrt.NamedValuesMap) (*Backend, error) {
	disableAutoInstall()
	if p.platform == "cuda" {
		setCUDADataDir(p.path)
	}
	pl, err := pjrt.GetPlugin(p.path)
	if err != nil {
		return nil, fmt.Errorf("device: load PJRT plugin %s (%s): %w", p.path, p.source, err)
	}
	major, minor := pl.Version()
	config := p.path
	if p.platform == "cpu" {
		// Host memory is the device memory: let GoMLX skip the copies. GoMLX
		// only does this by itself for a plugin named "cpu", not a path.
		config += ",shared_buffers"
	}
	xb, err := xla.NewWithOptions(config, options)
	if err != nil {
		return nil, fmt.Errorf("device: create PJRT client for %s (%s, PJRT %d.%d): %w", p.path, p.source, major, minor, err)
	}
	n := xb.NumDevices()
	return &Backend{
		gomlx:      xb,
		kind:       KindXLA,
		name:       "xla:" + p.platform,
		reason:     fmt.Sprintf("%s plugin %s, PJRT %d.%d, %d %s; %s", platformLabel(p.platform), p.path, major, minor, n, plural(n, "device"), p.source),
		pluginPath: p.path,
		numDevices: n,
		closeFn:    xb.Finalize,
	}, nil
}

func platformLabel(platform string) string {
	switch platform {
	case "cpu", "cuda", "tpu", "rocm":
		return strings.ToUpper(platform)
	}
	return platform
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func logChoice(w io.Writer, b *Backend) {
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "%sbackend %s (%s)\n", LogPrefix, b.kind, relativePaths(b.reason))
}

// relativePaths shortens the absolute paths in a log line: those under the
// working directory or its parent become relative to it, those under the
// home directory start with ~. A notebook's output then shows
// ../.venv/... rather than where the repository sits on this machine.
// (Reason keeps the absolute paths.)
func relativePaths(s string) string {
	if wd, err := os.Getwd(); err == nil && wd != "/" {
		s = strings.ReplaceAll(s, wd+string(filepath.Separator), "")
		if parent := filepath.Dir(wd); parent != "/" {
			s = strings.ReplaceAll(s, parent+string(filepath.Separator), ".."+string(filepath.Separator))
		}
	}
	if home, err := os.UserHomeDir(); err == nil && home != "/" && home != "" {
		s = strings.ReplaceAll(s, home+string(filepath.Separator), "~"+string(filepath.Separator))
	}
	return s
}

var cudaEnvMu sync.Mutex

// setCUDADataDir points XLA at the CUDA data directory (ptxas, libdevice)
// before a CUDA plugin is loaded, unless XLA_FLAGS already does. go-xla
// v0.1.4 would otherwise put a wrong hard-coded path there.
func setCUDADataDir(pluginPath string) {
	cudaEnvMu.Lock()
	defer cudaEnvMu.Unlock()
	flags := os.Getenv("XLA_FLAGS")
	if strings.Contains(flags, "--xla_gpu_cuda_data_dir") {
		return
	}
	dir := cudaDataDir(pluginPath)
	if dir == "" {
		return
	}
	flags = strings.TrimSpace(flags + " --xla_gpu_cuda_data_dir=" + dir)
	_ = os.Setenv("XLA_FLAGS", flags)
	if os.Getenv("GOPJRT_CUDA_CHECKS") == "" {
		// We did go-xla's check ourselves; its warning would only confuse.
		_ = os.Setenv("GOPJRT_CUDA_CHECKS", "0")
	}
}

// cudaDataDir finds the pip "nvidia" directory near a CUDA plugin (the
// plugin sits in site-packages/jax_plugins/xla_cudaNN/, the libraries in
// site-packages/nvidia/), preferring the sub-directory that holds
// nvvm/libdevice; else $CUDA_HOME or $CUDA_PATH; else "".
func cudaDataDir(pluginPath string) string {
	d := filepath.Dir(pluginPath)
	for range 3 {
		nv := filepath.Join(d, "nvidia")
		if isDir(nv) {
			for _, sub := range []string{"cuda_nvcc", "cu13", "cu12"} {
				if isDir(filepath.Join(nv, sub, "nvvm")) {
					return filepath.Join(nv, sub)
				}
			}
			return nv
		}
		d = filepath.Dir(d)
	}
	for _, env := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if v := os.Getenv(env); v != "" && isDir(v) {
			return v
		}
	}
	return ""
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// errNoGPU is returned by OpenShare when no CUDA plugin or no GPU is there.
var errNoGPU = errors.New("device: GPU share needs a visible NVIDIA GPU (/dev/nvidia0) and a CUDA PJRT plugin")
