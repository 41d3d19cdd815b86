package sshdtest

import (
	"os"

	"golang.org/x/crypto/ssh"
)

// AuthorizeJump lets key in for TCP forwarding only, as on a bastion
// (the server must be started with Options.AllowTcpForwarding): `ssh -W`
// and ProxyJump work, sessions get no shell of their own.
func (s *Server) AuthorizeJump(key ssh.PublicKey) {
	s.t.Helper()
	line := `restrict,port-forwarding,command="/bin/false" ` + string(ssh.MarshalAuthorizedKey(key))
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.authFile, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		s.t.Fatal(err)
	}
}
