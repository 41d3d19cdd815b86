package app

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshconfig"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

type setupOptions struct {
	Server         string
	Remote         string
	Type           string
	File           string
	New            bool
	Label          string
	NoPassphrase   bool
	PassphraseFile string
	SSHConfig      bool
	Agent          bool
	AgentLifetime  time.Duration
	FixRemote      bool
	Yes            bool
	JSON           bool
	Timeout        time.Duration
}

func setupCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "setup",
		Usage:     "the whole procedure in one command: key, registration, host key, verification",
		UsageText: "git bbkey setup [--server URL] [--remote NAME] [--type T] [--file PATH] [--new] [--label TEXT] [--no-passphrase | --passphrase-file FILE] [--ssh-config] [--agent] [--fix-remote] [--yes] [--json]",
		Description: "Reads user.email; reuses the best usable key in ~/.ssh (asking on a terminal; --yes takes it) " +
			"unless --new; otherwise backs up whatever would be replaced and generates one; registers it as your " +
			"SSH user key (without credentials it prints the key and the page to paste it into, and stops with exit " +
			"0); pins the server's host key; with --ssh-config writes a managed Host block to ~/.ssh/config; with " +
			"--agent adds the key to the ssh-agent; and verifies it against the repository's remote (with " +
			"--fix-remote, switching an https remote to SSH first). Safe to run again: a second run changes nothing.",
		Flags: append([]cli.Flag{
			serverFlag(),
			&cli.StringFlag{Name: "remote", Usage: "remote to verify (default: bbkey.remote, else origin)"},
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Usage: "key `TYPE` for a new key: ed25519, ecdsa or rsa"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "private key `PATH` to use or create", TakesFile: true},
			&cli.BoolFlag{Name: "new", Usage: "always make a new key (the old one is backed up first)"},
			&cli.StringFlag{Name: "label", Usage: "key label in Bitbucket (default: the key comment)"},
			&cli.BoolFlag{Name: "ssh-config", Usage: "write a managed Host block for the server to ~/.ssh/config"},
			&cli.BoolFlag{Name: "agent", Usage: "add the key to the running ssh-agent"},
			&cli.DurationFlag{Name: "agent-lifetime", Usage: "with --agent, let the agent forget the key after `DURATION` (e.g. 8h)"},
			&cli.BoolFlag{Name: "fix-remote", Usage: "switch an https remote to its SSH clone URL"},
			yesFlag("take the proposed choices without asking (reuse the existing key, write the ssh config)"),
			&cli.DurationFlag{Name: "timeout", Value: 15 * time.Second, Usage: "limit for the SSH check"},
		}, append(passphraseFlags(), jsonFlag())...),
		Action: func(c *cli.Context) error {
			return runSetup(c.Context, env, setupOptions{
				Server: c.String("server"), Remote: c.String("remote"), Type: c.String("type"), File: c.String("file"),
				New: c.Bool("new"), Label: c.String("label"), NoPassphrase: c.Bool("no-passphrase"),
				PassphraseFile: c.String("passphrase-file"), SSHConfig: c.Bool("ssh-config"), Agent: c.Bool("agent"),
				AgentLifetime: c.Duration("agent-lifetime"), FixRemote: c.Bool("fix-remote"), Yes: c.Bool("yes"),
				JSON: c.Bool("json"), Timeout: c.Duration("timeout"),
			})
		},
	}
}

// setupReport is setup's outcome, as the contract prints it.
type setupReport struct {
	Email        string        `json:"email"`
	Key          *generatedKey `json:"key"`
	Generated    bool          `json:"generated"`
	BackupDir    *string       `json:"backupDir"`
	Registration *addResult    `json:"registration"`
	HostKey      string        `json:"hostKey"`   // pinned, known, skipped
	SSHConfig    string        `json:"sshConfig"` // written, unchanged, skipped
	Agent        string        `json:"agent"`     // added, present, skipped
	Verify       *verifyJSON   `json:"verify"`
	Manual       *manualStep   `json:"manual,omitempty"`

	lines [][2]string
}

// manualStep is what to do by hand when there are no credentials.
type manualStep struct {
	PublicKey string `json:"publicKey"`
	Page      string `json:"page"`
	Next      string `json:"next"`
}

func (r *setupReport) step(name, text string) { r.lines = append(r.lines, [2]string{name, text}) }

func runSetup(ctx context.Context, env *Env, opts setupOptions) error {
	if opts.NoPassphrase && opts.PassphraseFile != "" {
		return usageError("--no-passphrase and --passphrase-file cannot be used together")
	}
	if opts.Timeout <= 0 {
		return usageError("--timeout must be positive, e.g. 15s")
	}
	rep := &setupReport{HostKey: "skipped", SSHConfig: "skipped", Agent: "skipped"}

	// 1. who: the key comment.
	email, err := commentOrEmail(ctx, env, "")
	if err != nil {
		return err
	}
	rep.Email = email
	rep.step("email", email+" (git config user.email)")

	base, err := env.bitbucket().Resolve(ctx, opts.Server)
	if err != nil {
		return err
	}
	if opts.Remote != "" {
		if _, err := env.gitRepo().Remote(ctx, opts.Remote); err != nil {
			return usageError(fmt.Sprintf("no remote %q here", opts.Remote), "list them with: git remote -v")
		}
	}

	sshDir, err := env.sshDir()
	if err != nil {
		return err
	}
	if _, err := safefile.MkdirPrivate(sshDir); err != nil {
		return failuref(err)
	}
	unlock, err := lockKeyDir(ctx, env, sshDir)
	if err != nil {
		return err
	}
	defer unlock()

	// 2-3. the key: reuse the best usable one, or back up and generate.
	key, err := setupKey(ctx, env, opts, sshDir, rep)
	if err != nil {
		return err
	}
	pubIn := &publicKeyInput{Source: key.PublicKeyPath, Key: key.publicKey, Comment: key.Comment}

	// 4. register it as the user's key.
	s, err := env.bitbucket().For(ctx, base)
	if err != nil {
		return err
	}
	if err := s.Authenticate(ctx); errors.Is(err, bbsession.ErrNoCredentials) {
		target, _, _ := bitbucketRemote(ctx, env, opts.Remote, base)
		return setupManual(env, opts, base, pubIn, target, rep)
	} else if err != nil {
		return err
	}
	label := opts.Label
	if label == "" {
		label = key.Comment
	}
	reg := addUserKey(ctx, s, pubIn, label, 0)
	rep.Registration = &reg
	if reg.err != nil {
		printSetup(env, opts.JSON, rep)
		return reg.err
	}
	rep.step("registration", reg.Message)

	// 8 (first half). the repository's remote, switched to SSH if asked.
	target, err := setupTarget(ctx, env, opts, base, rep)
	if err != nil {
		printSetup(env, opts.JSON, rep)
		return err
	}

	// 5 and 8. pin the host key and verify, over one SSH connection.
	if key.unlocked == nil {
		// Keep the unlocked key for --agent, which needs it again.
		key.unlocked, err = unlockKey(ctx, env, key.PrivateKeyPath, opts.PassphraseFile)
	}
	if err != nil {
		printSetup(env, opts.JSON, rep)
		return err
	}
	signer := key.unlocked.Signer
	vt := target
	if vt == nil {
		vt, err = hostOnlyTarget(ctx, s)
		if err != nil {
			rep.step("host key", "skipped: "+err.Error())
		}
	}
	if vt != nil {
		res := verifyTargets(ctx, env, verifyOptions{Timeout: opts.Timeout}, []verifyTarget{*vt}, key.PrivateKeyPath, signer, nil)[0]
		switch {
		case res.Status == string(sshverify.StatusHostUnknown) || res.Status == string(sshverify.StatusHostMismatch):
			rep.HostKey = "skipped"
		case res.pinned:
			rep.HostKey = "pinned"
		default:
			rep.HostKey = "known"
		}
		rep.step("host key", hostKeyText(rep.HostKey, vt))
		if target != nil {
			rep.Verify = &res
		}
		if res.Status != string(sshverify.StatusOK) {
			step := "ssh check"
			if target != nil {
				step = "verify"
			}
			rep.step(step, res.Status+": "+res.Message)
			printSetup(env, opts.JSON, rep)
			return &Error{Code: exitFailure, Msg: fmt.Sprintf("the key did not verify (%s)", res.Status), Hints: res.hint}
		}

		// 6. the ssh config block for this host.
		if opts.SSHConfig {
			if err := setupSSHConfig(ctx, env, opts, sshDir, vt.target.Host, vt.target.Port, key.PrivateKeyPath, rep); err != nil {
				printSetup(env, opts.JSON, rep)
				return err
			}
		}
		if target != nil {
			rep.step("verify", fmt.Sprintf("ok: %s as %s, %d refs", res.URL, deref(res.User, "?"), derefInt(res.Refs)))
		} else {
			rep.step("verify", "skipped: not inside a repository with a Bitbucket remote")
		}
	}

	// 7. the agent.
	if opts.Agent {
		if err := setupAgent(ctx, env, opts, key, rep); err != nil {
			printSetup(env, opts.JSON, rep)
			return err
		}
	}
	printSetup(env, opts.JSON, rep)
	return nil
}

func deref(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}

func hostKeyText(state string, vt *verifyTarget) string {
	where := knownHostsName(vt.target.Host, vt.target.Port)
	switch state {
	case "pinned":
		return "pinned " + where + " in ~/.ssh/known_hosts"
	case "known":
		return where + " already in ~/.ssh/known_hosts"
	}
	return "not pinned"
}

// usableKey is the best key to reuse: a complete pair with no problems, of
// a type Bitbucket takes, ed25519 first.
func usableKey(keys []sshkeys.Key) *sshkeys.Key {
	rank := func(k sshkeys.Key) int {
		switch k.Type {
		case "ssh-ed25519":
			return 0
		case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
			return 1
		case "ssh-rsa":
			return 2
		}
		return 3
	}
	var best *sshkeys.Key
	for i, k := range keys {
		if k.PrivateKeyPath == "" || k.PublicKeyPath == "" || k.PublicKey == nil || len(k.Problems) > 0 ||
			sshkeys.CheckLoadable(k.PrivateKeyPath) != nil { // a key OpenSSH refuses is no use to git
			continue
		}
		if ok, _ := sshkeys.AcceptedByBitbucket(k); !ok || rank(k) > 2 {
			continue
		}
		if best == nil || rank(k) < rank(*best) {
			best = &keys[i]
		}
	}
	return best
}

func keyFromList(k sshkeys.Key) *generatedKey {
	return &generatedKey{PrivateKeyPath: k.PrivateKeyPath, PublicKeyPath: k.PublicKeyPath, Type: k.Type, Bits: k.Bits,
		Fingerprint: k.Fingerprint, Comment: k.Comment, Encrypted: k.Encrypted, publicKey: k.PublicKey}
}

func setupKey(ctx context.Context, env *Env, opts setupOptions, sshDir string, rep *setupReport) (*generatedKey, error) {
	keys, err := findKeys(sshDir)
	if err != nil {
		return nil, err
	}
	if opts.File != "" {
		path := env.absPath(opts.File)
		keys = nil
		if exists(path) {
			found, err := findKeys(filepath.Dir(path))
			if err != nil {
				return nil, err
			}
			for _, k := range found {
				if k.PrivateKeyPath == path {
					keys = append(keys, k)
				}
			}
		}
	}
	if !opts.New {
		if cand := usableKey(keys); cand != nil {
			use := opts.Yes
			if !use {
				if !env.Prompter.CanPrompt() {
					return nil, usageError(fmt.Sprintf("found the key %s (%s %s); reusing it needs your confirmation and there is no terminal", cand.PrivateKeyPath, cand.Type, cand.Fingerprint),
						"pass --yes to reuse it, or --new to make a new key (the old one is backed up first)")
				}
				env.Prompter.Say(fmt.Sprintf("Found %s (%s %d, %s, %s): the best usable key (a complete pair of a type Bitbucket accepts; ed25519 preferred).",
					cand.PrivateKeyPath, cand.Type, cand.Bits, cand.Fingerprint, cand.Comment))
				if use, err = env.Prompter.Confirm(ctx, "Use it for Bitbucket (y/n)?"); err != nil {
					return nil, failuref(err)
				}
			}
			if use {
				k := keyFromList(*cand)
				rep.Key = k
				rep.step("key", fmt.Sprintf("reused %s (%s %s)", k.PrivateKeyPath, k.Type, k.Fingerprint))
				return k, nil
			}
		}
	}
	// Generate. Decide everything (file, replacement, passphrase) first.
	gopts := generateOptions{Type: opts.Type, File: opts.File, Comment: rep.Email,
		NoPassphrase: opts.NoPassphrase, PassphraseFile: opts.PassphraseFile, Force: opts.Yes || opts.New}
	plan, err := planGenerate(ctx, env, gopts)
	if err != nil {
		if exists := new(keygen.ExistsError); errors.As(err, &exists) && !env.Prompter.CanPrompt() {
			return nil, usageError(exists.Error(), "pass --new (or --yes) to replace it; it is backed up to ~/.ssh/key_backup first")
		}
		return nil, err
	}
	k, err := executeGenerate(ctx, env, plan, sshDir)
	if err != nil {
		return nil, err
	}
	rep.Key, rep.Generated, rep.BackupDir = k, true, k.BackupDir
	rep.step("key", fmt.Sprintf("generated %s (%s %s)", k.PrivateKeyPath, k.Type, k.Fingerprint))
	if k.BackupDir != nil {
		rep.step("backup", "the old key is in "+*k.BackupDir)
	}
	return k, nil
}

// setupManual is step 4 without credentials: the key, the page and the
// command to run next; exit 0.
func setupManual(env *Env, opts setupOptions, base string, key *publicKeyInput, target *verifyTarget, rep *setupReport) error {
	// Without credentials setup cannot see that the key got registered, so
	// the next step is the check that needs none: verify pins the host key
	// and proves the key works.
	next := "git bbkey verify ssh://git@HOST:7999/PROJECT/REPO.git   (your repository's SSH clone URL)"
	if target != nil {
		next = "git bbkey verify " + target.target.URL
		if target.remote != "" && target.raw == target.target.URL {
			next = "git bbkey verify " + target.remote
		}
	}
	rep.Manual = &manualStep{
		PublicKey: key.Text(),
		Page:      base + "/plugins/servlet/ssh/account/keys/add",
		Next:      next,
	}
	rep.step("registration", "no Bitbucket credentials: add the key by hand (below), then run: "+rep.Manual.Next)
	printSetup(env, opts.JSON, rep)
	if !opts.JSON {
		fmt.Fprintf(env.Stdout, "\nYour public key (copy all of this line):\n%s\n\nPaste it at: %s\nThen run:    %s\n",
			rep.Manual.PublicKey, rep.Manual.Page, rep.Manual.Next)
		fmt.Fprintln(env.Stderr, "hint: or give git bbkey credentials (BITBUCKET_TOKEN, or your password through git credential) and run: git bbkey setup --yes")
	}
	return nil
}

// bitbucketRemote finds the remote to verify (NAME, else bbkey.remote,
// else origin) when it points at a Bitbucket repository, mapped to its SSH
// URL. It changes nothing; nil when there is no such remote.
func bitbucketRemote(ctx context.Context, env *Env, name, base string) (*verifyTarget, *gitremote.URL, error) {
	if name == "" {
		var err error
		if name, err = defaultRemoteName(ctx, env); err != nil {
			return nil, nil, err
		}
	}
	r, err := env.gitRepo().Remote(ctx, name)
	if err != nil {
		return nil, nil, nil
	}
	u, err := gitremote.Parse(r.FirstURL())
	if err != nil {
		return nil, nil, nil
	}
	if _, _, _, ok := u.BitbucketRepo(); !ok {
		return nil, nil, nil
	}
	vt := resolveTargets(ctx, env, base, []targetName{{remote: name, url: r.FirstURL()}}, false)[0]
	if vt.failed != nil {
		return nil, nil, failure(vt.failed.Message, vt.failed.hint...)
	}
	return &vt, u, nil
}

// setupTarget is bitbucketRemote, with an https remote switched to SSH
// after --fix-remote (or a yes on the terminal).
func setupTarget(ctx context.Context, env *Env, opts setupOptions, base string, rep *setupReport) (*verifyTarget, error) {
	target, u, err := bitbucketRemote(ctx, env, opts.Remote, base)
	if target == nil || err != nil {
		return nil, err
	}
	vt, name, raw := *target, target.remote, u.Raw // Raw hides a password
	if u.Scheme != "ssh" {
		fix := opts.FixRemote
		if !fix && env.Prompter.CanPrompt() && !opts.JSON {
			fix, _ = env.Prompter.Confirm(ctx, fmt.Sprintf("Remote %s uses https (%s). Switch it to SSH (%s) (y/n)?", name, raw, vt.target.URL))
		}
		if fix {
			cmd := exec.CommandContext(ctx, env.Git, "remote", "set-url", name, vt.target.URL)
			cmd.Dir = env.Dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, failure(fmt.Sprintf("git remote set-url %s failed: %s", name, strings.TrimSpace(string(out))))
			}
			rep.step("remote", fmt.Sprintf("%s switched from %s to %s", name, raw, vt.target.URL))
			vt.raw = vt.target.URL
			// The https remote was how later runs found the server: keep it.
			if v, _ := env.configValue(ctx, "bbkey.url"); v == "" {
				cmd := exec.CommandContext(ctx, env.Git, "config", "bbkey.url", base)
				cmd.Dir = env.Dir
				if out, err := cmd.CombinedOutput(); err != nil {
					return nil, failure(fmt.Sprintf("git config bbkey.url failed: %s", strings.TrimSpace(string(out))))
				}
				rep.step("server", "remembered "+base+" as bbkey.url in this repository")
			}
		} else {
			rep.step("remote", fmt.Sprintf("%s stays https; switch it with: git bbkey setup --fix-remote", name))
		}
	}
	return &vt, nil
}

// hostOnlyTarget is the server's SSH address, to pin the host key when
// there is no repository to verify.
func hostOnlyTarget(ctx context.Context, s *bbsession.Session) (*verifyTarget, error) {
	addr, err := s.SSHAddress(ctx)
	if err != nil {
		return nil, err
	}
	host, port := addr.Host, addr.Port
	return &verifyTarget{raw: fmt.Sprintf("ssh://git@%s:%d", host, port), base: s.Base(),
		target: sshverify.Target{URL: fmt.Sprintf("ssh://git@%s:%d/", host, port), Host: host, Port: port, HostOnly: true}}, nil
}

func setupSSHConfig(ctx context.Context, env *Env, opts setupOptions, sshDir, host string, port int, keyPath string, rep *setupReport) error {
	b := sshconfig.Block{Host: host, HostName: host, Port: port, User: "git", IdentityFile: keyPath, IdentitiesOnly: true}
	path := filepath.Join(sshDir, "config")
	if !opts.Yes && env.Prompter.CanPrompt() && !opts.JSON {
		env.Prompter.Say("This block goes into " + path + ":\n" + b.Render("\n"))
		ok, err := env.Prompter.Confirm(ctx, "Write it (y/n)?")
		if err != nil {
			return failuref(err)
		}
		if !ok {
			rep.step("ssh config", "not written")
			return nil
		}
	}
	change, err := sshconfig.Update(path, b)
	if err != nil {
		if errors.Is(err, sshconfig.ErrDamagedMarkers) {
			return failure(err.Error(), fmt.Sprintf("fix or remove the '# BEGIN git-bbkey %s' / '# END git-bbkey %s' lines in %s, then run again", host, host, path))
		}
		return failuref(err)
	}
	if change == sshconfig.Unchanged {
		rep.SSHConfig = "unchanged"
		rep.step("ssh config", "Host "+host+" block in "+path+" is up to date")
	} else {
		rep.SSHConfig = "written"
		rep.step("ssh config", "wrote the Host "+host+" block in "+path)
	}
	return nil
}

func setupAgent(ctx context.Context, env *Env, opts setupOptions, key *generatedKey, rep *setupReport) error {
	ag := agentClient(env)
	if ag == nil {
		return failure("no ssh-agent is running (SSH_AUTH_SOCK is not set or not reachable)",
			"start one with: eval \"$(ssh-agent)\", then run setup again (or leave out --agent)")
	}
	if agentSigner(env, key.publicKey) != nil {
		rep.Agent = "present"
		rep.step("agent", "the ssh-agent already holds the key")
		return nil
	}
	if key.unlocked == nil {
		var err error
		if key.unlocked, err = unlockKey(ctx, env, key.PrivateKeyPath, opts.PassphraseFile); err != nil {
			return err
		}
	}
	raw, err := key.unlocked.AgentKey()
	if err != nil {
		return failure(fmt.Sprintf("cannot load %s for the agent: %v", key.PrivateKeyPath, err))
	}
	added := agent.AddedKey{PrivateKey: raw, Comment: key.Comment, LifetimeSecs: uint32(opts.AgentLifetime / time.Second)}
	if err := ag.Add(added); err != nil {
		return failure(fmt.Sprintf("the ssh-agent refused the key: %v", err))
	}
	rep.Agent = "added"
	msg := "added the key to the ssh-agent"
	if opts.AgentLifetime > 0 {
		msg += " for " + opts.AgentLifetime.String()
	}
	rep.step("agent", msg)
	return nil
}

func printSetup(env *Env, asJSON bool, rep *setupReport) {
	if asJSON {
		writeJSON(env.Stdout, rep)
		return
	}
	for _, l := range rep.lines {
		fmt.Fprintf(env.Stdout, "%-13s %s\n", l[0], l[1])
	}
}
