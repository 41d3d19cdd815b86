package openssh

import "strings"

// fillFiles expands the file settings ssh -G prints as configured
// (identityfile, certificatefile) the way ssh does when it loads them,
// and pairs the ones it prints expanded (userknownhostsfile) with their
// $HOME form. hash is %C as ssh computes it ("" when unknown).
func (s *Settings) fillFiles(raw map[string][]string, local Local, env func(string) (string, bool), hash string) error {
	keyAlias := s.HostKeyAlias
	if keyAlias == "" {
		keyAlias = s.Target.Host
	}
	t := tokenValues{local: local, hostname: s.Hostname, hostArg: s.Target.Host, port: s.Port, user: s.User, keyAlias: keyAlias, hash: hash}
	expand := func(values []string) ([]File, error) {
		var files []File
		for _, v := range values {
			if strings.EqualFold(v, "none") {
				continue
			}
			f, err := s.expandFile(v, t, env)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		return files, nil
	}
	var err error
	if s.IdentityFiles, err = expand(raw["identityfile"]); err != nil {
		return err
	}
	if s.CertificateFiles, err = expand(raw["certificatefile"]); err != nil {
		return err
	}
	s.UserKnownHostsFiles = nil
	for _, v := range raw["userknownhostsfile"] {
		for _, p := range strings.Fields(v) {
			s.UserKnownHostsFiles = append(s.UserKnownHostsFiles, File{Path: p, HomePath: homePath(p, s.AccountHome, s.Home)})
		}
	}
	return nil
}

// expandFile expands one configured file name twice: with OpenSSH's ~
// (the account's home) and with $HOME.
func (s *Settings) expandFile(v string, t tokenValues, env func(string) (string, bool)) (File, error) {
	p, err := expandPath(v, s.AccountHome, t, env)
	if err != nil {
		return File{}, err
	}
	f := File{Path: p, HomePath: p}
	if s.Home != "" && s.HomeDiffers() {
		if f.HomePath, err = expandPath(v, s.Home, t, env); err != nil {
			return File{}, err
		}
	}
	return f, nil
}
