package app

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

// completeCommand is the hidden `git bbkey __complete remove-ids`, for the
// shell completions: it lists the ids of your SSH keys on Bitbucket, one
// "ID<TAB>LABEL" a line. A TAB press must not hang or ask: it never
// prompts (git credential runs with GIT_TERMINAL_PROMPT=0) and gives up
// after a few seconds, printing nothing.
func completeCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:   "__complete",
		Hidden: true,
		Action: func(c *cli.Context) error {
			if c.Args().First() != "remove-ids" {
				return usageError(fmt.Sprintf("nothing to complete for %q", c.Args().First()))
			}
			return completeKeyIDs(c.Context, env)
		},
	}
}

func completeKeyIDs(ctx context.Context, env *Env) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	quiet := *env
	quiet.Prompter = noPrompt{}
	quiet.sessions = &sessionCache{} // never interactive, whatever ran before
	s, err := quiet.bitbucket().Open(ctx, "")
	if err != nil {
		return errSilentFailure
	}
	keys, err := register.UserKeys(ctx, s)
	if err != nil {
		return errSilentFailure
	}
	for _, k := range keys {
		fmt.Fprintf(env.Stdout, "%d\t%s\n", k.ID, termtext.Line(k.Label))
	}
	return nil
}
