package doctor

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

func checkSSHDir(f *Facts) []Check {
	shown := f.tilde(f.SSHDir)
	fi := f.SSHDirInfo
	one := func(k Kind, st Status, msg, fix string) []Check {
		return []Check{{Name: "ssh-dir", Kind: k, Status: st, Message: msg, Fix: fix}}
	}
	switch {
	case fi.Err != nil:
		return one(SSHDirUnreadable, Fail, fmt.Sprintf("cannot read %s: %v", shown, fi.Err), "")
	case !fi.Exists:
		return one(SSHDirMissing, Warn, shown+" does not exist", "git bbkey setup (creates it with mode 0700 and a key)")
	case !fi.Mode.IsDir():
		return one(SSHDirNotDir, Fail, shown+" is not a directory",
			fmt.Sprintf("move it out of the way, then run git bbkey setup: mv %s %s.old", f.shell(f.SSHDir), f.shell(f.SSHDir)))
	case f.Windows:
		return one(SSHDirOK, OK, shown+" is a directory (its permissions are not checked on Windows)", "")
	}
	mode := fi.Mode.Perm()
	fix := "chmod 700 " + f.shell(f.SSHDir)
	switch {
	case mode&0o022 != 0:
		return one(SSHDirWritable, Fail, fmt.Sprintf("%s is %04o: writable by group or others, so ssh may refuse its files", shown, mode), fix)
	case mode&0o077 != 0:
		return one(SSHDirReadable, Warn, fmt.Sprintf("%s is %04o: readable by group or others", shown, mode), fix)
	case mode&0o700 != 0o700:
		return one(SSHDirNotUsable, Warn, fmt.Sprintf("%s is %04o: you cannot use it fully yourself", shown, mode), fix)
	}
	return one(SSHDirOK, OK, fmt.Sprintf("%s is %04o", shown, mode), "")
}

func checkKeys(f *Facts) []Check {
	if f.KeysErr != nil {
		return []Check{{Name: "keys", Kind: KeysUnreadable, Status: Fail, Message: f.KeysErr.Error(),
			Fix: "check that you can read the directory: ls -ld " + f.shell(f.SSHDir)}}
	}
	var out []Check
	for _, k := range f.Keys {
		out = append(out, checkKey(f, k)...)
	}
	out = append(out, checkKeyChoice(f)...)
	for _, l := range f.Leftovers {
		out = append(out, Check{Name: "key-leftover", Kind: KeyLeftover, Status: Warn, Message: f.tilde(l.Path) + ": " + l.What(),
			Fix: "git bbkey backup   (finishes or removes what an interrupted run left, and backs up your keys)"})
	}
	return out
}

// roles says who uses k: git-bbkey, and git's ssh for which remotes.
func (f *Facts) roles(k KeyFacts) string {
	var parts []string
	if f.isKeyChoice(k) {
		parts = append(parts, "the key git bbkey uses")
	}
	if k.PrivateKeyPath != "" {
		if remotes := f.offeredFor(k.PrivateKeyPath); len(remotes) > 0 {
			parts = append(parts, "git's ssh offers it for "+strings.Join(remotes, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func (f *Facts) isKeyChoice(k KeyFacts) bool {
	p := f.Key.Path
	return p != "" && (k.PrivateKeyPath == p || k.PublicKeyPath == p+".pub")
}

func checkKey(f *Facts, k KeyFacts) []Check {
	path := k.PrivateKeyPath
	if path == "" {
		path = k.PublicKeyPath
	}
	shown := f.tilde(path)
	var out []Check
	add := func(name string, kind Kind, st Status, msg, fix string, cause error) {
		out = append(out, Check{Name: name, Kind: kind, Status: st, Message: msg, Fix: fix, Cause: cause})
	}
	handled := map[sshkeys.ProblemKind]bool{}
	if u := k.Unprotected; u != nil {
		add("key-mode", KeyUnprotected, Fail, unprotectedMessage(f, shown, u), unprotectedFix(f, k.PrivateKeyPath, u), nil)
	}
	handled[sshkeys.ProblemLooseMode] = true
	if nl := k.NotLoadable; nl != nil && !slices.ContainsFunc(k.Problems, sshkeys.Problem.IsParseError) {
		add("key-load", KeyNotLoadable, Fail, fmt.Sprintf("%s: OpenSSH will not load this file: %v", shown, nl), "", nl)
	}
	// A missing half of the key that is used matters; a stray half is a warning.
	status := Warn
	if f.isKeyChoice(k) || f.roles(k) != "" {
		status = Fail
	}
	switch {
	case k.PrivateKeyPath == "":
		add("key-pair", KeyNoPrivate, status, fmt.Sprintf("%s has no private key beside it: nothing can sign with it", shown),
			fmt.Sprintf("restore %s from a backup (see ~/.ssh/key_backup), or remove the stray .pub and run git bbkey setup", f.shell(strings.TrimSuffix(path, ".pub"))), nil)
	case k.PublicKeyPath == "":
		add("key-pair", KeyNoPublic, status, fmt.Sprintf("%s has no public key %s.pub beside it (git bbkey add and verify need it)", shown, filepath.Base(path)),
			fmt.Sprintf("ssh-keygen -y -f %s > %s", f.shell(path), f.shell(path+".pub")), nil)
	}
	handled[sshkeys.ProblemMissingPrivate], handled[sshkeys.ProblemMissingPublic] = true, true
	if k.Type != "" {
		if ok, reason := sshkeys.AcceptedByBitbucket(k.Key); !ok {
			add("key-type", KeyRefusedType, Fail, fmt.Sprintf("%s: %s", shown, reason),
				"create an ed25519 key instead: git bbkey generate (or git bbkey setup --new to register it too)", nil)
			handled[sshkeys.ProblemRefusedType], handled[sshkeys.ProblemDeprecated] = true, true
		}
	}
	// Whatever else sshkeys found: what does not parse, or belongs to
	// another key, fails.
	for _, p := range k.Problems {
		if handled[p.Kind] {
			continue
		}
		kind, st, fix := KeyProblem, Warn, ""
		switch {
		case p.IsParseError():
			kind, st = KeyUnparsable, Fail
			fix = fmt.Sprintf("inspect it with ssh-keygen -l -f %s; move it out of ~/.ssh if it is not a key", f.shell(path))
		case p.Kind == sshkeys.ProblemPublicMismatch:
			kind, st = KeyPublicMismatch, Fail
			fix = fmt.Sprintf("ssh-keygen -y -f %s > %s", f.shell(k.PrivateKeyPath), f.shell(k.PrivateKeyPath+".pub"))
		}
		if k.Type == "" {
			st = Fail
		}
		add("key-parse", kind, st, fmt.Sprintf("%s: %s", shown, p), fix, nil)
	}
	if len(out) == 0 {
		msg := fmt.Sprintf("%s: %s %d %s", shown, k.Type, k.Bits, k.Fingerprint)
		if k.Encrypted {
			msg += ", encrypted"
		}
		add("key", KeyOK, OK, msg+f.roles(k), "", nil)
	}
	return out
}

func checkKeyChoice(f *Facts) []Check {
	one := func(kind Kind, st Status, msg, fix string) []Check {
		return []Check{{Name: "key", Kind: kind, Status: st, Message: msg, Fix: fix}}
	}
	switch {
	case f.Key.Path == "" && len(f.Keys) == 0:
		return one(NoKey, Fail, "no SSH key in "+f.tilde(f.SSHDir), "git bbkey setup")
	case f.Key.Path == "":
		return one(NoDefaultKey, Warn, "none of id_ed25519, id_ecdsa, id_rsa exists, so ssh and git bbkey use no key by default",
			"name the key to use: git config --global bbkey.keyFile ~/.ssh/NAME (and IdentityFile in ~/.ssh/config), or run git bbkey setup")
	case f.Key.Configured && f.KeyMissing:
		return one(KeyFileMissing, Fail, fmt.Sprintf("git config bbkey.keyFile names %s, which does not exist", f.tilde(f.Key.Path)),
			"git config --global --unset bbkey.keyFile, or point it at your key")
	}
	return nil
}

// unprotectedMessage says who else may use a private key file.
func unprotectedMessage(f *Facts, shown string, u *safefile.UnprotectedError) string {
	if !f.Windows {
		how := "readable"
		if u.Mode&0o044 == 0 {
			how = "accessible"
		}
		return fmt.Sprintf("%s is %04o: a private key %s by %s, which ssh refuses (UNPROTECTED PRIVATE KEY FILE)",
			shown, u.Mode.Perm(), how, strings.Join(u.Principals, " and "))
	}
	var who []string
	if len(u.Principals) > 0 {
		who = append(who, "accessible to "+strings.Join(u.Principals, ", "))
	}
	if u.Owner != "" {
		who = append(who, "owned by "+u.Owner)
	}
	return fmt.Sprintf("%s is %s: OpenSSH refuses a private key others can use (UNPROTECTED PRIVATE KEY FILE)", shown, strings.Join(who, " and "))
}

// unprotectedFix leaves the file to its owner alone: chmod on Unix; on
// Windows icacls, as Win32-OpenSSH documents it (no inherited entries,
// full control for the user, the others removed).
func unprotectedFix(f *Facts, path string, u *safefile.UnprotectedError) string {
	if !f.Windows {
		return "chmod 600 " + f.shell(path)
	}
	fix := fmt.Sprintf(`icacls %s /inheritance:r /grant:r "%%USERNAME%%:F"`, f.shell(path))
	if len(u.Principals) > 0 {
		fix += " /remove"
		for _, p := range u.Principals {
			fix += ` "` + p + `"`
		}
	}
	if u.Owner != "" {
		fix = fmt.Sprintf(`icacls %s /setowner "%%USERNAME%%" && `, f.shell(path)) + fix
	}
	return fix
}
