package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/doctor"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

type doctorOptions struct {
	Server string
	JSON   bool
}

func doctorCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check everything that commonly breaks SSH to Bitbucket, and say how to fix it",
		UsageText: "git bbkey doctor [--server URL] [--json]",
		Description: "Prints one line per check (ok, warn, FAIL or skip), each problem followed by the exact command " +
			"that fixes it: ~/.ssh and key file permissions (mode, or ACL on Windows) and whether OpenSSH will load each key, " +
			"missing key halves, key types Bitbucket refuses, RSA keys with OpenSSH 8.8 or later, what interrupted runs left, " +
			"which ssh git runs (GIT_SSH_COMMAND, core.sshCommand, GIT_SSH, ssh) and which home it reads, the ssh-agent, " +
			"~/.ssh/config, and for each remote the host, port, user, key, jump host and known-hosts files git's ssh uses " +
			"(as `ssh -G` computes them), the host key known there against the fingerprint Bitbucket publishes, whether SSH " +
			"access is enabled on the server, whether the key is registered (as your key or an access key) and whether the " +
			"repository exists. Never prompts and never writes anything. " +
			"--json prints {\"checks\": [{\"name\", \"status\": \"ok|warn|fail|skip\", \"message\", \"fix\": " +
			"\"command\" | null}], \"ok\": bool}. Exit status 1 if any check fails (warnings do not), else 0.",
		Flags: []cli.Flag{serverFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return runDoctor(c.Context, env, doctorOptions{Server: c.String("server"), JSON: c.Bool("json")})
		},
	}
}

// doctorCheck is one check as the contract prints it in JSON.
type doctorCheck struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Message string  `json:"message"`
	Fix     *string `json:"fix"`
}

func runDoctor(ctx context.Context, env *Env, opts doctorOptions) error {
	if opts.Server != "" {
		if _, err := bbsession.NormalizeBaseURL(opts.Server); err != nil {
			return err
		}
	}
	quiet := *env
	quiet.Prompter = noPrompt{} // doctor never asks, git credential included
	sshDir, err := env.sshDir()
	if err != nil {
		return err
	}
	home := filepath.Dir(sshDir)
	key := doctor.KeyChoice{}
	if configured, err := env.configValue(ctx, "bbkey.keyFile"); err == nil {
		key.Configured = configured != ""
	}
	if p, err := defaultKeyPath(ctx, &quiet); err == nil {
		key.Path = p
	} else if errors.Is(err, context.Canceled) {
		return err
	}
	status := env.statusLine()
	report := doctor.Run(ctx, doctor.Options{
		World: &doctor.System{
			Getenv: env.Getenv, Environ: env.Environ(), Home: home, Dir: env.Dir,
			Config: env.config(), Repo: env.gitRepo(), Sessions: quiet.bitbucket(), ServerFlag: opts.Server,
		},
		Home:     home,
		Key:      key,
		Windows:  runtime.GOOS == "windows",
		Progress: func(step string) { status.Show("%s…", step) },
	})
	status.Clear()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return reportDoctor(env, opts.JSON, report)
}

// doctorFix is a check's fix: its own, else the hint for its cause.
func doctorFix(c doctor.Check) string {
	if c.Fix == "" && c.Cause != nil {
		if h := explain(c.Cause).Hints; len(h) > 0 {
			return h[0]
		}
	}
	return c.Fix
}

func reportDoctor(env *Env, asJSON bool, report doctor.Report) error {
	checks := make([]doctorCheck, len(report.Checks))
	for i, c := range report.Checks {
		checks[i] = doctorCheck{Name: c.Name, Status: string(c.Status), Message: c.Message}
		if fix := doctorFix(c); fix != "" {
			checks[i].Fix = &fix
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, struct {
			Checks []doctorCheck `json:"checks"`
			OK     bool          `json:"ok"`
		}{checks, report.OK()}); err != nil {
			return err
		}
	} else {
		width := 0
		for _, c := range checks {
			width = max(width, len(c.Name))
		}
		for _, c := range checks {
			word := c.Status
			if word == string(doctor.Fail) {
				word = "FAIL"
			}
			// Pad after painting: the colour's escapes have no width.
			fmt.Fprintf(env.Stdout, "%s%*s %-*s  %s\n", env.statusWord(word), 5-len(word), "", width, c.Name, termtext.Line(c.Message))
			if c.Fix != nil {
				fmt.Fprintf(env.Stdout, "      fix: %s\n", termtext.Line(*c.Fix))
			}
		}
	}
	if failed := report.Failed(); failed > 0 {
		hint := "run the fix: lines above, then git bbkey doctor again"
		if asJSON {
			hint = "run the fix of each failed check, then git bbkey doctor again"
		}
		return failure(fmt.Sprintf("%d of %d checks failed", failed, len(checks)), hint)
	}
	return nil
}
