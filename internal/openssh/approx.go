package openssh

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// defaultIdentityFiles are OpenSSH's, in its order, when nothing names one.
var defaultIdentityFiles = []string{"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk",
	"~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa"}

// approximate reads the settings from the configuration files without
// ssh (it is not installed where git-bbkey looks, as on Windows with
// git's own ssh): the options of the command line (words, args) first,
// then the user's config under $HOME, then the system one, with
// OpenSSH's defaults. What OpenSSH alone can evaluate (Match beyond
// host/all, tokens in HostName beyond %h) is approximated.
func (r *Resolver) approximate(t Target, words, args []string, hop hopCommand) (*Settings, error) {
	var cmdArgs []string
	if len(words) > 1 {
		cmdArgs = append(cmdArgs, words[1:]...)
	}
	opts, err := parseSSHArgs(append(cmdArgs, args...))
	if err != nil {
		opts, _ = parseSSHArgs(args)
	}
	var flat bytes.Buffer
	for _, kv := range opts.Lines {
		if kv[0] == "-i" {
			// ssh expands -i at once and drops a file it cannot read.
			p, err := tildeExpand(kv[1], r.Local.Home)
			if _, serr := os.Stat(p); err != nil || serr != nil {
				continue
			}
			kv = [2]string{"IdentityFile", p}
		}
		fmt.Fprintf(&flat, "%s %s\n", kv[0], quoteValue(kv[1]))
	}
	if t.User != "" {
		fmt.Fprintf(&flat, "User %s\n", t.User)
	}
	home := r.Home
	if home == "" {
		home = r.Local.Home
	}
	in := &inliner{home: home, alias: t.Host, out: &flat}
	if opts.ConfigFile != "" {
		if err := in.file(opts.ConfigFile, filepath.Join(home, ".ssh"), 0, true); err != nil {
			return nil, err
		}
	} else {
		if err := in.file(filepath.Join(home, ".ssh", "config"), filepath.Join(home, ".ssh"), 0, false); err != nil {
			return nil, err
		}
		if r.SystemConfig != "" {
			flat.WriteString("Host *\n")
			if err := in.file(r.SystemConfig, filepath.Dir(r.SystemConfig), 0, false); err != nil {
				return nil, err
			}
		}
	}
	cfg, err := ssh_config.DecodeBytes(flat.Bytes())
	if err != nil {
		return nil, fmt.Errorf("read ssh config: %w", err)
	}
	// Host patterns match the destination as given, case and all.
	alias := t.Host
	get := func(key string) string {
		v, err := cfg.Get(alias, key)
		if err != nil {
			return ""
		}
		return unquote(v)
	}
	getAll := func(key string) []string {
		vs, _ := cfg.GetAll(alias, key)
		for i := range vs {
			vs[i] = unquote(vs[i])
		}
		return vs
	}

	s := &Settings{Target: t, Variant: VariantSSH, Approximated: true, AccountHome: r.Local.Home, Home: r.Home,
		ConfigFiles: in.files, hop: hop, approxMatch: in.sawMatch}
	if s.AccountHome == "" {
		s.AccountHome = home
	}
	raw := map[string][]string{}
	s.Hostname = strings.ToLower(alias)
	if h := get("HostName"); h != "" {
		s.Hostname = strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(h, "%h", alias), "%%", "%"))
	}
	s.Port = 22
	if p, err := strconv.Atoi(get("Port")); err == nil && p > 0 && p < 65536 {
		s.Port = p
	}
	s.User = get("User")
	if s.User == "" {
		s.User = r.Local.User
	}
	raw["hostname"], raw["port"], raw["user"] = []string{s.Hostname}, []string{strconv.Itoa(s.Port)}, []string{s.User}
	raw["identityfile"] = getAll("IdentityFile")
	if len(raw["identityfile"]) == 0 {
		raw["identityfile"] = defaultIdentityFiles
	}
	raw["certificatefile"] = getAll("CertificateFile")
	s.IdentitiesOnly = strings.EqualFold(get("IdentitiesOnly"), "yes")
	s.IdentityAgent = get("IdentityAgent")
	s.ProxyJump = noneEmpty(get("ProxyJump"))
	s.ProxyCommand = noneEmpty(get("ProxyCommand"))
	if s.ProxyJump != "" && s.ProxyCommand != "" {
		s.ProxyCommand = "" // ssh lets the first one win; the flattened order is close enough
	}
	s.ProxyUseFdpass = strings.EqualFold(get("ProxyUseFdpass"), "yes")
	s.HostKeyAlias = get("HostKeyAlias")
	s.StrictHostKeyChecking = strictValue(strings.ToLower(get("StrictHostKeyChecking")))
	s.KnownHostsCommand = noneEmpty(get("KnownHostsCommand"))
	s.BatchMode = strings.EqualFold(get("BatchMode"), "yes")
	s.PKCS11Provider = noneEmpty(get("PKCS11Provider"))
	s.SecurityKeyProvider = get("SecurityKeyProvider")
	if s.SecurityKeyProvider == "" {
		s.SecurityKeyProvider = "internal"
	}
	s.ControlMaster = controlMasterValue(strings.ToLower(get("ControlMaster")))
	if secs, err := strconv.Atoi(get("ConnectTimeout")); err == nil && secs > 0 {
		s.ConnectTimeout = time.Duration(secs) * time.Second
	}
	s.GlobalKnownHostsFiles = strings.Fields(get("GlobalKnownHostsFile"))
	if len(s.GlobalKnownHostsFiles) == 0 {
		s.GlobalKnownHostsFiles = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	s.raw = raw
	if err := s.fillFiles(raw, r.Local, r.lookupEnv, ""); err != nil {
		return nil, err
	}
	khs := strings.Fields(get("UserKnownHostsFile"))
	if len(khs) == 0 {
		khs = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	t2 := tokenValues{local: r.Local, hostname: s.Hostname, hostArg: t.Host, port: s.Port, user: s.User, keyAlias: t.Host}
	for _, v := range khs {
		f, err := s.expandFile(v, t2, r.lookupEnv)
		if err != nil {
			return nil, err
		}
		s.UserKnownHostsFiles = append(s.UserKnownHostsFiles, f)
	}
	return s, nil
}

// notOpenSSH describes a program that is not OpenSSH (PuTTY's plink,
// a "simple" ssh): it reads no ssh_config, so only the URL is known.
func (r *Resolver) notOpenSSH(t Target, v Variant) *Settings {
	s := &Settings{Target: t, Hostname: strings.ToLower(t.Host), Port: t.Port, User: t.User, Variant: v,
		Approximated: true, AccountHome: r.Local.Home, Home: r.Home, StrictHostKeyChecking: "ask", hop: hopCommandOf(r.Command)}
	if s.Port == 0 {
		s.Port = 22
	}
	if s.User == "" {
		s.User = r.Local.User
	}
	s.raw = map[string][]string{"hostname": {s.Hostname}, "port": {strconv.Itoa(s.Port)}, "user": {s.User}}
	return s
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// inliner flattens configuration files for ssh_config, which neither
// follows Include the way OpenSSH does nor reads Match: Include is
// replaced by the files it names (the enclosing Host line is repeated
// after them, as OpenSSH returns to it), and Match by the Host line that
// means the same for "all", "host" and "originalhost" (other criteria
// need OpenSSH: such blocks are left out).
type inliner struct {
	home     string
	alias    string // the destination: an Include inside a block applies only if the block matches it
	out      *bytes.Buffer
	files    []string
	sawMatch bool // a Match line was read (approximated, or left out)
}

const maxIncludeDepth = 16

func (in *inliner) file(path, relDir string, depth int, required bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if !required && os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read ssh config: %w", err)
	}
	in.files = append(in.files, path)
	block := ""
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(strings.TrimRight(line, "\r"))
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, value := splitOption(trimmed)
		switch strings.ToLower(key) {
		case "host":
			block = "Host " + strings.Join(strings.Fields(value), " ")
			in.out.WriteString(block + "\n")
		case "match":
			in.sawMatch = true
			block = matchAsHost(value)
			in.out.WriteString(block + "\n")
		case "include":
			if block != "" && !blockMatches(block, in.alias) {
				continue // OpenSSH reads nothing of it for this destination
			}
			if depth >= maxIncludeDepth {
				return fmt.Errorf("read ssh config: Include nested too deeply in %q", path)
			}
			for _, pattern := range strings.Fields(value) {
				pattern = unquote(pattern)
				if p, err := tildeExpand(pattern, in.home); err == nil {
					pattern = p
				}
				if !filepath.IsAbs(pattern) {
					pattern = filepath.Join(relDir, pattern)
				}
				matches, _ := filepath.Glob(pattern)
				for _, m := range matches {
					if err := in.file(m, relDir, depth+1, false); err != nil {
						return err
					}
				}
			}
			if block != "" {
				in.out.WriteString(block + "\n")
			}
		default:
			in.out.WriteString(key + " " + value + "\n")
		}
	}
	return nil
}

// matchAsHost turns a Match line into the Host line that selects the
// same destinations when only host names decide; a criterion only
// OpenSSH can evaluate (exec, user, localuser, canonical, final, …)
// gives a block that matches nothing.
func matchAsHost(criteria string) string {
	never := "Host !*"
	words := strings.Fields(criteria)
	var patterns []string
	for i := 0; i < len(words); i++ {
		switch strings.ToLower(words[i]) {
		case "all":
			patterns = append(patterns, "*")
		case "host", "originalhost":
			if i+1 == len(words) {
				return never
			}
			i++
			// Match host compares lower case with lower case.
			patterns = append(patterns, strings.Split(strings.ToLower(unquote(words[i])), ",")...)
		default:
			return never
		}
	}
	if len(patterns) == 0 {
		return never
	}
	return "Host " + strings.Join(patterns, " ")
}

// blockMatches reports whether a Host line (as the inliner writes it)
// selects alias, by ssh_config's own pattern rules.
func blockMatches(hostLine, alias string) bool {
	cfg, err := ssh_config.DecodeBytes([]byte(hostLine + "\n"))
	if err != nil || len(cfg.Hosts) < 2 {
		return false
	}
	return cfg.Hosts[1].Matches(alias)
}

// quoteValue quotes a value with blanks for the flattened config.
func quoteValue(v string) string {
	if strings.ContainsAny(v, " \t") && !strings.HasPrefix(v, `"`) {
		return `"` + v + `"`
	}
	return v
}
