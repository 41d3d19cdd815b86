package sshverify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// This file is the one known_hosts reader of git-bbkey (verify and doctor
// use it). It reads files as OpenSSH does (hostfile.c, hostkeys_foreach):
// a line OpenSSH would skip is dropped and reported by number, never
// making the rest of the file unusable; markers, hashed names, patterns
// with negation, "[host]:port" names and HostKeyAlias names mean what they
// mean to ssh. Check (hostcheck.go) then decides as ssh's check_host_key.

// Marker is the @-marker of a known_hosts line.
type Marker int

const (
	MarkerNone          Marker = iota // a host key
	MarkerCertAuthority               // @cert-authority: vouches for host certificates only
	MarkerRevoked                     // @revoked: the key is refused, always
)

func (m Marker) String() string {
	switch m {
	case MarkerCertAuthority:
		return "@cert-authority"
	case MarkerRevoked:
		return "@revoked"
	}
	return ""
}

// KnownHostEntry is one usable line of a known_hosts file.
type KnownHostEntry struct {
	File   string
	Line   int // 1-based
	Marker Marker
	Hosts  string // the host field as written: patterns, or a hashed name
	Key    ssh.PublicKey
}

// Where is "file:line".
func (e KnownHostEntry) Where() string { return e.File + ":" + strconv.Itoa(e.Line) }

// FileLine names a line of a file.
type FileLine struct {
	File string
	Line int
}

func (l FileLine) String() string { return l.File + ":" + strconv.Itoa(l.Line) }

// KnownHostsSpec is where a host's keys are looked up and pinned, as
// OpenSSH computes it for the host (ssh -G).
type KnownHostsSpec struct {
	// UserFiles are read; a new key is appended to the first one.
	// nil means the Options' KnownHostsFile; empty (not nil) means none.
	UserFiles []string
	// GlobalFiles are read only. nil means the Options' ExtraKnownHosts.
	GlobalFiles []string
	// Alias is HostKeyAlias: keys are looked up and pinned under this
	// name instead of the host and port.
	Alias string
}

// HostRef names a server the way known_hosts does.
type HostRef struct {
	Host  string
	Port  int    // 22 when 0
	Alias string // HostKeyAlias, when set
}

// Name is the name known_hosts has for the server: the alias when set,
// else the host for port 22 and "[host]:port" for other ports, lowercase
// as ssh writes it.
func (h HostRef) Name() string {
	if h.Alias != "" {
		return asciiLower(h.Alias)
	}
	return hostPortName(h.Host, h.Port)
}

func hostPortName(host string, port int) string {
	host = asciiLower(host)
	if port == 0 || port == 22 {
		return host
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}

func knownHostLine(name string, key ssh.PublicKey) string {
	return name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

// maxKnownHostsFile bounds what is read of one file.
const maxKnownHostsFile = 64 << 20

// KnownHosts is the content of a set of known_hosts files. It is safe for
// concurrent use.
type KnownHosts struct {
	mu      sync.RWMutex
	entries []KnownHostEntry
	skipped []FileLine
}

// LoadKnownHosts reads files in order (user files, then global ones, as
// ssh does). A missing file is no error; a file that cannot be read is.
func LoadKnownHosts(files ...string) (*KnownHosts, error) {
	kh := &KnownHosts{}
	for _, name := range files {
		if name == "" {
			continue
		}
		data, err := readKnownHostsFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		kh.parse(name, data)
	}
	return kh, nil
}

func readKnownHostsFile(name string) ([]byte, error) {
	if name == os.DevNull {
		return nil, nil // what ssh -G reports for "none"
	}
	// O_NONBLOCK: opening a FIFO returns at once instead of waiting for a
	// writer; it changes nothing for a regular file.
	flags := os.O_RDONLY
	if runtime.GOOS != "windows" {
		flags |= syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(name, flags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read known hosts file %q: %w", name, pathCause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read known hosts file %q: %w", name, pathCause(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read known hosts file %q: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKnownHostsFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read known hosts file %q: %w", name, pathCause(err))
	}
	if len(data) > maxKnownHostsFile {
		return nil, fmt.Errorf("cannot read known hosts file %q: larger than %d MiB", name, maxKnownHostsFile>>20)
	}
	return data, nil
}

// pathCause is the system's error inside a *fs.PathError (whose own text
// repeats the path).
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (kh *KnownHosts) parse(file string, data []byte) {
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the newline ends the last line
	}
	for i, line := range lines {
		e, blank, ok := parseKnownHostsLine(line)
		switch {
		case blank:
		case !ok:
			kh.skipped = append(kh.skipped, FileLine{file, i + 1})
		default:
			e.File, e.Line = file, i+1
			kh.entries = append(kh.entries, e)
		}
	}
}

// Skipped are the lines that were dropped because ssh would skip them.
func (kh *KnownHosts) Skipped() []FileLine {
	kh.mu.RLock()
	defer kh.mu.RUnlock()
	return append([]FileLine(nil), kh.skipped...)
}

// add records an entry appended during this run, so that later lookups
// see it without reading the file again.
func (kh *KnownHosts) add(e KnownHostEntry) {
	kh.mu.Lock()
	defer kh.mu.Unlock()
	kh.entries = append(kh.entries, e)
}

// parseKnownHostsLine parses one line as OpenSSH's hostkeys_foreach does:
// blank for empty and comment lines, ok false for a line ssh skips.
func parseKnownHostsLine(line []byte) (e KnownHostEntry, blank, ok bool) {
	// OpenSSH handles the line as a C string: it ends at a NUL.
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	cp := string(bytes.TrimLeft(line, " \t"))
	if cp == "" || cp[0] == '#' {
		return e, true, false
	}
	marker, cp, ok := parseMarker(cp)
	if !ok {
		return e, false, false
	}
	host, rest := cutField(cp)
	if host == "" || rest == "" || rest[0] == '#' {
		return e, false, false
	}
	if host[0] == '|' {
		if _, ok := parseHashedHost(host); !ok {
			return e, false, false
		}
	}
	key, ok := parseKnownHostsKey(rest)
	if !ok {
		return e, false, false
	}
	return KnownHostEntry{Marker: marker, Hosts: host, Key: key}, false, true
}

// parseMarker follows OpenSSH's check_markers, quirks included: a marker
// ends at the first space of the line (else the first tab), and only one
// marker is allowed.
func parseMarker(cp string) (Marker, string, bool) {
	m := MarkerNone
	for len(cp) > 0 && cp[0] == '@' {
		if m != MarkerNone {
			return m, cp, false
		}
		sp := strings.IndexByte(cp, ' ')
		if sp < 0 {
			sp = strings.IndexByte(cp, '\t')
		}
		if sp <= 1 || sp >= 32 {
			return m, cp, false
		}
		switch cp[:sp] {
		case "@cert-authority":
			m = MarkerCertAuthority
		case "@revoked":
			m = MarkerRevoked
		default:
			return m, cp, false
		}
		cp = strings.TrimLeft(cp[sp:], " \t")
	}
	return m, cp, true
}

// cutField splits at the first space or tab, dropping the blanks after it.
func cutField(s string) (field, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// parseKnownHostsKey reads "type base64 [comment]" as OpenSSH's sshkey_read
// does: the type must name the key's type (an RSA key may also be named
// by its signature algorithms), and the base64 may hold other blanks.
func parseKnownHostsKey(s string) (ssh.PublicKey, bool) {
	typ, rest := cutField(s)
	if rest == "" {
		return nil, false
	}
	blob, _ := cutField(rest)
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\v' || r == '\f' {
			return -1
		}
		return r
	}, blob))
	if err != nil {
		return nil, false
	}
	key, err := ssh.ParsePublicKey(raw)
	if err != nil || !keyTypeNamed(typ, key.Type()) {
		return nil, false
	}
	return key, true
}

func keyTypeNamed(name, keyType string) bool {
	switch {
	case name == keyType:
		return true
	case keyType == ssh.KeyAlgoRSA:
		return name == ssh.KeyAlgoRSASHA256 || name == ssh.KeyAlgoRSASHA512
	case keyType == ssh.CertAlgoRSAv01:
		return name == ssh.CertAlgoRSASHA256v01 || name == ssh.CertAlgoRSASHA512v01
	}
	return false
}
