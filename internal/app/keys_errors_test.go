package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// The typed errors of keys on disk get their exit code and next step in
// errors.go, whatever wrapped them on the way.
func TestExplainKeys(t *testing.T) {
	dir := filepath.FromSlash("/h/.ssh") // filepath.Dir of the lock, as explain shows it
	lock := "/h/.ssh/.git-bbkey.lock"
	cases := []struct {
		err        error
		code       int
		msg, hint  string
		notMessage string
	}{
		{&safefile.LockFileError{Path: lock, Err: syscall.EROFS}, exitFailure,
			"cannot open lock file \"/h/.ssh/.git-bbkey.lock\": read-only file system", "ls -ld " + dir, "another"},
		{&safefile.LockFileError{Path: lock, Err: syscall.EISDIR}, exitFailure, "is a directory", "ls -ld", "another"},
		{&safefile.LockBusyError{Path: lock, Cause: context.DeadlineExceeded}, exitFailure,
			"another git bbkey run is changing the keys in " + dir, "wait for it", ""},
		{fmt.Errorf("setup: %w", &sshkeys.NotLoadableError{Path: "/k", Reason: sshkeys.LoadPermissions, Mode: 0o644}), exitFailure,
			"OpenSSH will not load this file: /k has mode 0644", "chmod 600 /k", ""},
		{&sshkeys.NotLoadableError{Path: "/k", Reason: sshkeys.LoadLineEndings}, exitFailure, "CRLF", "line endings", ""},
		{&sshkeys.KeyNotFoundError{Path: "/k"}, exitFailure, "private key /k does not exist", "git bbkey generate", ""},
		{&sshkeys.WrongPassphraseError{Path: "/k", PassphraseFile: "pw"}, exitFailure, "cannot unlock /k with the passphrase from pw", "ssh-keygen -y -f /k", ""},
		{&sshkeys.NeedPassphraseError{Path: "/k"}, exitFailure, "/k is encrypted", "ssh-add /k", ""},
		{&sshkeys.UnsupportedKeyError{Path: "/k", Err: fmt.Errorf("%w: pkcs#8", sshkeys.ErrUnsupportedKey)}, exitFailure, "git-bbkey cannot use /k", "ssh-keygen -p -f /k", ""},
		{&passphraseFileError{fmt.Errorf("passphrase file \"pw\": %w", prompt.ErrEmptyPassphrase)}, exitUsage, "empty", "--no-passphrase", ""},
		{keygen.ErrNoPassphraseChoice, exitUsage, "no terminal", "--passphrase-file FILE, or --no-passphrase", ""},
		{fmt.Errorf("%w: rsa keys must be", sshkeys.ErrBadBits), exitUsage, "rsa keys", "--bits 2048", ""},
		{fmt.Errorf("%w: dsa keys", sshkeys.ErrRefusedType), exitUsage, "dsa", "--type ed25519", ""},
		// replacing needs a person or --force: a usage error without a terminal
		{&keygen.ExistsError{Path: "/k"}, exitUsage, "/k already exists", "pass --force", ""},
		{&keygen.ReplaceError{Path: "/k", BackupDir: "/b", Err: syscall.ENOSPC}, exitFailure, "cannot move the new key into /k", "backed up in /b", ""},
		{&keygen.JournalError{Journal: "/j", Path: "/k", BackupDir: "/b", Reason: "x"}, exitFailure, "interrupted replacement of /k", "delete /j", ""},
	}
	for _, c := range cases {
		e := explain(c.err)
		hints := strings.Join(e.Hints, "\n")
		if e.Code != c.code || !strings.Contains(e.Msg, c.msg) || !strings.Contains(hints, c.hint) ||
			c.notMessage != "" && strings.Contains(e.Msg, c.notMessage) {
			t.Errorf("%T: code %d, %q, hints %q; want code %d, %q, a hint with %q", c.err, e.Code, e.Msg, e.Hints, c.code, c.msg, c.hint)
		}
	}
	// Declining to replace a key is an answer: exit 1 and no error: line.
	if e := explain(&keygen.KeptError{Path: "/k"}); e.Code != exitFailure || e.Msg != "" || len(e.Hints) > 0 {
		t.Errorf("KeptError: code %d, %q, %q; want exit 1 and nothing printed", e.Code, e.Msg, e.Hints)
	}
	// An interrupted wait for the lock is not "another run".
	e := explain(&safefile.LockBusyError{Path: lock, Cause: context.Canceled})
	if strings.Contains(e.Msg, "another git bbkey") {
		t.Errorf("interrupted lock wait explained as a busy lock: %q", e.Msg)
	}
}
