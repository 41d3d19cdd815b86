// Package app is the command layer of git-bbkey: the only importer of
// urfave/cli, the one place that prints errors and chooses exit codes.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

// Main runs the program with args (args[0] is the program name) and
// returns the exit code. When ctx ends (SIGINT, SIGTERM, SIGHUP) or a person
// presses Ctrl-C or Ctrl-D at a prompt, the command's output stops there,
// and the run ends with exit 130 and one line saying so.
func Main(ctx context.Context, args []string, env *Env) int {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	run := env.forRun(ctx, stop)
	defer run.agent.Close()
	a := newApp(run)
	args = reorderArgs(a, args)
	err := a.RunContext(ctx, args)
	run.ui.status.Clear()
	if ctx.Err() != nil { // whatever error the stop caused on its way up
		if err = context.Cause(ctx); !errors.Is(err, prompt.ErrCancelled) {
			err = prompt.ErrInterrupted
		}
	}
	// With --json every run prints exactly one JSON document, failures
	// included: a command that failed before printing its own says why.
	if err != nil && wantsJSON(args) && run.Stdout.(*untilDone).written.Load() == 0 {
		writeJSONFailure(env.Stdout, err)
	}
	return reportIn(env.Stderr, err, run.ui.stderrPalettes)
}

// wantsJSON tells whether the command line (flags first, as reorderArgs
// leaves it) asks for --json.
func wantsJSON(args []string) bool {
	for _, a := range args[1:] {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "-json":
			return true
		}
	}
	return false
}

// The positional arguments a command takes, declared with it in newApp.
const anyArgs = -1

func newApp(env *Env) *cli.App {
	a := &cli.App{
		Name:      "git-bbkey",
		HelpName:  "git bbkey",
		Usage:     "create, register and verify SSH keys for Bitbucket Server",
		UsageText: "git bbkey <command> [options] [arguments]",
		Description: "git-bbkey follows Atlassian's \"Creating SSH keys\" procedure for Bitbucket Server: " +
			"it checks ~/.ssh for existing keys, backs old keys up to ~/.ssh/key_backup, generates a new key " +
			"with your git user.email as its comment, registers it with Bitbucket as an SSH user key or an " +
			"SSH access key, pins the server's host key, and proves over SSH that the key works against your " +
			"repository's remote.\n\nExit status: 0 success, 1 the operation (or a verification) failed, 2 usage error, " +
			"130 interrupted (Ctrl-C, SIGTERM, a closed terminal, or Ctrl-D at a prompt).",
		Version:              env.Version,
		HideVersion:          true, // our own --version: -v is git's verbose, not the version
		Reader:               env.Stdin,
		Writer:               env.Stdout,
		ErrWriter:            env.Stderr,
		EnableBashCompletion: false,
		ExitErrHandler:       func(*cli.Context, error) {}, // Main reports and exits, never urfave
		OnUsageError:         onUsageError,
		Flags:                []cli.Flag{&cli.BoolFlag{Name: "version", Usage: "print the version", DisableDefaultText: true}},
		Commands: []*cli.Command{
			takesArgs(0, listCommand(env)),
			takesArgs(0, backupCommand(env)),
			takesArgs(0, generateCommand(env)),
			takesArgs(1, addCommand(env)),
			takesArgs(1, removeCommand(env)),
			takesArgs(anyArgs, verifyCommand(env)),
			takesArgs(0, doctorCommand(env)),
			takesArgs(0, setupCommand(env)),
			takesArgs(0, rotateCommand(env)),
			takesArgs(1, completeCommand(env)),
		},
		Before: func(c *cli.Context) error {
			// `git bbkey help nosuch` is a usage error, as `git help nosuch` fails.
			if first := c.Args().First(); (first == "help" || first == "h") && c.NArg() > 1 &&
				c.App.Command(c.Args().Get(1)) == nil {
				return unknownCommand(c.App, c.Args().Get(1))
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				_, err := fmt.Fprintf(c.App.Writer, "git-bbkey version %s\n", c.App.Version)
				return err
			}
			if c.NArg() > 0 {
				return unknownCommand(c.App, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	for _, cmd := range a.Commands {
		cmd.OnUsageError = onUsageError
		for i, f := range cmd.Flags {
			switch f := f.(type) {
			case *cli.DurationFlag:
				cmd.Flags[i] = durationFlag(f)
			case *cli.BoolFlag:
				f.DisableDefaultText = true // no "(default: false)" in -h
			}
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if c.Bool("json") {
				env.statusLine().Disable() // --json: stderr carries no progress
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
	return a
}

// takesArgs declares how many positional arguments cmd takes (anyArgs: no
// limit); more is a usage error.
func takesArgs(limit int, cmd *cli.Command) *cli.Command {
	before := cmd.Before
	cmd.Before = func(c *cli.Context) error {
		if limit >= 0 && c.NArg() > limit {
			return usageError(fmt.Sprintf("too many arguments: %s", strings.Join(c.Args().Slice(), " ")),
				fmt.Sprintf("run 'git bbkey %s -h' for the usage", c.Command.Name))
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
	return cmd
}

// unknownCommand is git's "'verfy' is not a git command" with the closest
// commands as the hint.
func unknownCommand(a *cli.App, name string) error {
	var names []string
	for _, c := range a.VisibleCommands() {
		if c.Name != "help" {
			names = append(names, c.Name)
		}
	}
	msg := "'" + termtext.Line(name) + "' is not a git bbkey command"
	switch similar := closestCommands(name, names); len(similar) {
	case 0:
		return usageError(msg, "run 'git bbkey -h' to see the commands")
	case 1:
		return usageError(msg, "did you mean "+similar[0]+"?")
	default:
		return usageError(msg, "did you mean one of these? "+strings.Join(similar, ", "))
	}
}

func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	name := "git bbkey"
	if c != nil && c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		name += " " + c.Command.Name
	}
	return usageError(flagMessage(err.Error()), fmt.Sprintf("run '%s -h' for the options", name))
}

var singleDashFlag = regexp.MustCompile(`(^|: |flag |for )-([A-Za-z0-9][A-Za-z0-9-]+)\b`)

// flagMessage writes long flags the way the user typed them (--name), not
// the way Go's flag package reports them (-name).
func flagMessage(msg string) string {
	return singleDashFlag.ReplaceAllString(msg, "${1}--${2}")
}

// reorderArgs moves a command's flags ahead of its positional arguments,
// because urfave/cli v2 stops reading flags at the first argument while git
// users write `git bbkey verify origin --json`. `--` still ends the flags.
func reorderArgs(a *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Find the command: the first argument that is not a flag.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" && args[i] != "--" {
		i++
	}
	if i >= len(args) {
		return args
	}
	cmd := a.Command(args[i])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		tv := false
		if d, ok := f.(cli.DocGenerationFlag); ok {
			tv = d.TakesValue()
		}
		for _, n := range f.Names() {
			takesValue[n] = tv
		}
	}
	var flags, positional []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		arg := rest[j]
		switch {
		case arg == "--":
			positional = append(positional, rest[j+1:]...)
			j = len(rest)
		case strings.HasPrefix(arg, "-") && arg != "-":
			flags = append(flags, arg)
			name := strings.TrimLeft(arg, "-")
			if !strings.Contains(name, "=") && takesValue[name] {
				if j+1 >= len(rest) {
					// End with it, alone, so that the parser reports the
					// missing value instead of taking an argument for it.
					return append(append([]string{}, args[:i+1]...), flags...)
				}
				j++
				flags = append(flags, rest[j])
			}
		default:
			positional = append(positional, arg)
		}
	}
	out := append([]string{}, args[:i+1]...)
	out = append(out, flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// writeJSON prints exactly one JSON document on stdout.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonFlag is the --json flag every command has.
func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print one JSON document on stdout"}
}
