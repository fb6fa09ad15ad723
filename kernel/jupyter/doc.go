// Package jupyter is a client of the Jupyter messaging protocol (v5.3)
// over ZeroMQ: it starts a kernel from its kernelspec, talks to it on the
// shell, control, stdin and iopub channels, and runs code on it.
//
// A Client owns the kernel process it started. Start writes a connection
// file with free ports on 127.0.0.1 and a random HMAC-SHA256 key, starts
// the kernel in its own process group, and waits until the kernel answers
// kernel_info_request on the shell channel and publishes on iopub, so no
// output of the first cell is lost. Execute sends an execute_request and
// gathers the outputs the kernel publishes for it into nbformat outputs,
// as nbclient does: consecutive stream messages of the same name are
// merged, update_display_data rewrites the earlier output with the same
// display_id, clear_output empties the list. Shutdown asks the kernel to
// exit, then kills its process group, and leaves no goroutine behind.
//
// Every message is signed with HMAC-SHA256 over its four JSON frames;
// a received message with a bad signature is rejected with an error that
// names its channel.
//
// The reference is jupyter_client's "Messaging in Jupyter":
// https://jupyter-client.readthedocs.io/en/stable/messaging.html
package jupyter
