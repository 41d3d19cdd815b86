package sshkeys

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// maxKeyFileSize bounds what FindKeyPairs reads: the largest key OpenSSH
// writes (RSA 16384 bits) is about 13 KiB, so anything bigger is not a key.
const maxKeyFileSize = safefile.MaxSmallFile

type fileKind int

const (
	notAKey fileKind = iota
	privateFile
	publicFile
	certificateFile
)

// classify tells what a file holds by its first bytes. Files that merely
// look like keys are classified too, so that a broken key is reported
// instead of silently ignored.
func classify(data []byte) fileKind {
	text := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	if looksPrivate(text) {
		return privateFile
	}
	if bytes.HasPrefix(text, []byte(rfc4716Begin)) {
		return publicFile
	}
	lines := meaningfulLines(text)
	if len(lines) == 0 {
		return notAKey
	}
	fields := splitFields(string(lines[0]))
	if _, rsa1 := rsa1PublicBits(fields); rsa1 {
		return publicFile
	}
	// A known type names a key even when broken; a merely plausible one
	// ("ssh-add ...") also needs base64 of a wire blob, which starts "AAAA".
	if len(fields) < 2 || !isKnownType(fields[0]) && !(looksLikeKeyType(fields[0]) && strings.HasPrefix(fields[1], "AAAA")) {
		return notAKey
	}
	if strings.HasSuffix(fields[0], certSuffix) {
		return certificateFile
	}
	return publicFile
}

// skipName: files that hold key lines without being keys of their own, and
// the temporaries of interrupted writes (see FindLeftovers), which may hold
// a complete private key but are never the key itself.
func skipName(name string) bool {
	return strings.HasPrefix(name, "authorized_keys") || strings.HasPrefix(name, "known_hosts") ||
		safefile.IsTemporary(name)
}

// keyFile is one file of a pair, parsed.
type keyFile struct {
	path string
	mode fs.FileMode
	err  error // why it could not be read or parsed
	// unreadable: err is the system's reason the file could not be read.
	unreadable bool
	pub        *publicKey // nil if unknown
	priv       privateKey // private files only
}

type pair struct{ private, public, cert *keyFile }

// FindKeyPairs lists the keys in dir (not its subdirectories, so never
// key_backup/), pairing NAME with NAME.pub, sorted by path. A missing dir
// gives an empty list.
//
// Files that are not keys (config, known_hosts, authorized_keys, anything
// else) and the temporaries an interrupted write left (FindLeftovers) are
// skipped silently; a file that looks like a key but does not parse
// is listed with a problem. A certificate NAME-cert.pub is not a key of its
// own: it is attached to NAME as CertificatePath, or ignored without a NAME.
// Nothing asks for a passphrase: an encrypted key's public half comes from
// NAME.pub or the clear header of the OpenSSH format.
func FindKeyPairs(dir string) ([]Key, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Key{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read ssh directory %q: %w", dir, err)
	}
	pairs := map[string]*pair{} // by the private key's name
	var publics, certs []*keyFile
	for _, entry := range entries {
		name := entry.Name()
		if skipName(name) {
			continue
		}
		f, kind := readKeyFile(filepath.Join(dir, name))
		switch kind {
		case privateFile:
			pairs[name] = &pair{private: f}
		case publicFile:
			publics = append(publics, f)
		case certificateFile:
			certs = append(certs, f)
		}
	}
	for _, f := range publics {
		if stem, ok := strings.CutSuffix(filepath.Base(f.path), ".pub"); ok {
			if p := pairs[stem]; p != nil && p.public == nil {
				p.public = f
				continue
			}
		}
		pairs[filepath.Base(f.path)+"\x00public"] = &pair{public: f}
	}
	for _, f := range certs {
		stem := strings.TrimSuffix(filepath.Base(f.path), "-cert.pub")
		if p := pairs[stem]; p != nil {
			p.cert = f
		} else if p := pairs[stem+".pub\x00public"]; p != nil {
			p.cert = f
		}
	}
	keys := make([]Key, 0, len(pairs))
	for _, p := range pairs {
		keys = append(keys, p.key())
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].path() < keys[j].path() })
	return keys, nil
}

func (k Key) path() string {
	if k.PrivateKeyPath != "" {
		return k.PrivateKeyPath
	}
	return k.PublicKeyPath
}

// readKeyFile reads and parses path if it holds a key.
func readKeyFile(path string) (*keyFile, fileKind) {
	info, err := os.Stat(path) // follows symlinks: dotfile managers link keys
	if err != nil || !info.Mode().IsRegular() || info.Size() > maxKeyFileSize {
		return nil, notAKey
	}
	f := &keyFile{path: path, mode: info.Mode().Perm()}
	data, err := safefile.ReadSmall(path, maxKeyFileSize)
	if err != nil {
		// An unreadable id_* (say, created by "sudo ssh-keygen") is worth
		// reporting; an unreadable file of any other name is not ours.
		name := filepath.Base(path)
		var pe *fs.PathError
		if !strings.HasPrefix(name, "id_") || !errors.As(err, &pe) {
			return nil, notAKey // also a file swapped for a FIFO or device since the Stat
		}
		f.err, f.unreadable = pe.Err, true
		if strings.HasSuffix(name, ".pub") {
			return f, publicFile
		}
		return f, privateFile
	}
	kind := classify(data)
	switch kind {
	case privateFile:
		f.priv, f.err = parsePrivateKey(data)
		f.pub = f.priv.pub
	case publicFile, certificateFile:
		var pk publicKey
		if pk, f.err = parsePublicKeyText(data); f.err == nil {
			f.pub = &pk
		}
	}
	return f, kind
}

// key assembles what is known about a pair into a Key.
func (p *pair) key() Key {
	k := Key{Problems: []Problem{}}
	var shown *publicKey // what Type, Bits and Fingerprint describe
	if f := p.public; f != nil {
		k.PublicKeyPath = f.path
		if f.err != nil {
			k.problem(f.parseProblem(ProblemPublicUnparsable))
		} else {
			shown = f.pub
			k.Comment = f.pub.comment
		}
	}
	if f := p.private; f != nil {
		k.PrivateKeyPath = f.path
		k.Encrypted = f.priv.encrypted
		switch {
		case f.err != nil:
			k.problem(f.parseProblem(ProblemPrivateUnparsable))
		case shown == nil:
			// Like ssh-keygen -l: the .pub decides, the private file is the fallback.
			shown = f.pub
			k.Comment = f.priv.comment
		case f.pub != nil && !bytes.Equal(f.pub.blob, shown.blob):
			k.problem(Problem{Kind: ProblemPublicMismatch, Path: p.public.path})
		}
		if runtime.GOOS != "windows" && f.mode&0o077 != 0 {
			k.problem(Problem{Kind: ProblemLooseMode, Path: f.path, Mode: f.mode})
		}
	}
	if shown != nil {
		k.Type, k.Bits, k.PublicKey = shown.typ, shown.bits, shown.key
		if shown.blob != nil {
			k.Fingerprint = fingerprintBlob(shown.blob)
		}
	}
	if p.cert != nil {
		k.CertificatePath = p.cert.path
		switch {
		case p.cert.err != nil:
			k.problem(p.cert.parseProblem(ProblemCertificateUnparsable))
		case shown != nil && !bytes.Equal(p.cert.pub.blob, shown.blob):
			k.problem(Problem{Kind: ProblemCertificateMismatch, Path: p.cert.path})
		}
	}
	switch {
	case p.private == nil:
		k.problem(Problem{Kind: ProblemMissingPrivate, Path: strings.TrimSuffix(k.PublicKeyPath, ".pub")})
	case p.public == nil:
		k.problem(Problem{Kind: ProblemMissingPublic, Path: k.PrivateKeyPath + ".pub"})
	}
	if k.Type != "" {
		if problem, refused := bitbucketProblem(k); refused {
			k.problem(problem)
		}
		if p.private != nil && p.private.err == nil && !canSign(k.Type) && isSecurityKey(k.Type) {
			k.problem(Problem{Kind: ProblemSecurityKey, Path: p.private.path})
		}
	}
	return k
}

// parseProblem is the problem of a file that could not be read or parsed.
func (f *keyFile) parseProblem(kind ProblemKind) Problem {
	if f.unreadable {
		kind = ProblemUnreadable
	}
	return Problem{Kind: kind, Path: f.path, Err: f.err}
}

func (k *Key) problem(p Problem) { k.Problems = append(k.Problems, p) }

func isSecurityKey(typ string) bool { return strings.HasPrefix(typ, "sk-") }

// FileFingerprint is the SHA256 fingerprint of the key in one file, a
// private key (from the clear header of OpenSSH's format, so without a
// passphrase) or a public key.
func FileFingerprint(path string) (string, error) {
	f, kind := readKeyFile(path)
	switch {
	case f == nil || kind == notAKey:
		return "", fmt.Errorf("%q is not a key file", path)
	case f.err != nil:
		return "", fmt.Errorf("%q does not parse: %w", path, f.err)
	case f.pub == nil || f.pub.blob == nil:
		return "", fmt.Errorf("%q does not tell its public key without the passphrase", path)
	}
	return fingerprintBlob(f.pub.blob), nil
}
