package bbsession

import (
	"context"
	"errors"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// Op is what a refused request was trying to do.
type Op int

const (
	OpRead         Op = iota + 1 // reading (keys, settings, a repository)
	OpWriteUserKey               // adding or deleting the user's own SSH key
	OpAccessKey                  // listing, adding or changing an access key
)

// Explain names the real cause of a refusal: a 401 that is not about the
// password (Bitbucket's answer to a missing permission) or a 403 becomes
// a *DeniedError. Access keys switched off on the server (its settings say
// so, or the answer names FeatureDisabledException), an HTTP access token
// that may not change the account's keys, missing admin rights on the
// project or repository, and Bitbucket's XSRF filter are told apart.
// Other errors come back as they are.
func (s *Session) Explain(ctx context.Context, err error, op Op) error {
	var e *bitbucket.Error
	if !errors.As(err, &e) {
		return err
	}
	denied := func(c DeniedCause) error { return &DeniedError{Base: s.base, Cause: c, Err: e} }
	switch {
	case e.Kind == bitbucket.KindXSRF:
		return denied(DeniedXSRF)
	case e.Kind == bitbucket.KindUnauthorized && e.BadPassword():
		return err
	case e.Kind != bitbucket.KindUnauthorized && e.Kind != bitbucket.KindForbidden:
		return err
	case op == OpAccessKey && (e.FeatureDisabled() || s.accessKeysOff(ctx)):
		return denied(DeniedAccessKeysOff)
	case e.Kind == bitbucket.KindForbidden:
		return denied(DeniedForbidden)
	case op == OpWriteUserKey && s.ViaToken():
		return denied(DeniedTokenMayNotManage)
	case op == OpAccessKey:
		return denied(DeniedNotAdmin)
	}
	return denied(DeniedNotPermitted)
}

// accessKeysOff reports whether the settings say access keys are off.
func (s *Session) accessKeysOff(ctx context.Context) bool {
	set, err := s.Settings(ctx)
	return err == nil && !set.AccessKeysEnabled
}
