// Package notebook reads, writes and runs Jupyter notebooks (nbformat 4).
//
// Read and Parse accept what Jupyter writes, cell sources and output
// texts either as one string or as a list of lines; Write produces what
// Jupyter writes (keys sorted, one-space indentation, text as lists of
// lines, a trailing newline) and replaces the file atomically. Cells
// without an id get one, as nbformat 4.5 requires. Metadata keys the
// package does not know are kept as they are.
//
// Run executes a notebook's code cells in order on a kernel started from
// a kernelspec, headless, the way nbclient does: each cell's outputs and
// execution count are replaced, the run stops at the first cell that
// fails (unless the cell is tagged "raises-exception"), and the kernel is
// shut down in the end.
package notebook
