package gitremote

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// URL is a remote URL in one of the forms git accepts for SSH, or an
// http(s) URL. For SSH forms the fields hold exactly what git would use:
// compare `git fetch-pack --diag-url URL`.
type URL struct {
	// Raw is the URL as given; for http(s) a password is redacted.
	Raw    string
	Scheme string // "ssh", "https" or "http"
	User   string // "" when the URL names none
	Host   string // without brackets, also for IPv6
	Port   int    // 22 for scp-like and ssh:// without a port; 443/80 for https/http
	// PortGiven: the URL names its port (ssh://host:7999/…, [host:7999]:…).
	// git then passes it to ssh (-p), which overrides a Port in
	// ~/.ssh/config; without it ssh's configuration decides.
	PortGiven bool
	// Path is, for SSH, the argument git passes to git-upload-pack:
	// "/proj/repo.git" for ssh://host/proj/repo.git, "proj/repo.git" for the
	// scp-like host:proj/repo.git (git sends it relative), "~user/repo.git"
	// for ssh://host/~user/repo.git. For http(s) it is the decoded URL path.
	Path    string
	SCPLike bool
}

// ErrNotSSHOrHTTPS is wrapped by Parse errors for URLs of another kind
// (local paths, git://, file://, ...).
var ErrNotSSHOrHTTPS = errors.New("not an ssh or https URL")

// TransportError is a <transport>::<address> URL (ext::sh -c …, fd::17,
// any remote helper's): git hands it to a program instead of ssh, so it is
// refused by name, never parsed further, looked up or dialled. It wraps
// ErrNotSSHOrHTTPS.
type TransportError struct {
	Transport string // "ext", "fd", …
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%q URLs hand the address to a program (git's transport helper %q), not to ssh: %v",
		e.Transport+"::", e.Transport, ErrNotSSHOrHTTPS)
}

func (e *TransportError) Unwrap() error { return ErrNotSSHOrHTTPS }

// transportPrefix is the <transport> of a <transport>::<address> URL, as
// git's transport_get finds it (a URL scheme's characters, then "::");
// "" for other URLs.
func transportPrefix(raw string) string {
	i := 0
	for i < len(raw) {
		c := raw[i]
		if !(isASCIILetter(c) || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			break
		}
		i++
	}
	if i > 0 && strings.HasPrefix(raw[i:], "::") {
		return raw[:i]
	}
	return ""
}

// Parse reads a remote URL the way git does for SSH (ssh://, git+ssh://,
// ssh+git://, scp-like [user@]host:path, bracketed [host:port]:path and
// [ipv6]:path forms) and also accepts http and https URLs.
func Parse(raw string) (*URL, error) {
	if raw == "" {
		return nil, errors.New("empty remote URL")
	}
	if t := transportPrefix(raw); t != "" {
		return nil, &TransportError{Transport: t}
	}
	if i := strings.Index(raw, "://"); i > 0 && isScheme(raw[:i]) {
		scheme := raw[:i]
		switch strings.ToLower(scheme) {
		case "ssh", "git+ssh", "ssh+git":
			// git matches these schemes case-sensitively.
			if scheme == strings.ToLower(scheme) {
				return parseSSHURL(raw, raw[i+3:])
			}
		case "https", "http":
			return parseHTTPURL(raw, strings.ToLower(scheme))
		}
		{
			return nil, fmt.Errorf("%q is not an ssh or https URL (scheme %q): %w", Redact(raw), scheme, ErrNotSSHOrHTTPS)
		}
	}
	return parseSCPLike(raw)
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// parseSSHURL handles ssh://[user@]host[:port]/path. Like git, the whole
// URL is percent-decoded before it is split into its parts.
func parseSSHURL(raw, rest string) (*URL, error) {
	rest = percentDecode(rest)
	end := bracketEnd(rest)
	slash := strings.IndexByte(rest[end:], '/')
	if slash < 0 {
		return nil, fmt.Errorf("%q has no repository path", Redact(raw))
	}
	authority, path := rest[:end+slash], rest[end+slash:]
	u := &URL{Raw: raw, Scheme: "ssh"}
	if err := u.setAuthority(raw, authority); err != nil {
		return nil, err
	}
	if err := u.setPath(raw, path); err != nil {
		return nil, err
	}
	return u, nil
}

// parseSCPLike handles [user@]host:path, [user@host:port]:path and
// user@[ipv6]:path.
func parseSCPLike(raw string) (*URL, error) {
	colon := strings.IndexByte(raw, ':')
	slash := strings.IndexByte(raw, '/')
	if colon < 0 || (slash >= 0 && slash < colon) {
		return nil, fmt.Errorf("%q is not an ssh or https URL (it looks like a local path): %w", Redact(raw), ErrNotSSHOrHTTPS)
	}
	if colon == 1 && len(raw) > 2 && isASCIILetter(raw[0]) && (raw[2] == '\\' || raw[2] == '/') {
		return nil, fmt.Errorf("%q is not an ssh or https URL (it looks like a Windows path): %w", Redact(raw), ErrNotSSHOrHTTPS)
	}
	end := bracketEnd(raw)
	sep := strings.IndexByte(raw[end:], ':')
	if sep < 0 {
		return nil, fmt.Errorf("%q is not an ssh or https URL: %w", Redact(raw), ErrNotSSHOrHTTPS)
	}
	authority, path := raw[:end+sep], raw[end+sep+1:]
	u := &URL{Raw: raw, Scheme: "ssh", SCPLike: true}
	if err := u.setAuthority(raw, authority); err != nil {
		return nil, err
	}
	if err := u.setPath(raw, path); err != nil {
		return nil, err
	}
	return u, nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// bracketEnd mirrors git's host_end: if the host part is bracketed
// ("[...]" or "user@[...]"), the index just past "]", else 0.
func bracketEnd(s string) int {
	start := 0
	if i := strings.Index(s, "@["); i >= 0 {
		start = i + 1
	}
	if start < len(s) && s[start] == '[' {
		if j := strings.IndexByte(s[start+1:], ']'); j >= 0 {
			return start + 1 + j + 1
		}
	}
	return 0
}

// setAuthority splits [user@]host[:port], with brackets anywhere git
// allows them: [host:port], [user@host:port], user@[ipv6], [ipv6]:port.
func (u *URL) setAuthority(raw, authority string) error {
	hostport := authority
	port := ""
	// Brackets are removed first; a port may sit inside them or after them.
	if end := bracketEnd(authority); end > 0 {
		open := strings.IndexByte(authority, '[')
		inner := authority[open+1 : end-1]
		after := authority[end:]
		hostport = authority[:open] + inner
		switch {
		case after == "" || after == ":":
		case after[0] == ':' && isPort(after[1:]):
			port = after[1:]
		default:
			return fmt.Errorf("%q has unexpected text %q after the bracketed host", Redact(raw), after)
		}
	} else if strings.ContainsAny(authority, "[]") {
		return fmt.Errorf("%q has an unbalanced bracket in the host", Redact(raw))
	}
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		u.User, hostport = hostport[:at], hostport[at+1:]
		if u.User == "" {
			return fmt.Errorf("%q has an empty user name", Redact(raw))
		}
		if strings.ContainsAny(u.User, ":[]/") || hasSpaceOrControl(u.User) {
			user := u.User
			if i := strings.Index(user, ":"); i >= 0 {
				user = user[:i+1] + "xxxxx" // a password: never shown
			}
			return fmt.Errorf("%q has an invalid user name %q (ssh URLs cannot carry a password)", Redact(raw), user)
		}
	}
	host := hostport
	// git's get_port: the first ':' starts a port when only digits follow.
	if port == "" {
		if c := strings.IndexByte(hostport, ':'); c >= 0 {
			switch rest := hostport[c+1:]; {
			case isPort(rest):
				host, port = hostport[:c], rest
			case rest == "":
				host = hostport[:c]
			}
		}
	}
	if err := checkHost(raw, host); err != nil {
		return err
	}
	u.Host = host
	u.Port = 22
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has an invalid port %q", Redact(raw), port)
		}
		u.Port, u.PortGiven = n, true
	}
	return nil
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(s)
	return n < 65536
}

func checkHost(raw, host string) error {
	if host == "" {
		return fmt.Errorf("%q has no host", Redact(raw))
	}
	if host[0] == '-' {
		return fmt.Errorf("%q has a host name starting with '-' (git blocks it as a strange hostname)", Redact(raw))
	}
	if strings.Contains(host, ":") {
		addr := host
		if i := strings.IndexByte(addr, '%'); i >= 0 {
			if i == len(addr)-1 || hasSpaceOrControl(addr[i:]) || strings.ContainsAny(addr[i+1:], "%[]/@") {
				return fmt.Errorf("%q has an invalid IPv6 zone in %q", Redact(raw), host)
			}
			addr = addr[:i]
		}
		if net.ParseIP(addr) == nil {
			return fmt.Errorf("%q has an invalid host or port %q", Redact(raw), host)
		}
		return nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(isASCIILetter(c) || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return fmt.Errorf("%q has an invalid host name %q", Redact(raw), host)
		}
	}
	return nil
}

func (u *URL) setPath(raw, path string) error {
	// git turns "/~user/repo" into "~user/repo" so the server resolves it
	// against that user's home.
	if strings.HasPrefix(path, "/~") {
		path = path[1:]
	}
	if path == "" {
		return fmt.Errorf("%q has no repository path", Redact(raw))
	}
	if path[0] == '-' {
		return fmt.Errorf("%q has a path starting with '-' (git blocks it as a strange pathname)", Redact(raw))
	}
	if hasControl(path) {
		return fmt.Errorf("%q has control characters in its path", Redact(raw))
	}
	u.Path = path
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func hasSpaceOrControl(s string) bool {
	return hasControl(s) || strings.ContainsAny(s, " \t")
}

// percentDecode decodes %XX like git's url_decode: an invalid escape is
// kept as it is, '+' is not a space.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func parseHTTPURL(raw, scheme string) (*URL, error) {
	pu, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid %s URL: %v", scheme, err)
	}
	u := &URL{Raw: pu.Redacted(), Scheme: scheme, Host: pu.Hostname(), Path: pu.Path}
	if pu.User != nil {
		u.User = pu.User.Username()
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", Redact(u.Raw))
	}
	u.Port = 443
	if scheme == "http" {
		u.Port = 80
	}
	if p := pu.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has an invalid port %q", Redact(u.Raw), p)
		}
		u.Port, u.PortGiven = n, true
	}
	return u, nil
}
