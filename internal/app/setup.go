package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshconfig"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
	"github.com/git-bbkey/git-bbkey/internal/verify"
)

type setupOptions struct {
	Server           string
	Remote           string
	Type             string
	File             string
	New              bool
	Label            string
	NoPassphrase     bool
	PassphraseFile   string
	SSHConfig        bool
	Agent            bool
	AgentLifetime    time.Duration
	AgentLifetimeSet bool
	FixRemote        bool
	Yes              bool
	JSON             bool
	Timeout          time.Duration
}

func setupCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "setup",
		Usage:     "the whole procedure in one command: key, registration, host key, verification",
		UsageText: "git bbkey setup [--server URL] [--remote NAME] [--type T] [--file PATH] [--new] [--label TEXT] [--no-passphrase | --passphrase-file FILE] [--ssh-config] [--agent] [--fix-remote] [--yes] [--json]",
		Description: "Reads user.email; reuses the best usable key in ~/.ssh (asking on a terminal; --yes takes it) " +
			"unless --new; otherwise backs up whatever would be replaced and generates one; registers it as your " +
			"SSH user key (without credentials it prints the key and the page to paste it into, and stops with exit " +
			"0); pins the server's host key; with --ssh-config writes a managed Host block to ~/.ssh/config; with " +
			"--agent adds the key to the ssh-agent; and verifies it against the repository's remote (with " +
			"--fix-remote, switching an https remote to SSH first, and back if the key does not verify). " +
			"Safe to run again: a second run changes nothing.",
		Flags: append([]cli.Flag{
			serverFlag(),
			&cli.StringFlag{Name: "remote", Usage: "remote to verify (default: bbkey.remote, else origin)"},
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Usage: "key `TYPE` for a new key: ed25519, ecdsa or rsa"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "private key `PATH` to use or create", TakesFile: true},
			&cli.BoolFlag{Name: "new", Usage: "always make a new key (the old one is backed up first)"},
			&cli.StringFlag{Name: "label", Usage: "key label in Bitbucket (default: the key comment)"},
			&cli.BoolFlag{Name: "ssh-config", Usage: "write a managed Host block for the server to ~/.ssh/config"},
			&cli.BoolFlag{Name: "agent", Usage: "add the key to the running ssh-agent"},
			&cli.DurationFlag{Name: "agent-lifetime", Usage: "with --agent, let the agent forget the key after `DURATION` (whole seconds, e.g. 8h)"},
			&cli.BoolFlag{Name: "fix-remote", Usage: "switch an https remote to its SSH clone URL (switched back if the key does not verify)"},
			yesFlag("take the proposed choices without asking (reuse the existing key, write the ssh config)"),
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "limit for the SSH check"},
		}, append(passphraseFlags(), jsonFlag())...),
		Action: func(c *cli.Context) error {
			return runSetup(c.Context, env, setupOptions{
				Server: c.String("server"), Remote: c.String("remote"), Type: c.String("type"), File: c.String("file"),
				New: c.Bool("new"), Label: c.String("label"), NoPassphrase: c.Bool("no-passphrase"),
				PassphraseFile: c.String("passphrase-file"), SSHConfig: c.Bool("ssh-config"), Agent: c.Bool("agent"),
				AgentLifetime: c.Duration("agent-lifetime"), AgentLifetimeSet: c.IsSet("agent-lifetime"),
				FixRemote: c.Bool("fix-remote"), Yes: c.Bool("yes"), JSON: c.Bool("json"), Timeout: c.Duration("timeout"),
			})
		},
	}
}

func runSetup(ctx context.Context, env *Env, opts setupOptions) error {
	o, err := setupWorkflowOptions(ctx, env, opts)
	if err != nil {
		return reportSetup(env, opts, &setup.Result{Email: o.Email}, err)
	}
	deps, err := setupDeps(env, opts)
	if err != nil {
		return reportSetup(env, opts, &setup.Result{Email: o.Email}, err)
	}
	res, err := setup.Run(ctx, o, deps)
	return reportSetup(env, opts, res, err)
}

// setupWorkflowOptions turns the flags and git config into setup's options.
func setupWorkflowOptions(ctx context.Context, env *Env, opts setupOptions) (setup.Options, error) {
	o := setup.Options{Server: opts.Server, Remote: opts.Remote, RemoteGiven: opts.Remote != "", KeyType: opts.Type,
		New: opts.New, Label: opts.Label, NoPassphrase: opts.NoPassphrase, PassphraseFile: opts.PassphraseFile,
		SSHConfig: opts.SSHConfig, Agent: opts.Agent, AgentLifetime: opts.AgentLifetime, FixRemote: opts.FixRemote, Yes: opts.Yes}
	if opts.Timeout <= 0 {
		return o, usageError("--timeout must be positive, e.g. 15s")
	}
	if err := setup.CheckAgentLifetime(opts.AgentLifetime, opts.AgentLifetimeSet); err != nil {
		return o, err
	}
	if opts.NoPassphrase && opts.PassphraseFile != "" {
		return o, keygen.ErrPassphraseConflict
	}
	var err error
	if o.Email, err = commentOrEmail(ctx, env, ""); err != nil { // 1. who: the key comment
		return o, err
	}
	if o.Remote == "" {
		if o.Remote, err = defaultRemoteName(ctx, env); err != nil {
			return o, err
		}
	}
	if o.KeyType == "" {
		if o.DefaultKeyType, err = env.configValue(ctx, "bbkey.keyType"); err != nil {
			return o, err
		}
	}
	if opts.File != "" {
		o.KeyFile = env.absPath(opts.File)
	}
	if opts.PassphraseFile != "" {
		if o.Passphrase, err = readPassphraseFile(env, opts.PassphraseFile); err != nil {
			return o, err
		}
	}
	return o, nil
}

func setupDeps(env *Env, opts setupOptions) (setup.Deps, error) {
	sshDir, err := env.sshDir()
	if err != nil {
		return setup.Deps{}, err
	}
	d := setup.Deps{
		SSHDir:   sshDir,
		Sessions: env.bitbucket(),
		Repo:     env.gitRepo(),
		Git:      setup.Git{Path: env.Git, Dir: env.Dir, Env: env.Environ()},
		Verify:   verifyForSetup(env, opts.Timeout),
		Agent:    sshagent.System(env.Getenv),
		Progress: showProgress(env),
		Keygen:   keygenHooks(env),
		Now:      env.Now,
		Random:   env.Random,
	}
	if env.Prompter.CanPrompt() {
		d.Ask = setupAsker{env}
	}
	return d, nil
}

// verifyForSetup is setup's and rotate's SSH check: the verify workflow
// on the one target and key they give. Its result travels in the Outcome's
// Report, for setup and rotate to print as verify does.
func verifyForSetup(env *Env, timeout time.Duration) setup.Verify {
	return func(ctx context.Context, t setup.Target, key *sshkeys.Unlocked) (setup.Outcome, error) {
		r, err := verify.Check(ctx, env.verifyDeps(""), verify.Target{Remote: t.Remote, URL: t.URL, Base: t.Server, HostOnly: t.HostOnly},
			key, verify.CheckOptions{Timeout: timeout})
		if err != nil {
			return setup.Outcome{}, err
		}
		notes := &hostKeyNotes{env: env}
		for _, p := range r.Pins {
			notes.say(p)
		}
		res := toJSON(env, r, false)
		out := setup.Outcome{Status: r.Status, Message: r.Message, User: r.User, Pinned: r.HostKeyAdded,
			Elapsed: r.Elapsed, Report: &res}
		if r.Refs != nil {
			out.Refs = *r.Refs
		}
		return out, nil
	}
}

// showProgress shows setup's and rotate's slow steps on the status line.
func showProgress(env *Env) func(setup.Progress) {
	return func(p setup.Progress) {
		switch p.Activity {
		case setup.WaitingForBitbucket:
			env.statusLine().Show("waiting for Bitbucket at %s…", p.Where)
		case setup.Connecting:
			env.statusLine().Show("connecting to %s…", p.Where)
		case setup.AddingToAgent:
			env.statusLine().Show("adding the key to the ssh-agent…")
		}
	}
}

// setupAsker asks setup's questions on the terminal.
type setupAsker struct{ env *Env }

func (a setupAsker) Intro(i setup.Intro) {
	key := "a new key, " + termtext.Line(i.KeyPath)
	if i.Existing {
		key = "the key found, " + termtext.Line(i.KeyPath)
	}
	a.env.Prompter.Say(fmt.Sprintf("Setting up SSH access to %s for %s (git config user.email, the comment of a new key)\nwith %s.",
		termtext.Line(i.Server), termtext.Line(i.Email), key))
}

func (a setupAsker) Reuse(ctx context.Context, k setup.Key) (bool, error) {
	a.env.Prompter.Say(fmt.Sprintf("Found %s (%s %d, %s, %s): the best usable key (a complete pair of a type Bitbucket accepts; ed25519 preferred).",
		termtext.Line(k.PrivateKeyPath), k.Type, k.Bits, k.Fingerprint, termtext.Line(k.Comment)))
	return askYesNo(ctx, a.env, "Use it for Bitbucket?", true)
}

func (a setupAsker) Replace(ctx context.Context, path string) (bool, error) {
	return askYesNo(ctx, a.env, fmt.Sprintf("%s already exists. Replace it with a new key (the old one is backed up first)?", termtext.Line(path)), false)
}

func (a setupAsker) FixRemote(ctx context.Context, name, from, to string) (bool, error) {
	return askYesNo(ctx, a.env, fmt.Sprintf("Remote %s uses https (%s). Switch it to SSH (%s)?",
		termtext.Line(name), termtext.Line(from), termtext.Line(to)), false)
}

func (a setupAsker) WriteSSHConfig(ctx context.Context, path string, b sshconfig.Block) (bool, error) {
	a.env.Prompter.Say("This block goes into " + termtext.Line(path) + ":\n" + termtext.Block(b.Render("\n")))
	return askYesNo(ctx, a.env, "Write it?", true)
}

func (a setupAsker) NewPassphrase(ctx context.Context) ([]byte, error) {
	return prompt.NewPassphrase(ctx, a.env.Prompter)
}

func (a setupAsker) Passphrase(ctx context.Context, question string) ([]byte, error) {
	return a.env.Prompter.Secret(ctx, question)
}

func (a setupAsker) Say(text string) { a.env.Prompter.Say(text) }

// askYesNo asks a yes/no question that ends as all of setup's and
// rotate's do: the default in capitals, [Y/n] or [y/N], taken by Enter.
func askYesNo(ctx context.Context, env *Env, question string, def bool) (bool, error) {
	suffix := " [y/N] "
	if def {
		suffix = " [Y/n] "
	}
	for range 3 {
		answer, err := env.Prompter.Line(ctx, question+suffix)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		env.Prompter.Say("Please answer y or n.")
	}
	return false, nil
}
