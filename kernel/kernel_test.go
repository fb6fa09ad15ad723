package kernel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// moduleRoot is the goray module this test file belongs to.
func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	if !isGorayModule(root) {
		t.Fatalf("%s is not the goray module", root)
	}
	return root
}

// fakeLayout is a layout whose bin folder holds empty stand-ins for the
// tools: enough for everything but launching.
func fakeLayout(t *testing.T) Layout {
	bin := t.TempDir()
	for _, tool := range []string{"goray", "gonb", "goimports", "gopls"} {
		if err := os.WriteFile(filepath.Join(bin, tool), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := DetectLayout(Layout{Module: moduleRoot(t), BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestInstallWritesSpecAndIsIdempotent(t *testing.T) {
	l := fakeLayout(t)
	data := t.TempDir()
	for range 2 {
		dir, err := Install(data, l, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(data, "kernels", "goray"); dir != want {
			t.Fatalf("installed in %s, want %s", dir, want)
		}
	}
	spec, err := Find(Name, []string{data})
	if err != nil {
		t.Fatal(err)
	}
	if spec.DisplayName != "Go (goray)" || spec.Language != "go" || spec.InterruptMode != "message" {
		t.Fatalf("spec = %+v", spec)
	}
	cmd := spec.Command("/run/conn.json")
	if cmd[0] != filepath.Join(l.BinDir, "goray") || cmd[len(cmd)-1] != "/run/conn.json" {
		t.Fatalf("command = %q", cmd)
	}
	if !slices.Contains(cmd, l.Module) || !filepath.IsAbs(l.Module) {
		t.Fatalf("command %q does not name the absolute module folder", cmd)
	}
	if _, ok := spec.Env["GOFLAGS"]; ok {
		t.Fatal("the kernelspec must not set GOFLAGS")
	}
	if _, err := os.Stat(filepath.Join(spec.Dir, "logo-svg.svg")); err != nil {
		t.Fatal("no logo:", err)
	}
	entries, _ := os.ReadDir(filepath.Join(data, "kernels"))
	if len(entries) != 1 {
		t.Fatalf("kernels/ holds %d entries, want only goray (no temporary folders left)", len(entries))
	}
}

func TestInstallLeavesForeignKernelspecs(t *testing.T) {
	l := fakeLayout(t)
	data := t.TempDir()
	// A user's own gonb kernelspec sits beside ours and is never touched.
	gonbDir := filepath.Join(data, "kernels", "gonb")
	os.MkdirAll(gonbDir, 0o755)
	gonbSpec := []byte(`{"argv": ["gonb", "--kernel", "{connection_file}"], "display_name": "Go (gonb)", "language": "go"}`)
	os.WriteFile(filepath.Join(gonbDir, "kernel.json"), gonbSpec, 0o644)
	// A kernelspec named goray that someone else wrote is refused...
	foreign := filepath.Join(data, "kernels", "goray")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "kernel.json"), []byte(`{"argv": ["x"], "display_name": "mine", "language": "go"}`), 0o644)
	if _, err := Install(data, l, false); err == nil || !strings.Contains(err.Error(), "did not write") {
		t.Fatalf("Install over a foreign spec: err = %v", err)
	}
	if _, err := Uninstall(data); err == nil {
		t.Fatal("Uninstall removed a foreign spec")
	}
	// ...unless forced.
	if _, err := Install(data, l, true); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(gonbDir, "kernel.json"))
	if string(got) != string(gonbSpec) {
		t.Fatal("the gonb kernelspec changed")
	}
	removed, err := Uninstall(data)
	if err != nil || !removed {
		t.Fatalf("Uninstall = %v, %v", removed, err)
	}
	if removed, err := Uninstall(data); err != nil || removed {
		t.Fatalf("second Uninstall = %v, %v; want nothing to do", removed, err)
	}
	if _, err := os.Stat(gonbDir); err != nil {
		t.Fatal("Uninstall touched the gonb kernelspec")
	}
}

func TestFindSearchesInOrder(t *testing.T) {
	l := fakeLayout(t)
	first, second := t.TempDir(), t.TempDir()
	if _, err := Install(second, l, false); err != nil {
		t.Fatal(err)
	}
	spec, err := Find(Name, []string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Dir != filepath.Join(second, "kernels", Name) {
		t.Fatalf("found in %s", spec.Dir)
	}
	if _, err := Find("nope", []string{first}); err == nil || !strings.Contains(err.Error(), first) {
		t.Fatalf("missing kernel: err = %v, want the searched folders named", err)
	}
	broken := filepath.Join(first, "kernels", "broken")
	os.MkdirAll(broken, 0o755)
	os.WriteFile(filepath.Join(broken, "kernel.json"), []byte(`{"argv": [`), 0o644)
	if _, err := Find("broken", []string{first}); err == nil || !strings.Contains(err.Error(), "kernel.json") {
		t.Fatalf("malformed kernel.json: err = %v", err)
	}
}

func TestDataPathHonoursJupyterVariables(t *testing.T) {
	t.Setenv("JUPYTER_PATH", "/a"+string(os.PathListSeparator)+"/b")
	t.Setenv("JUPYTER_DATA_DIR", "/user")
	t.Setenv("VIRTUAL_ENV", "/venv")
	got := DataPath()
	want := []string{"/a", "/b", "/user", "/venv/share/jupyter", "/usr/local/share/jupyter", "/usr/share/jupyter"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DataPath = %q, want %q", got, want)
	}
}

func TestDestination(t *testing.T) {
	t.Setenv("JUPYTER_DATA_DIR", "/user")
	t.Setenv("VIRTUAL_ENV", "/venv")
	for _, c := range []struct {
		user      bool
		prefix    string
		sysPrefix bool
		want      string
	}{
		{want: "/user"},
		{user: true, want: "/user"},
		{prefix: "/p", want: "/p/share/jupyter"},
		{sysPrefix: true, want: "/venv/share/jupyter"},
	} {
		got, err := Destination(c.user, c.prefix, c.sysPrefix)
		if err != nil || got != c.want {
			t.Errorf("Destination(%v, %q, %v) = %q, %v; want %q", c.user, c.prefix, c.sysPrefix, got, err, c.want)
		}
	}
}

func TestKernelEnv(t *testing.T) {
	l := Layout{Module: "/m", BinDir: "/b", GoDir: "/g"}
	env := kernelEnv([]string{"PATH=/usr/bin", "GOFLAGS=-mod=mod -trimpath", "GOWORK=off", "GOTOOLCHAIN=auto", "HOME=/h"}, l)
	get := func(k string) (string, int) {
		v, n := "", 0
		for _, kv := range env {
			if key, val, _ := strings.Cut(kv, "="); key == k {
				v, n = val, n+1
			}
		}
		return v, n
	}
	if v, _ := get("PATH"); v != "/b:/g:/usr/bin" {
		t.Errorf("PATH = %q", v)
	}
	if v, _ := get("GOFLAGS"); v != "-trimpath" {
		t.Errorf("GOFLAGS = %q, want -mod=mod removed and other flags kept", v)
	}
	if _, n := get("GOWORK"); n != 0 {
		t.Error("GOWORK kept: it would override the notebook's go.work")
	}
	if v, n := get("GOTOOLCHAIN"); v != "local" || n != 1 {
		t.Errorf("GOTOOLCHAIN = %q (%d times)", v, n)
	}
	if v, _ := get("HOME"); v != "/h" {
		t.Error("unrelated variables must pass through")
	}
	env = kernelEnv([]string{"GOFLAGS=-mod=mod"}, l)
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOFLAGS") {
			t.Errorf("empty GOFLAGS kept: %q", kv)
		}
	}
}

func TestKernelEnvPutsModuleCacheFirstOnGOPROXY(t *testing.T) {
	l := Layout{Module: "/m", BinDir: "/b", GoDir: "/g", ModCache: "/mc", GoProxy: "https://proxy.golang.org,direct"}
	find := func(env []string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "GOPROXY="); ok {
				return v
			}
		}
		return "<unset>"
	}
	if got := find(kernelEnv(nil, l)); got != "file:///mc/cache/download,https://proxy.golang.org,direct" {
		t.Errorf("GOPROXY = %q", got)
	}
	if got := find(kernelEnv([]string{"GOPROXY=https://corp.example/proxy"}, l)); got != "file:///mc/cache/download,https://corp.example/proxy" {
		t.Errorf("GOPROXY with the user's own proxy = %q", got)
	}
	if got := find(kernelEnv([]string{"GOPROXY=off"}, l)); got != "off" {
		t.Errorf("GOPROXY=off became %q", got)
	}
}

func TestDetectLayoutErrors(t *testing.T) {
	bin := t.TempDir()
	if _, err := DetectLayout(Layout{Module: moduleRoot(t), BinDir: bin}); err == nil || !strings.Contains(err.Error(), "gonb is missing") {
		t.Fatalf("empty bin folder: err = %v", err)
	}
	if _, err := DetectLayout(Layout{Module: t.TempDir(), BinDir: bin}); err == nil || !strings.Contains(err.Error(), ModulePath) {
		t.Fatalf("not a goray module: err = %v", err)
	}
}

func TestSpecJSONShape(t *testing.T) {
	raw, err := json.Marshal(fakeLayout(t).Spec())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	for _, k := range []string{"argv", "display_name", "language", "interrupt_mode", "metadata"} {
		if _, ok := m[k]; !ok {
			t.Errorf("kernel.json lacks %q", k)
		}
	}
	if _, ok := m["Dir"]; ok {
		t.Error("kernel.json leaks the in-memory Dir field")
	}
}
