package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
	"github.com/git-bbkey/git-bbkey/internal/verify"
)

// verifyJSON is one result as the contract prints it, plus gitKey (the
// key git's ssh offers the host first, when it is not key) and notes.
type verifyJSON struct {
	Remote      *string  `json:"remote"`
	URL         string   `json:"url"`
	Host        string   `json:"host"`
	Port        int      `json:"port"`
	Status      string   `json:"status"`
	User        *string  `json:"user"`
	Refs        *int     `json:"refs"`
	Write       *bool    `json:"write"`
	Key         string   `json:"key"`
	Fingerprint string   `json:"fingerprint"`
	Message     string   `json:"message"`
	ElapsedMs   int64    `json:"elapsedMs"`
	PushURL     *string  `json:"pushUrl"` // with --write, where the write check went when not URL
	Via         string   `json:"via"`
	GitKey      *string  `json:"gitKey"`
	Notes       []string `json:"notes"`

	hint   []string
	pinned bool // the host key was added to known_hosts in this run
}

// toJSON is the contract's form of r, with its hints.
func toJSON(env *Env, r verify.Result, write bool) verifyJSON {
	j := verifyJSON{Remote: optional(r.Remote), URL: r.URL, Host: r.Host, Port: r.Port, Status: string(r.Status),
		User: optional(r.User), Refs: r.Refs, Write: r.Write, Key: r.Key, Fingerprint: r.Fingerprint,
		Message: r.Message, ElapsedMs: r.Elapsed.Milliseconds(), Via: "direct", GitKey: optional(r.GitKey),
		Notes: []string{}, pinned: r.HostKeyAdded}
	if r.Via == verify.ViaSSH {
		j.Via = "ssh"
	}
	if write && r.PushURL != "" {
		j.PushURL = optional(r.PushURL)
	}
	for _, n := range r.Notes {
		j.Notes = append(j.Notes, verifyNote(env, r, n))
	}
	switch {
	case r.Status == verify.StatusSkipped:
		j.Message = skipMessage(r)
	case r.Err != nil:
		e := explain(r.Err)
		j.Message, j.hint = e.Msg, e.Hints
		if len(j.hint) == 0 {
			j.hint = verifyHints(r)
		}
	default:
		j.hint = hostKeyHints(r, verifyHints(r))
	}
	return j
}

func skipMessage(r verify.Result) string {
	if r.Skip == nil || r.Skip.Server == "" {
		return "not a Bitbucket repository URL"
	}
	if r.Skip.AddressErr != nil {
		return fmt.Sprintf("%s is not the Bitbucket at %s (its SSH address could not be read: %v; name the remote to check it anyway)",
			r.Skip.Host, r.Skip.Server, r.Skip.AddressErr)
	}
	return fmt.Sprintf("%s is not the Bitbucket at %s (nor its SSH address)", r.Skip.Host, r.Skip.Server)
}

// verifyNote is a note in words.
func verifyNote(env *Env, r verify.Result, n verify.Note) string {
	switch n.Kind {
	case verify.NoteGitKeyDiffers:
		return fmt.Sprintf("git's ssh offers %s to %s first, not %s: git may use a key other than the one checked", tildePath(env, r.GitKey), r.SSHHost, tildePath(env, r.Key))
	case verify.NoteHomeDiffers:
		return fmt.Sprintf("OpenSSH takes ~ from your account (%s), not $HOME (%s): git's ssh reads ~/.ssh there; the keys and known_hosts checked here are $HOME's", n.AccountHome, n.Home)
	case verify.NoteApproximated:
		return "ssh could not be asked for its settings (ssh -G): they were read from its configuration files and may differ from what OpenSSH does"
	case verify.NoteKeyNotConfirmed:
		return "checked through your ssh program, which does not say which key the server took"
	}
	return ""
}

// verifyHints is the next step for each failure.
func verifyHints(r verify.Result) []string {
	switch r.Status {
	case verify.StatusKeyRejected:
		return []string{"register the key with Bitbucket: git bbkey add " + r.Key + ".pub"}
	case verify.StatusHostUnknown:
		return []string{"compare the fingerprint with your Bitbucket admin, then run again with --accept-new-host-key"}
	case verify.StatusHostMismatch:
		name := knownHostsName(r.Host, r.Port)
		if r.Hop != nil {
			name = r.Hop.Host.Name()
		}
		return []string{"do not continue until you know why: compare with the fingerprint in Bitbucket's administration (Server settings > SSH) or ask your admin",
			fmt.Sprintf("if the server's key really changed, remove the old entry with: ssh-keygen -R '%s'", name)}
	case verify.StatusUnreachable, verify.StatusTimeout:
		if r.Port == 22 && !r.PortGiven {
			form := "the URL does not name a port"
			if r.SCPLike {
				form = "the scp-like form host:proj/repo.git cannot name a port"
			}
			return []string{"Bitbucket Server listens for SSH on port 7999 by default; " + form + ", and ssh's configuration sets none",
				fmt.Sprintf("use: ssh://git@%s:%d/%s", r.SSHHost, bbsession.DefaultSSHPort, strings.TrimPrefix(urlPath(r.URL), "/")),
				"or give the host its port in ~/.ssh/config (Host " + r.SSHHost + " / Port 7999)"}
		}
		if r.Status == verify.StatusTimeout {
			return []string{"the server did not answer in time: check VPN and firewall, or allow longer with --timeout 60s"}
		}
		return []string{"check the host name and port, and that you can reach the server (VPN, firewall)"}
	case verify.StatusRepoNotFound:
		return []string{"check the repository URL, and that your user (or the access key) may read it"}
	case verify.StatusNoWriteAccess:
		return []string{"ask a repository admin for write permission, or register an access key with: git bbkey add --repo PROJECT/SLUG --permission write"}
	case verify.StatusKeyError:
		return []string{"check the key with: git bbkey list"}
	case verify.StatusBadURL:
		return []string{"use ssh://git@host:7999/proj/repo.git, or a Bitbucket https URL such as https://host/scm/proj/repo.git"}
	}
	return nil
}

func urlPath(raw string) string {
	if u, err := gitremote.Parse(raw); err == nil {
		return u.Path
	}
	return ""
}

// hostKeyHints adjusts the hints of a result whose host key was the
// problem to what actually happened.
func hostKeyHints(r verify.Result, hints []string) []string {
	check := r.HostCheck
	if r.Hop != nil {
		check = r.Hop.Check
	}
	if r.Status == verify.StatusHostMismatch && check != nil && check.Status == sshverify.HostKeyRevoked {
		return []string{fmt.Sprintf("the server's host key is marked @revoked in %s: ask your Bitbucket admin why the server still uses it; "+
			"do not delete the @revoked line to get past this", check.Entry.Where())}
	}
	for _, p := range r.Pins {
		switch {
		case r.Status == verify.StatusHostMismatch && p.Decision.Reason == sshverify.ReasonPublishedMismatch:
			// Nothing in known_hosts to remove: the server contradicts its own settings.
			return hints[:min(len(hints), 1)]
		case r.Status != verify.StatusHostUnknown:
		case p.Err != nil:
			var rec *sshverify.RecordError
			if errors.As(p.Err, &rec) && rec.File != "" {
				return []string{fmt.Sprintf("the host key was accepted but could not be written to %s: make sure you can write that file "+
					"(and its directory), and that the disk has room; then run again", rec.File)}
			}
			return []string{"set the known_hosts file to write to, then run again"}
		case p.Decision.Unchecked == sshverify.UncheckedLookupFailed && bitbucket.IsKind(p.Decision.LookupErr, bitbucket.KindUnauthorized):
			hints = append(hints, "Bitbucket shows its SSH settings only with credentials: set BITBUCKET_TOKEN (or store your password with git credential) and run again")
		case p.Decision.Unchecked == sshverify.UncheckedNoServer:
			hints = append(hints, "or set the Bitbucket URL (git config --global bbkey.url https://…) so the key is checked against what the server publishes")
		}
	}
	return hints
}

// reportVerify prints the results: one JSON document, or a line per
// target (outside text escaped), pins and notes on stderr, and the error
// that ends a run with failures.
func reportVerify(env *Env, asJSON bool, results []verify.Result, write bool) error {
	out := make([]verifyJSON, len(results))
	for i, r := range results {
		out[i] = toJSON(env, r, write)
	}
	if asJSON {
		if err := writeJSON(env.Stdout, struct {
			Results []verifyJSON `json:"results"`
		}{out}); err != nil {
			return err
		}
	}
	notes := &hostKeyNotes{env: env}
	failed, first := 0, -1
	var hints []string
	seen := map[string]bool{}
	for i, r := range results {
		for _, p := range r.Pins {
			notes.say(p)
		}
		for _, n := range out[i].Notes {
			notes.note(n)
		}
		j := out[i]
		name := termtext.Line(j.URL)
		if j.Remote != nil {
			name = termtext.Line(*j.Remote) + " " + name
		}
		switch r.Status {
		case verify.StatusOK:
			if !asJSON {
				fmt.Fprintf(env.Stdout, "%s: %s (%s)\n", env.statusWord("ok"), name, okDetails(r, j))
			}
			continue
		case verify.StatusSkipped:
			if !asJSON {
				fmt.Fprintf(env.Stdout, "%s: %s: %s\n", env.statusWord("skipped"), name, termtext.Line(j.Message))
			}
			continue
		}
		failed++
		if first < 0 {
			first = i
		}
		if !asJSON {
			fmt.Fprintf(env.Stdout, "%s: %s: %s\n", env.statusWord(j.Status), name, termtext.Line(j.Message))
		}
		for _, h := range j.hint {
			if !seen[h] {
				seen[h] = true
				hints = append(hints, termtext.Line(h))
			}
		}
	}
	if failed == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d targets did not verify", failed, len(results))
	if len(results) == 1 {
		msg = failedTarget(results[first].Status)
	}
	return &Error{Code: exitFailure, Msg: msg, Hints: hints}
}

func okDetails(r verify.Result, j verifyJSON) string {
	var parts []string
	if r.User != "" {
		parts = append(parts, "as "+termtext.Line(r.User))
	}
	if r.Refs != nil {
		parts = append(parts, fmt.Sprintf("%d refs", *r.Refs))
	}
	if r.Write != nil && *r.Write {
		if j.PushURL != nil {
			parts = append(parts, "write access to the push URL "+termtext.Line(*j.PushURL))
		} else {
			parts = append(parts, "write access")
		}
	}
	if r.Via == verify.ViaSSH {
		parts = append(parts, "through your ssh")
	}
	return strings.Join(append(parts, fmt.Sprintf("%d ms", r.Elapsed.Milliseconds())), ", ")
}

// failedTarget is the error line of a run whose one target failed: what
// was (and was not) tried.
func failedTarget(st verify.Status) string {
	switch st {
	case verify.StatusUnreachable:
		return "the key was not tried: the server could not be reached (unreachable)"
	case verify.StatusTimeout:
		return "the key was not tried: the server did not answer in time (timeout)"
	case verify.StatusHostUnknown, verify.StatusHostMismatch:
		return fmt.Sprintf("the key was not tried: the server's host key was not accepted (%s)", st)
	case verify.StatusBadURL:
		return "nothing was tried: the URL cannot be checked (bad-url)"
	case verify.StatusKeyError:
		return "the key could not be used (key-error)"
	}
	return fmt.Sprintf("the key did not verify (%s)", st)
}

// hostKeyNotes says once per host and file which host key was pinned,
// and each note once.
type hostKeyNotes struct {
	env  *Env
	said map[string]bool
}

func (n *hostKeyNotes) once(k string) bool {
	if n.said == nil {
		n.said = map[string]bool{}
	}
	if n.said[k] {
		return false
	}
	n.said[k] = true
	return true
}

func (n *hostKeyNotes) note(text string) {
	if text != "" && n.once("note\x00"+text) {
		fmt.Fprintln(n.env.Stderr, "warning: "+termtext.Line(text))
	}
}

func (n *hostKeyNotes) say(p sshverify.Pin) {
	if !p.Recorded || !n.once(p.Name+"\x00"+p.File) {
		return
	}
	fp, file, name := sshkeys.Fingerprint(p.Key), tildePath(n.env, p.File), termtext.Line(p.Name)
	switch p.Decision.Reason {
	case sshverify.ReasonPublishedMatch:
		fmt.Fprintf(n.env.Stderr, "Pinned the host key of %s (%s) in %s: it matches the fingerprint %s publishes.\n", name, fp, file, termtext.Line(p.Decision.Published.Server))
	case sshverify.ReasonAcceptNew:
		fmt.Fprintf(n.env.Stderr, "Added the host key of %s (%s) to %s (--accept-new-host-key).\n", name, fp, file)
	default:
		fmt.Fprintf(n.env.Stderr, "Added the host key of %s (%s) to %s.\n", name, fp, file)
	}
}

// tildePath is p with the home directory written as ~.
func tildePath(env *Env, p string) string {
	if home, err := env.Home(); err == nil && home != "" {
		if rel, err := filepath.Rel(home, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return termtext.Line(p)
}
