// Package scheduler decides when queued work may start on the local node.
//
// Work is grouped into scheduling classes by the shape of its resource
// request (as Ray does), each class a FIFO queue. Whenever resources are
// returned, the oldest queued item that fits starts; a small request never
// waits behind a large one that does not fit. Requests that could never fit
// are refused at submission instead of hanging.
package scheduler
