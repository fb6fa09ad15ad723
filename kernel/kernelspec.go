package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Name is the kernelspec name goray installs; DisplayName is what
// JupyterLab shows in its kernel picker.
const (
	Name        = "goray"
	DisplayName = "Go (goray)"
)

// Spec is a Jupyter kernelspec (kernel.json), as described in
// jupyter_client's "Kernel specs" documentation.
type Spec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata,omitempty"`

	// Dir is the folder the spec was read from; empty for a spec built in memory.
	Dir string `json:"-"`
}

// ConnectionFileArg is the placeholder Jupyter replaces with the path of
// the connection file when it starts a kernel.
const ConnectionFileArg = "{connection_file}"

// Command returns the kernel's command line with the connection file filled in.
func (s *Spec) Command(connectionFile string) []string {
	argv := make([]string, len(s.Argv))
	for i, a := range s.Argv {
		argv[i] = strings.ReplaceAll(a, ConnectionFileArg, connectionFile)
	}
	return argv
}

// UserDataDir is Jupyter's per-user data folder: $JUPYTER_DATA_DIR, or
// ~/.local/share/jupyter on Linux (~/Library/Jupyter on macOS).
func UserDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("jupyter data folder: %w (set JUPYTER_DATA_DIR)", err)
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(home, "Library", "Jupyter"), nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// DataPath is the list of folders Jupyter searches for kernelspecs, most
// specific first: $JUPYTER_PATH, the user's data folder, the active
// virtual environment ($VIRTUAL_ENV), then the system folders. It mirrors
// jupyter_core's jupyter_path without running Python.
func DataPath() []string {
	var dirs []string
	add := func(d string) {
		if d == "" {
			return
		}
		for _, seen := range dirs {
			if seen == d {
				return
			}
		}
		dirs = append(dirs, d)
	}
	for _, d := range filepath.SplitList(os.Getenv("JUPYTER_PATH")) {
		add(d)
	}
	if d, err := UserDataDir(); err == nil {
		add(d)
	}
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		add(filepath.Join(v, "share", "jupyter"))
	}
	add("/usr/local/share/jupyter")
	add("/usr/share/jupyter")
	return dirs
}

// ErrNotFound reports a kernelspec that is in none of the searched folders.
var ErrNotFound = errors.New("kernelspec not found")

// Find reads the kernelspec called name from the first folder of dirs
// (DataPath() when dirs is nil) that has it.
func Find(name string, dirs []string) (*Spec, error) {
	if dirs == nil {
		dirs = DataPath()
	}
	for _, d := range dirs {
		dir := filepath.Join(d, "kernels", name)
		spec, err := ReadSpec(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return spec, nil
	}
	return nil, fmt.Errorf("kernel %q: %w in %s", name, ErrNotFound, strings.Join(dirs, ", "))
}

// ReadSpec reads dir/kernel.json.
func ReadSpec(dir string) (*Spec, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return nil, err
	}
	var spec Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("kernelspec %s: %w", filepath.Join(dir, "kernel.json"), err)
	}
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("kernelspec %s: argv is empty", filepath.Join(dir, "kernel.json"))
	}
	spec.Dir = dir
	return &spec, nil
}
