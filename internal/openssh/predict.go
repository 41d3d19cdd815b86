package openssh

import "strings"

// Predict guesses, without running ssh, where ssh connects directly for
// t: the host and port, read from the configuration files as Settings
// reads them when ssh is missing (command-line options of git's ssh
// command, ~/.ssh/config, the system file). ok is false when the guess is
// not worth acting on: ssh goes through a proxy or jump host, a Match
// block was read, the command is not plain OpenSSH, or $HOME is not the
// home OpenSSH reads its configuration from (unless the command names
// its file with -F).
//
// A guess is only a head start: act on it only in ways that Settings then
// confirms or undoes (opening a connection early, say), never for a
// verdict.
func (r *Resolver) Predict(t Target) (host string, port int, ok bool) {
	c := r.Command
	if name := strings.ToLower(baseName(c.Program())); !c.Plain() || name != "ssh" && name != "ssh.exe" {
		return "", 0, false
	}
	// ssh reads the account's ~/.ssh/config, the guess $HOME's: they agree
	// only when those are one, or when the command names its file (-F).
	if o, err := parseSSHArgs(c.Words[1:]); (err != nil || o.ConfigFile == "") &&
		r.Local.Home != "" && r.Home != "" && cleanDir(r.Local.Home) != cleanDir(r.Home) {
		return "", 0, false
	}
	opts, err := c.GitOptions(VariantSSH, t, false)
	if err != nil {
		return "", 0, false
	}
	s, err := r.approximate(t, c.Words, append(opts, t.HostArg()), hopCommandOf(c))
	if err != nil || s.approxMatch || s.ProxyJump != "" || s.ProxyCommand != "" || s.Hostname == "" {
		return "", 0, false
	}
	return s.Hostname, s.Port, true
}
