// Package resources owns the arithmetic of schedulable resources: amounts
// kept as fixed-point integers (precision 0.0001, as Ray uses), validation of
// requests, and the node's ledger that grants and returns them, including
// the bin-packing of fractional GPUs onto device indices.
//
// Everything here is synchronous and lock-free by itself; the scheduler that
// uses a Ledger serialises access to it.
package resources
