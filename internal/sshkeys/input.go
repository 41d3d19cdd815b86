package sshkeys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// ErrNoDefaultKey is matched (errors.Is) by a NoDefaultKeyError.
var ErrNoDefaultKey = errors.New("no SSH key")

// NoDefaultKeyError: none of DefaultKeyNames is in Dir, either half.
type NoDefaultKeyError struct{ Dir string }

func (e *NoDefaultKeyError) Error() string        { return fmt.Sprintf("no SSH key in %s", e.Dir) }
func (e *NoDefaultKeyError) Is(target error) bool { return target == ErrNoDefaultKey }

// DefaultKey is the private key path of the first of DefaultKeyNames in
// dir of which either half exists (a missing half is a problem for later,
// not a reason to take another key).
func DefaultKey(dir string) (string, error) {
	for _, name := range DefaultKeyNames {
		p := filepath.Join(dir, name)
		if exists(p) || exists(p+".pub") {
			return p, nil
		}
	}
	return "", &NoDefaultKeyError{Dir: dir}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// PublicKeyInput is one public key given to be sent somewhere (to
// Bitbucket): read from a file or from standard input.
type PublicKeyInput struct {
	Source  string // the file's path, or "standard input"
	Key     ssh.PublicKey
	Comment string
}

// Text is the "type base64 comment" line Bitbucket takes.
func (p *PublicKeyInput) Text() string {
	return strings.TrimSpace(string(MarshalPublicKey(p.Key, p.Comment)))
}

// PublicKeyReadError: the public key file at Path could not be read.
// errors.Is(err, fs.ErrNotExist) tells a missing file.
type PublicKeyReadError struct {
	Path string
	Err  error
}

func (e *PublicKeyReadError) Error() string {
	var tooLarge *safefile.TooLargeError
	if errors.Is(e.Err, safefile.ErrNotRegular) || errors.As(e.Err, &tooLarge) {
		return e.Err.Error() // these name the file themselves
	}
	err := e.Err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is in the message already
	}
	return fmt.Sprintf("cannot read %s: %v", e.Path, err)
}

func (e *PublicKeyReadError) Unwrap() error { return e.Err }

// NotPublicKeyError: what Source holds is not one SSH public key.
// errors.Is(err, ErrPrivateKey) tells a private key, which is never sent.
type NotPublicKeyError struct {
	Source string
	Err    error
}

func (e *NotPublicKeyError) Error() string {
	if errors.Is(e.Err, ErrPrivateKey) {
		return fmt.Sprintf("%s is a private key; only the public key is ever sent", e.Source)
	}
	return fmt.Sprintf("%s is not an SSH public key: %v", e.Source, e.Err)
}

func (e *NotPublicKeyError) Unwrap() error { return e.Err }

// MaxPublicKeyInput bounds what ReadPublicKeyFrom reads: far more than
// the largest public key line.
const MaxPublicKeyInput = 64 << 10

// ReadPublicKey reads the one public key in the file at path (a small,
// regular file), refusing anything else, a private key above all.
func ReadPublicKey(path string) (*PublicKeyInput, error) {
	data, err := safefile.ReadSmall(path, safefile.MaxSmallFile)
	if err != nil {
		return nil, &PublicKeyReadError{Path: path, Err: err}
	}
	return parseInput(data, path)
}

// ReadPublicKeyFrom reads the one public key in r (standard input, named
// source in errors), refusing more than MaxPublicKeyInput bytes and
// anything that is not a public key.
func ReadPublicKeyFrom(r io.Reader, source string) (*PublicKeyInput, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPublicKeyInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPublicKeyInput {
		return nil, fmt.Errorf("input is larger than %d bytes: not a public key", MaxPublicKeyInput)
	}
	return parseInput(data, source)
}

func parseInput(data []byte, source string) (*PublicKeyInput, error) {
	pub, comment, err := ParsePublicKeyLine(data)
	if err != nil {
		return nil, &NotPublicKeyError{Source: source, Err: err}
	}
	return &PublicKeyInput{Source: source, Key: pub, Comment: comment}, nil
}
