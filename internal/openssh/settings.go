package openssh

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// File is a file OpenSSH reads, seen two ways: Path is where OpenSSH
// reads it (its ~ and %d are the account's home from the password
// database); HomePath is the same file with ~ taken as $HOME, as git and
// git-bbkey find their files. They differ only when the homes differ
// (sudo without -H, some containers); the caller decides which to use
// and can say so (Settings.HomeDiffers).
type File struct {
	Path     string
	HomePath string
}

// Settings are OpenSSH's effective settings for one destination.
type Settings struct {
	Target   Target // the destination asked for
	Hostname string // the host ssh connects to (HostName applied)
	Port     int
	User     string

	// IdentityFiles in the order ssh tries them, ~, %-tokens and ${VAR}
	// expanded ("none" entries dropped). Files that do not exist are
	// listed too: ssh skips them when it loads keys.
	IdentityFiles    []File
	CertificateFiles []File
	IdentitiesOnly   bool
	// IdentityAgent: "" when unset (ssh uses $SSH_AUTH_SOCK), "none",
	// "SSH_AUTH_SOCK", or a socket path as ssh expanded it.
	IdentityAgent string

	// ProxyJump and ProxyCommand as configured ("" for none); the
	// command's tokens are expanded by ExpandProxyCommand.
	ProxyJump      string
	ProxyCommand   string
	ProxyUseFdpass bool

	UserKnownHostsFiles   []File
	GlobalKnownHostsFiles []string
	HostKeyAlias          string
	// StrictHostKeyChecking: "yes", "no", "accept-new" or "ask".
	StrictHostKeyChecking string
	KnownHostsCommand     string
	ConnectTimeout        time.Duration // 0: none (the system's TCP timeout)
	BatchMode             bool
	PKCS11Provider        string // "" when none
	SecurityKeyProvider   string
	ControlMaster         string // "no", "yes", "auto", "ask", "autoask"
	ControlPath           string // as ssh expanded it; "" when none

	// ConfigFiles ssh read, in order; MatchExec the `Match exec`
	// commands it ran to decide (both from ssh -v).
	ConfigFiles []string
	MatchExec   []string

	// Variant of the program git runs (VariantAuto resolved by the probe).
	Variant Variant
	// Approximated: ssh could not be asked (not installed, or not
	// OpenSSH); these settings were read from the configuration files
	// and may differ from what OpenSSH does.
	Approximated bool
	// AccountHome is OpenSSH's ~ (the password database); Home is $HOME.
	AccountHome string
	Home        string

	raw map[string][]string
	// hop holds how ssh would run the jump command for ProxyJump.
	hop hopCommand
	// approxMatch: approximated settings whose files had Match blocks.
	approxMatch bool
}

// HomeDiffers reports whether OpenSSH's ~ is not $HOME, so that files
// under ~ are not the ones git-bbkey reads by default.
func (s *Settings) HomeDiffers() bool {
	return s.AccountHome != "" && s.Home != "" && cleanDir(s.AccountHome) != cleanDir(s.Home)
}

// Get returns the values of an `ssh -G` keyword (lower case) as ssh
// printed them, for settings without a field.
func (s *Settings) Get(keyword string) []string { return s.raw[strings.ToLower(keyword)] }

// KnownHostsName is the name known_hosts entries are looked up and added
// under, as OpenSSH has it: HostKeyAlias as it is when set (no port),
// else the host name, as "[name]:port" when the port is not 22.
func (s *Settings) KnownHostsName() string {
	if s.HostKeyAlias != "" {
		return s.HostKeyAlias
	}
	if s.Port != 22 {
		return "[" + s.Hostname + "]:" + strconv.Itoa(s.Port)
	}
	return s.Hostname
}

// parseDump reads `ssh -G` output: one "keyword value" per line; repeated
// keywords (identityfile, certificatefile, sendenv, …) keep their order.
func parseDump(out string) (map[string][]string, error) {
	raw := make(map[string][]string)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		key = strings.ToLower(key)
		raw[key] = append(raw[key], value)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if raw["hostname"] == nil || raw["port"] == nil {
		return nil, fmt.Errorf("no hostname or port in ssh -G output")
	}
	return raw, nil
}

func first(raw map[string][]string, key string) string {
	if v := raw[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// fillScalars sets the settings ssh -G prints in final form.
func (s *Settings) fillScalars(raw map[string][]string) error {
	s.raw = raw
	s.Hostname = first(raw, "hostname")
	port, err := strconv.Atoi(first(raw, "port"))
	if err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("bad port %q in ssh -G output", first(raw, "port"))
	}
	s.Port = port
	s.User = first(raw, "user")
	s.IdentitiesOnly = yes(first(raw, "identitiesonly"))
	s.IdentityAgent = first(raw, "identityagent")
	s.ProxyJump = noneEmpty(first(raw, "proxyjump"))
	s.ProxyCommand = noneEmpty(first(raw, "proxycommand"))
	s.ProxyUseFdpass = yes(first(raw, "proxyusefdpass"))
	s.HostKeyAlias = first(raw, "hostkeyalias")
	s.StrictHostKeyChecking = strictValue(first(raw, "stricthostkeychecking"))
	s.KnownHostsCommand = noneEmpty(first(raw, "knownhostscommand"))
	s.BatchMode = yes(first(raw, "batchmode"))
	s.PKCS11Provider = noneEmpty(first(raw, "pkcs11provider"))
	s.SecurityKeyProvider = first(raw, "securitykeyprovider")
	s.ControlMaster = controlMasterValue(first(raw, "controlmaster"))
	s.ControlPath = noneEmpty(first(raw, "controlpath"))
	s.ConnectTimeout = 0
	if ct := first(raw, "connecttimeout"); ct != "" && ct != "none" {
		secs, err := strconv.Atoi(ct)
		if err != nil || secs < 0 {
			return fmt.Errorf("bad connecttimeout %q in ssh -G output", ct)
		}
		s.ConnectTimeout = time.Duration(secs) * time.Second
	}
	for _, v := range raw["globalknownhostsfile"] {
		s.GlobalKnownHostsFiles = append(s.GlobalKnownHostsFiles, strings.Fields(v)...)
	}
	return nil
}

func yes(v string) bool { return v == "yes" || v == "true" }

func noneEmpty(v string) string {
	if strings.EqualFold(v, "none") {
		return ""
	}
	return v
}

// strictValue maps ssh -G's true/false back to the configuration words.
func strictValue(v string) string {
	switch v {
	case "true", "yes":
		return "yes"
	case "false", "no", "off":
		return "no"
	case "":
		return "ask"
	}
	return v
}

func controlMasterValue(v string) string {
	switch v {
	case "true", "yes":
		return "yes"
	case "false", "no", "":
		return "no"
	}
	return v
}

func cleanDir(p string) string { return strings.TrimRight(p, "/") }

// homePath rewrites a path under the account's home to the same path
// under $HOME (for settings ssh -G prints already expanded).
func homePath(p, accountHome, home string) string {
	if accountHome == "" || home == "" {
		return p
	}
	a := cleanDir(accountHome)
	if p == a {
		return home
	}
	if strings.HasPrefix(p, a+"/") {
		return cleanDir(home) + p[len(a):]
	}
	return p
}
