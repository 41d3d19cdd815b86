package openssh

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

func kinds(limits []Limit) []LimitKind {
	var k []LimitKind
	for _, l := range limits {
		k = append(k, l.Kind)
	}
	return k
}

func TestLimits(t *testing.T) {
	dir := t.TempDir()
	_, plainKey := sshdtest.NewKey(t, dir, "id_ed25519")
	skKey := filepath.Join(dir, "id_sk")
	// A security key's .pub is enough for ssh (and us) to know its type.
	if err := os.WriteFile(skKey+".pub", []byte("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIA== x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	certKey := filepath.Join(dir, "id_cert")
	if err := os.WriteFile(certKey+"-cert.pub", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t,
		"Host p11", "  PKCS11Provider /usr/lib/opensc-pkcs11.so",
		"Host khc", "  KnownHostsCommand /bin/true %H",
		"Host fdpass", "  ProxyCommand nc %h %p", "  ProxyUseFdpass yes",
		"Host certs", "  CertificateFile /k/cert.pub",
		`Match host mexec exec "true"`, "  Port 2222",
	)
	r := testResolver(t, cfg)
	for _, tc := range []struct {
		host string
		key  string
		want []LimitKind
	}{
		{"plain", plainKey, nil},
		{"p11", "", []LimitKind{LimitPKCS11}},
		{"khc", "", []LimitKind{LimitKnownHostsCommand}},
		{"fdpass", "", []LimitKind{LimitProxyUseFdpass}},
		{"certs", "", []LimitKind{LimitCertificate}},
		{"mexec", "", []LimitKind{LimitMatchExec}},
		{"plain", skKey, []LimitKind{LimitSecurityKey}},
		{"plain", certKey, []LimitKind{LimitCertificate}},
	} {
		s, err := r.Settings(context.Background(), Target{Host: tc.host})
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(s.Limits(tc.key)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s with %q: limits %v, want %v", tc.host, tc.key, s.Limits(tc.key), tc.want)
		}
	}

	// Not OpenSSH, or not ssh itself.
	for _, tc := range []struct {
		c    Command
		want LimitKind
	}{
		{Command{Text: "plink", Words: []string{"plink"}, Variant: VariantPlink}, LimitNotOpenSSH},
		{Command{Text: "ssh -F $(echo " + cfg + ")", Shell: true, Variant: VariantSSH}, LimitWrapper},
		{Command{Text: "env ssh -F " + cfg, Shell: true, Variant: VariantAuto, Words: []string{"env", "ssh", "-F", cfg}}, LimitWrapper},
	} {
		r := testResolver(t, cfg)
		r.Command = tc.c
		s, err := r.Settings(context.Background(), Target{Host: "plain"})
		if err != nil {
			t.Fatalf("%q: %v", tc.c.Text, err)
		}
		if got := kinds(s.Limits("")); !reflect.DeepEqual(got, []LimitKind{tc.want}) {
			t.Errorf("%q: limits %v, want %v", tc.c.Text, s.Limits(""), tc.want)
		}
	}
}

// TestKeyType reads the type of a private key without its .pub, as ssh
// does, also for an encrypted key.
func TestKeyType(t *testing.T) {
	dir := t.TempDir()
	_, file := sshdtest.NewKey(t, dir, "k")
	os.Remove(file + ".pub")
	if got := keyType(file); got != ssh.KeyAlgoED25519 {
		t.Errorf("keyType = %q", got)
	}
	if got := keyType(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("keyType of a missing file = %q", got)
	}
}

func TestParseJumpChain(t *testing.T) {
	chain, err := ParseJumpChain("alice@bastion:2222,ssh://bob@[::1]:2200,plain,[fe80::1]")
	if err != nil {
		t.Fatal(err)
	}
	want := []JumpHost{{User: "alice", Host: "bastion", Port: 2222, Raw: "alice@bastion:2222"},
		{User: "bob", Host: "::1", Port: 2200, Raw: "ssh://bob@[::1]:2200"},
		{Host: "plain", Raw: "plain"}, {Host: "fe80::1", Raw: "[fe80::1]"}}
	if !reflect.DeepEqual(chain, want) {
		t.Errorf("chain %+v", chain)
	}
	if c, err := ParseJumpChain("none"); c != nil || err != nil {
		t.Errorf("none: %v %v", c, err)
	}
	for _, bad := range []string{"a,,b", "@host", "host:0", "host:x", "ssh://h/path", "[::1"} {
		if _, err := ParseJumpChain(bad); err == nil {
			t.Errorf("ParseJumpChain(%q) accepted", bad)
		}
	}
}

func TestParseSSHArgs(t *testing.T) {
	o, err := parseSSHArgs([]string{"-vF", "cfg", "-i/k/a", "-i", "/k/b", "-oUser=x", "-p", "1", "-p", "2", "-4", "-J", "j", "host", "-l", "late"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ConfigFile != "cfg" || !reflect.DeepEqual(o.Identities, []string{"/k/a", "/k/b"}) || o.Port != "1" ||
		o.User != "late" || o.Jump != "j" || o.Host != "host" || o.Verbose != 1 {
		t.Errorf("parsed %+v", o)
	}
	if _, err := parseSSHArgs([]string{"-Z"}); err == nil {
		t.Error("unknown option accepted")
	}
	if k, v := splitOption("  IdentityFile = /a b "); k != "IdentityFile" || v != "/a b" {
		t.Errorf("splitOption: %q %q", k, v)
	}
}

func TestParseDebug(t *testing.T) {
	files, execs := parseDebug("OpenSSH_9.2p1\ndebug1: Reading configuration data /a/config\r\n" +
		"debug1: Executing command: 'test -t 0'\ndebug1: Reading configuration data /etc/ssh/ssh_config\nother\n")
	if !reflect.DeepEqual(files, []string{"/a/config", "/etc/ssh/ssh_config"}) || !reflect.DeepEqual(execs, []string{"test -t 0"}) {
		t.Errorf("files %q, execs %q", files, execs)
	}
	if _, err := parseDump("user x\n"); err == nil {
		t.Error("a dump without host name and port accepted")
	}
}
