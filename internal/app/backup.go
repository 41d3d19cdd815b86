package app

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/backup"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

type backupOptions struct {
	JSON bool
}

func backupCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "back up old SSH keys to ~/.ssh/key_backup/<UTC time>/",
		UsageText: "git bbkey backup [--json]",
		Description: "Copies every key file that 'git bbkey list' finds into a new directory " +
			"~/.ssh/key_backup/<UTC yyyymmdd-hhmmss>/ (mode 0700), keeping bytes and modes. Never overwrites anything.",
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			return runBackup(c.Context, env, backupOptions{JSON: c.Bool("json")})
		},
	}
}

// keyFiles lists the files that make up keys (both halves where present).
func keyFiles(keys []sshkeys.Key) []string {
	var files []string
	for _, k := range keys {
		for _, p := range []string{k.PrivateKeyPath, k.PublicKeyPath} {
			if p != "" {
				files = append(files, p)
			}
		}
	}
	return files
}

// lockKeyDir takes the lock of a key directory that exists (~/.ssh for
// setup, rotate and backup), waiting a while for another run, and finishes
// or cleans up what an interrupted run left there (keygen.Recover) before
// the caller looks at any key. A missing directory needs neither.
func lockKeyDir(ctx context.Context, env *Env, dir string) (unlock func(), err error) {
	if !exists(dir) {
		return func() {}, nil
	}
	return keygen.LockAndRecover(ctx, dir, 0, keygen.Hooks{Recovered: func(r keygen.Recovery) { showRecovered(env, r) }})
}

// backupFiles copies files to a fresh backup directory ("" when there are
// none) and tells the user where they went.
func backupFiles(env *Env, sshDir string, files []string) (string, []string, error) {
	dir, copied, err := backup.Copy(sshDir, files, env.Now())
	if err != nil {
		return dir, copied, failuref(err, "nothing was overwritten; fix the problem above and run again")
	}
	return dir, copied, nil
}

func runBackup(ctx context.Context, env *Env, opts backupOptions) error {
	sshDir, err := env.sshDir()
	if err != nil {
		return err
	}
	// Under the lock, like every writer of keys: no key changes while it is
	// copied, and what an interrupted run left is finished first.
	unlock, err := lockKeyDir(ctx, env, sshDir)
	if err != nil {
		return err
	}
	defer unlock()
	keys, err := findKeys(sshDir)
	if err != nil {
		return err
	}
	dir, copied, err := backupFiles(env, sshDir, keyFiles(keys))
	if err != nil {
		return err
	}
	if opts.JSON {
		if copied == nil {
			copied = []string{}
		}
		return writeJSON(env.Stdout, struct {
			BackupDir *string  `json:"backupDir"`
			Files     []string `json:"files"`
		}{optional(dir), copied})
	}
	if dir == "" {
		fmt.Fprintf(env.Stderr, "No SSH keys in %s: nothing to back up.\n", sshDir)
		return nil
	}
	fmt.Fprintf(env.Stderr, "Backed up %d files to %s\n", len(copied), dir)
	for _, f := range copied {
		fmt.Fprintln(env.Stdout, f)
	}
	return nil
}
