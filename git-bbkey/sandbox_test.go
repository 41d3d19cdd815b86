package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
)

// sandboxKey finds the script's sandbox in its values.
type sandboxKey struct{}

type sandboxHolder struct{ srv *bbsandbox.Server }

func sandboxOf(ts *testscript.TestScript) *bbsandbox.Server {
	h := ts.Value(sandboxKey{}).(*sandboxHolder)
	if h.srv == nil {
		ts.Fatalf("no sandbox: run 'sandbox' first")
	}
	return h.srv
}

// sandbox [-tls] [-context PATH]: starts a local Bitbucket stand-in (REST and
// SSH with real git) for this script and exports:
//
//	BB_URL        REST base URL          BB_TOKEN / BB_PASSWORD  alice's secrets
//	BB_SSH_PORT   SSH port               BB_CLONE / BB_HTTP_CLONE  PROJ/demo clone URLs
//	BB_KNOWN_HOSTS  known_hosts line     BB_HOSTKEY_FP   host key fingerprint
//	BB_CA         CA file (with -tls)
//
// Users: alice (admin of PROJ), bob (reader of PROJ). Repos: PROJ/demo, PROJ/other.
func cmdSandbox(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	useTLS := fs.Bool("tls", false, "")
	contextPath := fs.String("context", "", "")
	advertised := fs.Int("advertise-port", 0, "")
	ts.Check(fs.Parse(args))
	h := ts.Value(sandboxKey{}).(*sandboxHolder)
	if h.srv != nil {
		ts.Fatalf("sandbox already running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := bbsandbox.Start(ctx, bbsandbox.Config{
		ContextPath: *contextPath,
		TLS:         *useTLS,
		DataDir:     ts.MkAbs("bbdata"),
		Users: []bbsandbox.User{
			{Name: "alice", Password: "alice-pass-Z7", Tokens: []string{"alice-token-Q9"}},
			{Name: "bob", Password: "bob-pass-K2", Tokens: []string{"bob-token-P4"}},
		},
		Projects: []bbsandbox.Project{
			{Key: "PROJ", Name: "Project", Repos: []string{"demo", "other"}, Admins: []string{"alice"}, Readers: []string{"bob"}},
		},
		AdvertisedSSHPort: *advertised,
	})
	ts.Check(err)
	h.srv = srv
	ts.Defer(func() { srv.Close() })
	ts.Setenv("BB_URL", srv.URL())
	ts.Setenv("BB_HOSTPORT", strings.SplitN(strings.SplitN(srv.URL(), "://", 2)[1], "/", 2)[0])
	ts.Setenv("BB_TOKEN", "alice-token-Q9")
	ts.Setenv("BB_PASSWORD", "alice-pass-Z7")
	ts.Setenv("BB_SSH_PORT", strings.TrimPrefix(srv.SSHAddr(), "127.0.0.1:"))
	ts.Setenv("BB_CLONE", srv.CloneURL("PROJ", "demo"))
	ts.Setenv("BB_HTTP_CLONE", srv.HTTPCloneURL("PROJ", "demo"))
	ts.Setenv("BB_KNOWN_HOSTS", srv.KnownHostsLine())
	ts.Setenv("BB_HOSTKEY_FP", ssh.FingerprintSHA256(srv.HostKey()))
	if *useTLS {
		ca := ts.MkAbs("bb-ca.pem")
		ts.Check(os.WriteFile(ca, srv.CACertPEM(), 0o644))
		ts.Setenv("BB_CA", ca)
	}
}

// bbuserkey [!] USER PUBFILE: the sandbox has PUBFILE registered as USER's key.
func cmdBBUserKey(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: bbuserkey USER PUBFILE")
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(ts.ReadFile(args[1])))
	ts.Check(err)
	fp := ssh.FingerprintSHA256(pub)
	found := false
	for _, k := range sandboxOf(ts).UserKeys(args[0]) {
		if k.Fingerprint == fp {
			found = true
		}
	}
	if found == neg {
		ts.Fatalf("sandbox user %s has key %s: %v", args[0], fp, found)
	}
}

// bbaccesskey [!] TARGET PERMISSION PUBFILE: the sandbox has an access key
// grant TARGET (PROJ or PROJ/slug) with PERMISSION for PUBFILE.
func cmdBBAccessKey(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: bbaccesskey TARGET PERMISSION PUBFILE")
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(ts.ReadFile(args[2])))
	ts.Check(err)
	fp := ssh.FingerprintSHA256(pub)
	found := false
	for _, k := range sandboxOf(ts).AccessKeys() {
		if k.Fingerprint != fp {
			continue
		}
		for _, g := range k.Grants {
			target := g.Project
			if g.Repo != "" {
				target += "/" + g.Repo
			}
			if strings.EqualFold(target, args[0]) && g.Permission == args[1] {
				found = true
			}
		}
	}
	if found == neg {
		ts.Fatalf("sandbox access key %s on %s with %s: %v", fp, args[0], args[1], found)
	}
}

// bbfail [-method M] N STATUS [RETRY-AFTER|html]: the next N REST calls
// (with method M only, if given) answer STATUS.
func cmdBBFail(ts *testscript.TestScript, neg bool, args []string) {
	method := ""
	if len(args) > 2 && args[0] == "-method" {
		method, args = args[1], args[2:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: bbfail N STATUS [RETRY-AFTER|html]")
	}
	var n, status int
	_, err := fmtSscan(args[0], &n)
	ts.Check(err)
	_, err = fmtSscan(args[1], &status)
	ts.Check(err)
	body, ctype, retry := `{"errors":[{"message":"try again later"}]}`, "application/json", ""
	if len(args) > 2 {
		if args[2] == "html" {
			body, ctype = "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
		} else {
			retry = args[2]
		}
	}
	sandboxOf(ts).FailNextMethod(method, n, status, body, ctype, retry)
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }

// bbfaults [NAME...]: the sandbox's REST side misbehaves (bbsandbox.Faults);
// no names: well-behaved again. Names: escapes, ext-clone-link,
// empty-answers, lose-writes, endless-paging, bare-401.
func cmdBBFaults(ts *testscript.TestScript, neg bool, args []string) {
	var f bbsandbox.Faults
	for _, a := range args {
		switch a {
		case "escapes":
			f.EscapesInErrors = true
		case "ext-clone-link":
			f.ExtCloneLink = true
		case "empty-answers":
			f.EmptyAnswers = true
		case "lose-writes":
			f.LoseWrites = true
		case "endless-paging":
			f.EndlessPaging = true
		case "bare-401":
			f.BareUnauthorized = true
		default:
			ts.Fatalf("bbfaults: unknown fault %q", a)
		}
	}
	sandboxOf(ts).SetFaults(f)
}
