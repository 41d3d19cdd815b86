package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

type verifyOptions struct {
	Targets          []string
	All              bool
	Key              string
	PassphraseFile   string
	Write            bool
	AcceptNewHostKey bool
	Timeout          time.Duration
	JSON             bool
	Server           string
}

func verifyCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify the key works against a repository remote over SSH",
		UsageText: "git bbkey verify [REMOTE | URL]... [--all] [--key PATH] [--passphrase-file FILE] [--write] [--accept-new-host-key] [--timeout DURATION] [--json] [--server URL]",
		Description: "Connects with only the chosen key (--key, else bbkey.keyFile, else the default key), checks the " +
			"server's host key against ~/.ssh/known_hosts, runs Bitbucket's whoami, reads the git-upload-pack ref " +
			"advertisement and, with --write, opens git-receive-pack where git would push (the remote's pushurl or " +
			"a url.<base>.pushInsteadOf rewrite, else the same URL) and closes it without pushing. Targets default to " +
			"bbkey.remote, else origin; --all takes every remote; https remotes are mapped to their SSH clone URL. " +
			"An unknown host key is pinned when it matches the fingerprint Bitbucket publishes over HTTPS. " +
			"Statuses: ok, key-rejected, host-unknown, host-mismatch, unreachable, timeout, repo-not-found, " +
			"no-write-access, bad-url, key-error. Exit status 0 only if every target is ok.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "verify every remote of the repository"},
			&cli.StringFlag{Name: "key", Usage: "private key `PATH` to verify (default: bbkey.keyFile, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa)", TakesFile: true},
			&cli.StringFlag{Name: "passphrase-file", Usage: "read the key's passphrase from the first line of `FILE`", TakesFile: true},
			&cli.BoolFlag{Name: "write", Usage: "also check write access where git pushes (opens git-receive-pack, pushes nothing)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "trust an unknown host key without asking and add it to known_hosts"},
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "limit per target for connect, handshake and commands"},
			jsonFlag(),
			serverFlag(),
		},
		Action: func(c *cli.Context) error {
			return runVerify(c.Context, env, verifyOptions{
				Targets: c.Args().Slice(), All: c.Bool("all"), Key: c.String("key"), PassphraseFile: c.String("passphrase-file"),
				Write: c.Bool("write"), AcceptNewHostKey: c.Bool("accept-new-host-key"), Timeout: c.Duration("timeout"),
				JSON: c.Bool("json"), Server: c.String("server"),
			})
		},
	}
}

// verifyJSON is one result as the contract prints it.
type verifyJSON struct {
	Remote      *string `json:"remote"`
	URL         string  `json:"url"`
	Host        string  `json:"host"`
	Port        int     `json:"port"`
	Status      string  `json:"status"`
	User        *string `json:"user"`
	Refs        *int    `json:"refs"`
	Write       *bool   `json:"write"`
	PushURL     *string `json:"pushUrl"` // with --write, where the write check went when not URL
	Key         string  `json:"key"`
	Fingerprint string  `json:"fingerprint"`
	Message     string  `json:"message"`
	ElapsedMs   int64   `json:"elapsedMs"`

	hint   []string
	pinned bool // the host key was added to known_hosts in this run
}

// verifyTarget is a target before the SSH check: either ready to dial or
// already decided (bad-url).
type verifyTarget struct {
	remote string
	raw    string
	target sshverify.Target
	base   string // Bitbucket base URL of an https remote, for host-key pinning
	// server is the Bitbucket base URL from --server, bbkey.url or the
	// repository's https remote (else ""), for host-key pinning. It is
	// looked up only when needed: the git config reads cost processes.
	server  func() string
	scpLike bool
	failed  *verifyJSON
}

func runVerify(ctx context.Context, env *Env, opts verifyOptions) error {
	if opts.Timeout <= 0 {
		return usageError("--timeout must be positive, e.g. 15s")
	}
	if opts.All && len(opts.Targets) > 0 {
		return usageError("--all and named targets cannot be used together")
	}
	raw, err := verifyTargetNames(ctx, env, opts)
	if err != nil {
		return err
	}
	keyPath := opts.Key
	if keyPath != "" {
		keyPath = env.absPath(keyPath)
	} else if keyPath, err = defaultKeyPath(ctx, env); err != nil {
		return err
	}
	targets := resolveTargets(ctx, env, opts.Server, raw, opts.Write)
	// A key OpenSSH would refuse proves nothing, whatever x/crypto makes of it.
	var signer ssh.Signer
	keyErr := checkLoadable(keyPath)
	if keyErr == nil {
		signer, keyErr = loadSigner(ctx, env, keyPath, opts.PassphraseFile)
	}
	if keyErr != nil && opts.PassphraseFile != "" {
		var e *Error
		if errors.As(keyErr, &e) && e.Code == exitUsage {
			return keyErr
		}
	}
	results := verifyTargets(ctx, env, opts, targets, keyPath, signer, keyErr)
	return reportVerify(env, opts.JSON, results)
}

// targetName is one thing to verify: a remote (or "" for a URL given as
// such), the URL git fetches from, and where git pushes when that is
// elsewhere ("" otherwise).
type targetName struct{ remote, url, push string }

func remoteTarget(r *gitremote.Remote) targetName {
	t := targetName{remote: r.Name, url: r.FirstURL()}
	if len(r.PushURLs) > 0 && r.PushURLs[0] != t.url {
		t.push = r.PushURLs[0]
	}
	return t
}

// verifyTargetNames lists what to verify.
func verifyTargetNames(ctx context.Context, env *Env, opts verifyOptions) ([]targetName, error) {
	var out []targetName
	if opts.All {
		remotes, err := env.gitRepo().Remotes(ctx)
		if err != nil {
			return nil, notRepoError(err)
		}
		if len(remotes) == 0 {
			return nil, failure("this repository has no remotes", "add one: git remote add origin ssh://git@bitbucket.example.com:7999/proj/repo.git")
		}
		for i := range remotes {
			if len(remotes[i].URLs) > 0 {
				out = append(out, remoteTarget(&remotes[i]))
			}
		}
		return out, nil
	}
	names := opts.Targets
	if len(names) == 0 {
		name, err := defaultRemoteName(ctx, env)
		if err != nil {
			return nil, err
		}
		r, err := env.gitRepo().Remote(ctx, name)
		if err != nil {
			if errors.Is(err, gitremote.ErrRemoteNotFound) {
				return nil, failure(fmt.Sprintf("this repository has no remote %q", name),
					"name a remote or URL: git bbkey verify ssh://git@bitbucket.example.com:7999/proj/repo.git",
					"or choose the default remote: git config bbkey.remote upstream")
			}
			return nil, notRepoError(err)
		}
		return []targetName{remoteTarget(r)}, nil
	}
	for _, n := range names {
		if !strings.ContainsAny(n, ":/\\@") {
			r, err := env.gitRepo().Remote(ctx, n)
			if err == nil {
				out = append(out, remoteTarget(r))
				continue
			}
			if !errors.Is(err, gitremote.ErrRemoteNotFound) && !errors.Is(err, gitremote.ErrNotRepository) {
				return nil, err // git config failed: its message says where
			}
			return nil, usageError(fmt.Sprintf("%q is neither a remote of this repository nor a URL", n),
				"list the remotes with git remote -v, or give a URL such as ssh://git@host:7999/proj/repo.git")
		}
		rules, err := env.gitRepo().Rules(ctx)
		if err != nil {
			return nil, err
		}
		t := targetName{url: rules.FetchURL(n)}
		if push := rules.PushURL(n); push != t.url {
			t.push = push
		}
		out = append(out, t)
	}
	return out, nil
}

func notRepoError(err error) error {
	if errors.Is(err, gitremote.ErrNotRepository) {
		return failure("not inside a git repository, and no remote or URL was given",
			"run it in your repository, or give a URL: git bbkey verify ssh://git@bitbucket.example.com:7999/proj/repo.git")
	}
	return failuref(err)
}

// resolveTargets parses each URL and maps Bitbucket https remotes to their
// SSH clone URL through the REST API.
func resolveTargets(ctx context.Context, env *Env, serverFlag string, raw []targetName, write bool) []verifyTarget {
	server := sync.OnceValue(func() string {
		base, _ := env.bitbucket().Resolve(ctx, serverFlag)
		return base
	})
	out := make([]verifyTarget, len(raw))
	for i, r := range raw {
		vt := verifyTarget{remote: r.remote, raw: redactURL(r.url), server: server}
		u, err := gitremote.Parse(r.url)
		if err != nil {
			vt.failed = &verifyJSON{Status: string(sshverify.StatusBadURL), Message: err.Error(),
				hint: []string{"use ssh://git@host:7999/proj/repo.git, or a Bitbucket https URL such as https://host/scm/proj/repo.git"}}
			out[i] = vt
			continue
		}
		if u.Scheme != "ssh" {
			sshURL, b, err := cloneURLOverSSH(ctx, env, u)
			if err != nil {
				vt.failed = &verifyJSON{Status: string(sshverify.StatusBadURL), Message: err.Error(),
					hint: []string{"give the SSH clone URL from Bitbucket's Clone dialog, e.g. ssh://git@host:7999/proj/repo.git"}}
				out[i] = vt
				continue
			}
			vt.base = b
			if u, err = gitremote.Parse(sshURL); err != nil {
				vt.failed = &verifyJSON{Status: string(sshverify.StatusBadURL), Message: err.Error()}
				out[i] = vt
				continue
			}
		}
		vt.scpLike = u.SCPLike
		vt.target = sshverify.Target{Remote: r.remote, URL: u.String(), Host: u.Host, Port: u.Port, Path: u.Path}
		if write && r.push != "" {
			push, err := pushTarget(ctx, env, r.push)
			if err != nil {
				vt.failed = &verifyJSON{Status: string(sshverify.StatusBadURL), Message: fmt.Sprintf("the push URL %s: %v", redactURL(r.push), err),
					hint: []string{"check the remote's push URL: git remote get-url --push " + r.remote}}
				if r.remote == "" {
					vt.failed.hint = []string{"check the url.<base>.pushInsteadOf rule that matches " + redactURL(r.url)}
				}
			}
			vt.target.Push = push
		}
		out[i] = vt
	}
	return out
}

// pushTarget is the SSH target for a push URL; a Bitbucket https one is
// mapped to its SSH clone URL as the fetch URL is.
func pushTarget(ctx context.Context, env *Env, raw string) (*sshverify.Target, error) {
	u, err := gitremote.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ssh" {
		sshURL, _, err := cloneURLOverSSH(ctx, env, u)
		if err != nil {
			return nil, err
		}
		if u, err = gitremote.Parse(sshURL); err != nil {
			return nil, err
		}
	}
	return &sshverify.Target{URL: u.String(), Host: u.Host, Port: u.Port, Path: u.Path}, nil
}

// cloneURLOverSSH maps https://host[/context]/scm/proj/repo.git to the
// repository's SSH clone URL (bbsession.Session.CloneURL).
func cloneURLOverSSH(ctx context.Context, env *Env, u *gitremote.URL) (string, string, error) {
	base, project, slug, ok := u.BitbucketRepo()
	if !ok || base == "" {
		return "", "", fmt.Errorf("%s is not a Bitbucket repository URL (https://host[/context]/scm/PROJECT/REPO.git)", u.Raw)
	}
	s, err := env.bitbucket().For(ctx, base)
	if err != nil {
		return "", base, err
	}
	link, err := s.CloneURL(ctx, project, slug)
	return link, base, err
}

func verifyTargets(ctx context.Context, env *Env, opts verifyOptions, targets []verifyTarget, keyPath string, signer ssh.Signer, keyErr error) []verifyJSON {
	fp := ""
	if signer != nil {
		fp = sshkeys.Fingerprint(signer.PublicKey())
	} else if pub, _, err := readPub(keyPath + ".pub"); err == nil {
		fp = sshkeys.Fingerprint(pub)
	}
	var dial []sshverify.Target
	var index []int
	results := make([]verifyJSON, len(targets))
	for i, t := range targets {
		results[i] = verifyJSON{Remote: optional(t.remote), URL: t.raw, Key: keyPath, Fingerprint: fp}
		switch {
		case t.failed != nil:
			results[i].Status, results[i].Message, results[i].hint = t.failed.Status, t.failed.Message, t.failed.hint
		case keyErr != nil:
			results[i].URL, results[i].Host, results[i].Port = t.target.URL, t.target.Host, t.target.Port
			results[i].Status = string(sshverify.StatusKeyError)
			var e *Error
			if errors.As(keyErr, &e) {
				results[i].Message, results[i].hint = e.Msg, e.Hints
			} else {
				results[i].Message = keyErr.Error()
			}
		default:
			dial = append(dial, t.target)
			index = append(index, i)
		}
	}
	if len(dial) == 0 {
		return results
	}
	sshDir, err := env.sshDir()
	if err != nil {
		for _, i := range index {
			results[i].Status, results[i].Message = string(sshverify.StatusKeyError), err.Error()
		}
		return results
	}
	if _, err := safefile.MkdirPrivate(sshDir); err != nil {
		for _, i := range index {
			results[i].Status, results[i].Message = string(sshverify.StatusHostUnknown), err.Error()
		}
		return results
	}
	notes := &hostKeyNotes{env: env}
	vres := sshverify.Verify(ctx, dial, sshverify.Options{
		Signer:          signer,
		KnownHostsFile:  filepath.Join(sshDir, "known_hosts"),
		ExtraKnownHosts: systemKnownHosts(),
		HostKeyPolicy:   hostKeyPolicy(env, opts.AcceptNewHostKey, targets),
		Write:           opts.Write,
		Timeout:         opts.Timeout,
	})
	for j, r := range vres {
		i := index[j]
		t := targets[i]
		res := &results[i]
		res.URL, res.Host, res.Port = r.Target.URL, r.Target.Host, r.Target.Port
		if res.Host == "" {
			res.Host, res.Port = t.target.Host, t.target.Port
		}
		res.Status, res.Message, res.Refs, res.Write = string(r.Status), r.Message, r.Refs, r.Write
		if opts.Write && t.target.Push != nil {
			res.PushURL = optional(t.target.Push.URL)
		}
		res.ElapsedMs = r.Elapsed.Milliseconds()
		if r.User != "" {
			res.User = optional(r.User)
		}
		for _, p := range r.Pins {
			notes.say(p)
		}
		res.hint = hostKeyHints(r, verifyHints(r.Status, t, keyPath))
		res.pinned = r.HostKeyAdded
	}
	return results
}

func systemKnownHosts() []string {
	if os.PathSeparator == '\\' {
		return nil
	}
	return []string{"/etc/ssh/ssh_known_hosts"}
}

// hostKeyPolicy is verify's policy for hosts known_hosts does not know:
// trust a key that matches the fingerprint Bitbucket publishes over
// verified HTTPS, take --accept-new-host-key, or ask on a terminal.
func hostKeyPolicy(env *Env, accept bool, targets []verifyTarget) *sshverify.HostKeyPolicy {
	p := &sshverify.HostKeyPolicy{
		AcceptNew: accept,
		Published: func(ctx context.Context, host string, port int) (sshverify.Published, error) {
			base := ""
			for _, t := range targets {
				if t.target.Host != host || t.target.Port != port {
					continue
				}
				if base = t.base; base == "" && t.server != nil {
					base = t.server()
				}
				if base != "" {
					break
				}
			}
			if base == "" {
				return sshverify.Published{}, nil
			}
			fp, trusted, err := publishedHostKey(ctx, env, base, host)
			return sshverify.Published{Server: base, URL: base + "/rest/ssh/1.0/settings", Fingerprint: fp, Trusted: trusted}, err
		},
	}
	if env.Prompter.CanPrompt() {
		p.Confirm = func(ctx context.Context, u sshverify.UnknownHost) (bool, error) {
			env.Prompter.Say(fmt.Sprintf("The authenticity of host '%s' can't be established.\n%s key fingerprint is %s.",
				u.Host.Name(), sshverify.KeyTypeName(u.Key), ssh.FingerprintSHA256(u.Key)))
			return env.Prompter.Confirm(ctx, "Are you sure you want to continue connecting (yes/no)?")
		}
	}
	return p
}

// hostKeyNotes says once per host and file which host key was pinned.
type hostKeyNotes struct {
	env  *Env
	said map[string]bool
}

func (n *hostKeyNotes) say(p sshverify.Pin) {
	if !p.Recorded {
		return
	}
	if n.said == nil {
		n.said = map[string]bool{}
	}
	if k := p.Name + "\x00" + p.File; !n.said[k] {
		n.said[k] = true
		fp, file := ssh.FingerprintSHA256(p.Key), tildePath(n.env, p.File)
		switch p.Decision.Reason {
		case sshverify.ReasonPublishedMatch:
			fmt.Fprintf(n.env.Stderr, "Pinned the host key of %s (%s) in %s: it matches the fingerprint %s publishes.\n", p.Name, fp, file, p.Decision.Published.Server)
		case sshverify.ReasonAcceptNew:
			fmt.Fprintf(n.env.Stderr, "Added the host key of %s (%s) to %s (--accept-new-host-key).\n", p.Name, fp, file)
		default:
			fmt.Fprintf(n.env.Stderr, "Added the host key of %s (%s) to %s.\n", p.Name, fp, file)
		}
	}
}

// hostKeyHints adjusts the hints of a result whose host key was the
// problem to what actually happened.
func hostKeyHints(r sshverify.Result, hints []string) []string {
	if c := r.HostCheck; r.Status == sshverify.StatusHostMismatch && c != nil && c.Status == sshverify.HostKeyRevoked {
		return []string{fmt.Sprintf("the server's host key is marked @revoked in %s: ask your Bitbucket admin why the server still uses it; "+
			"do not delete the @revoked line to get past this", c.Entry.Where())}
	}
	for _, p := range r.Pins {
		switch {
		case r.Status == sshverify.StatusHostMismatch && p.Decision.Reason == sshverify.ReasonPublishedMismatch:
			// Nothing in known_hosts to remove: the server contradicts its own settings.
			return hints[:min(len(hints), 1)]
		case r.Status != sshverify.StatusHostUnknown:
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

// tildePath is p with the home directory written as ~.
func tildePath(env *Env, p string) string {
	if home, err := env.Home(); err == nil && home != "" {
		if rel, err := filepath.Rel(home, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return p
}

func knownHostsName(host string, port int) string {
	return sshverify.HostRef{Host: host, Port: port}.Name()
}

// publishedHostKey is the SSH host key fingerprint Bitbucket publishes
// (bbsession.Session.PublishedHostKey): trusted only when it came over a
// trusted channel and names this SSH host.
func publishedHostKey(ctx context.Context, env *Env, base, sshHost string) (fp string, trusted bool, err error) {
	s, err := env.bitbucket().For(ctx, base)
	if err != nil {
		return "", false, err
	}
	hk, err := s.PublishedHostKey(ctx, sshHost)
	return hk.Fingerprint, hk.Trusted, err
}

// verifyHints is the next step for each failure.
func verifyHints(st sshverify.Status, t verifyTarget, keyPath string) []string {
	switch st {
	case sshverify.StatusKeyRejected:
		return []string{"register the key with Bitbucket: git bbkey add " + keyPath + ".pub"}
	case sshverify.StatusHostUnknown:
		return []string{"compare the fingerprint with your Bitbucket admin, then run again with --accept-new-host-key"}
	case sshverify.StatusHostMismatch:
		return []string{"do not continue until you know why: compare with the fingerprint in Bitbucket's administration (Server settings > SSH) or ask your admin",
			fmt.Sprintf("if the server's key really changed, remove the old entry with: ssh-keygen -R '%s'", knownHostsName(t.target.Host, t.target.Port))}
	case sshverify.StatusUnreachable, sshverify.StatusTimeout:
		if t.scpLike || t.target.Port == 22 {
			return []string{"Bitbucket Server listens for SSH on port 7999 by default, which the scp-like form host:proj/repo.git cannot name",
				fmt.Sprintf("use: ssh://git@%s:%d/%s", t.target.Host, bbsession.DefaultSSHPort, strings.TrimPrefix(t.target.Path, "/"))}
		}
		if st == sshverify.StatusTimeout {
			return []string{"the server did not answer in time: check VPN and firewall, or allow longer with --timeout 60s"}
		}
		return []string{"check the host name and port, and that you can reach the server (VPN, firewall)"}
	case sshverify.StatusRepoNotFound:
		return []string{"check the repository URL, and that your user (or the access key) may read it"}
	case sshverify.StatusNoWriteAccess:
		return []string{"ask a repository admin for write permission, or register an access key with: git bbkey add --repo PROJECT/SLUG --permission write"}
	case sshverify.StatusKeyError:
		return []string{"check the key with: git bbkey list"}
	}
	return nil
}

func reportVerify(env *Env, asJSON bool, results []verifyJSON) error {
	if asJSON {
		if err := writeJSON(env.Stdout, struct {
			Results []verifyJSON `json:"results"`
		}{results}); err != nil {
			return err
		}
	}
	failed := 0
	var hints []string
	seen := map[string]bool{}
	for _, r := range results {
		name := r.URL
		if r.Remote != nil {
			name = *r.Remote + " " + r.URL
		}
		if r.Status == string(sshverify.StatusOK) {
			if !asJSON {
				var parts []string
				if r.User != nil {
					parts = append(parts, "as "+*r.User)
				}
				if r.Refs != nil {
					parts = append(parts, fmt.Sprintf("%d refs", *r.Refs))
				}
				if r.Write != nil && *r.Write {
					if r.PushURL != nil {
						parts = append(parts, "write access to the push URL "+*r.PushURL)
					} else {
						parts = append(parts, "write access")
					}
				}
				fmt.Fprintf(env.Stdout, "ok: %s (%s, %d ms)\n", name, strings.Join(parts, ", "), r.ElapsedMs)
			}
			continue
		}
		failed++
		if !asJSON {
			fmt.Fprintf(env.Stdout, "%s: %s: %s\n", r.Status, name, r.Message)
		}
		for _, h := range r.hint {
			if !seen[h] {
				seen[h] = true
				hints = append(hints, h)
			}
		}
	}
	if failed == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d targets did not verify", failed, len(results))
	if len(results) == 1 {
		msg = fmt.Sprintf("the key did not verify (%s)", results[0].Status)
	}
	return &Error{Code: exitFailure, Msg: msg, Hints: hints}
}
