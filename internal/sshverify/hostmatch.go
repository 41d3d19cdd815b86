package sshverify

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// hostsMatch tells whether the host field of a known_hosts line applies
// to name, as OpenSSH's match_maybe_hashed: a hashed field is compared
// with the name hashed under its salt; otherwise the field is a
// comma-separated list of patterns ("*" and "?" wildcards, "!" negates),
// matched without regard to case, where any negated match wins.
func hostsMatch(hosts, name string) bool {
	if strings.HasPrefix(hosts, "|") {
		salt, ok := parseHashedHost(hosts)
		return ok && hashHost(salt, name) == hosts
	}
	return matchPatternList(name, asciiLower(hosts)) > 0
}

// asciiLower lowercases A-Z only, as OpenSSH's tolower in the C locale.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// hashedMagic starts a hashed host name (HashKnownHosts): "|1|salt|hash",
// HMAC-SHA1 of the name keyed by the salt, both base64.
const hashedMagic = "|1|"

// parseHashedHost returns the salt of a hashed host field; ok is false for
// a field OpenSSH cannot read (its line is then skipped).
func parseHashedHost(hosts string) (salt []byte, ok bool) {
	if !strings.HasPrefix(hosts, hashedMagic) {
		return nil, false
	}
	rest := hosts[len(hashedMagic):]
	i := strings.IndexByte(rest, '|')
	if i <= 0 || i > 1024 {
		return nil, false
	}
	salt, err := base64.StdEncoding.DecodeString(rest[:i])
	if err != nil || len(salt) != sha1.Size {
		return nil, false
	}
	return salt, true
}

func hashHost(salt []byte, name string) string {
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hashedMagic + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// matchPatternList is OpenSSH's match_pattern_list for a lowercase
// pattern list: 1 for a match, 0 for none, -1 when a negated pattern
// matched.
func matchPatternList(s, list string) int {
	got := 0
	for i := 0; i < len(list); {
		negated := false
		if list[i] == '!' {
			negated = true
			i++
		}
		end := strings.IndexByte(list[i:], ',')
		if end < 0 {
			end = len(list) - i
		}
		sub := list[i : i+end]
		i += end
		if i < len(list) {
			i++ // the comma
		}
		if len(sub) >= 1023 {
			return 0 // OpenSSH gives up on a pattern longer than its buffer
		}
		if matchPattern(s, sub) {
			if negated {
				return -1
			}
			got = 1
		}
	}
	return got
}

// matchPattern is OpenSSH's match_pattern: "*" matches any run of bytes,
// "?" any one byte, everything else itself. Iterative, so a pattern of
// many stars cannot take exponential time.
func matchPattern(s, p string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
