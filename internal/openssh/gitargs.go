package openssh

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Target is an SSH destination as a git URL names it.
type Target struct {
	Host string // as in the URL: a name, an alias from ~/.ssh/config, an address
	Port int    // 0 when the URL names no port (git then passes no -p)
	User string // "" when the URL names no user
}

// HostArg is the destination argument git passes: "user@host" or "host".
func (t Target) HostArg() string {
	if t.User != "" {
		return t.User + "@" + t.Host
	}
	return t.Host
}

func (t Target) String() string {
	s := t.HostArg()
	if t.Port != 0 {
		s += ":" + strconv.Itoa(t.Port)
	}
	return s
}

// ErrStrangeHost is returned for a host git refuses to pass to ssh
// because it would read as an option ("strange hostname … blocked").
var ErrStrangeHost = errors.New("host name looks like a command-line option")

// VariantError: git refuses to run this ssh variant for the target
// (the "simple" variant cannot take a port).
type VariantError struct {
	Variant Variant
	Target  Target
}

func (e *VariantError) Error() string {
	return fmt.Sprintf("ssh variant %q does not support setting port (for %q)", e.Variant.String(), e.Target.String())
}

// GitOptions are the options git puts between the ssh program and the
// host for variant v (git's push_ssh_options): `-o SendEnv=GIT_PROTOCOL`
// for OpenSSH when a protocol version above 0 is in use, `-batch` for
// TortoisePlink, and the URL's port as -p (OpenSSH) or -P (PuTTY).
// receivePack: git-receive-pack does not speak protocol v2 (git falls
// back to v0 for it). VariantAuto gets OpenSSH's options, as git's probe.
func (c Command) GitOptions(v Variant, t Target, receivePack bool) ([]string, error) {
	if strings.HasPrefix(t.HostArg(), "-") {
		return nil, fmt.Errorf("%q: %w", t.HostArg(), ErrStrangeHost)
	}
	if v == VariantAuto {
		v = VariantSSH // git's probe passes OpenSSH's options
	}
	var opts []string
	if v == VariantSSH && c.ProtocolVersion > 0 && !(receivePack && c.ProtocolVersion == 2) {
		opts = append(opts, "-o", "SendEnv=GIT_PROTOCOL")
	}
	if v == VariantTortoisePlink {
		opts = append(opts, "-batch")
	}
	if t.Port != 0 {
		switch v {
		case VariantSimple:
			return nil, &VariantError{Variant: VariantSimple, Target: t}
		case VariantSSH:
			opts = append(opts, "-p", strconv.Itoa(t.Port))
		default:
			opts = append(opts, "-P", strconv.Itoa(t.Port))
		}
	}
	return opts, nil
}

// RemoteCommand is the command git asks the server to run:
// prog 'path', quoted as git's sq_quote_buf does.
func RemoteCommand(prog, path string) string {
	return prog + " " + shellQuote(path)
}

// shellQuote quotes s for a POSIX shell the way git does: in single
// quotes, with ' and ! outside them.
func shellQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '!':
			b.WriteString(`'\`)
			b.WriteByte(c)
			b.WriteByte('\'')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
