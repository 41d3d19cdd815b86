package openssh

import (
	"fmt"
	"strconv"
	"strings"
)

// JumpHost is one element of a ProxyJump chain.
type JumpHost struct {
	User string // "" when not given
	Host string
	Port int // 0 when not given
	Raw  string
}

func (j JumpHost) String() string { return j.Raw }

// JumpError: a ProxyJump value OpenSSH would reject.
type JumpError struct{ Value string }

func (e *JumpError) Error() string { return fmt.Sprintf("invalid ProxyJump %q", e.Value) }

// ParseJumpChain reads a ProxyJump value as OpenSSH's parse_jump does:
// comma-separated hops, each [user@]host[:port] (IPv6 in brackets) or
// ssh://[user@]host[:port]. "none" is no chain (nil).
func ParseJumpChain(s string) ([]JumpHost, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return nil, nil
	}
	var chain []JumpHost
	for _, part := range strings.Split(s, ",") {
		j, err := parseJumpHost(part)
		if err != nil {
			return nil, &JumpError{Value: s}
		}
		chain = append(chain, j)
	}
	return chain, nil
}

// JoinJumpChain writes hops back as a ProxyJump value.
func JoinJumpChain(chain []JumpHost) string {
	parts := make([]string, len(chain))
	for i, j := range chain {
		parts[i] = j.Raw
	}
	return strings.Join(parts, ",")
}

func parseJumpHost(s string) (JumpHost, error) {
	j := JumpHost{Raw: s}
	rest := s
	if after, ok := strings.CutPrefix(s, "ssh://"); ok {
		rest = strings.TrimSuffix(after, "/")
		if strings.Contains(rest, "/") {
			return j, fmt.Errorf("path in ssh URI")
		}
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if at == 0 {
			return j, fmt.Errorf("empty user")
		}
		j.User, rest = rest[:at], rest[at+1:]
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return j, fmt.Errorf("unclosed bracket")
		}
		host = rest[1:end]
		switch after := rest[end+1:]; {
		case after == "":
		case strings.HasPrefix(after, ":"):
			port = after[1:]
		default:
			return j, fmt.Errorf("junk after bracket")
		}
	} else if h, p, ok := strings.Cut(rest, ":"); ok {
		host, port = h, p
	}
	if host == "" {
		return j, fmt.Errorf("empty host")
	}
	j.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return j, fmt.Errorf("bad port")
		}
		j.Port = n
	}
	return j, nil
}

// hopCommand is how ssh starts the command for a jump host: its own
// program name (argv[0]) and the -F file of the outer command; nothing
// else of the outer command line carries over.
type hopCommand struct {
	bin        string
	configFile string
	known      bool // the outer command line was plain words
	depth      int
	seen       []string
}

func hopCommandOf(c Command) hopCommand {
	if len(c.Words) == 0 {
		return hopCommand{bin: "ssh"}
	}
	h := hopCommand{bin: c.Words[0], known: true}
	if opts, err := parseSSHArgs(c.Words[1:]); err == nil {
		h.configFile = opts.ConfigFile
	}
	return h
}
