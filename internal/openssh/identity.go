package openssh

import "os"

// OfferedIdentity is the identity file ssh offers for these settings: the
// first of IdentityFiles that exists (ssh skips the missing ones), seen
// under $HOME, as git-bbkey finds its files (File.HomePath; HomeDiffers
// says when OpenSSH's own ~ is elsewhere). ok is false when none exists.
//
// Without IdentitiesOnly, ssh offers the keys of the agent before these
// files; which of those the server takes cannot be known without asking
// it, so the file is the one git-bbkey names and checks.
func (s *Settings) OfferedIdentity() (f File, ok bool) {
	for _, f := range s.IdentityFiles {
		p := f.HomePath
		if p == "" {
			p = f.Path
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return f, true
		}
	}
	return File{}, false
}

// DefaultIdentity reports whether f is one of the identity files ssh tries
// on its own when no IdentityFile is set (~/.ssh/id_rsa, id_ecdsa, …, under
// its own home): such a file may well not exist, where a missing file that
// the configuration names is a mistake.
func (s *Settings) DefaultIdentity(f File) bool {
	home := s.AccountHome
	if home == "" {
		home = s.Home
	}
	for _, d := range defaultIdentityFiles {
		if p, err := tildeExpand(d, home); err == nil && p == f.Path {
			return true
		}
	}
	return false
}
