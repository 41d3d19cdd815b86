package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/rotate"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

type rotateOptions struct {
	Yes            bool
	Server         string
	JSON           bool
	Type           string
	NoPassphrase   bool
	PassphraseFile string
	Timeout        time.Duration
}

func rotateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "rotate",
		Usage:     "replace your key without a moment of lost access",
		UsageText: "git bbkey rotate [--yes] [--server URL] [--type T] [--no-passphrase | --passphrase-file FILE] [--json]",
		Description: "Generates the new key beside the old one, registers it, verifies it alone, then backs up the old " +
			"pair, moves the new key into its place, and only then deletes the old key from Bitbucket. Any failure " +
			"before the last step leaves the old key working, registered and in place; a rotation that was " +
			"interrupted continues with its new key on the next run. Asks on a terminal; otherwise needs --yes.",
		Flags: append([]cli.Flag{
			yesFlag("rotate without asking"),
			serverFlag(),
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Usage: "key `TYPE` of the new key (default: the old key's type)"},
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "limit for the SSH check of the new key"},
		}, append(passphraseFlags(), jsonFlag())...),
		Action: func(c *cli.Context) error {
			return runRotate(c.Context, env, rotateOptions{Yes: c.Bool("yes"), Server: c.String("server"), JSON: c.Bool("json"),
				Type: c.String("type"), NoPassphrase: c.Bool("no-passphrase"), PassphraseFile: c.String("passphrase-file"),
				Timeout: c.Duration("timeout")})
		},
	}
}

// rotateJSON is rotate's outcome as --json prints it.
type rotateJSON struct {
	OldKey       *generatedKey `json:"oldKey"`
	NewKey       *generatedKey `json:"newKey"`
	Registration *addResult    `json:"registration"`
	Verify       *verifyJSON   `json:"verify"`
	BackupDir    *string       `json:"backupDir"`
	RemovedOld   *removeResult `json:"removedOldKey"`
	Error        *jsonError    `json:"error,omitempty"`
}

// crashPoint lets the tests kill the process between two steps, as a power
// cut would (GIT_BBKEY_TEST_CRASH_AFTER=registered|backed-up|moved|...).
func crashPoint(env *Env, step string) {
	if env.Getenv("GIT_BBKEY_TEST_CRASH_AFTER") == step {
		os.Exit(137)
	}
}

func runRotate(ctx context.Context, env *Env, opts rotateOptions) error {
	o, d, err := rotateSetup(ctx, env, opts)
	if err != nil {
		return reportRotate(env, opts, &rotate.Result{}, err)
	}
	res, err := rotate.Run(ctx, o, d)
	return reportRotate(env, opts, res, err)
}

func rotateSetup(ctx context.Context, env *Env, opts rotateOptions) (rotate.Options, rotate.Deps, error) {
	o := rotate.Options{Yes: opts.Yes, Server: opts.Server, KeyType: opts.Type, NoPassphrase: opts.NoPassphrase,
		PassphraseFile: opts.PassphraseFile}
	d := rotate.Deps{Sessions: env.bitbucket(), Repo: env.gitRepo(), Verify: verifyForSetup(env, opts.Timeout),
		Agent: sshagent.System(env.Getenv), Step: rotateStep(env, opts.JSON), Progress: showProgress(env),
		Keygen: keygenHooks(env), Checkpoint: func(step string) { crashPoint(env, step) }, Now: env.Now, Random: env.Random}
	if env.Prompter.CanPrompt() {
		d.Ask = rotateAsker{setupAsker{env}}
	}
	if opts.Timeout <= 0 {
		return o, d, usageError("--timeout must be positive, e.g. 15s")
	}
	if opts.NoPassphrase && opts.PassphraseFile != "" {
		return o, d, keygen.ErrPassphraseConflict
	}
	if !opts.Yes && d.Ask == nil { // before anything is read: the answer is the same
		return o, d, &setup.NeedsPersonError{Choice: setup.ChoiceRotate}
	}
	var err error
	if o.KeyPath, err = defaultKeyPath(ctx, env); err != nil {
		return o, d, err
	}
	if o.Remote, err = defaultRemoteName(ctx, env); err != nil {
		return o, d, err
	}
	if opts.PassphraseFile != "" {
		if o.Passphrase, err = readPassphraseFile(env, opts.PassphraseFile); err != nil {
			return o, d, err
		}
	}
	return o, d, nil
}

// rotateAsker asks rotate's questions on the terminal.
type rotateAsker struct{ setupAsker }

func (a rotateAsker) Rotate(ctx context.Context, p rotate.Plan) (bool, error) {
	return askYesNo(ctx, a.env, fmt.Sprintf("Replace %s (%s) with a new key and delete the old one from %s?",
		termtext.Line(p.Key.PrivateKeyPath), p.Key.Fingerprint, termtext.Line(p.Server)), false)
}

// rotateStep tells each step on stderr, one verb a line (not with --json).
func rotateStep(env *Env, asJSON bool) func(rotate.Step) {
	return func(s rotate.Step) {
		if asJSON {
			return
		}
		path, dir := termtext.Line(s.Path), termtext.Line(s.Dir)
		var line string
		switch s.Kind {
		case rotate.StepFinishing:
			line = fmt.Sprintf("Finishing the rotation of %s that was interrupted (the old key is backed up in %s).", path, dir)
		case rotate.StepContinuing:
			line = fmt.Sprintf("Continuing with the new key an interrupted rotation left in %s.", path)
		case rotate.StepSetAside:
			line = fmt.Sprintf("Moved the incomplete key %s of an interrupted rotation to %s.", path, dir)
		case rotate.StepNewKey:
			line = fmt.Sprintf("The new key %s (%s) is ready beside the old one.", path, s.Fingerprint)
		case rotate.StepRegistered:
			line = fmt.Sprintf("Registered the new key %s as your SSH key (id %d).", s.Result.Fingerprint, s.Result.ID)
			if s.Result.Status == register.AlreadyPresent {
				line = fmt.Sprintf("The new key %s is already your SSH key (id %d).", s.Result.Fingerprint, s.Result.ID)
			}
		case rotate.StepVerified:
			line = fmt.Sprintf("Verified the new key against %s.", termtext.Line(s.URL))
		case rotate.StepBackedUp:
			line = fmt.Sprintf("Backed up the old key to %s.", dir)
		case rotate.StepMoved:
			line = fmt.Sprintf("Moved the new key into %s.", path)
		case rotate.StepRemoved:
			line = fmt.Sprintf("Removed the old key %s (id %d) from Bitbucket.", s.Result.Fingerprint, s.Result.ID)
		}
		fmt.Fprintln(env.Stderr, line)
	}
}

func reportRotate(env *Env, opts rotateOptions, r *rotate.Result, err error) error {
	var e *Error
	if err != nil {
		e = explain(err)
	}
	if opts.JSON {
		doc := rotateJSON{OldKey: workflowKeyJSON(r.OldKey, ""), NewKey: workflowKeyJSON(r.NewKey, ""), BackupDir: optional(r.BackupDir),
			Verify: verifyReport(r.Verify)}
		if r.Registration != nil {
			reg := addResultOf(*r.Registration, r.Server)
			doc.Registration = &reg
		}
		if n := len(r.Removed); n > 0 {
			k := r.Removed[n-1]
			doc.RemovedOld = &removeResult{Status: string(k.Status), Kind: string(k.Kind), ID: k.ID, Fingerprint: k.Fingerprint, Label: k.Label,
				Message: fmt.Sprintf("removed the old key %s (id %d) from %s", k.Fingerprint, k.ID, r.Server)}
		}
		if e != nil {
			doc.Error = jsonErrorOf(err, e)
		}
		if werr := writeJSON(env.Stdout, doc); werr != nil && e == nil {
			return werr
		}
	} else if err == nil {
		newFP := ""
		if r.NewKey != nil {
			newFP = r.NewKey.Fingerprint
		}
		if r.OldKey != nil {
			fmt.Fprintf(env.Stdout, "Rotated %s: %s -> %s (old pair backed up in %s)\n", termtext.Line(r.KeyPath), r.OldKey.Fingerprint, newFP, termtext.Line(r.BackupDir))
		} else {
			fmt.Fprintf(env.Stdout, "Rotated %s to %s (old pair backed up in %s)\n", termtext.Line(r.KeyPath), newFP, termtext.Line(r.BackupDir))
		}
	} else if d := new(setup.DeclinedError); errors.As(err, &d) {
		fmt.Fprintf(env.Stderr, "Kept %s; nothing was changed.\n", termtext.Line(d.Path))
	}
	if e == nil {
		return nil
	}
	return e
}
