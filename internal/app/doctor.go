package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

type doctorOptions struct {
	Server string
	JSON   bool
}

func doctorCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check everything that commonly breaks SSH to Bitbucket, and say how to fix it",
		UsageText: "git bbkey doctor [--server URL] [--json]",
		Description: "Prints one line per check (ok, warn, FAIL or skip), each problem followed by the exact command " +
			"that fixes it: ~/.ssh and key file modes, missing key halves, keys that do not parse, key types " +
			"Bitbucket refuses (DSA, RSA under 2048 bits), RSA keys with OpenSSH 8.8 or later (Bitbucket does not " +
			"advertise server-sig-algs, so ssh will not sign with ssh-rsa), the ssh-agent, what ~/.ssh/config " +
			"(read through ssh -G) sets for the Bitbucket SSH host, its known_hosts entry (in the files ssh reads: " +
			"UserKnownHostsFile) against the fingerprint " +
			"Bitbucket publishes, whether SSH access is enabled on the server, and the URL form of each remote of the " +
			"repository in the current directory. Never prompts and never writes anything. " +
			"--json prints {\"checks\": [{\"name\", \"status\": \"ok|warn|fail|skip\", \"message\", \"fix\": " +
			"\"command\" | null}], \"ok\": bool}. Exit status 1 if any check fails (warnings do not), else 0.",
		Flags: []cli.Flag{serverFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return runDoctor(c.Context, env, doctorOptions{Server: c.String("server"), JSON: c.Bool("json")})
		},
	}
}

// Check statuses, as the contract prints them in JSON.
const (
	doctorOK   = "ok"
	doctorWarn = "warn"
	doctorFail = "fail"
	doctorSkip = "skip"
)

// doctorCheck is one line of the report.
type doctorCheck struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Message string  `json:"message"`
	Fix     *string `json:"fix"`
}

// Limits that keep doctor from hanging on a slow server or a stuck ssh.
const (
	doctorHTTPTimeout = 20 * time.Second
	doctorSSHTimeout  = 10 * time.Second
	// doctorManyAgentKeys is where an agent starts to exhaust the server's
	// authentication attempts (OpenSSH's MaxAuthTries is 6) before ssh gets
	// to the right key, unless IdentitiesOnly is set.
	doctorManyAgentKeys = 5
)

// doctor gathers what the checks share (keys, server settings, ssh) once.
type doctor struct {
	ctx    context.Context
	env    *Env
	home   string
	sshDir string

	keys       []sshkeys.Key
	keysErr    error
	defaultKey string // private key path git-bbkey uses; "" if none
	defaultErr error

	base       string // Bitbucket base URL; "" when unknown
	baseErr    error
	settings   *bitbucket.Settings
	settingsOK bool   // settings were read
	settingsOf string // "with credentials" or "anonymously"
	settingsEr error
	sshHost    string // the Bitbucket SSH host; "" when unknown
	sshPort    int    // its SSH port; 0 when unknown

	sshPath    string // the OpenSSH client; "" when not installed
	sshVersion string // "9.2"
	sshMajor   int
	sshMinor   int
	sshConfig  string // ~/.ssh/config when it exists
	effective  map[string]*sshEffective
	effErr     map[string]error

	agentKeys []ssh.PublicKey
	agentErr  error // nil, or why the agent could not be listed
	agentUp   bool

	checks []doctorCheck
}

func runDoctor(ctx context.Context, env *Env, opts doctorOptions) error {
	if opts.Server != "" {
		if _, err := bbsession.NormalizeBaseURL(opts.Server); err != nil {
			return err
		}
	}
	quiet := *env
	quiet.Prompter = noPrompt{}
	d := &doctor{ctx: ctx, env: &quiet, effective: map[string]*sshEffective{}, effErr: map[string]error{}}
	if err := d.gather(opts.Server); err != nil {
		return err
	}
	d.checkSSHDir()
	d.checkKeys()
	d.checkRSA()
	d.checkAgent()
	d.checkSSHConfig()
	d.checkKnownHosts()
	d.checkServer()
	d.checkRemotes()
	return d.report(opts.JSON)
}

func (d *doctor) add(name, status, msg, fix string) {
	c := doctorCheck{Name: name, Status: status, Message: msg}
	if fix != "" {
		c.Fix = &fix
	}
	d.checks = append(d.checks, c)
}

// ---- gathering ----

func (d *doctor) gather(serverFlag string) error {
	dir, err := d.env.sshDir()
	if err != nil {
		return err
	}
	d.sshDir = dir
	d.home = filepath.Dir(dir)
	d.keys, d.keysErr = sshkeys.FindKeyPairs(dir)
	d.defaultKey, d.defaultErr = defaultKeyPath(d.ctx, d.env)
	if st, err := os.Stat(filepath.Join(dir, "config")); err == nil && st.Mode().IsRegular() {
		d.sshConfig = filepath.Join(dir, "config")
	}
	d.findSSH()
	d.findServer(serverFlag)
	d.listAgent()
	return nil
}

var doctorOpenSSHVersion = regexp.MustCompile(`OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)`)

// findSSH locates the OpenSSH client and reads its version from ssh -V.
func (d *doctor) findSSH() {
	path, err := exec.LookPath("ssh")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, doctorSSHTimeout)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, "-V").CombinedOutput()
	d.sshPath = path
	if m := doctorOpenSSHVersion.FindSubmatch(out); m != nil {
		d.sshMajor, _ = strconv.Atoi(string(m[1]))
		d.sshMinor, _ = strconv.Atoi(string(m[2]))
		d.sshVersion = fmt.Sprintf("%d.%d", d.sshMajor, d.sshMinor)
	}
}

// findServer resolves the base URL, reads the SSH settings (with
// credentials when there are any, never prompting) and decides which SSH
// host and port the other checks are about.
func (d *doctor) findServer(serverFlag string) {
	d.base, d.baseErr = d.env.bitbucket().Resolve(d.ctx, serverFlag)
	if errors.Is(d.baseErr, bbsession.ErrNoServer) {
		d.baseErr = nil
	}
	if d.base != "" {
		d.fetchSettings()
		if u, err := url.Parse(d.base); err == nil {
			d.sshHost = u.Hostname()
		}
		if d.settingsOK {
			// The address users dial, as the server advertises it (even
			// with SSH switched off, for the diagnosis).
			if s, err := d.env.bitbucket().For(d.ctx, d.base); err == nil {
				if addr, _ := s.SSHAddress(d.ctx); addr.Host != "" {
					d.sshHost, d.sshPort = addr.Host, addr.Port
				}
			}
			return
		}
	}
	// No settings: an ssh:// remote on a port other than 22 with a
	// Bitbucket-shaped path (on the server's host, when that is known) is
	// the best guess at the SSH endpoint.
	name, err := defaultRemoteName(d.ctx, d.env)
	if err != nil {
		return
	}
	if r, err := d.env.gitRepo().Remote(d.ctx, name); err == nil {
		if u, err := gitremote.Parse(r.FirstURL()); err == nil && u.Scheme == "ssh" && !u.SCPLike && u.Port != 22 {
			if _, _, _, ok := u.BitbucketRepo(); ok && (d.sshHost == "" || strings.EqualFold(d.sshHost, u.Host)) {
				d.sshHost, d.sshPort = u.Host, u.Port
			}
		}
	}
}

func (d *doctor) fetchSettings() {
	ctx, cancel := context.WithTimeout(d.ctx, doctorHTTPTimeout)
	defer cancel()
	s, err := d.env.bitbucket().For(ctx, d.base)
	if err != nil {
		d.settingsEr = err
		return
	}
	d.settings, d.settingsEr = s.Settings(ctx)
	d.settingsOf = "anonymously"
	if s.SettingsWithCredentials() {
		d.settingsOf = "with credentials"
	}
	d.settingsOK = d.settingsEr == nil
}

func (d *doctor) listAgent() {
	if d.env.Getenv("SSH_AUTH_SOCK") == "" || runtime.GOOS == "windows" {
		return
	}
	ag := agentClient(d.env)
	if ag == nil {
		return
	}
	d.agentUp = true
	keys, err := ag.List()
	if err != nil {
		d.agentErr = err
		return
	}
	for _, k := range keys {
		d.agentKeys = append(d.agentKeys, k)
	}
}

// sshEffective is what `ssh -G` says OpenSSH will use for a host.
type sshEffective struct {
	hostname       string
	user           string
	port           int
	identityFiles  []string
	identitiesOnly bool
	pubkeyAlgos    []string
	knownHosts     []string // UserKnownHostsFile, as written (~ not expanded)
}

// effectiveConfig runs `ssh -G` for host with ~/.ssh/config given
// explicitly (ssh finds ~ through the passwd entry, not $HOME); with
// config "" it uses no config file at all, for the defaults. nil, nil when
// there is no ssh or no config file.
func (d *doctor) effectiveConfig(host, config string) (*sshEffective, error) {
	if d.sshPath == "" || host == "" {
		return nil, nil
	}
	if config == "" {
		config = os.DevNull
	}
	key := config + "\x00" + host
	if e, ok := d.effective[key]; ok {
		return e, d.effErr[key]
	}
	ctx, cancel := context.WithTimeout(d.ctx, doctorSSHTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.sshPath, "-G", "-T", "-F", config, "--", host)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		lines := strings.Split(msg, "\n")
		err = errors.New(strings.TrimSpace(lines[0]))
		d.effective[key], d.effErr[key] = nil, err
		return nil, err
	}
	e := parseSSHDashG(stdout.Bytes())
	d.effective[key] = e
	return e, nil
}

// parseSSHDashG reads the "keyword value" lines of `ssh -G`.
func parseSSHDashG(out []byte) *sshEffective {
	e := &sshEffective{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		kw, val, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch strings.ToLower(kw) {
		case "hostname":
			e.hostname = val
		case "user":
			e.user = val
		case "port":
			e.port, _ = strconv.Atoi(val)
		case "identityfile":
			e.identityFiles = append(e.identityFiles, val)
		case "identitiesonly":
			e.identitiesOnly = val == "yes"
		case "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes":
			e.pubkeyAlgos = strings.Split(val, ",")
		case "userknownhostsfile":
			e.knownHosts = strings.Fields(val)
		}
	}
	return e
}

// ---- the checks ----

func (d *doctor) checkSSHDir() {
	shown := d.tilde(d.sshDir)
	st, err := os.Stat(d.sshDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add("ssh-dir", doctorWarn, shown+" does not exist", "git bbkey setup (creates it with mode 0700 and a key)")
		return
	case err != nil:
		d.add("ssh-dir", doctorFail, fmt.Sprintf("cannot read %s: %v", shown, unwrapPathError(err)), "")
		return
	case !st.IsDir():
		d.add("ssh-dir", doctorFail, shown+" is not a directory", fmt.Sprintf("move it out of the way, then run git bbkey setup: mv %s %s.old", d.shell(d.sshDir), d.shell(d.sshDir)))
		return
	}
	if runtime.GOOS == "windows" {
		d.add("ssh-dir", doctorOK, shown+" is a directory (modes are not checked on Windows)", "")
		return
	}
	mode := st.Mode().Perm()
	fix := "chmod 700 " + d.shell(d.sshDir)
	switch {
	case mode&0o022 != 0:
		d.add("ssh-dir", doctorFail, fmt.Sprintf("%s is %04o: writable by group or others, so ssh may refuse its files", shown, mode), fix)
	case mode&0o077 != 0:
		d.add("ssh-dir", doctorWarn, fmt.Sprintf("%s is %04o: readable by group or others", shown, mode), fix)
	case mode&0o700 != 0o700:
		d.add("ssh-dir", doctorWarn, fmt.Sprintf("%s is %04o: you cannot use it fully yourself", shown, mode), fix)
	default:
		d.add("ssh-dir", doctorOK, fmt.Sprintf("%s is %04o", shown, mode), "")
	}
}

func (d *doctor) checkKeys() {
	if d.keysErr != nil {
		d.add("keys", doctorFail, d.keysErr.Error(), "chmod 700 "+d.shell(d.sshDir))
		return
	}
	for _, k := range d.keys {
		d.checkKey(k)
	}
	d.checkDefaultKey()
	// what killed runs left: never keys, cleaned up by the next writing run
	if leftovers, err := sshkeys.FindLeftovers(d.sshDir); err == nil {
		for _, l := range leftovers {
			d.add("key-leftover", doctorWarn, d.tilde(l.Path)+": "+l.What(),
				"git bbkey backup   (finishes or removes what an interrupted run left, and backs up your keys)")
		}
	}
}

// isDefault tells whether k is the key git-bbkey (and so setup/verify) uses.
func (d *doctor) isDefault(k sshkeys.Key) bool {
	return d.defaultKey != "" && (k.PrivateKeyPath == d.defaultKey || k.PublicKeyPath == d.defaultKey+".pub")
}

func (d *doctor) checkKey(k sshkeys.Key) {
	path := k.PrivateKeyPath
	if path == "" {
		path = k.PublicKeyPath
	}
	shown := d.tilde(path)
	problems := 0
	handled := map[int]bool{}
	mark := func(kinds ...sshkeys.ProblemKind) {
		for i, p := range k.Problems {
			if slices.Contains(kinds, p.Kind) {
				handled[i] = true
			}
		}
	}
	// file modes: ssh refuses a private key others can read
	if k.PrivateKeyPath != "" && runtime.GOOS != "windows" {
		if st, err := os.Stat(k.PrivateKeyPath); err == nil && st.Mode().Perm()&0o077 != 0 {
			d.add("key-mode", doctorFail, fmt.Sprintf("%s is %04o: a private key readable by group or others, which ssh refuses (UNPROTECTED PRIVATE KEY FILE)", shown, st.Mode().Perm()),
				"chmod 600 "+d.shell(k.PrivateKeyPath))
			problems++
		}
	}
	mark(sshkeys.ProblemLooseMode)
	// what else OpenSSH refuses to load (line endings, framing)
	var notLoadable *sshkeys.NotLoadableError
	if k.PrivateKeyPath != "" && !slices.ContainsFunc(k.Problems, sshkeys.Problem.IsParseError) &&
		errors.As(sshkeys.CheckLoadable(k.PrivateKeyPath), &notLoadable) && notLoadable.Reason != sshkeys.LoadPermissions {
		d.add("key-load", doctorFail, fmt.Sprintf("%s: OpenSSH will not load this file: %v", shown, notLoadable), notLoadableHint(notLoadable))
		problems++
	}
	// missing halves: the default key's matter, a stray half is a warning
	status := doctorWarn
	if d.isDefault(k) {
		status = doctorFail
	}
	switch {
	case k.PrivateKeyPath == "":
		d.add("key-pair", status, fmt.Sprintf("%s has no private key beside it: nothing can sign with it", shown),
			fmt.Sprintf("restore %s from a backup (see ~/.ssh/key_backup), or remove the stray .pub and run git bbkey setup", d.shell(strings.TrimSuffix(path, ".pub"))))
		problems++
	case k.PublicKeyPath == "":
		d.add("key-pair", status, fmt.Sprintf("%s has no public key %s.pub beside it (git bbkey add and verify need it)", shown, filepath.Base(path)),
			fmt.Sprintf("ssh-keygen -y -f %s > %s", d.shell(path), d.shell(path+".pub")))
		problems++
	}
	mark(sshkeys.ProblemMissingPrivate, sshkeys.ProblemMissingPublic)
	// types Bitbucket refuses
	if k.Type != "" {
		if ok, reason := sshkeys.AcceptedByBitbucket(k); !ok {
			d.add("key-type", doctorFail, fmt.Sprintf("%s: %s", shown, reason),
				"create an ed25519 key instead: git bbkey generate (or git bbkey setup --new to register it too)")
			problems++
			mark(sshkeys.ProblemRefusedType, sshkeys.ProblemDeprecated)
		}
	}
	// anything else sshkeys found: parse errors and mismatches fail
	for i, p := range k.Problems {
		if handled[i] {
			continue
		}
		st, fix := doctorWarn, ""
		switch {
		case p.IsParseError():
			st = doctorFail
			fix = fmt.Sprintf("inspect it with ssh-keygen -l -f %s; move it out of ~/.ssh if it is not a key", d.shell(path))
		case p.Kind == sshkeys.ProblemPublicMismatch:
			st = doctorFail
			fix = fmt.Sprintf("ssh-keygen -y -f %s > %s", d.shell(k.PrivateKeyPath), d.shell(k.PrivateKeyPath+".pub"))
		}
		if k.Type == "" && st == doctorWarn {
			st = doctorFail
		}
		d.add("key-parse", st, fmt.Sprintf("%s: %s", shown, p), fix)
		problems++
	}
	if problems == 0 {
		msg := fmt.Sprintf("%s: %s %d %s", shown, k.Type, k.Bits, k.Fingerprint)
		if k.Encrypted {
			msg += ", encrypted"
		}
		if d.isDefault(k) {
			msg += " (the key git bbkey uses)"
		}
		d.add("key", doctorOK, msg, "")
	}
}

func (d *doctor) checkDefaultKey() {
	if d.defaultErr != nil {
		if len(d.keys) == 0 {
			d.add("key", doctorFail, "no SSH key in "+d.tilde(d.sshDir), "git bbkey setup")
		} else {
			d.add("key", doctorWarn, "none of id_ed25519, id_ecdsa, id_rsa exists, so ssh and git bbkey use no key by default",
				"name the key to use: git config --global bbkey.keyFile ~/.ssh/NAME (and IdentityFile in ~/.ssh/config), or run git bbkey setup")
		}
		return
	}
	for _, k := range d.keys {
		if d.isDefault(k) {
			return // reported with the others
		}
	}
	// bbkey.keyFile outside ~/.ssh, or naming a file that is not there
	if !exists(d.defaultKey) {
		d.add("key", doctorFail, fmt.Sprintf("git config bbkey.keyFile names %s, which does not exist", d.tilde(d.defaultKey)),
			"git config --global --unset bbkey.keyFile, or point it at your key")
		return
	}
	k := sshkeys.Key{PrivateKeyPath: d.defaultKey}
	if pub, comment, err := readPub(d.defaultKey + ".pub"); err == nil {
		k.PublicKeyPath, k.PublicKey, k.Type, k.Bits, k.Fingerprint, k.Comment = d.defaultKey+".pub", pub, pub.Type(), sshkeys.Bits(pub), sshkeys.Fingerprint(pub), comment
	}
	d.checkKey(k)
}

// rsaKeys are the RSA keys ssh may offer: those with a private half.
func (d *doctor) rsaKeys() []string {
	var out []string
	for _, k := range d.keys {
		if k.Type == ssh.KeyAlgoRSA && k.PrivateKeyPath != "" {
			out = append(out, d.tilde(k.PrivateKeyPath))
		}
	}
	return out
}

func (d *doctor) checkRSA() {
	rsa := d.rsaKeys()
	switch {
	case d.sshPath == "":
		d.add("rsa-sha1", doctorSkip, "the OpenSSH client (ssh) is not installed", "")
		return
	case d.sshVersion == "":
		d.add("rsa-sha1", doctorSkip, "ssh -V does not say which OpenSSH version this is", "")
		return
	case len(rsa) == 0:
		d.add("rsa-sha1", doctorOK, fmt.Sprintf("OpenSSH %s; no RSA key in %s", d.sshVersion, d.tilde(d.sshDir)), "")
		return
	case d.sshMajor < 8 || d.sshMajor == 8 && d.sshMinor < 8:
		d.add("rsa-sha1", doctorOK, fmt.Sprintf("OpenSSH %s still signs with ssh-rsa, so RSA keys work", d.sshVersion), "")
		return
	}
	if d.sshConfig != "" && d.sshHost != "" {
		if e, err := d.effectiveConfig(d.sshHost, d.sshConfig); err == nil && e != nil && slices.Contains(e.pubkeyAlgos, ssh.KeyAlgoRSA) {
			d.add("rsa-sha1", doctorOK, fmt.Sprintf("OpenSSH %s, and ~/.ssh/config enables ssh-rsa for %s (PubkeyAcceptedAlgorithms)", d.sshVersion, d.sshHost), "")
			return
		}
	}
	host := d.sshHost
	if host == "" {
		host = "bitbucket.example.com"
	}
	d.add("rsa-sha1", doctorWarn,
		fmt.Sprintf("OpenSSH %s will not sign with ssh-rsa (SHA-1) and Bitbucket does not advertise server-sig-algs: git can fail with %s while other tools work",
			d.sshVersion, strings.Join(rsa, ", ")),
		fmt.Sprintf("git bbkey setup --new (an ed25519 key), or add 'PubkeyAcceptedAlgorithms +ssh-rsa' to the 'Host %s' block of ~/.ssh/config", host))
}

func (d *doctor) defaultKeyInfo() *sshkeys.Key {
	for i := range d.keys {
		if d.isDefault(d.keys[i]) {
			return &d.keys[i]
		}
	}
	return nil
}

func (d *doctor) checkAgent() {
	sock := d.env.Getenv("SSH_AUTH_SOCK")
	def := d.defaultKeyInfo()
	addFix := ""
	if def != nil && def.PrivateKeyPath != "" {
		addFix = "ssh-add " + d.shell(def.PrivateKeyPath)
	}
	switch {
	case runtime.GOOS == "windows":
		d.add("agent", doctorSkip, "the ssh-agent is not checked on Windows", "")
		return
	case sock == "":
		if def != nil && def.Encrypted {
			d.add("agent", doctorWarn, fmt.Sprintf("no ssh-agent (SSH_AUTH_SOCK is not set): ssh asks for the passphrase of %s on every git fetch and push", d.tilde(def.PrivateKeyPath)),
				`eval "$(ssh-agent -s)" && `+addFix)
			return
		}
		d.add("agent", doctorSkip, "no ssh-agent (SSH_AUTH_SOCK is not set); an unencrypted key does not need one", "")
		return
	case !d.agentUp:
		d.add("agent", doctorWarn, fmt.Sprintf("SSH_AUTH_SOCK is set, but no ssh-agent answers at %s", sock),
			`start one: eval "$(ssh-agent -s)"`)
		return
	case d.agentErr != nil:
		d.add("agent", doctorWarn, fmt.Sprintf("the ssh-agent at %s does not list its keys: %v", sock, d.agentErr), "")
		return
	}
	msg := fmt.Sprintf("ssh-agent holds %d keys", len(d.agentKeys))
	if len(d.agentKeys) == 1 {
		msg = "ssh-agent holds 1 key"
	}
	if def == nil || def.Fingerprint == "" {
		d.add("agent", doctorOK, msg, "")
		return
	}
	loaded := false
	for _, k := range d.agentKeys {
		if ssh.FingerprintSHA256(k) == def.Fingerprint {
			loaded = true
		}
	}
	if loaded {
		d.add("agent", doctorOK, fmt.Sprintf("%s, %s among them", msg, d.tilde(def.PrivateKeyPath)), "")
		return
	}
	if def.Encrypted {
		d.add("agent", doctorWarn, fmt.Sprintf("%s, but not %s, so ssh asks for its passphrase every time", msg, d.tilde(def.PrivateKeyPath)), addFix)
		return
	}
	d.add("agent", doctorOK, fmt.Sprintf("%s, not %s (ssh reads it from the file)", msg, d.tilde(def.PrivateKeyPath)), "")
}

func (d *doctor) checkSSHConfig() {
	switch {
	case d.sshConfig == "":
		d.add("ssh-config", doctorSkip, "no ~/.ssh/config", "")
		return
	case d.sshPath == "":
		d.add("ssh-config", doctorSkip, "the OpenSSH client (ssh) is not installed, so ~/.ssh/config is not read", "")
		return
	case d.sshHost == "":
		d.add("ssh-config", doctorSkip, "the Bitbucket SSH host is not known", doctorServerFix)
		return
	}
	if runtime.GOOS != "windows" {
		if st, err := os.Stat(d.sshConfig); err == nil && st.Mode().Perm()&0o022 != 0 {
			d.add("ssh-config", doctorFail, fmt.Sprintf("~/.ssh/config is %04o: writable by group or others, so ssh refuses to use it (Bad owner or permissions)", st.Mode().Perm()),
				"chmod 600 "+d.shell(d.sshConfig))
			return
		}
	}
	e, err := d.effectiveConfig(d.sshHost, d.sshConfig)
	if err != nil {
		d.add("ssh-config", doctorFail, fmt.Sprintf("ssh cannot read ~/.ssh/config: %v", err),
			fmt.Sprintf("fix the line it names, then check with: ssh -G -F %s %s", d.shell(d.sshConfig), d.sshHost))
		return
	}
	defaults, _ := d.effectiveConfig(d.sshHost, "")
	configured := e.identityFiles
	if defaults != nil && doctorSameSet(e.identityFiles, defaults.identityFiles) {
		configured = nil
	}
	idOnly := "no"
	if e.identitiesOnly {
		idOnly = "yes"
	}
	ids := "ssh's default identity files"
	if len(configured) > 0 {
		shown := make([]string, len(configured))
		for i, f := range configured {
			shown[i] = d.tilde(f)
		}
		ids = strings.Join(shown, ", ")
	}
	summary := fmt.Sprintf("for %s: hostname %s, user %s, port %d, identityfile %s, identitiesonly %s", d.sshHost, e.hostname, e.user, e.port, ids, idOnly)
	problems := 0
	defaultPort := 22
	if defaults != nil && defaults.port != 0 {
		defaultPort = defaults.port
	}
	if e.port != defaultPort && d.sshPort != 0 && e.port != d.sshPort {
		d.add("ssh-config", doctorFail, fmt.Sprintf("~/.ssh/config sets port %d for %s, but Bitbucket listens for SSH on %d", e.port, d.sshHost, d.sshPort),
			fmt.Sprintf("set 'Port %d' in the Host block for %s in ~/.ssh/config", d.sshPort, d.sshHost))
		problems++
	}
	for _, f := range configured {
		p := d.expandSSHPath(f)
		if p == "" || exists(p) {
			continue
		}
		d.add("ssh-config", doctorWarn, fmt.Sprintf("~/.ssh/config names IdentityFile %s for %s, which does not exist", f, d.sshHost),
			"correct the IdentityFile line in ~/.ssh/config, or create the key: git bbkey generate --file "+d.shell(p))
		problems++
	}
	if !e.identitiesOnly && len(d.agentKeys) >= doctorManyAgentKeys {
		d.add("ssh-config", doctorWarn, fmt.Sprintf("the ssh-agent holds %d keys and IdentitiesOnly is no for %s: ssh offers them all first and the server may hang up (Too many authentication failures) or take another user's key", len(d.agentKeys), d.sshHost),
			fmt.Sprintf("add 'IdentitiesOnly yes' and 'IdentityFile' for your key to the Host %s block of ~/.ssh/config (git bbkey setup --ssh-config writes one)", d.sshHost))
		problems++
	}
	if problems == 0 {
		d.add("ssh-config", doctorOK, summary, "")
	}
}

// expandSSHPath resolves an IdentityFile as ssh would, with our home for
// ~ and %d; "" for paths with other % tokens we cannot expand.
func (d *doctor) expandSSHPath(p string) string {
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		p = filepath.Join(d.home, p[1:])
	case strings.HasPrefix(p, "%d/"):
		p = filepath.Join(d.home, p[2:])
	}
	if strings.Contains(p, "%") {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.sshDir, p)
	}
	return p
}

func (d *doctor) checkKnownHosts() {
	if d.sshHost == "" {
		d.add("known-hosts", doctorSkip, "the Bitbucket SSH host is not known", doctorServerFix)
		return
	}
	if d.sshPort == 0 {
		d.add("known-hosts", doctorSkip, fmt.Sprintf("the SSH port of %s is not known (the server's SSH settings could not be read)", d.sshHost), "")
		return
	}
	where := knownHostsName(d.sshHost, d.sshPort)
	file := filepath.Join(d.sshDir, "known_hosts")
	userFiles, fromConfig := d.sshKnownHostsFiles()
	if !fromConfig {
		userFiles = []string{file}
	}
	kh, err := sshverify.LoadKnownHosts(slices.Concat(userFiles, systemKnownHosts())...)
	if err != nil {
		d.add("known-hosts", doctorWarn, fmt.Sprintf("cannot read the known hosts: %v", err),
			fmt.Sprintf("look for the broken line, or remove the entry and pin it again: ssh-keygen -R '%s' && git bbkey verify", where))
		return
	}
	// What ssh accepts: host keys for the host that no @revoked line refuses.
	hk := kh.Known(sshverify.HostRef{Host: d.sshHost, Port: d.sshPort})
	known := hk.Usable()
	published := ""
	if d.settingsOK && strings.HasPrefix(d.settings.Fingerprint, "SHA256:") {
		published = d.settings.Fingerprint
	}
	pinFix := "git bbkey verify (pins the host key after checking it against the fingerprint Bitbucket publishes)"
	in := ""
	if fromConfig {
		shown := make([]string, len(userFiles))
		for i, f := range userFiles {
			shown[i] = d.tilde(f)
		}
		in = fmt.Sprintf(" in %s (UserKnownHostsFile in ~/.ssh/config)", strings.Join(shown, " "))
		if !slices.Contains(userFiles, file) {
			// verify pins into ~/.ssh/known_hosts, which ssh does not read.
			pinFix = fmt.Sprintf("add ~/.ssh/known_hosts, where git bbkey pins host keys, to the UserKnownHostsFile line for %s in ~/.ssh/config; then run: git bbkey verify", d.sshHost)
		}
	}
	if published != "" {
		for _, r := range hk.Revoked {
			if ssh.FingerprintSHA256(r.Key) == published {
				d.add("known-hosts", doctorFail, fmt.Sprintf("the host key %s publishes for %s (%s) is marked @revoked in %s: ssh refuses to connect",
					d.base, where, published, d.tilde(r.File)+":"+strconv.Itoa(r.Line)),
					"ask your Bitbucket admin why the server still uses a withdrawn host key; do not delete the @revoked line to get past this")
				return
			}
		}
	}
	if len(known) == 0 && len(hk.Keys) > 0 {
		r := hk.RevokedBy(hk.Keys[0].Key)
		d.add("known-hosts", doctorFail, fmt.Sprintf("the known_hosts entry for %s (%s) is marked @revoked in %s: ssh refuses that key",
			where, ssh.FingerprintSHA256(hk.Keys[0].Key), d.tilde(r.File)+":"+strconv.Itoa(r.Line)),
			"ask your Bitbucket admin for the server's current host key fingerprint, then remove the old entry: ssh-keygen -R '"+where+"' && git bbkey verify")
		return
	}
	if len(known) == 0 {
		if fromConfig {
			d.add("known-hosts", doctorWarn, fmt.Sprintf("ssh looks for the host key of %s%s and finds none: the first connection cannot check who answers", where, in), pinFix)
			return
		}
		d.add("known-hosts", doctorWarn, fmt.Sprintf("~/.ssh/known_hosts has no entry for %s: the first connection cannot check who answers", where), pinFix)
		return
	}
	var fps []string
	for _, e := range known {
		fp := ssh.FingerprintSHA256(e.Key)
		if fp == published {
			d.add("known-hosts", doctorOK, fmt.Sprintf("%s is known%s (%s %s) and matches the fingerprint %s publishes", where, in, e.Key.Type(), fp, d.base), "")
			return
		}
		fps = append(fps, fp)
	}
	if published == "" {
		d.add("known-hosts", doctorOK, fmt.Sprintf("%s is known%s (%s); not compared with the server: its SSH settings could not be read", where, in, strings.Join(fps, ", ")), "")
		return
	}
	channel := ""
	if !d.verifiedChannel() {
		channel = " (the fingerprint was read over a connection that is not verified HTTPS, so it proves little either way)"
	}
	d.add("known-hosts", doctorFail,
		fmt.Sprintf("the known_hosts entry for %s (%s) does not match the host key %s publishes (%s): the server's key changed, or someone is intercepting the connection%s",
			where, strings.Join(fps, ", "), d.base, published, channel),
		fmt.Sprintf("check the fingerprint with your Bitbucket admin first; if the key really changed: ssh-keygen -R '%s' && git bbkey verify", where))
}

// sshKnownHostsFiles returns the known_hosts files ssh reads for the
// Bitbucket host when ~/.ssh/config sets UserKnownHostsFile to something
// else than ssh's default (fromConfig), expanded as ssh would.
func (d *doctor) sshKnownHostsFiles() (files []string, fromConfig bool) {
	if d.sshConfig == "" {
		return nil, false
	}
	e, err := d.effectiveConfig(d.sshHost, d.sshConfig)
	if err != nil || e == nil || len(e.knownHosts) == 0 {
		return nil, false
	}
	if defaults, _ := d.effectiveConfig(d.sshHost, ""); defaults == nil || doctorSameSet(e.knownHosts, defaults.knownHosts) {
		return nil, false
	}
	for _, f := range e.knownHosts {
		if p := d.expandSSHPath(f); p != "" {
			files = append(files, p)
		}
	}
	return files, len(files) > 0
}

// verifiedChannel tells whether the settings came over a trusted channel
// (bbsession.Session.TrustedChannel), as verify demands before it trusts
// the published fingerprint.
func (d *doctor) verifiedChannel() bool {
	s, err := d.env.bitbucket().For(d.ctx, d.base)
	return err == nil && s.TrustedChannel()
}

const doctorServerFix = "pass --server https://bitbucket.example.com, or run: git config --global bbkey.url https://bitbucket.example.com"

func (d *doctor) checkServer() {
	if d.baseErr != nil {
		msg, fix := d.baseErr.Error(), ""
		if h := explain(d.baseErr).Hints; len(h) > 0 {
			fix = h[0]
		}
		var bad *bbsession.BaseURLError
		if errors.As(d.baseErr, &bad) {
			fix = "git config --global bbkey.url https://bitbucket.example.com"
		}
		d.add("server", doctorFail, lowerFirst(msg), fix)
		return
	}
	if d.base == "" {
		d.add("server", doctorSkip, "no Bitbucket server URL (no --server, no bbkey.url, no https remote)", doctorServerFix)
		return
	}
	if d.settingsEr != nil {
		var be *bitbucket.Error
		switch {
		case errors.As(d.settingsEr, &be) && be.Kind == bitbucket.KindUnauthorized && d.settingsOf == "anonymously":
			d.add("server", doctorWarn, fmt.Sprintf("%s shows its SSH settings only to a signed-in user, and there are no credentials", d.base),
				"set BITBUCKET_TOKEN to an HTTP access token, or store your password with git credential approve")
		case errors.As(d.settingsEr, &be) && be.Kind == bitbucket.KindUnauthorized:
			d.add("server", doctorFail, fmt.Sprintf("%s rejected the credentials: %v", d.base, d.settingsEr),
				"check BITBUCKET_TOKEN, or the password git credential gives for "+d.base)
		case errors.As(d.settingsEr, &be) && be.Kind == bitbucket.KindNotJSON:
			d.add("server", doctorFail, fmt.Sprintf("cannot read the SSH settings of %s: %v", d.base, d.settingsEr),
				"check that the URL is the Bitbucket base URL with its context path: git config --global bbkey.url https://…")
		default:
			d.add("server", doctorFail, fmt.Sprintf("cannot read the SSH settings of %s: %v", d.base, d.settingsEr),
				fmt.Sprintf("check that %s is reachable (VPN, proxy, firewall) and is the right URL", d.base))
		}
		return
	}
	if !d.settings.Enabled {
		d.add("server", doctorFail, fmt.Sprintf("SSH access is disabled on %s", d.base),
			"ask your Bitbucket admin to enable SSH access (Administration > Server settings > SSH access); until then use https")
		return
	}
	d.add("server", doctorOK, fmt.Sprintf("SSH access is enabled on %s: %s port %d (settings read %s)", d.base, d.sshHost, d.sshPort, d.settingsOf), "")
}

func (d *doctor) isBitbucketHost(host string) bool {
	if host == "" {
		return false
	}
	if d.sshHost != "" && strings.EqualFold(host, d.sshHost) {
		return true
	}
	if u, err := url.Parse(d.base); err == nil && d.base != "" && strings.EqualFold(host, u.Hostname()) {
		return true
	}
	return false
}

func (d *doctor) checkRemotes() {
	remotes, err := d.env.gitRepo().Remotes(d.ctx)
	if err != nil {
		if errors.Is(err, gitremote.ErrNotRepository) {
			d.add("remote", doctorSkip, "not inside a git repository", "")
		} else {
			d.add("remote", doctorWarn, fmt.Sprintf("cannot read the remotes: %v", err), "")
		}
		return
	}
	if len(remotes) == 0 {
		d.add("remote", doctorSkip, "this repository has no remotes", "")
		return
	}
	for _, r := range remotes {
		d.checkRemote(r)
	}
}

func (d *doctor) checkRemote(r gitremote.Remote) {
	raw := r.FirstURL()
	u, err := gitremote.Parse(raw)
	if err != nil {
		d.add("remote", doctorSkip, fmt.Sprintf("%s: %s is not an ssh or https URL", r.Name, raw), "")
		return
	}
	if u.Scheme != "ssh" {
		base, _, _, ok := u.BitbucketRepo()
		if !ok || (d.base != "" && !doctorSameHost(base, d.base)) {
			d.add("remote", doctorSkip, fmt.Sprintf("%s: %s is not a Bitbucket repository URL", r.Name, u.Raw), "")
			return
		}
		d.add("remote", doctorWarn, fmt.Sprintf("%s uses https (%s): SSH keys are not used for it", r.Name, u.Raw),
			fmt.Sprintf("switch it to SSH: git bbkey setup --fix-remote --remote %s", r.Name))
		return
	}
	// What ssh will really connect to: ~/.ssh/config may rename the host
	// (HostName) and give the port of a URL that names none.
	host, port := u.Host, u.Port
	viaConfig := false
	if d.sshConfig != "" {
		if e, err := d.effectiveConfig(u.Host, d.sshConfig); err == nil && e != nil {
			if e.hostname != "" {
				host = e.hostname
			}
			if u.SCPLike || u.Port == 22 {
				viaConfig = e.port != port
				port = e.port
			}
		}
	}
	if !d.isBitbucketHost(host) && !d.isBitbucketHost(u.Host) {
		if d.sshHost == "" {
			d.add("remote", doctorSkip, fmt.Sprintf("%s: cannot tell whether %s is Bitbucket without its URL", r.Name, u.Host), doctorServerFix)
		} else {
			d.add("remote", doctorSkip, fmt.Sprintf("%s: %s is not the Bitbucket SSH host %s", r.Name, u.Host, d.sshHost), "")
		}
		return
	}
	want := d.sshPort
	user := u.User
	if user == "" {
		user = "git"
	}
	fixURL := func(p int) string {
		return fmt.Sprintf("git remote set-url %s ssh://%s@%s/%s", r.Name, user, net.JoinHostPort(u.Host, strconv.Itoa(p)), strings.TrimPrefix(u.Path, "/"))
	}
	form := ""
	if u.SCPLike {
		form = "the scp-like "
	}
	switch {
	case want != 0 && port == want:
		how := ""
		if viaConfig {
			how = " (from ~/.ssh/config)"
		}
		d.add("remote", doctorOK, fmt.Sprintf("%s uses %s%s, port %d%s", r.Name, form, u.Raw, port, how), "")
	case want == 0 && !(u.SCPLike && port == 22):
		d.add("remote", doctorOK, fmt.Sprintf("%s uses %s%s, port %d (the server's SSH port is not known)", r.Name, form, u.Raw, port), "")
	case want == 0:
		d.add("remote", doctorWarn, fmt.Sprintf("%s uses the scp-like %s, which means port 22; Bitbucket Server listens on 7999 unless an admin changed it", r.Name, u.Raw),
			fixURL(bbsession.DefaultSSHPort))
	case u.SCPLike:
		d.add("remote", doctorFail, fmt.Sprintf("%s uses the scp-like %s, which means port %d; Bitbucket listens on %d", r.Name, u.Raw, port, want), fixURL(want))
	default:
		d.add("remote", doctorFail, fmt.Sprintf("%s uses port %d (%s); Bitbucket listens on %d", r.Name, port, u.Raw, want), fixURL(want))
	}
}

func doctorSameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Hostname(), ub.Hostname())
}

// ---- output ----

func (d *doctor) report(asJSON bool) error {
	failed := 0
	for _, c := range d.checks {
		if c.Status == doctorFail {
			failed++
		}
	}
	if asJSON {
		if err := writeJSON(d.env.Stdout, struct {
			Checks []doctorCheck `json:"checks"`
			OK     bool          `json:"ok"`
		}{d.checks, failed == 0}); err != nil {
			return err
		}
	} else {
		width := 0
		for _, c := range d.checks {
			width = max(width, len(c.Name))
		}
		for _, c := range d.checks {
			status := c.Status
			if status == doctorFail {
				status = "FAIL"
			}
			fmt.Fprintf(d.env.Stdout, "%-5s %-*s  %s\n", status, width, c.Name, c.Message)
			if c.Fix != nil {
				fmt.Fprintf(d.env.Stdout, "      fix: %s\n", *c.Fix)
			}
		}
	}
	if failed > 0 {
		hint := "run the fix: lines above, then git bbkey doctor again"
		if asJSON {
			hint = "run the fix of each failed check, then git bbkey doctor again"
		}
		return failure(fmt.Sprintf("%d of %d checks failed", failed, len(d.checks)), hint)
	}
	return nil
}

// tilde shows a path under the home directory as ~/….
func (d *doctor) tilde(p string) string {
	if d.home != "" {
		if rel, err := filepath.Rel(d.home, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return p
}

// shell is a path as a shell command argument: ~/… when it needs no
// quoting, else the full path in single quotes.
func (d *doctor) shell(p string) string {
	if t := d.tilde(p); !strings.ContainsAny(t, " \t\n'\"\\$`!*?[]{}()<>|&;#") {
		return t
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// doctorSameSet tells whether a and b hold the same strings in any order.
func doctorSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
