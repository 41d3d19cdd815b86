package app

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
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

	publicKey  ssh.PublicKey
	passphrase []byte // kept in memory only, so setup can use the key it just made
}

func runGenerate(ctx context.Context, env *Env, opts generateOptions) error {
	plan, err := planGenerate(ctx, env, opts)
	if err != nil {
		return err
	}
	key, err := plan.execute(env)
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

// generatePlan is everything decided before a key is made: nothing has been
// written when it exists.
type generatePlan struct {
	keyType    string
	bits       int
	path       string
	comment    string
	passphrase []byte
	replace    bool // an existing pair is backed up and replaced
}

func keyTypeOrDefault(ctx context.Context, env *Env, flag string) (string, error) {
	if flag != "" {
		return strings.ToLower(flag), nil
	}
	v, err := env.configValue(ctx, "bbkey.keyType")
	if err != nil {
		return "", err
	}
	if v == "" {
		return "ed25519", nil
	}
	return strings.ToLower(v), nil
}

// checkKeyType turns a bad --type/--bits into a usage error with the reason.
func checkKeyType(keyType string, bits int) (int, error) {
	bits, err := sshkeys.CheckTypeBits(keyType, bits)
	if err == nil {
		return bits, nil
	}
	hint := "use --type ed25519 (recommended), ecdsa or rsa"
	if errors.Is(err, sshkeys.ErrBadBits) {
		hint = "rsa takes --bits 2048 to 16384 (default 4096); ecdsa takes 256, 384 or 521"
	}
	return 0, usageError(err.Error(), hint)
}

// commentOrEmail is --comment, else git config user.email.
func commentOrEmail(ctx context.Context, env *Env, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	email, err := env.configValue(ctx, "user.email")
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

// newPassphrase decides the new key's passphrase from the flags or the
// terminal. It never appears anywhere but in the key file's encryption.
func newPassphrase(ctx context.Context, env *Env, noPassphrase bool, file string) ([]byte, error) {
	switch {
	case noPassphrase && file != "":
		return nil, usageError("--no-passphrase and --passphrase-file cannot be used together")
	case noPassphrase:
		return nil, nil
	case file != "":
		pw, err := prompt.ReadPassphraseFile(env.absPath(file))
		if err != nil {
			return nil, usageError(err.Error(), "give a readable file whose first line is the passphrase (--passphrase-file FILE)")
		}
		return pw, nil
	case env.Prompter.CanPrompt():
		pw, err := prompt.NewPassphrase(ctx, env.Prompter)
		if err != nil {
			return nil, failuref(err)
		}
		return pw, nil
	}
	return nil, usageError("a passphrase is needed and there is no terminal to ask on",
		"pass --passphrase-file FILE, or --no-passphrase for an unencrypted key")
}

func planGenerate(ctx context.Context, env *Env, opts generateOptions) (*generatePlan, error) {
	keyType, err := keyTypeOrDefault(ctx, env, opts.Type)
	if err != nil {
		return nil, err
	}
	bits, err := checkKeyType(keyType, opts.Bits)
	if err != nil {
		return nil, err
	}
	if opts.NoPassphrase && opts.PassphraseFile != "" {
		return nil, usageError("--no-passphrase and --passphrase-file cannot be used together")
	}
	comment, err := commentOrEmail(ctx, env, opts.Comment)
	if err != nil {
		return nil, err
	}
	path := opts.File
	if path == "" {
		dir, err := env.sshDir()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(dir, sshkeys.DefaultFileName(keyType))
	} else {
		path = env.absPath(path)
	}
	p := &generatePlan{keyType: keyType, bits: bits, path: path, comment: comment}
	if exists(path) || exists(path+".pub") {
		switch {
		case opts.Force:
		case env.Prompter.CanPrompt():
			ok, err := env.Prompter.Confirm(ctx, fmt.Sprintf("%s already exists.\nOverwrite (y/n)?", path))
			if err != nil {
				return nil, failuref(err)
			}
			if !ok {
				return nil, failure(fmt.Sprintf("%s already exists and was kept", path),
					"choose another file with --file PATH")
			}
		default:
			return nil, failure(fmt.Sprintf("%s already exists", path),
				"use it as it is (git bbkey add), choose another --file, or replace it with --force (it is backed up first)")
		}
		p.replace = true
	}
	p.passphrase, err = newPassphrase(ctx, env, opts.NoPassphrase, opts.PassphraseFile)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// execute backs up what would be replaced, generates the key and writes both
// halves atomically.
func (p *generatePlan) execute(env *Env) (*generatedKey, error) {
	sshDir, err := env.sshDir()
	if err != nil {
		return nil, err
	}
	if filepath.Dir(p.path) == sshDir {
		if _, err := safefile.MkdirPrivate(sshDir); err != nil {
			return nil, failuref(err)
		}
	} else if st, err := os.Stat(filepath.Dir(p.path)); err != nil || !st.IsDir() {
		return nil, failure(fmt.Sprintf("directory %q does not exist", filepath.Dir(p.path)),
			"create it first, or choose another --file")
	}
	var backupDir string
	if p.replace {
		var old []string
		for _, f := range []string{p.path, p.path + ".pub"} {
			if exists(f) {
				old = append(old, f)
			}
		}
		backupDir, _, err = backupFiles(env, filepath.Dir(p.path), old)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(env.Stderr, "Backed up the old key to %s\n", backupDir)
	}
	fmt.Fprintf(env.Stderr, "Generating public/private %s key pair.\n", p.keyType)
	signer, err := generateWithProgress(env, p.keyType, p.bits)
	if err != nil {
		return nil, failuref(err)
	}
	pub, err := ssh.NewPublicKey(signer.Public())
	if err != nil {
		return nil, failuref(err)
	}
	privPEM, err := sshkeys.MarshalPrivateKey(signer, p.comment, p.passphrase)
	if err != nil {
		return nil, failuref(err)
	}
	write := safefile.WriteNew
	if p.replace {
		write = safefile.Replace
	}
	if err := write(p.path, privPEM, 0o600); err != nil {
		return nil, failuref(err, "nothing was replaced; check the directory and run again")
	}
	if err := write(p.path+".pub", sshkeys.MarshalPublicKey(pub, p.comment), 0o644); err != nil {
		return nil, failuref(err, fmt.Sprintf("the private key was written to %s; write its public half with: ssh-keygen -y -f %s > %s.pub", p.path, p.path, p.path))
	}
	return &generatedKey{
		PrivateKeyPath: p.path,
		PublicKeyPath:  p.path + ".pub",
		Type:           pub.Type(),
		Bits:           sshkeys.Bits(pub),
		Fingerprint:    sshkeys.Fingerprint(pub),
		Comment:        p.comment,
		Encrypted:      len(p.passphrase) > 0,
		BackupDir:      optional(backupDir),
		publicKey:      pub,
		passphrase:     p.passphrase,
	}, nil
}

// generateWithProgress shows that slow RSA generation is working.
func generateWithProgress(env *Env, keyType string, bits int) (crypto.Signer, error) {
	if keyType != "rsa" {
		return sshkeys.Generate(keyType, bits, env.Random)
	}
	fmt.Fprintf(env.Stderr, "Generating a %d-bit RSA key; this can take a few seconds", bits)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprint(env.Stderr, ".")
			}
		}
	}()
	signer, err := sshkeys.Generate(keyType, bits, env.Random)
	close(done)
	fmt.Fprintln(env.Stderr)
	return signer, err
}

// printGenerated prints what ssh-keygen prints after making a key.
func printGenerated(env *Env, k *generatedKey) {
	fmt.Fprintf(env.Stdout, "Your identification has been saved in %s\n", k.PrivateKeyPath)
	fmt.Fprintf(env.Stdout, "Your public key has been saved in %s\n", k.PublicKeyPath)
	fmt.Fprintln(env.Stdout, "The key fingerprint is:")
	fmt.Fprintf(env.Stdout, "%s %s\n", k.Fingerprint, k.Comment)
	fmt.Fprintln(env.Stdout, "The key's randomart image is:")
	fmt.Fprintln(env.Stdout, sshkeys.Randomart(k.publicKey))
}
