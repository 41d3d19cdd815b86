package app

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
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
	quiet.Prompter = noPrompter{}
	s, err := openSession(ctx, &quiet, "", true)
	if err != nil {
		return errSilentFailure
	}
	keys, err := s.ListUserKeys(ctx, "")
	s.settle(ctx, err)
	if err != nil {
		return errSilentFailure
	}
	for _, k := range keys {
		fmt.Fprintf(env.Stdout, "%d\t%s\n", k.ID, oneLine(k.Label))
	}
	return nil
}

// oneLine makes text from outside one line without control characters.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// noPrompter asks nobody.
type noPrompter struct{}

func (noPrompter) CanPrompt() bool { return false }
func (noPrompter) Secret(context.Context, string) ([]byte, error) {
	return nil, prompt.ErrNoTerminal
}
func (noPrompter) Confirm(context.Context, string) (bool, error) { return false, prompt.ErrNoTerminal }
func (noPrompter) Line(context.Context, string) (string, error)  { return "", prompt.ErrNoTerminal }
func (noPrompter) Say(string) error                              { return nil }
