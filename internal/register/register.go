// Package register registers SSH keys on Bitbucket, idempotently: user
// keys, access keys on repositories and projects (a grant's permission is
// kept unless a permission is asked for), removal of user keys, and which
// keys are registered. Every outcome is a typed Result; a registration
// counts only when the server's answer (or, failing that, a fresh
// listing) shows the key that was sent.
package register

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Status is the outcome of one registration or removal.
type Status string

const (
	Added          Status = "added"
	AlreadyPresent Status = "already-present"
	Updated        Status = "updated"
	Failed         Status = "failed"
	Removed        Status = "removed"
)

// Kind is what a key is registered as.
type Kind string

const (
	UserKey    Kind = "user"
	RepoKey    Kind = "repo"
	ProjectKey Kind = "project"
)

// kindOf is RepoKey or ProjectKey for an access key's scope.
func kindOf(s bitbucket.Scope) Kind {
	if s.IsRepo() {
		return RepoKey
	}
	return ProjectKey
}

// Key is a public key to register.
type Key struct {
	Public  ssh.PublicKey
	Comment string
}

// Text is the key as Bitbucket takes it: "type base64 comment".
func (k Key) Text() string {
	return strings.TrimSpace(string(sshkeys.MarshalPublicKey(k.Public, k.Comment)))
}

// Fingerprint is the key's SHA256 fingerprint, as ssh-keygen -l shows it.
func (k Key) Fingerprint() string { return sshkeys.Fingerprint(k.Public) }

// Result is the outcome for one key and one place.
type Result struct {
	Status      Status
	Kind        Kind
	Scope       bitbucket.Scope      // access keys; zero for a user key
	Permission  bitbucket.Permission // access keys: the grant now
	Previous    bitbucket.Permission // Updated: the grant before
	ID          int                  // the key's id on Bitbucket; 0 when unknown
	Fingerprint string
	Label       string // removals: the key's label on Bitbucket
	Err         error  // Failed: why (typed; see the error types)
}

// SameKey compares keys as Bitbucket does: type and key material, not
// the comment.
func SameKey(text string, pub ssh.PublicKey) bool {
	other, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
	return err == nil && other.Type() == pub.Type() && string(other.Marshal()) == string(pub.Marshal())
}

// Fingerprint is a registered key's SHA256 fingerprint, computed from its
// text when it parses (the server's own field lacks the prefix).
func Fingerprint(k bitbucket.SSHKey) string {
	if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Text)); err == nil {
		return ssh.FingerprintSHA256(pub)
	}
	return bitbucket.NormalizeFingerprint(k.Fingerprint)
}

// carries reports whether an answer shows the key that was sent: an id,
// and the same key text (or, without text, the same fingerprint).
func carries(k bitbucket.SSHKey, key Key) bool {
	if k.ID <= 0 {
		return false
	}
	if k.Text != "" {
		return SameKey(k.Text, key.Public)
	}
	return k.Fingerprint != "" && bitbucket.NormalizeFingerprint(k.Fingerprint) == key.Fingerprint()
}

// ConflictError is a 409: the key is registered elsewhere on the server
// (another user's key, or a user key where an access key was asked for,
// or the other way round). A key can be registered once per server.
type ConflictError struct {
	Fingerprint string
	Kind        Kind // what was asked for
	Err         *bitbucket.Error
}

func (e *ConflictError) Error() string {
	if e.Kind == UserKey {
		return fmt.Sprintf("%s is already registered on this Bitbucket server, but not as your SSH key: it belongs to another user or is used as an access key for a repository or project (%v)", e.Fingerprint, e.Err)
	}
	return fmt.Sprintf("%s is already registered elsewhere on this server (as a user's SSH key, or another access key) (%v)", e.Fingerprint, e.Err)
}

func (e *ConflictError) Unwrap() error { return e.Err }

// UnconfirmedError: the server answered the registration as a success,
// but neither its answer nor a fresh listing shows the key.
type UnconfirmedError struct {
	Base        string
	Fingerprint string
	Kind        Kind
	Permission  bitbucket.Permission // access keys: the grant asked for
}

func (e *UnconfirmedError) Error() string {
	what := "your SSH key"
	if e.Kind != UserKey {
		what = "an access key with " + string(e.Permission)
	}
	return fmt.Sprintf("%s answered the registration of %s as %s as a success, but does not list it: it is not registered", e.Base, e.Fingerprint, what)
}

// ScopeError is a failure on one access-key scope ("PROJ/slug: …").
type ScopeError struct {
	Scope bitbucket.Scope
	Err   error
}

func (e *ScopeError) Error() string { return e.Scope.String() + ": " + e.Err.Error() }
func (e *ScopeError) Unwrap() error { return e.Err }

// NoMatchError: no user key on Base matches what was asked for.
type NoMatchError struct {
	Base string
	What string // "id 12", a fingerprint
}

func (e *NoMatchError) Error() string {
	return fmt.Sprintf("no SSH key of yours on %s matches %s", e.Base, e.What)
}
