package main

import (
	"context"
	"io"
)

func notebookRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return usageError{"notebook run: not wired yet"}
}
