// Package pyenv finds the Python virtual environments that goray takes
// binary assets from: the PJRT plugins and the small models that pip
// packages ship (make venv installs them into the repository's .venv).
package pyenv
