package device

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/goray-dev/goray/internal/pyenv"
)

// plugin is a PJRT plugin found on disk.
type plugin struct {
	path     string // absolute
	platform string // "cpu", "cuda", or another plugin name
	source   string // how it was found, for the log line
	explicit bool   // Options.PluginPath or GORAY_PJRT_PLUGIN
}

// discovery is the outcome of findPlugin.
type discovery struct {
	plugin  *plugin  // nil: none usable
	looked  []string // where it looked, for messages
	skipped []string // usable-looking plugins passed over, and why
}

// gpuVisible reports whether an NVIDIA GPU is visible; a variable for tests.
var gpuVisible = func() bool { return exists("/dev/nvidia0") }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// findPlugin looks for a PJRT plugin (see the package documentation). The
// error is for an explicit plugin (Options.PluginPath, GORAY_PJRT_PLUGIN)
// that is not a file.
func findPlugin(opts Options, gpu bool) (discovery, error) {
	var d discovery
	for _, ex := range []struct{ value, source string }{
		{opts.PluginPath, "Options.PluginPath"},
		{os.Getenv(EnvPlugin), EnvPlugin},
	} {
		if strings.TrimSpace(ex.value) == "" {
			continue
		}
		p, err := explicitPlugin(ex.value, ex.source)
		if err != nil {
			return d, err
		}
		d.plugin = &p
		return d, nil
	}
	d.looked = append(d.looked, "Options.PluginPath and "+EnvPlugin+" (unset)")

	var candidates []plugin
	add := func(path, source string) {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		if slices.ContainsFunc(candidates, func(c plugin) bool { return c.path == path }) {
			return
		}
		candidates = append(candidates, plugin{path: path, platform: platformOf(path), source: source})
	}

	// PJRT_PLUGIN_LIBRARY_PATH.
	if v := os.Getenv("PJRT_PLUGIN_LIBRARY_PATH"); v == "" {
		d.looked = append(d.looked, "PJRT_PLUGIN_LIBRARY_PATH (unset)")
	} else {
		for _, dir := range strings.Split(v, ":") {
			if dir == "" {
				continue
			}
			d.looked = append(d.looked, "PJRT_PLUGIN_LIBRARY_PATH dir "+dir)
			for _, f := range pluginsInDir(dir) {
				add(f, "found in PJRT_PLUGIN_LIBRARY_PATH")
			}
		}
	}

	// Python virtual environments.
	venvs := venvDirs()
	if len(venvs) == 0 {
		wd, _ := os.Getwd()
		d.looked = append(d.looked, fmt.Sprintf("no virtual environment ($VIRTUAL_ENV unset, no .venv above %s or the executable)", wd))
	}
	for _, venv := range venvs {
		d.looked = append(d.looked, "venv "+venv+" (site-packages/lammps_jax_pjrt_cpu, site-packages/jax_plugins/xla_cuda*)")
		for _, f := range venvPlugins(venv) {
			add(f, "found in venv "+venv)
		}
	}

	// go-xla's own install directories.
	d.looked = append(d.looked, "go-xla dirs ~/.local/lib/go-xla and /usr/local/lib/go-xla")
	for _, dir := range goXLADirs() {
		for _, f := range pluginsInDir(dir) {
			add(f, "found in "+dir)
		}
	}

	// Choose: CUDA first when a GPU is visible, else the first CPU plugin.
	if gpu {
		for i, c := range candidates {
			if c.platform == "cuda" {
				d.plugin = &candidates[i]
				return d, nil
			}
		}
	}
	for i, c := range candidates {
		switch c.platform {
		case "cpu":
			if d.plugin == nil {
				d.plugin = &candidates[i]
			}
		case "cuda":
			if !gpu {
				d.skipped = append(d.skipped, "skipped CUDA plugin "+c.path+": no GPU visible")
			}
		default:
			d.skipped = append(d.skipped, fmt.Sprintf("skipped %s plugin %s: not used by auto-discovery", c.platform, c.path))
		}
	}
	return d, nil
}

func explicitPlugin(value, source string) (plugin, error) {
	path, err := filepath.Abs(value)
	if err != nil {
		return plugin{}, fmt.Errorf("device: PJRT plugin %q (from %s): %w", value, source, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return plugin{}, fmt.Errorf("device: PJRT plugin %s (from %s) does not exist: %w%s", path, source, err, installHint)
	}
	if !fi.Mode().IsRegular() {
		return plugin{}, fmt.Errorf("device: PJRT plugin %s (from %s) is not a file", path, source)
	}
	return plugin{path: path, platform: platformOf(path), source: "from " + source, explicit: true}, nil
}

var rePluginName = []*regexp.Regexp{
	regexp.MustCompile(`^pjrt_c_api_(.+)_plugin\.so$`),
	regexp.MustCompile(`^pjrt[-_]plugin[-_](.+)\.so$`),
	regexp.MustCompile(`^xla_(cuda)[0-9]*_plugin\.so$`),
}

// platformOf guesses the platform of a plugin from its file name (and, for
// jax's xla_cuda_plugin.so, its directory).
func platformOf(path string) string {
	base := filepath.Base(path)
	lower := strings.ToLower(path)
	if strings.Contains(strings.ToLower(base), "cuda") || strings.Contains(lower, "/xla_cuda") {
		return "cuda"
	}
	for _, re := range rePluginName {
		if m := re.FindStringSubmatch(base); m != nil {
			return strings.ToLower(m[1])
		}
	}
	return "cpu"
}

// pluginsInDir lists plugin files directly in dir.
func pluginsInDir(dir string) []string {
	var out []string
	for _, pattern := range []string{"pjrt_c_api_*_plugin.so", "pjrt-plugin-*.so", "pjrt_plugin_*.so", "xla_cuda_plugin.so"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range m {
			if isFile(f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// venvPlugins lists the plugins the pip wheels goray uses put in a venv:
// lammps-jax-pjrt-cpu (CPU) first, then jax-cuda13-pjrt / jax-cuda12-pjrt.
func venvPlugins(venv string) []string {
	var out []string
	for _, pattern := range []string{
		"lib/python3*/site-packages/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so",
		"lib/python3*/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
		"lib/python3*/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
	} {
		out = append(out, pyenv.Glob([]string{venv}, pattern)...)
	}
	return out
}

// venvDirs: $VIRTUAL_ENV, the first .venv in the working directory or a
// parent, the first .venv above the executable; absolute and deduplicated.
func venvDirs() []string { return pyenv.Dirs(venvSearchFrom()...) }

// venvSearchFrom lists the directories whose ancestors are searched for a
// .venv; a variable for tests.
var venvSearchFrom = pyenv.DefaultFrom

// goXLASystemDir is go-xla's system-wide install directory; a variable
// for tests.
var goXLASystemDir = "/usr/local/lib/go-xla"

// goXLADirs are the directories go-xla's installer uses, when they exist.
func goXLADirs() []string {
	var out []string
	if home, err := os.UserHomeDir(); err == nil {
		if d := filepath.Join(home, ".local", "lib", "go-xla"); isDir(d) {
			out = append(out, d)
		}
	}
	if isDir(goXLASystemDir) {
		out = append(out, goXLASystemDir)
	}
	return out
}
