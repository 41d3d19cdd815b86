// Command git-bbkey creates, registers and verifies SSH keys for Bitbucket
// Server. On PATH, git runs it as `git bbkey`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/git-bbkey/git-bbkey/internal/app"
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version string

func main() {
	os.Exit(run())
}

// run is the program, with Ctrl-C (SIGINT), SIGTERM and a closed terminal
// (SIGHUP) turned into the end of the run's context: the command stops,
// restores the terminal and exits 130. After the first signal the defaults
// are back, so a second Ctrl-C ends a stuck run at once.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	context.AfterFunc(ctx, stop)
	return app.Main(ctx, os.Args, app.SystemEnv(version))
}
