package sshkeys

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// ErrNotLoadable is matched (errors.Is) by every *NotLoadableError.
var ErrNotLoadable = errors.New("OpenSSH will not load this file")

// LoadReason says why OpenSSH would refuse to load a private key file.
type LoadReason int

const (
	// LoadPermissions: the file belongs to the user and group or others
	// have any access to it (Mode): "UNPROTECTED PRIVATE KEY FILE".
	LoadPermissions LoadReason = iota + 1
	// LoadLineEndings: an OpenSSH-format key with Windows (CRLF) line
	// endings: OpenSSH only finds its BEGIN and END lines when they end in
	// a bare LF, and says "error in libcrypto".
	LoadLineEndings
	// LoadLeadingText: something (a blank line, a byte order mark) before
	// the BEGIN line of an OpenSSH-format key, which must come first.
	LoadLeadingText
	// LoadNoEndLine: an OpenSSH-format key whose END line is missing or
	// lacks its final newline.
	LoadNoEndLine
	// LoadFormat: not a private key OpenSSH can parse at all (Err says why).
	LoadFormat
	// LoadNotRegular: not a regular file (a FIFO, a device, a directory).
	LoadNotRegular
	// LoadBlankLine: a PEM or PKCS#8 key with a blank line among its
	// base64 lines, which libcrypto refuses (x/crypto does not).
	LoadBlankLine
)

// NotLoadableError: OpenSSH (ssh, ssh-add, ssh-keygen -y) would refuse the
// private key file at Path, so git, which signs through ssh, cannot use it
// even where git-bbkey could.
type NotLoadableError struct {
	Path   string
	Reason LoadReason
	Mode   fs.FileMode // LoadPermissions
	Err    error       // LoadFormat, LoadNotRegular
}

func (e *NotLoadableError) Error() string {
	switch e.Reason {
	case LoadPermissions:
		return fmt.Sprintf("%s has mode %04o, and OpenSSH refuses a private key that group or others can access", e.Path, e.Mode)
	case LoadLineEndings:
		return fmt.Sprintf("%s has Windows (CRLF) line endings, which OpenSSH cannot read in its own key format (it says \"error in libcrypto\")", e.Path)
	case LoadLeadingText:
		return fmt.Sprintf("%s has text before its %q line, which must be the first line", e.Path, openSSHBegin[:len(openSSHBegin)-1])
	case LoadNoEndLine:
		return fmt.Sprintf("%s does not end with a complete %q line (with its newline)", e.Path, openSSHEnd[:len(openSSHEnd)-1])
	case LoadBlankLine:
		return fmt.Sprintf("%s has a blank line inside the key's text, which OpenSSH (through libcrypto) refuses", e.Path)
	case LoadNotRegular:
		return e.Err.Error()
	case LoadFormat:
		return fmt.Sprintf("%s is not a private key OpenSSH can read: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, ErrNotLoadable)
}

func (e *NotLoadableError) Is(target error) bool { return target == ErrNotLoadable }
func (e *NotLoadableError) Unwrap() error        { return e.Err }

// The markers of OpenSSH's own format, exactly as sshkey.c matches them.
const (
	openSSHBegin = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
	openSSHEnd   = "-----END OPENSSH PRIVATE KEY-----\n"
)

// CheckLoadable tells whether OpenSSH would load the private key file at
// path, by OpenSSH's own rules (sshkey_perm_ok and the format readers of
// sshkey.c), which are stricter than x/crypto's: the file's mode, then the
// exact framing of its own format; PEM and PKCS#8 go through libcrypto,
// which is as lenient as our parser. It does not decrypt: an encrypted key
// is loadable when its passphrase would open it.
//
// It returns nil, a *NotLoadableError, or the error of reading the file
// (errors.Is(err, fs.ErrNotExist) when it is missing).
func CheckLoadable(path string) error {
	data, err := safefile.ReadSmall(path, maxKeyFileSize)
	var notRegular *safefile.NotRegularError
	if errors.As(err, &notRegular) {
		return &NotLoadableError{Path: path, Reason: LoadNotRegular, Err: err}
	}
	if err != nil {
		return err
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		// Like OpenSSH: the mode of someone else's file (root reading a
		// user's key) is not checked.
		if ownedByMe(st) && st.Mode().Perm()&0o077 != 0 {
			return &NotLoadableError{Path: path, Reason: LoadPermissions, Mode: st.Mode().Perm()}
		}
	}
	if reason, ok := openSSHFraming(data); !ok {
		return &NotLoadableError{Path: path, Reason: reason}
	}
	if reason, err := pemFraming(data); reason != 0 {
		return &NotLoadableError{Path: path, Reason: reason, Err: err}
	}
	if classify(data) != privateFile {
		return &NotLoadableError{Path: path, Reason: LoadFormat, Err: errors.New("it is not a private key")}
	}
	info, err := parsePrivateKey(data)
	if err != nil {
		return &NotLoadableError{Path: path, Reason: LoadFormat, Err: err}
	}
	if info.pub != nil && info.pub.typ == typeRSA1 {
		return &NotLoadableError{Path: path, Reason: LoadFormat, Err: errors.New("it is an ssh-1 (rsa1) key")}
	}
	return nil
}

// openSSHFraming checks an OpenSSH-format file the way sshkey.c's
// private2_uudecode reads it: the BEGIN line first, LF-terminated; then,
// at the start of some line, the END line with its LF. Other formats pass.
func openSSHFraming(data []byte) (LoadReason, bool) {
	marker := []byte(openSSHBegin[:len(openSSHBegin)-1])
	at := bytes.Index(data, marker)
	if at < 0 {
		return 0, true // not OpenSSH's format: libcrypto reads PEM leniently
	}
	if at > 0 {
		return LoadLeadingText, false
	}
	if !bytes.HasPrefix(data, []byte(openSSHBegin)) {
		if bytes.HasPrefix(data[len(marker):], []byte("\r\n")) {
			return LoadLineEndings, false
		}
		return LoadFormat, false
	}
	rest := data[len(openSSHBegin):]
	for {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		rest = rest[nl+1:]
		if bytes.HasPrefix(rest, []byte(openSSHEnd)) {
			return 0, true
		}
	}
	if bytes.Contains(data, []byte("\r\n")) {
		return LoadLineEndings, false
	}
	return LoadNoEndLine, false
}

// pemFraming checks a PEM block the way libcrypto's PEM reader does where
// it is stricter than encoding/pem: after the BEGIN line come either header
// lines ended by one blank line, the first of them "Proc-Type:" exactly, or
// one blank line, or neither; after them no blank line may come before the
// END line. OpenSSH's own format, which sshkey.c reads itself, is not PEM
// in this sense. It returns 0 when libcrypto would read the framing.
func pemFraming(data []byte) (LoadReason, error) {
	if bytes.Contains(data, []byte(openSSHBegin[:len(openSSHBegin)-1])) {
		return 0, nil // OpenSSH's own format skips line breaks: see openSSHFraming
	}
	var body [][]byte
	in := false
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, " \t\r\n")
		switch {
		case !in && bytes.HasPrefix(line, []byte("-----BEGIN ")):
			in = true
		case in && bytes.HasPrefix(line, []byte("-----END ")):
			return dataLines(body)
		case in:
			body = append(body, line)
		}
	}
	return 0, nil // no complete block: the parser says what is wrong
}

func dataLines(body [][]byte) (LoadReason, error) {
	switch {
	case len(body) == 0:
		return 0, nil
	case len(body[0]) == 0:
		body = body[1:] // an empty header section
	case bytes.IndexByte(body[0], ':') >= 0:
		if !bytes.HasPrefix(body[0], []byte("Proc-Type:")) {
			return LoadFormat, errors.New(`its first PEM header is not "Proc-Type:"`)
		}
		end := slices.IndexFunc(body, func(l []byte) bool { return len(l) == 0 })
		if end < 0 {
			return LoadFormat, errors.New("its PEM headers are not followed by a blank line")
		}
		body = body[end+1:]
	}
	if slices.ContainsFunc(body, func(l []byte) bool { return len(l) == 0 }) {
		return LoadBlankLine, nil
	}
	return 0, nil
}
