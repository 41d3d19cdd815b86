package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
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
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Usage: "key `TYPE` of the new key (default: bbkey.keyType, else ed25519)"},
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "limit for the SSH check of the new key"},
		}, append(passphraseFlags(), jsonFlag())...),
		Action: func(c *cli.Context) error {
			return runRotate(c.Context, env, rotateOptions{Yes: c.Bool("yes"), Server: c.String("server"), JSON: c.Bool("json"),
				Type: c.String("type"), NoPassphrase: c.Bool("no-passphrase"), PassphraseFile: c.String("passphrase-file"),
				Timeout: c.Duration("timeout")})
		},
	}
}

type rotateReport struct {
	OldKey       *generatedKey `json:"oldKey"`
	NewKey       *generatedKey `json:"newKey"`
	Registration *addResult    `json:"registration"`
	Verify       *verifyJSON   `json:"verify"`
	BackupDir    *string       `json:"backupDir"`
	RemovedOld   *removeResult `json:"removedOldKey"`
}

// crashPoint lets the tests kill the process between two steps, as a power
// cut would (GIT_BBKEY_TEST_CRASH_AFTER=registered|backed-up|moved).
func crashPoint(env *Env, step string) {
	if env.Getenv("GIT_BBKEY_TEST_CRASH_AFTER") == step {
		os.Exit(137)
	}
}

func runRotate(ctx context.Context, env *Env, opts rotateOptions) error {
	if opts.NoPassphrase && opts.PassphraseFile != "" {
		return usageError("--no-passphrase and --passphrase-file cannot be used together")
	}
	if !opts.Yes && !env.Prompter.CanPrompt() {
		return usageError("rotating deletes the old key from Bitbucket and needs a confirmation; there is no terminal to ask on",
			"pass --yes to rotate without asking")
	}
	oldPath, err := defaultKeyPath(ctx, env)
	if err != nil {
		return err
	}
	s, err := env.bitbucket().Open(ctx, opts.Server)
	if err == nil {
		err = s.Authenticate(ctx)
	}
	if err != nil {
		return err
	}
	sshDir := filepath.Dir(oldPath)
	unlock, err := lockKeyDir(ctx, env, sshDir)
	if err != nil {
		return err
	}
	defer unlock()
	progress := func(format string, args ...any) {
		if !opts.JSON {
			fmt.Fprintf(env.Stderr, format+"\n", args...)
		}
	}
	// 0. An interrupted rotation that got past its backup is finished first.
	if j, err := loadRotateJournal(sshDir); err != nil {
		return failuref(err)
	} else if j != nil {
		progress("Finishing the rotation of %s that was interrupted (old key backed up in %s).", j.KeyPath, j.BackupDir)
		removed, err := finishRotation(ctx, env, s, j, sshDir, progress)
		if err != nil {
			return err
		}
		if opts.JSON {
			return writeJSON(env.Stdout, rotateReport{BackupDir: optional(j.BackupDir), RemovedOld: removed})
		}
		fmt.Fprintf(env.Stdout, "Rotated %s to %s (old pair backed up in %s)\n", j.KeyPath, j.NewFingerprint, j.BackupDir)
		return nil
	}

	oldPub, oldComment, err := readPub(oldPath + ".pub")
	if err != nil || !exists(oldPath) {
		return failure(fmt.Sprintf("%s is not a complete key pair", oldPath), "see what is there: git bbkey list")
	}

	rep := &rotateReport{OldKey: &generatedKey{PrivateKeyPath: oldPath, PublicKeyPath: oldPath + ".pub", Type: oldPub.Type(),
		Bits: sshkeys.Bits(oldPub), Fingerprint: sshkeys.Fingerprint(oldPub), Comment: oldComment, publicKey: oldPub}}
	if !opts.Yes {
		ok, err := env.Prompter.Confirm(ctx, fmt.Sprintf("Replace %s (%s) with a new key and delete the old one from %s (y/n)?", oldPath, rep.OldKey.Fingerprint, s.Base()))
		if err != nil {
			return failuref(err)
		}
		if !ok {
			return failure("nothing was changed")
		}
	}
	// What the old key is on the server, found before anything changes.
	oldIDs, err := register.FindUserKeys(ctx, s, register.Selector{Key: oldPub})
	if err != nil {
		return err
	}

	// 1. The new key beside the old one, or the one an interrupted run left.
	tmpPath := oldPath + ".rotating"
	newKey, err := rotateNewKey(ctx, env, opts, tmpPath, oldComment, oldPub)
	if err != nil {
		return err
	}
	rep.NewKey = newKey
	progress("New key %s (%s) is ready beside the old one.", tmpPath, newKey.Fingerprint)
	leftBehind := fmt.Sprintf("the old key %s is unchanged and still registered; the new key waits in %s and a new 'git bbkey rotate' continues with it", oldPath, tmpPath)

	// 2. Register it.
	pubIn := &publicKeyInput{Source: newKey.PublicKeyPath, Key: newKey.publicKey, Comment: newKey.Comment}
	reg := addUserKey(ctx, s, pubIn, newKey.Comment, 0)
	rep.Registration = &reg
	if reg.err != nil {
		e := reg.err
		e.Hints = append([]string{leftBehind}, e.Hints...)
		return e
	}
	progress("Registered the new key: %s", reg.Message)
	crashPoint(env, "registered")

	// 3. Verify it, alone.
	if newKey.unlocked == nil {
		if newKey.unlocked, err = unlockKey(ctx, env, tmpPath, opts.PassphraseFile); err != nil {
			return err
		}
	}
	signer := newKey.unlocked.Signer
	target, _, err := bitbucketRemote(ctx, env, "", s.Base())
	if err != nil {
		return err
	}
	if target == nil {
		if target, err = hostOnlyTarget(ctx, s); err != nil {
			return failure("cannot find the server's SSH address to verify the new key: "+err.Error(), leftBehind)
		}
	}
	res := verifyTargets(ctx, env, verifyOptions{Timeout: opts.Timeout}, []verifyTarget{*target}, tmpPath, signer, nil)[0]
	rep.Verify = &res
	if res.Status != string(sshverify.StatusOK) {
		return failure(fmt.Sprintf("the new key did not verify (%s: %s)", res.Status, res.Message), append([]string{leftBehind}, res.hint...)...)
	}
	progress("Verified the new key against %s.", res.URL)

	// 4. Back up the old pair, note what is left to do, then move the new
	// key into place.
	backupDir, _, err := backupFiles(env, sshDir, []string{oldPath, oldPath + ".pub"})
	if err != nil {
		return err
	}
	rep.BackupDir = optional(backupDir)
	progress("Backed up the old key to %s", backupDir)
	j := &rotateJournal{KeyPath: oldPath, TmpPath: tmpPath, BackupDir: backupDir, NewFingerprint: newKey.Fingerprint}
	for _, k := range oldIDs {
		j.OldKeys = append(j.OldKeys, journalKey{ID: k.ID, Fingerprint: register.Fingerprint(k), Label: k.Label})
	}
	if err := j.save(sshDir); err != nil {
		return failuref(err, leftBehind)
	}
	crashPoint(env, "backed-up")
	removed, err := finishRotation(ctx, env, s, j, sshDir, progress)
	rep.RemovedOld = removed
	if err != nil {
		return err
	}
	newKey.PrivateKeyPath, newKey.PublicKeyPath = oldPath, oldPath+".pub"
	if opts.JSON {
		return writeJSON(env.Stdout, rep)
	}
	fmt.Fprintf(env.Stdout, "Rotated %s: %s -> %s (old pair backed up in %s)\n", oldPath, rep.OldKey.Fingerprint, newKey.Fingerprint, backupDir)
	return nil
}

// rotateNewKey generates the new key at tmpPath, or reuses the one an
// interrupted rotation left there.
func rotateNewKey(ctx context.Context, env *Env, opts rotateOptions, tmpPath, comment string, oldPub ssh.PublicKey) (*generatedKey, error) {
	if exists(tmpPath) {
		pub, c, err := readPub(tmpPath + ".pub")
		if err == nil && exists(tmpPath) {
			enc, _ := sshkeys.IsEncrypted(tmpPath)
			fmt.Fprintf(env.Stderr, "Continuing with the new key an interrupted rotation left in %s.\n", tmpPath)
			return &generatedKey{PrivateKeyPath: tmpPath, PublicKeyPath: tmpPath + ".pub", Type: pub.Type(), Bits: sshkeys.Bits(pub),
				Fingerprint: sshkeys.Fingerprint(pub), Comment: c, Encrypted: enc, publicKey: pub}, nil
		}
		// Half a pair from a crash during generation: keep it, start anew.
		dir, _, berr := backupFiles(env, filepath.Dir(tmpPath), existingOf(tmpPath, tmpPath+".pub"))
		if berr != nil {
			return nil, berr
		}
		os.Remove(tmpPath)
		os.Remove(tmpPath + ".pub")
		fmt.Fprintf(env.Stderr, "Moved an incomplete key from an interrupted rotation to %s.\n", dir)
	} else if exists(tmpPath + ".pub") {
		os.Remove(tmpPath + ".pub") // a public half alone is no secret and no loss
	}
	keyType := opts.Type
	if keyType == "" {
		keyType = keyTypeFromPub(oldPub)
	}
	plan, err := planGenerate(ctx, env, generateOptions{Type: keyType, File: tmpPath, Comment: comment,
		NoPassphrase: opts.NoPassphrase, PassphraseFile: opts.PassphraseFile})
	if err != nil {
		return nil, err
	}
	return executeGenerate(ctx, env, plan, filepath.Dir(tmpPath))
}

func existingOf(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if exists(p) {
			out = append(out, p)
		}
	}
	return out
}

// keyTypeFromPub keeps the old key's kind (rsa stays rsa unless --type).
func keyTypeFromPub(pub ssh.PublicKey) string {
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		return "rsa"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return "ecdsa"
	}
	return "ed25519"
}

// rotateJournal records a rotation past its backup, so that an interrupted
// run is finished, never repeated: the moves, then the old key's deletion.
type rotateJournal struct {
	KeyPath        string       `json:"keyPath"`
	TmpPath        string       `json:"tmpPath"`
	BackupDir      string       `json:"backupDir"`
	NewFingerprint string       `json:"newFingerprint"`
	OldKeys        []journalKey `json:"oldKeys"`
}

type journalKey struct {
	ID          int    `json:"id"`
	Fingerprint string `json:"fingerprint"`
	Label       string `json:"label"`
}

const rotateJournalName = ".git-bbkey-rotate.json"

func (j *rotateJournal) save(sshDir string) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return safefile.Replace(filepath.Join(sshDir, rotateJournalName), data, 0o600)
}

func loadRotateJournal(sshDir string) (*rotateJournal, error) {
	data, err := os.ReadFile(filepath.Join(sshDir, rotateJournalName))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j rotateJournal
	if err := json.Unmarshal(data, &j); err != nil || j.KeyPath == "" || j.TmpPath == "" {
		return nil, fmt.Errorf("%s is damaged; the old key is backed up in ~/.ssh/key_backup: check the keys with git bbkey list, then delete the file", filepath.Join(sshDir, rotateJournalName))
	}
	return &j, nil
}

// finishRotation moves the new key into place (private half first) and
// deletes the old key from Bitbucket; each step is safe to repeat.
func finishRotation(ctx context.Context, env *Env, s *bbsession.Session, j *rotateJournal, sshDir string, progress func(string, ...any)) (*removeResult, error) {
	// ssh refuses a private key whose .pub beside it is another key, but
	// works without a .pub: so the old .pub (backed up) goes first, and at
	// every moment the file at KeyPath is a key that logs in.
	if exists(j.TmpPath) {
		if err := os.Remove(j.KeyPath + ".pub"); err != nil && !os.IsNotExist(err) {
			return nil, failure(fmt.Sprintf("cannot replace %s.pub: %v", j.KeyPath, err),
				"the old key is backed up in "+j.BackupDir+"; run git bbkey rotate again")
		}
		crashPoint(env, "removed-old-public")
		if err := os.Rename(j.TmpPath, j.KeyPath); err != nil {
			return nil, failure(fmt.Sprintf("cannot move the new key into place: %v", err),
				"the old key is backed up in "+j.BackupDir+"; run git bbkey rotate again")
		}
	}
	crashPoint(env, "moved-private")
	if exists(j.TmpPath + ".pub") {
		if err := os.Rename(j.TmpPath+".pub", j.KeyPath+".pub"); err != nil {
			return nil, failure(fmt.Sprintf("cannot move the new public key into place: %v", err),
				"the old key is backed up in "+j.BackupDir+"; run git bbkey rotate again")
		}
	}
	if pub, _, err := readPub(j.KeyPath + ".pub"); err != nil || sshkeys.Fingerprint(pub) != j.NewFingerprint {
		return nil, failure(fmt.Sprintf("%s.pub is not the new key %s any more; stopping before anything is deleted", j.KeyPath, j.NewFingerprint),
			"the old key is backed up in "+j.BackupDir+"; check with git bbkey list")
	}
	progress("Moved the new key into %s.", j.KeyPath)
	crashPoint(env, "moved")

	// Only now the old key leaves Bitbucket.
	var removed *removeResult
	for _, k := range j.OldKeys {
		if r := register.RemoveUserKey(ctx, s, bitbucket.SSHKey{ID: k.ID, Label: k.Label}); r.Err != nil {
			e := explain(r.Err)
			e.Hints = append([]string{fmt.Sprintf("the new key is in place and works; run git bbkey rotate again to remove the old one (id %d)", k.ID)}, e.Hints...)
			return nil, e
		}
		removed = &removeResult{Status: "removed", Kind: "user", ID: k.ID, Fingerprint: k.Fingerprint, Label: k.Label,
			Message: fmt.Sprintf("removed the old key %s (id %d) from %s", k.Fingerprint, k.ID, s.Base())}
		progress("Removed the old key %s from Bitbucket (id %d).", k.Fingerprint, k.ID)
	}
	if err := os.Remove(filepath.Join(sshDir, rotateJournalName)); err != nil && !os.IsNotExist(err) {
		return removed, failuref(err)
	}
	return removed, nil
}
