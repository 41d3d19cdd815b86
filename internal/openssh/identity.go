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
