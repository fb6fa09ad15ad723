// Package device selects and opens the GoMLX backend that goray's
// inference code runs on.
//
// # Backends
//
// Two GoMLX backends are used:
//
//   - "xla" (Kind KindXLA): XLA through a PJRT plugin loaded with dlopen
//     (github.com/gomlx/gomlx/backends/xla over github.com/gomlx/go-xla).
//     Compiled, fast, and the only way onto a GPU. It needs cgo, and a
//     plugin .so on disk.
//   - "go" (Kind KindGo): GoMLX's pure-Go backend
//     (github.com/gomlx/gomlx/backends/simplego). Always available; slow.
//
// Open picks one. The choice comes from Options.Backend, else the
// environment variable GORAY_BACKEND, else "auto":
//
//   - "go" opens the pure-Go backend.
//   - "xla" opens a PJRT plugin (see "Plugin discovery") and fails, listing
//     where it looked, when there is none or it does not load.
//   - "auto" opens XLA when a plugin is found and loads, else the pure-Go
//     backend.
//
// Open writes exactly one line to Options.Log (os.Stderr when nil) saying
// which backend it opened and why, for example
//
//	goray/infer: backend xla (CPU plugin /repo/.venv/lib/python3.11/site-packages/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so, PJRT 0.115, 4 devices; found in venv /repo/.venv)
//	goray/infer: backend go (no PJRT plugin found: looked in ...)
//
// GoMLX's own habit of downloading plugins on first use is switched off
// (xla.EnableAutoInstall(false)) the first time this package opens
// anything: goray installs plugins itself (make venv), and a program must
// not reach the network to pick a backend.
//
// # Plugin discovery
//
// In order; the first two are explicit and, when set, are the only
// candidate (a missing or unloadable file is an error, also for "auto", so
// that a typo never degrades silently to the slow backend):
//
//  1. Options.PluginPath.
//  2. The environment variable GORAY_PJRT_PLUGIN.
//  3. The directories in PJRT_PLUGIN_LIBRARY_PATH (":"-separated):
//     pjrt_c_api_<name>_plugin.so, pjrt[-_]plugin[-_]<name>.so,
//     xla_cuda_plugin.so.
//  4. Python virtual environments: $VIRTUAL_ENV, then the first .venv in
//     the working directory or one of its parents, then the first .venv
//     above the executable. In each, the CPU plugin of the PyPI wheel
//     lammps-jax-pjrt-cpu (site-packages/lammps_jax_pjrt_cpu/
//     pjrt_c_api_cpu_plugin.so) and the CUDA plugin of jax-cuda13-pjrt or
//     jax-cuda12-pjrt (site-packages/jax_plugins/xla_cuda1*/
//     xla_cuda_plugin.so).
//  5. go-xla's own install directories: ~/.local/lib/go-xla and
//     /usr/local/lib/go-xla.
//
// Among the discovered (non-explicit) plugins a CUDA plugin wins when a GPU
// is visible (/dev/nvidia0 exists); CUDA plugins are skipped when none is.
// Otherwise the first CPU plugin wins.
//
// A CUDA plugin needs the CUDA data directory (ptxas, libdevice). go-xla
// v0.1.4 fills XLA_FLAGS with a wrong hard-coded path when it finds an
// nvidia/ directory next to the plugin, so before loading a CUDA plugin
// Open sets --xla_gpu_cuda_data_dir itself (unless XLA_FLAGS already has
// it) to the pip "nvidia" directory near the plugin, or to $CUDA_HOME /
// $CUDA_PATH.
//
// # GPU shares
//
// OpenShare gives an actor that holds a fraction of a GPU ("0.6 of GPU 0")
// a backend on that device whose PJRT client may allocate at most that
// fraction of the device memory (times MemoryHeadroom), and does not
// preallocate it; CUDAOptions are the PJRT create options used.
//
// PJRT allows one client per device per process to own its memory, so
// shares taken in one process are kept in a process-wide registry keyed by
// the device index and reference counted: the first OpenShare on a device
// creates the client, sized for max(share, Options.ProcessShare); later
// OpenShare calls on that device reuse it while the sum of the live shares
// fits in what it was created for, and fail otherwise (naming the shares).
// A process that will host several actors on one GPU therefore passes the
// total in Options.ProcessShare on its first OpenShare. Shares summing above
// 1 are refused as over-subscription. The client is closed when the last
// share on it is released. The registry sits behind the Sharer interface so
// that a process-per-share implementation can replace it later.
//
// # Compile cache
//
// A graph.Exec compiles one program per distinct input shape (and keeps at
// most 32 by default, see Exec.SetMaxCache). Models should pad sequence
// lengths and batch sizes with BucketSize so that only a few shapes are ever
// compiled; Buckets lists them, for warm-up and for sizing the cache.
package device
