// Package data is goray's Dataset: a lazy, planned and optimised pipeline
// over Arrow record batches ("blocks"), run by a streaming executor on the
// core runtime's tasks, actors and object refs, as Ray Data runs on Ray Core.
package data
