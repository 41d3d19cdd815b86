package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/rotate"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshconfig"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
	"github.com/git-bbkey/git-bbkey/internal/verify"
)

// errSilentFailure ends a command with exit 1 after it has already reported
// what failed (a verify target that was not ok, say).
var errSilentFailure = &Error{Code: exitFailure}

// explain is the one place where an error becomes what the user reads
// and the exit code: the typed errors of the domain packages get their
// next step (hint) here, so that no behaviour depends on a message's
// wording and every message is explained the same way wherever it starts.
func explain(err error) *Error {
	if errors.Is(err, gitconfig.ErrGitNotFound) {
		return &Error{Code: exitFailure, Msg: "git was not found", Err: err,
			Hints: []string{"install git (https://git-scm.com/downloads) and make sure it is on PATH"}}
	}
	var e *Error
	if errors.As(err, &e) && (e.Err == nil || len(e.Hints) > 0 || e.Code != exitFailure) {
		return e // already explained where it was decided
	}
	if e := explainSetup(err); e != nil { // first: some of its errors wrap others
		return e
	}
	if e := explainKeys(err); e != nil {
		return e
	}
	if e := explainBitbucket(err); e != nil {
		return e
	}
	if e := explainVerify(err); e != nil {
		return e
	}
	var (
		configErr *gitconfig.Error
	)
	switch {
	case errors.As(err, &configErr):
		return &Error{Code: exitFailure, Msg: err.Error(), Err: err,
			Hints: []string{"fix the file git names above (git config --global --edit opens yours), then run again"}}
	}
	return &Error{Code: exitFailure, Msg: err.Error(), Err: err}
}

// ---- Bitbucket: bbsession, register, bitbucket ----

// explainBitbucket gives the errors of talking to Bitbucket their exit code
// and next step; nil for other errors (and for an interrupt, which is
// explained as one).
func explainBitbucket(err error) *Error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	fail := func(hints ...string) *Error {
		return &Error{Code: exitFailure, Msg: err.Error(), Err: err, Hints: hints}
	}
	var (
		baseURL     *bbsession.BaseURLError
		noCreds     *bbsession.NoCredentialsError
		insecure    *bbsession.InsecureError
		credErr     *bbsession.CredentialError
		tlsErr      *bbsession.TLSError
		proxyErr    *bbsession.ProxyError
		httpCfg     *bbsession.HTTPConfigError
		unsupported *bbsession.UnsupportedError
		denied      *bbsession.DeniedError
		disabled    *bbsession.SSHDisabledError
		cloneLink   *bbsession.CloneLinkError
		conflict    *register.ConflictError
		unconfirmed *register.UnconfirmedError
		noMatch     *register.NoMatchError
		limit       *bitbucket.LimitError
		paging      *bitbucket.PagingError
		apiErr      *bitbucket.Error
		reqErr      *bitbucket.RequestError
	)
	const serverHint = "pass --server https://bitbucket.example.com, or run: git config --global bbkey.url https://bitbucket.example.com"
	switch {
	case errors.Is(err, bbsession.ErrNoServer):
		return usageError(err.Error(), serverHint)
	case errors.As(err, &baseURL) && baseURL.UserInfo:
		return usageError(err.Error(), "credentials come from BITBUCKET_TOKEN or git credential")
	case errors.As(err, &baseURL) && baseURL.Source == "bbkey.url":
		return usageError(err.Error(), "give it as https://bitbucket.example.com (with the context path, if any): git config --global bbkey.url https://bitbucket.example.com")
	case errors.As(err, &baseURL):
		return usageError(err.Error(), "give it as https://bitbucket.example.com (with the context path, if any)")
	case errors.As(err, &noCreds):
		return fail("set BITBUCKET_TOKEN to an HTTP access token, or store a password with: git credential approve",
			"on a terminal, git asks for them")
	case errors.As(err, &insecure):
		return fail("use the https:// URL of your Bitbucket server")
	case errors.As(err, &credErr):
		return fail("check your credential helper: git config --get-all credential.helper")
	case errors.As(err, &tlsErr):
		return fail(tlsHint(tlsErr))
	case errors.As(err, &proxyErr) && proxyErr.Source == "http.proxy":
		return fail("check the proxy git uses for Bitbucket: git config --get-urlmatch http.proxy <URL> (an empty value turns it off)")
	case errors.As(err, &proxyErr):
		return fail(fmt.Sprintf("check %s in your environment (git uses it), or set git's own: git config --global http.proxy …", proxyErr.Source))
	case errors.As(err, &httpCfg):
		return fail(fmt.Sprintf("fix %s: git reads it the same way, so git fails over https too", httpCfg.Setting))
	case errors.As(err, &unsupported):
		return fail(unsupportedHint(unsupported.Feature))
	case errors.As(err, &conflict) && conflict.Kind == register.UserKey:
		return fail("a key can be registered only once on the whole server: generate a new key for yourself with git bbkey generate --file ~/.ssh/id_ed25519_bitbucket",
			"or remove it where it is registered (Bitbucket: repository or project settings > Access keys)")
	case errors.As(err, &conflict):
		return fail("a user key cannot also be an access key: use a separate key for the system, e.g. git bbkey generate --file ~/.ssh/id_ed25519_ci")
	case errors.As(err, &unconfirmed):
		return fail("nothing was registered; look in Bitbucket (your account's SSH keys, or the Access keys of the repository or project) and run again",
			"if this repeats, a proxy may be answering instead of Bitbucket")
	case errors.As(err, &noMatch):
		return fail("see what is registered: git bbkey list --server " + noMatch.Base)
	case errors.As(err, &denied):
		return fail(deniedHints(denied)...)
	case errors.As(err, &disabled):
		return fail("ask your Bitbucket admin to enable SSH access (Administration > Server settings > SSH access); until then use https")
	case errors.As(err, &cloneLink):
		return fail("only ssh:// URLs from Bitbucket are used; give the SSH clone URL yourself, and tell your Bitbucket admin")
	case errors.As(err, &limit), errors.As(err, &paging):
		return fail("the server (or a proxy in front of it) kept answering: check that the Bitbucket URL is right, or ask its admin")
	case errors.As(err, &apiErr):
		return fail(apiHints(apiErr)...)
	case errors.As(err, &reqErr):
		return fail(fmt.Sprintf("check that %s is reachable (VPN, proxy, firewall)", reqErr.Base))
	}
	return nil
}

func tlsHint(e *bbsession.TLSError) string {
	switch {
	case e.Reason == bbsession.TLSHostname:
		return "the certificate is for another name: use the URL the certificate names"
	case e.Reason == bbsession.TLSInvalid:
		return "the certificate is not valid (expired, or not for a server?): check it, and this machine's clock"
	case e.CAInfo != "":
		return fmt.Sprintf("%s (http.sslCAInfo or GIT_SSL_CAINFO) does not hold the CA that signed %s's certificate: point http.sslCAInfo at the right CA file", e.CAInfo, e.Host)
	}
	return "if your organisation signs its own certificates, tell git (and git bbkey) its CA: git config --global http.sslCAInfo /path/to/ca.pem"
}

func unsupportedHint(f bbsession.Feature) string {
	switch f {
	case bbsession.FeatureKeyExpiry:
		return "leave out --expiry-days on this server, or ask its admin to upgrade"
	case bbsession.FeatureECDSAKeys, bbsession.FeatureSecurityKeys:
		return "use an ed25519 key (git bbkey generate --type ed25519), or ask the admin to upgrade"
	}
	return "ask your Bitbucket admin to upgrade"
}

func deniedHints(e *bbsession.DeniedError) []string {
	switch e.Cause {
	case bbsession.DeniedAccessKeysOff:
		return []string{"SSH access keys are switched off on this Bitbucket server: ask its admin, or register the key as a user key (git bbkey add without --repo/--project)"}
	case bbsession.DeniedTokenMayNotManage:
		return []string{"this HTTP access token may not change your account's SSH keys: unset BITBUCKET_TOKEN and give your password through git credential",
			"or add the key by hand at " + e.Base + "/plugins/servlet/ssh/account/keys/add"}
	case bbsession.DeniedNotAdmin:
		return []string{"the credentials were accepted but lack the permission for this (access keys need REPO_ADMIN or PROJECT_ADMIN): ask an admin of the repository or project"}
	case bbsession.DeniedXSRF:
		return []string{"Bitbucket's XSRF check refused the request: a proxy may be stripping the X-Atlassian-Token header"}
	case bbsession.DeniedForbidden:
		return []string{"Bitbucket, or a proxy in front of it, forbids this: ask your Bitbucket admin"}
	}
	return []string{"the credentials were accepted but lack the permission for this",
		"personal access tokens cannot always change your own account: try your password through git credential"}
}

func apiHints(e *bitbucket.Error) []string {
	switch e.Kind {
	case bitbucket.KindUnauthorized:
		if !e.BadPassword() {
			return deniedHints(&bbsession.DeniedError{Base: e.Base, Cause: bbsession.DeniedNotPermitted, Err: e})
		}
		return []string{"your Bitbucket credentials were rejected: check BITBUCKET_TOKEN, or the password git credential gave"}
	case bitbucket.KindInvalidKey:
		return []string{"Bitbucket accepts ed25519 (recommended), ecdsa and rsa keys of 2048 bits or more: git bbkey generate"}
	case bitbucket.KindNotJSON:
		return []string{fmt.Sprintf("is %s the Bitbucket base URL (with its context path)? a proxy may be answering instead", e.Base)}
	case bitbucket.KindTooManyRequests, bitbucket.KindServer:
		return []string{"Bitbucket is busy or failing: try again in a minute, or ask its admin"}
	}
	return nil
}

// explainKeys explains the errors of keys on disk: keygen (generate's
// plan and write), sshkeys (unlock, OpenSSH's loading rules), the lock of
// the key directory and passphrase files. nil when err is none of them.
func explainKeys(err error) *Error {
	msg := err.Error()
	fail := func(hints ...string) *Error { return &Error{Code: exitFailure, Msg: msg, Hints: hints, Err: err} }
	usage := func(hints ...string) *Error { return &Error{Code: exitUsage, Msg: msg, Hints: hints, Err: err} }
	var (
		unsupported *sshkeys.UnsupportedKeyError
		notLoadable *sshkeys.NotLoadableError
		notFound    *sshkeys.KeyNotFoundError
		wrongPass   *sshkeys.WrongPassphraseError
		needPass    *sshkeys.NeedPassphraseError
		passFile    *passphraseFileError
		exists      *keygen.ExistsError
		kept        *keygen.KeptError
		noDir       *keygen.NoDirError
		replace     *keygen.ReplaceError
		journal     *keygen.JournalError
		lockFile    *safefile.LockFileError
		lockBusy    *safefile.LockBusyError
	)
	switch {
	case errors.As(err, &unsupported):
		if errors.Is(err, sshkeys.ErrRefusedType) {
			return fail("make a new ed25519 key: git bbkey generate (or git bbkey setup --new to register it too)")
		}
		return fail("convert it to OpenSSH's own format (keeps the key): ssh-keygen -p -f " + unsupported.Path)
	case errors.As(err, &notLoadable):
		msg = "OpenSSH will not load this file: " + notLoadable.Error()
		return fail(notLoadableHint(notLoadable))
	case errors.As(err, &notFound):
		return fail("create one with git bbkey generate, or name another with --key PATH")
	case errors.As(err, &wrongPass):
		if wrongPass.PassphraseFile == "" {
			return fail()
		}
		return fail("check the file's first line; ssh-keygen -y -f " + wrongPass.Path + " asks for the passphrase and shows whether it is right")
	case errors.As(err, &needPass):
		return fail("pass --passphrase-file FILE, or load it into your agent first: ssh-add " + needPass.Path)
	case errors.As(err, &passFile):
		if errors.Is(err, prompt.ErrEmptyPassphrase) {
			return usage("write the passphrase on the file's first line; for a key without one, pass --no-passphrase instead")
		}
		return usage("give a readable file whose first line is the passphrase (--passphrase-file FILE)")
	case errors.Is(err, sshkeys.ErrBadBits):
		return usage("rsa takes --bits 2048 to 16384 (default 4096); ecdsa takes 256, 384 or 521")
	case errors.Is(err, sshkeys.ErrRefusedType), errors.Is(err, sshkeys.ErrUnknownType):
		return usage("use --type ed25519 (recommended), ecdsa or rsa")
	case errors.Is(err, keygen.ErrPassphraseConflict):
		return usage()
	case errors.Is(err, keygen.ErrNoPassphraseChoice):
		return usage("pass --passphrase-file FILE, or --no-passphrase for an unencrypted key")
	case errors.As(err, &exists):
		// Replacing a key is a choice that needs a person (or --force).
		return usage("pass --force to replace it (it is backed up first), choose another --file, or use it as it is: git bbkey add")
	case errors.As(err, &kept):
		// The person said no: that is an answer, not an error.
		return &Error{Code: exitFailure, Err: err}
	case errors.As(err, &noDir):
		return fail("create it first, or choose another --file")
	case errors.As(err, &replace):
		where := "nothing was lost"
		if replace.BackupDir != "" {
			where = "the old key is backed up in " + replace.BackupDir
		}
		return fail(where + "; fix the problem above and run again: the next run finishes the replacement")
	case errors.As(err, &journal):
		return fail(fmt.Sprintf("the old key is backed up in %s; look at the keys (git bbkey list), then delete %s and run again", journal.BackupDir, journal.Journal))
	case errors.As(err, &lockBusy) && !errors.Is(err, context.Canceled):
		msg = "another git bbkey run is changing the keys in " + filepath.Dir(lockBusy.Path)
		return fail("wait for it to finish, then run again")
	case errors.As(err, &lockFile):
		dir := filepath.Dir(lockFile.Path)
		return fail(fmt.Sprintf("git bbkey keeps its lock file %s there: check that %s is a directory you can write (ls -ld %s %s)", filepath.Base(lockFile.Path), dir, dir, lockFile.Path))
	}
	return nil
}

// notLoadableHint is the fix for a key file OpenSSH refuses.
func notLoadableHint(e *sshkeys.NotLoadableError) string {
	switch e.Reason {
	case sshkeys.LoadPermissions:
		return "chmod 600 " + e.Path
	case sshkeys.LoadLineEndings:
		return "convert its line endings to LF (the key stays the same): sed -i 's/\\r$//' " + e.Path
	case sshkeys.LoadLeadingText:
		return "remove the text before the BEGIN line (the key stays the same), then check it: ssh-keygen -y -f " + e.Path
	case sshkeys.LoadNoEndLine:
		return "the file looks cut short: restore it from ~/.ssh/key_backup, or make a new key with git bbkey generate"
	}
	return "check it with ssh-keygen -y -f " + e.Path + ", or name another key with --key PATH"
}

// ---- verify: the run's names, and why a target could not be checked ----

// explainVerify explains the errors of the verify workflow; nil for
// other errors.
func explainVerify(err error) *Error {
	const example = "ssh://git@bitbucket.example.com:7999/proj/repo.git"
	fail := func(hints ...string) *Error {
		return &Error{Code: exitFailure, Msg: err.Error(), Err: err, Hints: hints}
	}
	var (
		noRemote   *verify.NoRemoteError
		unknown    *verify.UnknownNameError
		notRepo    *verify.NotRepositoryError
		transport  *gitremote.TransportError
		notBB      *verify.NotBitbucketURLError
		push       *verify.PushURLError
		settings   *verify.SettingsError
		noIdentity *verify.NoIdentityError
	)
	switch {
	case errors.As(err, &noRemote):
		return fail("name a remote or URL: git bbkey verify "+example, "or choose the default remote: git config bbkey.remote upstream")
	case errors.As(err, &unknown):
		return &Error{Code: exitUsage, Msg: err.Error(), Err: err,
			Hints: []string{"list the remotes with git remote -v, or give a URL such as ssh://git@host:7999/proj/repo.git"}}
	case errors.As(err, &notRepo):
		return fail("run it in your repository, or give a URL: git bbkey verify " + example)
	case errors.Is(err, verify.ErrNoRemotes):
		return fail("add one: git remote add origin " + example)
	case errors.As(err, &push) && push.Remote != "":
		return fail("check the remote's push URL: git remote get-url --push " + push.Remote)
	case errors.As(err, &push):
		return fail("check the url.<base>.pushInsteadOf rule that matches " + push.Fetch)
	case errors.As(err, &transport):
		return fail("git hands " + transport.Transport + ":: URLs to a program; git bbkey checks only ssh:// and Bitbucket https URLs, and never runs that program")
	case errors.As(err, &notBB):
		return fail("give the SSH clone URL from Bitbucket's Clone dialog, e.g. " + example)
	case errors.As(err, &settings):
		return fail(fmt.Sprintf("ssh -G %s shows what ssh makes of your configuration: fix ~/.ssh/config (or core.sshCommand, GIT_SSH_COMMAND), then run again", settings.Host))
	case errors.As(err, &noIdentity):
		return fail("create one with git bbkey generate --file PATH (one of the files above), or name the key with --key PATH")
	}
	return nil
}

// ---- setup and rotate ----

// explainSetup explains the errors of the setup and rotate workflows; nil
// for other errors.
func explainSetup(err error) *Error {
	msg := err.Error()
	fail := func(hints ...string) *Error { return &Error{Code: exitFailure, Msg: msg, Hints: hints, Err: err} }
	var (
		person    *setup.NeedsPersonError
		declined  *setup.DeclinedError
		option    *setup.OptionError
		noRemote  *setup.NoRemoteError
		unsafe    *setup.UnsafeURLError
		gitErr    *setup.GitError
		agentErr  *setup.AgentError
		config    *setup.SSHConfigError
		keyDir    *setup.KeyDirError
		left      *rotate.LeftBehindError
		notPair   *rotate.NotAPairError
		journal   *rotate.JournalError
		move      *rotate.MoveError
		changed   *rotate.ChangedError
		removeOld *rotate.RemoveOldError
	)
	switch {
	case errors.As(err, &left): // first: it wraps the cause, which explains itself
		var verr *setup.VerifyError
		e := explain(left.Err)
		if errors.As(left.Err, &verr) {
			e = verifyFailure(verr, "the new key", verr.Outcome.Message)
		}
		e.Hints = append([]string{fmt.Sprintf("the old key %s is unchanged and still registered; the new key waits in %s and a new 'git bbkey rotate' continues with it", left.OldPath, left.NewPath)}, e.Hints...)
		return e
	case errors.As(err, &removeOld):
		e := explain(removeOld.Err)
		e.Hints = append([]string{fmt.Sprintf("the new key is in place and works; run git bbkey rotate again to remove the old one (id %d)", removeOld.ID)}, e.Hints...)
		return e
	case errors.As(err, &person) && person.Choice == setup.ChoiceReuse:
		return usageError(msg, "pass --yes to reuse it, or --new to make a new key (the old one is backed up first)")
	case errors.As(err, &person) && person.Choice == setup.ChoiceReplace:
		return usageError(msg, "pass --new (or --yes) to replace it; it is backed up to ~/.ssh/key_backup first")
	case errors.As(err, &person):
		return usageError(msg, "pass --yes to rotate without asking")
	case errors.As(err, &declined):
		return &Error{Code: exitFailure, Err: err} // the command said what it kept: no error line
	case errors.As(err, &option):
		return usageError(msg)
	case errors.As(err, &noRemote):
		return usageError(msg, "list them with: git remote -v")
	case errors.As(err, &unsafe):
		return fail("only ssh:// URLs from Bitbucket are used; give the SSH clone URL yourself, and tell your Bitbucket admin")
	case errors.As(err, &gitErr):
		msg = termtext.Line(msg)
		return fail()
	case errors.As(err, &agentErr) && agentErr.NoAgent:
		return fail("start one with: eval \"$(ssh-agent)\", then run setup again (or leave out --agent)")
	case errors.As(err, &agentErr) && agentErr.Unreachable != "":
		return fail("check SSH_AUTH_SOCK, and that the agent's socket belongs to you")
	case errors.As(err, &config) && errors.Is(err, sshconfig.ErrDamagedMarkers):
		return fail(fmt.Sprintf("fix or remove the '# BEGIN git-bbkey %s' / '# END git-bbkey %s' lines in %s, then run again", config.Host, config.Host, config.Path))
	case errors.As(err, &keyDir):
		return fail(fmt.Sprintf("check that %s is a directory you can read: ls -ld %s", keyDir.Dir, keyDir.Dir))
	case errors.As(err, &notPair):
		return fail("see what is there: git bbkey list")
	case errors.As(err, &journal):
		return fail("the old key is backed up in ~/.ssh/key_backup: check the keys with git bbkey list, then delete " + journal.Path)
	case errors.As(err, &move):
		return fail("the old key is backed up in " + move.BackupDir + "; run git bbkey rotate again")
	case errors.As(err, &changed):
		return fail("the old key is backed up in " + changed.BackupDir + "; check with git bbkey list")
	}
	return nil
}
