// Package objstore is the in-process object store of the local backend.
//
// It owns every object a driver creates (puts and task results): their
// lifecycle (pending, ready, failed, spilled, freed), byte accounting
// against a budget, reference counts that free an object once nothing
// refers to it, spilling of the oldest objects to disk when the budget is
// exceeded and restoring them when they are read again, and the listing
// that the state API shows.
//
// Values are stored as they are given (zero copy), like Ray's read-only
// zero-copy arrays: callers treat stored values as immutable. A Codec is
// needed only to spill a value to disk.
package objstore
