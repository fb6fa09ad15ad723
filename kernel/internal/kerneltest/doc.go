// Package kerneltest holds helpers for the kernel packages' tests, such
// as a kernelspec that runs the GoNB binary this module builds.
package kerneltest
