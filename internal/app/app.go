// Package app is the command layer of git-bbkey: the only importer of
// urfave/cli, the one place that prints errors and chooses exit codes.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// Main runs the program with args (args[0] is the program name) and
// returns the exit code.
func Main(ctx context.Context, args []string, env *Env) int {
	a := newApp(env)
	err := a.RunContext(ctx, reorderArgs(a, args))
	return report(env.Stderr, err)
}

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
			"repository's remote.\n\nExit status: 0 success, 1 the operation (or a verification) failed, 2 usage error.",
		Version:                env.Version,
		Reader:                 env.Stdin,
		Writer:                 env.Stdout,
		ErrWriter:              env.Stderr,
		HideHelpCommand:        false,
		EnableBashCompletion:   false,
		ExitErrHandler:         func(*cli.Context, error) {}, // Main reports and exits, never urfave
		OnUsageError:           onUsageError,
		UseShortOptionHandling: false,
		Commands: []*cli.Command{
			listCommand(env),
			backupCommand(env),
			generateCommand(env),
			addCommand(env),
			removeCommand(env),
			verifyCommand(env),
			doctorCommand(env),
			setupCommand(env),
			rotateCommand(env),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(fmt.Sprintf("%q is not a git bbkey command", c.Args().First()),
					"run 'git bbkey -h' to see the commands")
			}
			return cli.ShowAppHelp(c)
		},
	}
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Fprintf(c.App.Writer, "git-bbkey version %s\n", c.App.Version)
	}
	for _, cmd := range a.Commands {
		cmd.OnUsageError = onUsageError
		if cmd.Before == nil {
			cmd.Before = checkArgCount
		}
	}
	return a
}

func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	name := "git bbkey"
	if c != nil && c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		name += " " + c.Command.Name
	}
	return usageError(flagMessage(err.Error()), fmt.Sprintf("run '%s -h' for the options", name))
}

var singleDashFlag = regexp.MustCompile(`(: )-([A-Za-z0-9][A-Za-z0-9-]+)$`)

// flagMessage writes long flags the way the user typed them (--name), not
// the way Go's flag package reports them (-name).
func flagMessage(msg string) string {
	return singleDashFlag.ReplaceAllString(msg, "${1}--${2}")
}

// maxArgs says how many positional arguments a command takes (-1: any).
var maxArgs = map[string]int{}

func checkArgCount(c *cli.Context) error {
	if limit, ok := maxArgs[c.Command.Name]; ok && limit >= 0 && c.NArg() > limit {
		return usageError(fmt.Sprintf("too many arguments: %s", strings.Join(c.Args().Slice(), " ")),
			fmt.Sprintf("run 'git bbkey %s -h' for the usage", c.Command.Name))
	}
	return nil
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
