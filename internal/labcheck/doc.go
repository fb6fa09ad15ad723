// Package labcheck holds tests that keep the lab's notebooks honest:
// every image they show loads in JupyterLab (which serves the repository
// root), and the committed outputs come from one clean run.
package labcheck
