package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/verify"
)

type verifyOptions struct {
	Targets          []string
	All              bool
	Key              string
	PassphraseFile   string
	Write            bool
	AcceptNewHostKey bool
	Timeout          time.Duration
	JSON             bool
	Server           string
}

func verifyCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify the key works against a repository remote over SSH",
		UsageText: "git bbkey verify [REMOTE | URL]... [--all] [--key PATH] [--passphrase-file FILE] [--write] [--accept-new-host-key] [--timeout DURATION] [--json] [--server URL]",
		Description: "Reaches each target the way git would: host name, port, user, jump hosts, proxy command and " +
			"known-hosts files as OpenSSH computes them for git's ssh command (ssh -G with GIT_SSH_COMMAND, " +
			"core.sshCommand or GIT_SSH). Connects with only one key (--key, else bbkey.keyFile, else the identity " +
			"ssh would offer the host) and says when that is not the key git would use; where OpenSSH cannot be " +
			"reproduced in-process, runs the same checks through your own ssh. Checks the server's host key, runs " +
			"Bitbucket's whoami, reads the git-upload-pack ref advertisement and, with --write, opens " +
			"git-receive-pack where git would push (the remote's pushurl or a url.<base>.pushInsteadOf rewrite) and " +
			"closes it without pushing. Targets default to bbkey.remote, else origin; --all takes every remote and " +
			"skips those on other hosts than this Bitbucket; https remotes are mapped to their SSH clone URL. " +
			"An unknown host key is pinned when it matches the fingerprint Bitbucket publishes over HTTPS. " +
			"Statuses: ok, key-rejected, host-unknown, host-mismatch, unreachable, timeout, repo-not-found, " +
			"no-write-access, bad-url, key-error, skipped. Exit status 0 only if every target is ok or skipped.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "verify every remote of the repository (remotes on other hosts are skipped)"},
			&cli.StringFlag{Name: "key", Usage: "private key `PATH` to verify (default: bbkey.keyFile, else the identity ssh offers the host)", TakesFile: true},
			&cli.StringFlag{Name: "passphrase-file", Usage: "read the key's passphrase from the first line of `FILE`", TakesFile: true},
			&cli.BoolFlag{Name: "write", Usage: "also check write access where git pushes (opens git-receive-pack, pushes nothing)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "trust an unknown host key without asking and add it to known_hosts"},
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "limit per target for connect (jump hosts included), handshake and commands"},
			jsonFlag(),
			serverFlag(),
		},
		Action: func(c *cli.Context) error {
			return runVerify(c.Context, env, verifyOptions{
				Targets: c.Args().Slice(), All: c.Bool("all"), Key: c.String("key"), PassphraseFile: c.String("passphrase-file"),
				Write: c.Bool("write"), AcceptNewHostKey: c.Bool("accept-new-host-key"), Timeout: c.Duration("timeout"),
				JSON: c.Bool("json"), Server: c.String("server"),
			})
		},
	}
}

func runVerify(ctx context.Context, env *Env, opts verifyOptions) error {
	if opts.Timeout <= 0 {
		return usageError("--timeout must be positive, e.g. 15s")
	}
	if opts.All && len(opts.Targets) > 0 {
		return usageError("--all and named targets cannot be used together")
	}
	deps := env.verifyDeps(opts.PassphraseFile)
	// git's URL rules are a git config read of their own: it runs while
	// the rest starts.
	go env.gitRepo().Rules(ctx)
	vopts := verify.Options{Names: opts.Targets, All: opts.All, DefaultRemote: "origin", Server: opts.Server,
		Write: opts.Write, AcceptNewHostKey: opts.AcceptNewHostKey, Timeout: opts.Timeout}
	var settings [][2]string
	if opts.Key == "" || len(opts.Targets) == 0 && !opts.All {
		// bbkey.remote and bbkey.keyFile in one git process.
		var err error
		if settings, err = env.config().GetRegexp(ctx, `^bbkey\.(remote|keyfile)$`); err != nil {
			return err
		}
	}
	for _, kv := range settings { // the last value wins, as in git
		switch kv[0] {
		case "bbkey.remote":
			if kv[1] != "" {
				vopts.DefaultRemote = kv[1]
			}
		case "bbkey.keyfile":
			if kv[1] != "" {
				vopts.Key = env.absPath(kv[1])
			}
		}
	}
	if opts.Key != "" {
		vopts.Key = env.absPath(opts.Key)
	}
	results, err := verify.Run(ctx, deps, vopts)
	if err == nil {
		// An unusable --passphrase-file is a usage error, not a verdict.
		for _, r := range results {
			var e *Error
			if errors.As(r.Err, &e) && e.Code == exitUsage {
				err = e
				break
			}
		}
	}
	if err != nil {
		if opts.JSON && ctx.Err() == nil {
			// One JSON document, failures included.
			_ = writeJSON(env.Stdout, struct {
				Results []verifyJSON `json:"results"`
				Error   string       `json:"error"`
			}{[]verifyJSON{}, explain(err).Msg})
		}
		return err
	}
	return reportVerify(env, opts.JSON, results, opts.Write)
}

// verifyDeps is what the verify workflow needs from the run: the
// repository, the Bitbucket sessions, git's ssh, the keys as $HOME has
// them, the terminal (prompts, status line).
func (e *Env) verifyDeps(passphraseFile string) verify.Deps {
	home, _ := e.Home()
	d := verify.Deps{
		Repo:     e.gitRepo(),
		Sessions: e.bitbucket(),
		Home:     home,
		Env:      e.Environ(),
		Dir:      e.Dir,
		Agent:    e.sshAgent(),
		Getenv:   e.Getenv,
		Config:   e.config(),
		Unlock: func(ctx context.Context, path string) (*sshkeys.Unlocked, error) {
			return unlockKey(ctx, e, path, passphraseFile)
		},
		Progress: func(s verify.Step) {
			switch s.Kind {
			case verify.StepConnecting:
				e.statusLine().Show("connecting to %s…", strings.Join(s.Addrs, ", "))
			case verify.StepBitbucket:
				e.statusLine().Show("waiting for Bitbucket (%s)…", s.Server)
			}
		},
	}
	if e.Prompter.CanPrompt() {
		d.Confirm = func(ctx context.Context, u sshverify.UnknownHost) (bool, error) {
			e.Prompter.Say(fmt.Sprintf("The authenticity of host '%s' can't be established.\n%s key fingerprint is %s.",
				u.Host.Name(), sshverify.KeyTypeName(u.Key), sshkeys.Fingerprint(u.Key)))
			return e.Prompter.Confirm(ctx, "Are you sure you want to continue connecting (yes/no)?")
		}
	}
	return d
}

// knownHostsName is the name known_hosts has for host:port.
func knownHostsName(host string, port int) string {
	return sshverify.HostRef{Host: host, Port: port}.Name()
}
