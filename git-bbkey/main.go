// Command git-bbkey creates, registers and verifies SSH keys for Bitbucket
// Server. On PATH, git runs it as `git bbkey`.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/git-bbkey/git-bbkey/internal/app"
)

// version is set at link time: -ldflags "-X main.version=1.2.3".
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := app.Main(ctx, os.Args, app.SystemEnv(version))
	stop()
	os.Exit(code)
}
