package sshverify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// KnownHostLine is the known_hosts line for key at host:port, without a
// newline: "host type base64" for port 22, "[host]:port type base64"
// otherwise (IPv6 hosts bracketed as OpenSSH writes them).
func KnownHostLine(host string, port int, key ssh.PublicKey) string {
	return knownhosts.Line([]string{net.JoinHostPort(host, strconv.Itoa(port))}, key)
}

// maxKnownHostsLine keeps every line well below the 64 KiB bufio.Scanner
// limit that makes both x/crypto and skeema/knownhosts reject a whole file.
// The longest real entry (RSA 16384) is about 3 KiB.
const maxKnownHostsLine = 32 << 10

// sanitizeKnownHosts returns data with every line that
// golang.org/x/crypto/ssh/knownhosts (and so skeema/knownhosts) would not
// accept blanked out, keeping the line numbers. The libraries skip a bad
// line only while the file has at least one good one, and fail on a line
// longer than 64 KiB: a hand-edited or foreign file must not make every
// other entry unusable.
func sanitizeKnownHosts(data []byte) (clean []byte, dropped []int) {
	lines := bytes.Split(data, []byte("\n"))
	out := make([][]byte, len(lines))
	for i, line := range lines {
		if len(line) <= maxKnownHostsLine && validKnownHostsLine(bytes.TrimSuffix(line, []byte("\r"))) {
			out[i] = line
			continue
		}
		dropped = append(dropped, i+1)
	}
	return bytes.Join(out, []byte("\n")), dropped
}

// validKnownHostsLine follows x/crypto/ssh/knownhosts (hostKeyDB.parseLine,
// newHashedHost, newHostnameMatcher) so exactly the lines it accepts are
// kept; FuzzKnownHostsLine checks the two agree.
func validKnownHostsLine(line []byte) bool {
	line = bytes.Trim(line, " \t")
	if len(line) == 0 || line[0] == '#' {
		return true
	}
	marker := ""
	if w, next := nextWord(line); w == "@cert-authority" || w == "@revoked" {
		marker, line = w, next
	}
	host, rest := nextWord(line)
	if len(host) > 0 && host[0] == '@' || len(rest) == 0 {
		return false
	}
	wantType, rest := nextWord(rest)
	if len(rest) == 0 {
		return false
	}
	blob, _ := nextWord(rest)
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return false
	}
	key, err := ssh.ParsePublicKey(raw)
	if err != nil || key.Type() != wantType {
		return false
	}
	if marker == "@revoked" {
		return true
	}
	if host[0] == '|' {
		parts := strings.Split(host, "|")
		if len(parts) != 4 || parts[1] != "1" {
			return false
		}
		for _, p := range parts[2:] {
			if _, err := base64.StdEncoding.DecodeString(p); err != nil {
				return false
			}
		}
		return true
	}
	for _, p := range strings.Split(host, ",") {
		if p == "" {
			continue
		}
		p = strings.TrimPrefix(p, "!")
		if p == "" {
			return false
		}
		if p[0] == '[' {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return false
			}
		}
	}
	return true
}

func nextWord(line []byte) (string, []byte) {
	i := bytes.IndexAny(line, "\t ")
	if i == -1 {
		return string(line), nil
	}
	return string(line[:i]), bytes.Trim(line[i:], " \t")
}

// knownHosts is the host key database for one Verify call: the user's
// file (appended to) plus read-only extra files.
type knownHosts struct {
	file     string
	db       *knownhosts.HostKeyDB
	origName map[string]string // sanitized copy → the user's file name
	skipped  []string          // "file:line" entries that were ignored

	mu    sync.Mutex
	added map[string]ssh.PublicKey // normalized address → key appended in this run
}

func loadKnownHosts(file string, extra []string) (*knownHosts, error) {
	kh := &knownHosts{file: file, origName: map[string]string{}, added: map[string]ssh.PublicKey{}}
	tmp, err := os.MkdirTemp("", "bbkey-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("prepare known_hosts: %w", err)
	}
	defer os.RemoveAll(tmp)
	var copies []string
	for i, name := range append([]string{file}, extra...) {
		if name == "" {
			continue
		}
		data, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read known hosts file: %w", err)
		}
		clean, dropped := sanitizeKnownHosts(data)
		for _, n := range dropped {
			kh.skipped = append(kh.skipped, fmt.Sprintf("%s:%d", name, n))
		}
		cp := filepath.Join(tmp, strconv.Itoa(i))
		if err := os.WriteFile(cp, clean, 0o600); err != nil {
			return nil, fmt.Errorf("prepare known_hosts: %w", err)
		}
		copies = append(copies, cp)
		kh.origName[cp] = name
	}
	// NewDB reads the files completely before it returns.
	kh.db, err = knownhosts.NewDB(copies...)
	if err != nil {
		return nil, fmt.Errorf("read known hosts: %w", err)
	}
	return kh, nil
}

func (kh *knownHosts) name(copyName string) string {
	if n, ok := kh.origName[copyName]; ok {
		return n
	}
	return copyName
}

// algorithms is the HostKeyAlgorithms list for addr: the types known_hosts
// has for it, so that a server with several host keys shows the one we
// know (nil when the host is unknown: any algorithm).
func (kh *knownHosts) algorithms(addr string) []string {
	algos := kh.db.HostKeyAlgorithms(addr)
	kh.mu.Lock()
	defer kh.mu.Unlock()
	if k, ok := kh.added[knownhosts.Normalize(addr)]; ok && len(algos) == 0 {
		if k.Type() == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		}
		algos = append(algos, k.Type())
	}
	return algos
}

type hostKeyCheck int

const (
	hostKnown hostKeyCheck = iota
	hostUnknown
	hostChanged
)

// check looks key up for addr ("host:port"). For a changed key, detail
// names the known_hosts entries that disagree.
func (kh *knownHosts) check(addr string, port int, key ssh.PublicKey) (result hostKeyCheck, detail string) {
	// x/crypto insists on a TCP remote address even though it prefers the
	// host name; a custom Dial (tests, proxies) may not give one.
	placeholder := &net.TCPAddr{IP: net.IPv4zero, Port: port}
	err := kh.db.HostKeyCallback()(addr, placeholder, key)
	var keyErr *xknownhosts.KeyError
	var revoked *xknownhosts.RevokedError
	switch {
	case err == nil:
		return hostKnown, ""
	case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
		var where []string
		for _, w := range keyErr.Want {
			where = append(where, fmt.Sprintf("%s:%d (%s %s)", kh.name(w.Filename), w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key)))
		}
		return hostChanged, "known_hosts has " + strings.Join(where, ", ")
	case errors.As(err, &keyErr):
		kh.mu.Lock()
		defer kh.mu.Unlock()
		if k, ok := kh.added[knownhosts.Normalize(addr)]; ok {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return hostKnown, ""
			}
			return hostChanged, fmt.Sprintf("this run accepted %s %s for it", k.Type(), ssh.FingerprintSHA256(k))
		}
		return hostUnknown, ""
	case errors.As(err, &revoked):
		return hostChanged, fmt.Sprintf("the key is marked @revoked in %s:%d", kh.name(revoked.Revoked.Filename), revoked.Revoked.Line)
	default:
		return hostChanged, err.Error()
	}
}

// add appends the line for host:port to the user's known_hosts (created
// 0644 if missing; the directory must exist), once per run.
func (kh *knownHosts) add(host string, port int, key ssh.PublicKey) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	kh.mu.Lock()
	defer kh.mu.Unlock()
	if _, ok := kh.added[knownhosts.Normalize(addr)]; ok {
		return nil
	}
	if kh.file == "" {
		return errors.New("no known_hosts file to record the host key in")
	}
	if err := safefile.AppendLine(kh.file, KnownHostLine(host, port, key), 0o644); err != nil {
		return err
	}
	kh.added[knownhosts.Normalize(addr)] = key
	return nil
}
