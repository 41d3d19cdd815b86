package openssh

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Local describes the local account as OpenSSH sees it.
type Local struct {
	User     string // %u
	UID      string // %i
	Home     string // ~ and %d: the home in the password database
	Hostname string // %l (gethostname); %L is its part before the first dot
}

// CurrentLocal looks the running account up in the password database,
// as OpenSSH does (not $HOME), and the host name.
func CurrentLocal() (Local, error) {
	u, err := user.Current()
	if err != nil {
		return Local{}, fmt.Errorf("look up the current account: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		return Local{}, fmt.Errorf("read the host name: %w", err)
	}
	return Local{User: u.Username, UID: u.Uid, Home: u.HomeDir, Hostname: host}, nil
}

// ExpandError: a value holds a token or variable OpenSSH cannot expand
// (ssh stops with an error then).
type ExpandError struct {
	Value  string // the value as configured
	Reason string
}

func (e *ExpandError) Error() string {
	return fmt.Sprintf("cannot expand %q: %s", e.Value, e.Reason)
}

// tokenValues are the values of OpenSSH's % tokens for one connection
// (DEFAULT_CLIENT_PERCENT_EXPAND_ARGS, the set IdentityFile,
// CertificateFile, UserKnownHostsFile, IdentityAgent and ControlPath take).
type tokenValues struct {
	local    Local
	home     string // for %d (the account's home, or $HOME for HomePath)
	hostname string // %h
	hostArg  string // %n
	port     int    // %p
	user     string // %r
	keyAlias string // %k: HostKeyAlias, else %n
	hash     string // %C, learnt from ssh; "" when not known
}

func (t tokenValues) lookup(c byte) (string, bool) {
	switch c {
	case 'C':
		return t.hash, t.hash != ""
	case 'L':
		short, _, _ := strings.Cut(t.local.Hostname, ".")
		return short, true
	case 'i':
		return t.local.UID, true
	case 'k':
		return t.keyAlias, true
	case 'l':
		return t.local.Hostname, true
	case 'n':
		return t.hostArg, true
	case 'p':
		return strconv.Itoa(t.port), true
	case 'd':
		return t.home, true
	case 'h':
		return t.hostname, true
	case 'r':
		return t.user, true
	case 'u':
		return t.local.User, true
	}
	return "", false
}

// expandPath expands a file name as ssh does for IdentityFile and its
// kin: a leading ~ or ~user (home is ~'s value), then ${VAR} from env
// and % tokens, in one pass (values are not expanded again).
func expandPath(raw, home string, t tokenValues, env func(string) (string, bool)) (string, error) {
	s, err := tildeExpand(raw, home)
	if err != nil {
		return "", err
	}
	t.home = home
	return expandValue(s, raw, t, env)
}

// expandValue does OpenSSH's percent_dollar_expand on s (raw is the
// value as configured, for errors). env nil: no ${VAR} expansion.
func expandValue(s, raw string, t tokenValues, env func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$' && env != nil && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", &ExpandError{Value: raw, Reason: "unterminated ${"}
			}
			name := s[i+2 : i+end]
			if !isName(name) {
				return "", &ExpandError{Value: raw, Reason: fmt.Sprintf("bad variable name %q", name)}
			}
			val, ok := env(name)
			if !ok {
				return "", &ExpandError{Value: raw, Reason: fmt.Sprintf("environment variable %q is not set", name)}
			}
			b.WriteString(val)
			i += end
		case c == '%':
			if i+1 == len(s) {
				return "", &ExpandError{Value: raw, Reason: "% at the end"}
			}
			i++
			if s[i] == '%' {
				b.WriteByte('%')
				continue
			}
			val, ok := t.lookup(s[i])
			if !ok {
				return "", &ExpandError{Value: raw, Reason: fmt.Sprintf("unknown token %%%c", s[i])}
			}
			b.WriteString(val)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// tildeExpand is OpenSSH's tilde_expand_filename: "~" and "~/…" are home,
// "~user/…" that user's home.
func tildeExpand(s, home string) (string, error) {
	if !strings.HasPrefix(s, "~") {
		return s, nil
	}
	name, rest, _ := strings.Cut(s[1:], "/")
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return "", &ExpandError{Value: s, Reason: fmt.Sprintf("no user %q", name)}
		}
		home = u.HomeDir
	}
	if rest == "" && !strings.Contains(s, "/") {
		return home, nil
	}
	return strings.TrimRight(home, "/") + "/" + rest, nil
}

// ExpandProxyCommand expands the tokens of s.ProxyCommand as ssh does
// before running it (%h %k %n %p %r %%); ssh then runs `exec` and the
// result through the user's shell.
func (s *Settings) ExpandProxyCommand() (string, error) {
	keyAlias := s.HostKeyAlias
	if keyAlias == "" {
		keyAlias = s.Target.Host
	}
	t := tokenValues{hostname: s.Hostname, hostArg: s.Target.Host, port: s.Port, user: s.User, keyAlias: keyAlias}
	var b strings.Builder
	for i := 0; i < len(s.ProxyCommand); i++ {
		c := s.ProxyCommand[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s.ProxyCommand) {
			return "", &ExpandError{Value: s.ProxyCommand, Reason: "% at the end"}
		}
		i++
		switch k := s.ProxyCommand[i]; k {
		case '%':
			b.WriteByte('%')
		case 'h', 'k', 'n', 'p', 'r':
			v, _ := t.lookup(k)
			b.WriteString(v)
		default:
			return "", &ExpandError{Value: s.ProxyCommand, Reason: fmt.Sprintf("unknown token %%%c", k)}
		}
	}
	return b.String(), nil
}
