package doctor

import (
	"errors"
	"fmt"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

func checkServer(f *Facts) []Check {
	one := func(k Kind, st Status, msg, fix string, cause error) []Check {
		return []Check{{Name: "server", Kind: k, Status: st, Message: msg, Fix: fix, Cause: cause}}
	}
	s := f.Server
	if s.Err != nil {
		var bad *bbsession.BaseURLError
		if errors.As(s.Err, &bad) {
			return one(ServerBadURL, Fail, s.Err.Error(), "git config --global bbkey.url https://bitbucket.example.com", s.Err)
		}
		return one(ServerBadURL, Fail, s.Err.Error(), "", s.Err)
	}
	if s.Base == "" {
		return one(ServerNone, Skip, "no Bitbucket server URL (no --server, no bbkey.url, no https remote)", serverFix, nil)
	}
	if err := s.SettingsErr; err != nil {
		var be *bitbucket.Error
		switch {
		case errors.As(err, &be) && be.Kind == bitbucket.KindUnauthorized && !s.Authenticated:
			return one(ServerNeedsCredentials, Warn, fmt.Sprintf("%s shows its SSH settings only to a signed-in user, and there are no credentials", s.Base),
				"set BITBUCKET_TOKEN to an HTTP access token, or store your password with git credential approve", nil)
		case errors.As(err, &be) && be.Kind == bitbucket.KindUnauthorized:
			return one(ServerCredentialsRejected, Fail, fmt.Sprintf("%s rejected the credentials: %v", s.Base, err),
				"check BITBUCKET_TOKEN, or the password git credential gives for "+s.Base, nil)
		case errors.As(err, &be) && be.Kind == bitbucket.KindNotJSON:
			return one(ServerNotBitbucket, Fail, fmt.Sprintf("cannot read the SSH settings of %s: %v", s.Base, err),
				"check that the URL is the Bitbucket base URL with its context path: git config --global bbkey.url https://…", nil)
		}
		return one(ServerUnreachable, Fail, fmt.Sprintf("cannot read the SSH settings of %s: %v", s.Base, err), "", err)
	}
	var disabled *bbsession.SSHDisabledError
	if errors.As(s.AddressErr, &disabled) {
		return one(ServerSSHDisabled, Fail, fmt.Sprintf("SSH access is disabled on %s", s.Base),
			"ask your Bitbucket admin to enable SSH access (Administration > Server settings > SSH access); until then use https", nil)
	}
	if s.AddressErr != nil {
		return one(ServerUnreachable, Fail, fmt.Sprintf("cannot tell the SSH address of %s: %v", s.Base, s.AddressErr), "", s.AddressErr)
	}
	how := "anonymously"
	if s.WithCredentials {
		how = "with credentials"
	}
	return one(ServerOK, OK, fmt.Sprintf("SSH access is enabled on %s: %s port %d (settings read %s)", s.Base, s.Address.Host, s.Address.Port, how), "", nil)
}
