// Package kernel installs, finds and launches the goray Jupyter kernel.
//
// The kernel is GoNB (github.com/janpfeifer/gonb) started with a go.work
// that uses the goray module, so notebook cells call ray.* and data.*
// with no import line. This package owns the kernelspec (where Jupyter
// looks for it, what it contains, installing it idempotently next to a
// user's own kernels), the launcher that prepares GoNB's environment, and
// the build-cache pre-warm that keeps the first cell fast.
package kernel
