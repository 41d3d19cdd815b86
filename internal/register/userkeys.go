package register

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// UserKeyOptions are the optional parts of a user key.
type UserKeyOptions struct {
	Label      string // "" leaves Bitbucket's default (the key comment)
	ExpiryDays int    // 0: no expiry
}

// AddUserKey registers key as the SSH user key of the session's user,
// unless it is already one (AlreadyPresent, comment ignored). A key
// registered elsewhere is a *ConflictError; a server too old for the key
// type or the expiry an *bbsession.UnsupportedError, before anything is
// sent; a success the server cannot show an *UnconfirmedError.
func AddUserKey(ctx context.Context, s *bbsession.Session, key Key, opts UserKeyOptions) Result {
	res := Result{Kind: UserKey, Fingerprint: key.Fingerprint()}
	fail := func(err error) Result {
		res.Status, res.Err = Failed, err
		return res
	}
	c, err := s.Client(ctx)
	if err != nil {
		return fail(err)
	}
	existing, err := c.ListUserKeys(ctx, "")
	if err != nil {
		return fail(s.Explain(ctx, err, bbsession.OpRead))
	}
	if k, ok := findKey(existing, key.Public); ok {
		res.Status, res.ID = AlreadyPresent, k.ID
		return res
	}
	if err := s.Require(ctx, bbsession.FeaturesForKey(key.Public.Type(), opts.ExpiryDays > 0)...); err != nil {
		return fail(err)
	}
	added, err := c.AddUserKey(ctx, bitbucket.NewKey{Text: key.Text(), Label: opts.Label, ExpiryDays: opts.ExpiryDays})
	if err != nil {
		if e, ok := conflict(err); ok {
			return fail(&ConflictError{Fingerprint: res.Fingerprint, Kind: UserKey, Err: e})
		}
		return fail(s.Explain(ctx, err, bbsession.OpWriteUserKey))
	}
	res.Status = Added
	if carries(*added, key) {
		res.ID = added.ID
		return res
	}
	// The answer does not show the key: only a listing can tell.
	now, err := c.ListUserKeys(ctx, "")
	if err != nil {
		return fail(s.Explain(ctx, err, bbsession.OpRead))
	}
	k, ok := findKey(now, key.Public)
	if !ok {
		return fail(&UnconfirmedError{Base: s.Base(), Fingerprint: res.Fingerprint, Kind: UserKey})
	}
	res.ID = k.ID
	return res
}

func findKey(keys []bitbucket.SSHKey, pub ssh.PublicKey) (bitbucket.SSHKey, bool) {
	for _, k := range keys {
		if SameKey(k.Text, pub) {
			return k, true
		}
	}
	return bitbucket.SSHKey{}, false
}

// conflict finds a 409 in err.
func conflict(err error) (*bitbucket.Error, bool) {
	var e *bitbucket.Error
	if errors.As(err, &e) && e.Kind == bitbucket.KindConflict {
		return e, true
	}
	return nil, false
}

// Selector names registered user keys: by id, by fingerprint, or by the
// public key itself. Exactly one field is set.
type Selector struct {
	ID          int
	Fingerprint string // "SHA256:…"
	Key         ssh.PublicKey
}

// Matches reports whether k is the key selected.
func (sel Selector) Matches(k bitbucket.SSHKey) bool {
	switch {
	case sel.ID > 0:
		return k.ID == sel.ID
	case sel.Key != nil:
		return SameKey(k.Text, sel.Key)
	case sel.Fingerprint != "":
		return Fingerprint(k) == bitbucket.NormalizeFingerprint(sel.Fingerprint)
	}
	return false
}

// String names the selection: "id 12", or a fingerprint.
func (sel Selector) String() string {
	switch {
	case sel.ID > 0:
		return fmt.Sprintf("id %d", sel.ID)
	case sel.Key != nil:
		return ssh.FingerprintSHA256(sel.Key)
	}
	return bitbucket.NormalizeFingerprint(sel.Fingerprint)
}

// UserKeys lists the session user's SSH keys.
func UserKeys(ctx context.Context, s *bbsession.Session) ([]bitbucket.SSHKey, error) {
	c, err := s.Client(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := c.ListUserKeys(ctx, "")
	if err != nil {
		return nil, s.Explain(ctx, err, bbsession.OpRead)
	}
	return keys, nil
}

// FindUserKeys lists the session user's SSH keys that sel selects (none
// is not an error here).
func FindUserKeys(ctx context.Context, s *bbsession.Session, sel Selector) ([]bitbucket.SSHKey, error) {
	keys, err := UserKeys(ctx, s)
	if err != nil {
		return nil, err
	}
	var found []bitbucket.SSHKey
	for _, k := range keys {
		if sel.Matches(k) {
			found = append(found, k)
		}
	}
	return found, nil
}

// RemoveUserKey deletes the user key k (one that is already gone counts
// as removed).
func RemoveUserKey(ctx context.Context, s *bbsession.Session, k bitbucket.SSHKey) Result {
	res := Result{Kind: UserKey, ID: k.ID, Fingerprint: Fingerprint(k), Label: k.Label}
	c, err := s.Client(ctx)
	if err == nil {
		if err = c.DeleteUserKey(ctx, k.ID); err != nil {
			err = s.Explain(ctx, err, bbsession.OpWriteUserKey)
		}
	}
	if err != nil {
		res.Status, res.Err = Failed, err
		return res
	}
	res.Status = Removed
	return res
}

// Registered tells which of the fingerprints ("SHA256:…") are the session
// user's SSH keys (registered[fp]), and returns the user's keys that are
// none of them.
func Registered(ctx context.Context, s *bbsession.Session, fingerprints []string) (map[string]bool, []bitbucket.SSHKey, error) {
	keys, err := UserKeys(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	asked := map[string]bool{}
	for _, fp := range fingerprints {
		asked[fp] = true
	}
	registered := map[string]bool{}
	var others []bitbucket.SSHKey
	for _, k := range keys {
		fp := Fingerprint(k)
		registered[fp] = true
		if !asked[fp] {
			others = append(others, k)
		}
	}
	return registered, others, nil
}
