package sshverify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// hostKeyOracle runs OpenSSH's ssh and Verify side by side against one
// real sshd, with the same known_hosts files, and compares verdicts.
type hostKeyOracle struct {
	t       *testing.T
	srv     *sshdtest.Server
	ssh     string
	keyFile string
	signer  ssh.Signer
}

func newHostKeyOracle(t *testing.T, opts sshdtest.Options) *hostKeyOracle {
	o := &hostKeyOracle{t: t, ssh: testutil.RequireTool(t, "ssh")}
	o.srv = sshdtest.Start(t, opts)
	o.signer, o.keyFile = sshdtest.NewKey(t, t.TempDir(), "id_user")
	o.srv.Authorize(o.signer.PublicKey(), "alice")
	return o
}

// case of host-key trouble: the known_hosts files and HostKeyAlias.
type khCase struct {
	name   string
	user   []string // lines of the user file
	global []string // lines of the global file
	alias  string
}

// sshVerdict runs `ssh … whoami` with StrictHostKeyChecking=strict:
// "ok", "mismatch" (changed or revoked), "unknown", or what went wrong.
func (o *hostKeyOracle) sshVerdict(c khCase, userFile, globalFile, strict string) string {
	args := []string{"-F", "/dev/null", "-i", o.keyFile, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + userFile, "-o", "GlobalKnownHostsFile=" + globalFile,
		"-o", "StrictHostKeyChecking=" + strict, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(o.srv.Port)}
	if c.alias != "" {
		args = append(args, "-o", "HostKeyAlias="+c.alias)
	}
	args = append(args, o.srv.LoginUser+"@"+o.srv.Host, "whoami")
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.ssh, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	msg := stderr.String()
	switch {
	case ctx.Err() != nil:
		return "ssh hung: " + msg
	case err == nil && strings.TrimSpace(string(out)) == "alice":
		return "ok"
	case strings.Contains(msg, "REMOTE HOST IDENTIFICATION HAS CHANGED"), strings.Contains(msg, "REVOKED HOST KEY"):
		return "mismatch"
	case strings.Contains(msg, "Host key verification failed"):
		return "unknown"
	}
	return "ssh failed otherwise: " + msg
}

// ourVerdict runs Verify the same way.
func (o *hostKeyOracle) ourVerdict(c khCase, userFile, globalFile string, acceptNew bool) (string, Result) {
	var policy *HostKeyPolicy
	if acceptNew {
		policy = &HostKeyPolicy{AcceptNew: true}
	}
	settings := &HostSettings{KnownHosts: KnownHostsSpec{UserFiles: []string{userFile}, GlobalFiles: []string{globalFile}, Alias: c.alias}}
	r := Verify(context.Background(), []Target{{Host: o.srv.Host, Port: o.srv.Port, User: o.srv.LoginUser, HostOnly: true, Settings: settings}},
		Options{Signer: o.signer, HostKeyPolicy: policy, Timeout: 20 * time.Second})[0]
	switch r.Status {
	case StatusOK:
		return "ok", r
	case StatusHostMismatch:
		return "mismatch", r
	case StatusHostUnknown:
		return "unknown", r
	}
	return string(r.Status) + ": " + r.Message, r
}

// compare checks one case with StrictHostKeyChecking=yes (no policy) and
// =accept-new (AcceptNew), and that both append the same line.
func (o *hostKeyOracle) compare(c khCase) {
	o.t.Run(c.name, func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		write := func(name string, lines []string) string {
			p := filepath.Join(dir, name)
			content := ""
			if len(lines) > 0 {
				content = strings.Join(lines, "\n") + "\n"
			}
			writeFile(t, p, content)
			return p
		}
		global := write("global", c.global)
		sshUser, ourUser := write("ssh_known_hosts", c.user), write("our_known_hosts", c.user)

		strict := o.sshVerdict(c, sshUser, global, "yes")
		got, r := o.ourVerdict(c, ourUser, global, false)
		if got != strict {
			t.Errorf("StrictHostKeyChecking=yes: ssh says %s, we say %s (%s)", strict, got, r.Message)
		}

		acceptNew := o.sshVerdict(c, sshUser, global, "accept-new")
		got, r = o.ourVerdict(c, ourUser, global, true)
		if got != acceptNew {
			t.Errorf("accept-new: ssh says %s, we say %s (%s)", acceptNew, got, r.Message)
		}
		if a, b := readFile(t, sshUser), readFile(t, ourUser); a != b {
			t.Errorf("known_hosts after accept-new differs:\nssh: %q\nus:  %q", a, b)
		}
		t.Logf("ssh and we agree: %s with StrictHostKeyChecking=yes, %s with accept-new", strict, acceptNew)
	})
}

func (o *hostKeyOracle) line(hosts string, k ssh.PublicKey) string {
	return hosts + " " + k.Type() + " " + blob(k)
}

func (o *hostKeyOracle) name() string { return "[" + o.srv.Host + "]:" + strconv.Itoa(o.srv.Port) }

// TestHostKeysAgainstOpenSSH: for each way known_hosts can speak about a
// server, OpenSSH's ssh and Verify reach the same verdict, with
// StrictHostKeyChecking=yes and =accept-new, and pin the same line.
func TestHostKeysAgainstOpenSSH(t *testing.T) {
	o := newHostKeyOracle(t, sshdtest.Options{})
	h, name := o.srv.HostKey, o.name()
	other, rsaKey, ca := newSigner(t, "ed25519").PublicKey(), newSigner(t, "rsa").PublicKey(), newSigner(t, "ed25519").PublicKey()
	for _, c := range []khCase{
		{name: "known", user: []string{o.line(name, h)}},
		{name: "unknown", user: []string{o.line("elsewhere", h)}},
		{name: "changed", user: []string{o.line(name, other)}},
		{name: "another type known", user: []string{o.line(name, rsaKey)}},
		{name: "revoked for every host", user: []string{o.line("@revoked *", h), o.line(name, h)}},
		{name: "revoked, nothing else", user: []string{o.line("@revoked *", h)}},
		{name: "revoked for another host", user: []string{o.line("@revoked other.example.com", h), o.line(name, h)}},
		{name: "revoked in the global file", user: []string{o.line(name, h)}, global: []string{o.line("@revoked *", h)}},
		{name: "known in the global file", global: []string{o.line(name, h)}},
		{name: "a wildcard CA alone", user: []string{o.line("@cert-authority *", ca)}},
		{name: "a wildcard CA and a changed key", user: []string{o.line("@cert-authority *", ca), o.line(name, other)}},
		{name: "bare host name for another port", user: []string{o.line(o.srv.Host, h)}},
		{name: "bare host name with another key", user: []string{o.line(o.srv.Host, other)}},
		{name: "hashed", user: []string{hashHost([]byte("0123456789abcdefghij"), name) + " " + h.Type() + " " + blob(h)}},
		{name: "CRLF", user: []string{o.line(name, h) + "\r"}},
		{name: "negated pattern", user: []string{o.line("!"+name+",*", h)}},
		{name: "wildcard pattern", user: []string{o.line("["+o.srv.Host+"]:*", h)}},
		{name: "marker with a tab is no marker", user: []string{"@revoked\t* " + h.Type() + " " + blob(h), o.line(name, h)}},
		{name: "broken lines around", user: []string{"garbage", o.line(name, h) + "x", "|1|bad|hash " + h.Type() + " " + blob(h), o.line(name, h)}},
		{name: "alias known", user: []string{o.line("bbalias", h)}, alias: "BBAlias"},
		{name: "alias: the address's own entry does not count", user: []string{o.line(name, h)}, alias: "bbalias"},
		{name: "alias changed", user: []string{o.line("bbalias", other)}, alias: "bbalias"},
	} {
		o.compare(c)
	}
}

// TestHostCertificatesAgainstOpenSSH: a server with a host certificate
// (and a plain ed25519 key beside it), against @cert-authority lines.
func TestHostCertificatesAgainstOpenSSH(t *testing.T) {
	keygen := testutil.RequireTool(t, "ssh-keygen")
	dir := t.TempDir()
	run := func(args ...string) {
		if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
		}
	}
	caFile, hostKey := filepath.Join(dir, "ca"), filepath.Join(dir, "ssh_host_ecdsa_key")
	run("-q", "-t", "ed25519", "-N", "", "-f", caFile)
	run("-q", "-t", "ecdsa", "-N", "", "-f", hostKey)
	run("-q", "-s", caFile, "-I", "bb host", "-h", "-n", "127.0.0.1,bbalias", hostKey+".pub")
	o := newHostKeyOracle(t, sshdtest.Options{ExtraConfig: []string{"HostKey " + hostKey, "HostCertificate " + hostKey + "-cert.pub"}})
	parse := func(file string) ssh.PublicKey {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(b)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ca, ecdsaHost, name := parse(caFile+".pub"), parse(hostKey+".pub"), o.name()
	otherCA := newSigner(t, "ed25519").PublicKey()
	for _, c := range []khCase{
		{name: "the CA", user: []string{o.line("@cert-authority *", ca)}},
		{name: "the CA for the port's name", user: []string{o.line("@cert-authority "+name, ca)}},
		{name: "the CA for the bare host name", user: []string{o.line("@cert-authority "+o.srv.Host, ca)}},
		{name: "the CA under the alias", user: []string{o.line("@cert-authority bbalias", ca)}, alias: "bbalias"},
		{name: "the CA, principal not the alias", user: []string{o.line("@cert-authority other", ca)}, alias: "other"},
		{name: "another CA", user: []string{o.line("@cert-authority *", otherCA)}},
		{name: "the CA revoked", user: []string{o.line("@cert-authority *", ca), o.line("@revoked *", ca)}},
		{name: "the host key revoked", user: []string{o.line("@cert-authority *", ca), o.line("@revoked *", ecdsaHost)}},
		{name: "a CA for other hosts", user: []string{o.line("@cert-authority *.example.com", ca)}},
		{name: "the plain ecdsa key known", user: []string{o.line(name, ecdsaHost)}},
		{name: "the plain ed25519 key known", user: []string{o.line(name, o.srv.HostKey)}},
	} {
		o.compare(c)
	}
}

// TestConcurrentPinsAgainstOpenSSH runs 8 processes that verify the same
// unknown host at once with AcceptNew, five times over: known_hosts must
// end with exactly one line for the host key, which OpenSSH then trusts.
func TestConcurrentPinsAgainstOpenSSH(t *testing.T) {
	if kh := os.Getenv("SSHVERIFY_PIN_CHILD"); kh != "" {
		os.Exit(pinChild(kh))
	}
	o := newHostKeyOracle(t, sshdtest.Options{})
	for trial := 0; trial < 5; trial++ {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() {
				cmd := testutil.Command(t, os.Args[0], "-test.run=^TestConcurrentPinsAgainstOpenSSH$")
				cmd.Env = append(os.Environ(), "SSHVERIFY_PIN_CHILD="+kh, "SSHVERIFY_PIN_KEY="+o.keyFile,
					"SSHVERIFY_PIN_ADDR="+o.srv.Host+":"+strconv.Itoa(o.srv.Port), "SSHVERIFY_PIN_USER="+o.srv.LoginUser)
				out, err := cmd.CombinedOutput()
				if err != nil {
					err = fmt.Errorf("%v: %s", err, out)
				}
				errs <- err
			}()
		}
		for i := 0; i < 8; i++ {
			if err := <-errs; err != nil {
				t.Errorf("trial %d: a verify run failed: %v", trial, err)
			}
		}
		if got, want := readFile(t, kh), o.srv.KnownHostsLine()+"\n"; got != want {
			t.Fatalf("trial %d: known_hosts after 8 runs at once:\n%s\nwant exactly:\n%s", trial, got, want)
		}
		if v := o.sshVerdict(khCase{}, kh, os.DevNull, "yes"); v != "ok" {
			t.Errorf("trial %d: OpenSSH says %s about the pinned file", trial, v)
		}
	}
}

func pinChild(kh string) int {
	pem, err := os.ReadFile(os.Getenv("SSHVERIFY_PIN_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	host, port, _ := strings.Cut(os.Getenv("SSHVERIFY_PIN_ADDR"), ":")
	p, _ := strconv.Atoi(port)
	r := Verify(context.Background(), []Target{{Host: host, Port: p, User: os.Getenv("SSHVERIFY_PIN_USER"), HostOnly: true}},
		Options{Signer: signer, KnownHostsFile: kh, HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}, Timeout: 30 * time.Second})[0]
	if r.Status != StatusOK {
		fmt.Fprintf(os.Stderr, "%s: %s\n", r.Status, r.Message)
		return 1
	}
	return 0
}
