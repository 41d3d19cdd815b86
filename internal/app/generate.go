package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

type generateOptions struct {
	Type           string
	Bits           int
	File           string
	Comment        string
	NoPassphrase   bool
	PassphraseFile string
	Force          bool
	JSON           bool
}

func passphraseFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "no-passphrase", Usage: "leave the new key unencrypted (needed without a terminal unless --passphrase-file)"},
		&cli.StringFlag{Name: "passphrase-file", Usage: "read the passphrase from the first line of `FILE`", TakesFile: true},
	}
}

func generateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Usage:     "generate a new SSH key (in-process, like ssh-keygen -C your_email)",
		UsageText: "git bbkey generate [--type ed25519|ecdsa|rsa] [--bits N] [--file PATH] [--comment TEXT] [--no-passphrase | --passphrase-file FILE] [--force] [--json]",
		Description: "Generates a key pair in OpenSSH format: the private key (mode 0600) and NAME.pub (0644). The type " +
			"defaults to git config bbkey.keyType, else ed25519; the comment to git config user.email. On a terminal " +
			"the passphrase is asked twice without echo. An existing key is only replaced after a yes on the terminal " +
			"or --force, and is always backed up to ~/.ssh/key_backup first.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Usage: "key `TYPE`: ed25519, ecdsa or rsa (default: bbkey.keyType, else ed25519)"},
			&cli.IntFlag{Name: "bits", Aliases: []string{"b"}, Usage: "key size: rsa 2048-16384 (default 4096), ecdsa 256, 384 or 521"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "private key `PATH` (default ~/.ssh/id_<type>)", TakesFile: true},
			&cli.StringFlag{Name: "comment", Aliases: []string{"C"}, Usage: "key comment (default: git config user.email)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing key without asking (it is backed up first)"},
		}, append(passphraseFlags(), jsonFlag())...),
		Action: func(c *cli.Context) error {
			return runGenerate(c.Context, env, generateOptions{
				Type: c.String("type"), Bits: c.Int("bits"), File: c.String("file"), Comment: c.String("comment"),
				NoPassphrase: c.Bool("no-passphrase"), PassphraseFile: c.String("passphrase-file"),
				Force: c.Bool("force"), JSON: c.Bool("json"),
			})
		},
	}
}

// generatedKey is the result of generate, and the "key" of setup.
type generatedKey struct {
	PrivateKeyPath string  `json:"privateKeyPath"`
	PublicKeyPath  string  `json:"publicKeyPath"`
	Type           string  `json:"type"`
	Bits           int     `json:"bits"`
	Fingerprint    string  `json:"fingerprint"`
	Comment        string  `json:"comment"`
	Encrypted      bool    `json:"encrypted"`
	BackupDir      *string `json:"backupDir"`

	randomart string // ssh-keygen's picture of the key, for generate's text output
}

func runGenerate(ctx context.Context, env *Env, opts generateOptions) error {
	plan, err := planGenerate(ctx, env, opts)
	if err != nil {
		return err
	}
	key, err := executeGenerate(ctx, env, plan)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Stdout, key)
	}
	printGenerated(env, key)
	fmt.Fprintf(env.Stderr, "Next: git bbkey add %s   (registers it with Bitbucket as your SSH key)\n", key.PublicKeyPath)
	return nil
}

// commentOrEmail is --comment, else git config user.email.
func commentOrEmail(ctx context.Context, env *Env, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	cfg := env.config()
	cfg.MissingGitIsUnset = false // no default: without git, say so
	email, _, err := cfg.Get(ctx, "user.email")
	if err != nil {
		return "", err
	}
	if email == "" {
		return "", failure("git config user.email is not set, and it is the key's comment",
			"git config --global user.email you@example.com",
			"or give the comment yourself: --comment TEXT")
	}
	return email, nil
}

// readPassphraseFile reads --passphrase-file, relative to the working
// directory; its errors are usage errors (explain gives the hint).
func readPassphraseFile(env *Env, file string) ([]byte, error) {
	pw, err := prompt.ReadPassphraseFile(env.absPath(file))
	if err != nil {
		return nil, &passphraseFileError{err}
	}
	return pw, nil
}

// passphraseFileError marks an unusable --passphrase-file (explain: exit 2).
type passphraseFileError struct{ err error }

func (e *passphraseFileError) Error() string { return e.err.Error() }
func (e *passphraseFileError) Unwrap() error { return e.err }

// planGenerate turns the flags into a keygen plan: the checks that need no
// question first (type, flags, comment), then the questions keygen asks.
func planGenerate(ctx context.Context, env *Env, opts generateOptions) (*keygen.Plan, error) {
	if opts.NoPassphrase && opts.PassphraseFile != "" {
		return nil, keygen.ErrPassphraseConflict
	}
	defaultType := ""
	if opts.Type == "" {
		v, err := env.configValue(ctx, "bbkey.keyType")
		if err != nil {
			return nil, err
		}
		defaultType = v
	}
	if _, _, err := keygen.KeyType(opts.Type, defaultType, opts.Bits); err != nil {
		return nil, err
	}
	comment, err := commentOrEmail(ctx, env, opts.Comment)
	if err != nil {
		return nil, err
	}
	sshDir, err := env.sshDir()
	if err != nil {
		return nil, err
	}
	o := keygen.Options{Type: opts.Type, DefaultType: defaultType, Bits: opts.Bits, SSHDir: sshDir,
		Comment: comment, NoPassphrase: opts.NoPassphrase, Force: opts.Force}
	if opts.File != "" {
		o.Path = env.absPath(opts.File)
	}
	if opts.PassphraseFile != "" {
		if o.Passphrase, err = readPassphraseFile(env, opts.PassphraseFile); err != nil {
			return nil, err
		}
	}
	if env.Prompter.CanPrompt() {
		o.Confirm = func(question string) (bool, error) { return env.Prompter.Confirm(ctx, question) }
		o.AskPassphrase = func() ([]byte, error) { return prompt.NewPassphrase(ctx, env.Prompter) }
	}
	return keygen.NewPlan(o)
}

// executeGenerate writes the planned key, saying what it does as
// ssh-keygen does.
func executeGenerate(ctx context.Context, env *Env, plan *keygen.Plan) (*generatedKey, error) {
	hooks := keygenHooks(env)
	slow := hooks.Generating
	hooks.Generating = func(keyType string, bits int) func() {
		fmt.Fprintf(env.Stderr, "Generating public/private %s key pair.\n", keyType)
		return slow(keyType, bits)
	}
	hooks.BackedUp = func(dir string) { fmt.Fprintf(env.Stderr, "Backed up the old key to %s\n", dir) }
	res, err := plan.Execute(ctx, keygen.Exec{Random: env.Random, Now: env.Now, Hooks: hooks})
	if err != nil {
		return nil, err
	}
	return &generatedKey{
		PrivateKeyPath: res.PrivateKeyPath,
		PublicKeyPath:  res.PublicKeyPath,
		Type:           res.PublicKey.Type(),
		Bits:           sshkeys.Bits(res.PublicKey),
		Fingerprint:    sshkeys.Fingerprint(res.PublicKey),
		Comment:        res.Comment,
		Encrypted:      res.Encrypted,
		BackupDir:      optional(res.BackupDir),
		randomart:      sshkeys.Randomart(res.PublicKey),
	}, nil
}

// keygenHooks show a slow RSA generation on the status line (a terminal
// only), say what an interrupted run left and was finished, and let the
// tests crash a run; generate, setup and rotate make keys with them.
func keygenHooks(env *Env) keygen.Hooks {
	return keygen.Hooks{
		Generating: func(keyType string, bits int) func() {
			if keyType != "rsa" {
				return func() {} // made in no time
			}
			env.statusLine().Show("generating a %d-bit RSA key (this can take a few seconds)", bits)
			return env.statusLine().Clear
		},
		Recovered:  func(r keygen.Recovery) { showRecovered(env, r) },
		Checkpoint: func(step string) { crashPoint(env, "generate:"+step) },
	}
}

// showRecovered says what an interrupted run left and this one finished.
func showRecovered(env *Env, r keygen.Recovery) {
	if r.Finished != "" {
		where := ""
		if r.BackupDir != "" {
			where = " (the key it replaced is in " + r.BackupDir + ")"
		}
		fmt.Fprintf(env.Stderr, "Finished writing the key pair %s, which an interrupted run had left half-done%s.\n", r.Finished, where)
	}
	if len(r.Removed) > 0 {
		fmt.Fprintf(env.Stderr, "Removed what an interrupted run left: %s\n", strings.Join(r.Removed, ", "))
	}
}

// printGenerated prints what ssh-keygen prints after making a key.
func printGenerated(env *Env, k *generatedKey) {
	fmt.Fprintf(env.Stdout, "Your identification has been saved in %s\n", termtext.Line(k.PrivateKeyPath))
	fmt.Fprintf(env.Stdout, "Your public key has been saved in %s\n", termtext.Line(k.PublicKeyPath))
	fmt.Fprintln(env.Stdout, "The key fingerprint is:")
	fmt.Fprintf(env.Stdout, "%s %s\n", k.Fingerprint, termtext.Line(k.Comment))
	fmt.Fprintln(env.Stdout, "The key's randomart image is:")
	fmt.Fprintln(env.Stdout, k.randomart)
}
