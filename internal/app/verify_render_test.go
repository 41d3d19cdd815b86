package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/verify"
)

// Text from outside (a server's message, a remote's URL and name) reaches
// the terminal escaped; --json carries it exactly. skipped is no failure;
// the run's error line says what was tried.
func TestReportVerifyEscapes(t *testing.T) {
	hostile := "no\x1b[2J\x1b]0;pwned\x07\r\nerror: fake line"
	results := []verify.Result{
		{Remote: "ori\x1bgin", URL: "ssh://git@host/p/r.git", Status: verify.StatusHostMismatch, Message: hostile, Elapsed: time.Millisecond},
		{Remote: "hub", URL: "git@github.com:o/r.git", Status: verify.StatusSkipped, Skip: &verify.SkipReason{Host: "github.com", Server: "https://bb.example.com"}},
	}
	env, stdout, stderr := TestEnv(t.TempDir(), t.TempDir(), nil)
	err := reportVerify(env, false, results, false)
	var e *Error
	if !errors.As(err, &e) || e.Code != exitFailure || e.Msg != "1 of 2 targets did not verify" {
		t.Fatalf("error %v", err)
	}
	out := stdout.String()
	if strings.ContainsAny(out, "\x1b\x07\r") || strings.Count(out, "\n") != 2 || !strings.Contains(out, `no\x1b[2J\x1b]0;pwned\x07\r\nerror: fake line`) ||
		!strings.Contains(out, `host-mismatch: ori\x1bgin ssh://`) || !strings.Contains(out, "skipped: hub git@github.com:o/r.git: github.com is not the Bitbucket at https://bb.example.com") {
		t.Errorf("text output:\n%q\nstderr %q", out, stderr)
	}

	env, stdout, _ = TestEnv(t.TempDir(), t.TempDir(), nil)
	reportVerify(env, true, results[:1], false)
	if !strings.Contains(stdout.String(), `"message": "no\u001b[2J\u001b]0;pwned\u0007\r\nerror: fake line"`) {
		t.Errorf("JSON does not carry the message exactly:\n%s", stdout)
	}
	// One target that could not be reached: the key was never tried.
	env, _, _ = TestEnv(t.TempDir(), t.TempDir(), nil)
	err = reportVerify(env, true, []verify.Result{{URL: "ssh://h/p", Status: verify.StatusUnreachable}}, false)
	if !errors.As(err, &e) || e.Msg != "the key was not tried: the server could not be reached (unreachable)" {
		t.Errorf("unreachable: %v", err)
	}
}
