// Package sshconfig keeps one managed Host block per host in an OpenSSH
// client config (~/.ssh/config), between "# BEGIN git-bbkey <host>" and
// "# END git-bbkey <host>" lines.
//
// The file is never re-serialised: Apply splices the block into the
// existing bytes, and every byte outside the block (line endings, a BOM,
// tabs, comments, a missing final newline) stays exactly as it was.
package sshconfig

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Block is the managed section for one host.
type Block struct {
	Host           string // the Host pattern, e.g. "bitbucket.example.com"
	HostName       string // omitted when empty
	Port           int    // omitted when 0
	User           string // "git"; omitted when empty
	IdentityFile   string // omitted when empty; quoted when ssh would split it
	IdentitiesOnly bool   // "IdentitiesOnly yes" when true, omitted otherwise
}

const (
	beginPrefix = "# BEGIN git-bbkey "
	endPrefix   = "# END git-bbkey "
	indent      = "    "
)

// Render returns the block with newline ("\n" or "\r\n") after every line,
// the END line included. An empty newline means "\n". Render assumes a
// valid block: Apply and Update check it first.
func (b Block) Render(newline string) string {
	if newline == "" {
		newline = "\n"
	}
	var s strings.Builder
	line := func(parts ...string) {
		for _, p := range parts {
			s.WriteString(p)
		}
		s.WriteString(newline)
	}
	line(beginPrefix, b.Host)
	line("Host ", b.Host)
	if b.HostName != "" {
		line(indent, "HostName ", b.HostName)
	}
	if b.Port != 0 {
		line(indent, "Port ", strconv.Itoa(b.Port))
	}
	if b.User != "" {
		line(indent, "User ", b.User)
	}
	if b.IdentityFile != "" {
		line(indent, "IdentityFile ", quotePath(b.IdentityFile))
	}
	if b.IdentitiesOnly {
		line(indent, "IdentitiesOnly yes")
	}
	line(endPrefix, b.Host)
	return s.String()
}

// quotePath writes a path so that both ssh_config parsers in the wild read
// it back unchanged: the old one (OpenSSH < 8.7, splits on whitespace and
// '=', knows only double quotes) and the new one (argv_split: also single
// quotes, backslash escapes and '#' comments). ssh expands %-tokens in
// IdentityFile, so '%' is doubled. Paths that cannot be written safely are
// refused by validPath.
func quotePath(p string) string {
	p = strings.ReplaceAll(p, "%", "%%")
	if strings.ContainsAny(p, " #='") {
		return `"` + p + `"`
	}
	return p
}

// validate refuses anything that would not survive a round trip through
// ssh's parser, and anything that could inject extra lines into the file.
func (b Block) validate() error {
	if b.Host == "" {
		return fmt.Errorf("the ssh config block has no host")
	}
	if err := validWord(b.Host, "*?"); err != nil {
		return fmt.Errorf("invalid host %q for the ssh config: %w", b.Host, err)
	}
	if b.HostName != "" {
		if err := validWord(b.HostName, ""); err != nil {
			return fmt.Errorf("invalid HostName %q for the ssh config: %w", b.HostName, err)
		}
	}
	if b.User != "" {
		if err := validWord(b.User, ""); err != nil {
			return fmt.Errorf("invalid user %q for the ssh config: %w", b.User, err)
		}
	}
	if b.Port < 0 || b.Port > 65535 {
		return fmt.Errorf("invalid port %d for the ssh config: must be between 1 and 65535 (0 leaves it out)", b.Port)
	}
	if b.IdentityFile != "" {
		if err := validPath(b.IdentityFile); err != nil {
			return fmt.Errorf("cannot write IdentityFile %q to the ssh config: %w", b.IdentityFile, err)
		}
	}
	return nil
}

// validWord accepts a single ssh_config token without quoting: no
// whitespace, control characters, quotes, comment or '=' separators,
// %-tokens or pattern syntax beyond the characters in allowed.
func validWord(s, allowed string) error {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return fmt.Errorf("contains whitespace or a control character")
		case strings.ContainsRune(`"'#=\%,!`, r):
			return fmt.Errorf("contains %q", r)
		case (r == '*' || r == '?') && !strings.ContainsRune(allowed, r):
			return fmt.Errorf("contains the pattern character %q", r)
		}
	}
	return nil
}

func validPath(p string) error {
	for i, r := range p {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("the path contains a control character")
		case r == '"':
			return fmt.Errorf("the path contains a double quote")
		case r == '\\':
			// OpenSSH ≥ 8.7 reads \\, \" and \' as escapes, older versions
			// do not: such a path means different files to different ssh.
			if i+1 == len(p) || strings.ContainsRune(`\"'`, rune(p[i+1])) {
				return fmt.Errorf(`the path has a backslash that ssh may read as an escape`)
			}
		}
	}
	if strings.Contains(p, "${") {
		// OpenSSH ≥ 8.4 expands ${VAR} in IdentityFile and has no escape for it.
		return fmt.Errorf("the path contains \"${\", which ssh expands as an environment variable")
	}
	return nil
}
