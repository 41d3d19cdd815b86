package setup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// A first run makes the key, registers it and checks the server's SSH
// address with it; a second changes nothing and says so.
func TestFirstRunThenNothingToDo(t *testing.T) {
	w := newWorld(t)
	r, err := w.run(nil)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(w.sshDir, "id_ed25519")
	fp := pairFingerprint(t, key)
	if !r.Generated || r.Key.PrivateKeyPath != key || r.Key.Fingerprint != fp || r.Key.Comment != "alice@example.com" {
		t.Fatalf("key %+v generated %v, want a new %s (%s)", r.Key, r.Generated, key, fp)
	}
	if r.Registration == nil || r.Registration.Status != register.Added || !slices.Equal(w.registered(), []string{fp}) {
		t.Fatalf("registration %+v, server has %v", r.Registration, w.registered())
	}
	tg := w.verify.targets[0]
	if !tg.HostOnly || tg.Host != "127.0.0.1" || strconv.Itoa(tg.Port) != strconv.Itoa(w.bb.SSHPort()) || tg.Server != w.bb.URL() {
		t.Fatalf("verified %+v, want the sandbox's SSH address alone", tg)
	}
	if w.verify.keys[0] != fp || r.HostKey != setup.HostKeyPinned || r.Verify == nil || !r.Verify.OK() {
		t.Fatalf("checked with %s, host key %v, verify %+v", w.verify.keys[0], r.HostKey, r.Verify)
	}
	if _, err := os.Stat(filepath.Join(w.sshDir, ".git-bbkey-setup.json")); !os.IsNotExist(err) {
		t.Fatalf("a finished setup left its note of the key it made: %v", err)
	}

	w.options.Yes = true
	r, err = w.run(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Generated || r.Key.Fingerprint != fp || r.Registration.Status != register.AlreadyPresent || r.HostKey != setup.HostKeyKnown {
		t.Fatalf("second run: generated %v, key %s, registration %s, host key %v", r.Generated, r.Key.Fingerprint, r.Registration.Status, r.HostKey)
	}
	if pairFingerprint(t, key) != fp || len(w.registered()) != 1 {
		t.Fatal("the second run changed the key or the server")
	}
}

// Without a terminal, reusing a key the user did not just make needs
// --yes (or --new): exit 2 territory, with nothing changed.
func TestReuseNeedsAPerson(t *testing.T) {
	w := newWorld(t)
	if _, err := w.run(nil); err != nil {
		t.Fatal(err)
	}
	before := w.registered()
	_, err := w.run(nil)
	var person *setup.NeedsPersonError
	if !errors.As(err, &person) || person.Choice != setup.ChoiceReuse || person.Key == nil {
		t.Fatalf("err = %v, want a reuse that needs a person", err)
	}
	if !slices.Equal(w.registered(), before) {
		t.Fatal("the server changed")
	}
}

// Issue 12 item 13: a setup that made a key and then failed does not
// make the next setup ask (or need --yes) to reuse that same key.
func TestKeyOfAnUnfinishedSetupIsTakenWithoutAsking(t *testing.T) {
	w := newWorld(t)
	w.bb.FailNextMethod("POST", 10, 500, "", "", "")
	if _, err := w.run(nil); err == nil {
		t.Fatal("the registration failed and setup did not")
	}
	w.bb.FailNextMethod("POST", 0, 500, "", "", "")
	fp := pairFingerprint(t, filepath.Join(w.sshDir, "id_ed25519"))
	r, err := w.run(nil) // no terminal, no --yes
	if err != nil {
		t.Fatalf("the next setup: %v", err)
	}
	if !r.Resumed || r.Generated || r.Key.Fingerprint != fp || !slices.Equal(w.registered(), []string{fp}) {
		t.Fatalf("resumed %v generated %v key %s, server %v", r.Resumed, r.Generated, r.Key.Fingerprint, w.registered())
	}
	// Finished now: the key is an ordinary existing key again.
	var person *setup.NeedsPersonError
	if _, err := w.run(nil); !errors.As(err, &person) {
		t.Fatalf("after a finished setup: %v, want a reuse that needs a person", err)
	}
	// A person asked is not asked about it either.
	w.bb.FailNextMethod("POST", 10, 500, "", "", "")
	w.options.New = true
	if _, err := w.run(nil); err == nil {
		t.Fatal("the registration failed and setup did not")
	}
	w.options.New = false
	ask := &fakeAsker{}
	w.bb.FailNextMethod("POST", 0, 500, "", "", "")
	if r, err = w.run(ask); err != nil || !r.Resumed || slices.Contains(ask.asked, "reuse") {
		t.Fatalf("asked %v, resumed %v, err %v", ask.asked, r.Resumed, err)
	}
}

// Saying no to reuse and to replacing is a decline: nothing changes.
func TestDeclinedReplaceChangesNothing(t *testing.T) {
	w := newWorld(t)
	if _, err := w.run(nil); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(w.sshDir, "id_ed25519")
	fp, before := pairFingerprint(t, key), w.registered()
	ask := &fakeAsker{}
	_, err := w.run(ask)
	var declined *setup.DeclinedError
	if !errors.As(err, &declined) || declined.Path != key {
		t.Fatalf("err = %v, want a decline of %s", err, key)
	}
	if !slices.Equal(ask.asked, []string{"reuse", "replace"}) || len(ask.intros) != 1 || !ask.intros[0].Existing || ask.intros[0].KeyPath != key {
		t.Fatalf("asked %v after intros %+v", ask.asked, ask.intros)
	}
	if pairFingerprint(t, key) != fp || !slices.Equal(w.registered(), before) {
		t.Fatal("a declined setup changed the key or the server")
	}
	if _, err := os.Stat(filepath.Join(w.sshDir, "key_backup")); !os.IsNotExist(err) {
		t.Fatal("a declined setup made a backup")
	}
}

// Issue 12 item 1: an interrupt at any question ends setup with the
// prompt's error, and the step asked about leaves nothing behind.
func TestInterruptAtEachQuestion(t *testing.T) {
	for _, q := range []string{"reuse", "replace", "new-passphrase", "fix-remote", "ssh-config"} {
		t.Run(q, func(t *testing.T) {
			w := newWorld(t)
			withRepo := q == "fix-remote" || q == "ssh-config"
			if withRepo {
				w.newRepo(w.bb.HTTPCloneURL("PROJ", "demo"))
			}
			o := w.options
			if q != "new-passphrase" {
				if _, err := w.runWith(o, nil); err != nil { // a key to ask about
					t.Fatal(err)
				}
			}
			key := filepath.Join(w.sshDir, "id_ed25519")
			keyBefore, _ := os.ReadFile(key)
			regBefore := w.registered()
			o.NoPassphrase, o.SSHConfig = false, true
			ask := &fakeAsker{reuse: q != "replace" && q != "new-passphrase", replace: true, errAt: q, err: prompt.ErrInterrupted}
			_, err := w.runWith(o, ask)
			if !errors.Is(err, prompt.ErrInterrupted) {
				t.Fatalf("err = %v (asked %v), want the interrupt", err, ask.asked)
			}
			if keyAfter, _ := os.ReadFile(key); string(keyAfter) != string(keyBefore) {
				t.Fatal("the key changed")
			}
			if q == "reuse" || q == "replace" || q == "new-passphrase" {
				if !slices.Equal(w.registered(), regBefore) {
					t.Fatal("something was registered")
				}
			}
			if withRepo {
				if url := w.git("-C", w.repo, "remote", "get-url", "origin"); url != w.bb.HTTPCloneURL("PROJ", "demo") {
					t.Fatalf("the remote is now %s", url)
				}
			}
			if _, err := os.Stat(filepath.Join(w.sshDir, "config")); !os.IsNotExist(err) {
				t.Fatal("the ssh config was written")
			}
		})
	}
}

// A key that does not verify is an error carrying the outcome; the host
// key is not pinned then.
func TestVerifyFailureIsTyped(t *testing.T) {
	w := newWorld(t)
	w.verify.out = &setup.Outcome{Status: sshverify.StatusHostMismatch, Message: "the host key changed"}
	r, err := w.run(nil)
	var verr *setup.VerifyError
	if !errors.As(err, &verr) || verr.Outcome.Status != sshverify.StatusHostMismatch {
		t.Fatalf("err = %v, want a verify error", err)
	}
	if r.HostKey != setup.HostKeySkipped || r.Registration == nil || r.Key == nil {
		t.Fatalf("result %+v", r)
	}
}

// Without credentials: the key, the page and exit 0, nothing registered.
func TestNoCredentialsIsTheManualWay(t *testing.T) {
	testutil.RequireTool(t, "git") // git credential says there is none
	w := newWorld(t)
	w.env = slices.DeleteFunc(w.env, func(kv string) bool { return kv == "BITBUCKET_TOKEN="+aliceToken })
	w.env = append(w.env, "GIT_TERMINAL_PROMPT=0")
	r, err := w.run(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manual == nil || r.Manual.Page != w.bb.URL()+"/plugins/servlet/ssh/account/keys/add" ||
		r.Manual.PublicKey == "" || r.Registration != nil || len(w.registered()) != 0 || len(w.verify.targets) != 0 {
		t.Fatalf("manual %+v, registration %+v, server %v", r.Manual, r.Registration, w.registered())
	}
}

func TestSSHConfigBlock(t *testing.T) {
	w := newWorld(t)
	w.options.SSHConfig, w.options.Yes = true, true
	r, err := w.run(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.SSHConfig != setup.SSHConfigWritten || r.SSHConfigHost != "127.0.0.1" {
		t.Fatalf("ssh config %v for %q", r.SSHConfig, r.SSHConfigHost)
	}
	if r, err = w.run(nil); err != nil || r.SSHConfig != setup.SSHConfigUnchanged {
		t.Fatalf("second run: %v %v", r.SSHConfig, err)
	}
	w.options.Yes = false
	os.Remove(filepath.Join(w.sshDir, "config"))
	ask := &fakeAsker{reuse: true}
	if r, err = w.run(ask); err != nil || r.SSHConfig != setup.SSHConfigDeclined {
		t.Fatalf("declined: %v %v", r.SSHConfig, err)
	}
	if _, err := os.Stat(filepath.Join(w.sshDir, "config")); !os.IsNotExist(err) {
		t.Fatal("a declined block was written")
	}
}

func TestAgentLifetimeLimits(t *testing.T) {
	for _, tc := range []struct {
		in    string
		given bool
		ok    bool
	}{
		{"0s", false, true}, {"1s", true, true}, {"8h", true, true}, {"1193046h28m15s", true, true},
		{"0s", true, false}, {"-5s", true, false}, {"500ms", true, false}, {"1500ms", true, false},
		{"1193046h28m16s", true, false},
	} {
		d, err := time.ParseDuration(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		err = setup.CheckAgentLifetime(d, tc.given)
		var oe *setup.OptionError
		if (err == nil) != tc.ok || (err != nil && (!errors.As(err, &oe) || oe.Flag != "--agent-lifetime")) {
			t.Errorf("CheckAgentLifetime(%s, %v) = %v", tc.in, tc.given, err)
		}
	}
	w := newWorld(t)
	w.options.AgentLifetime = -5e9
	w.options.Agent = true
	if _, err := w.run(nil); err == nil || len(w.registered()) != 0 {
		t.Fatalf("setup ran with a negative lifetime: %v", err)
	}
}

// recordingAgent is an in-memory agent that keeps what it was given.
type recordingAgent struct {
	agent.ExtendedAgent
	added []agent.AddedKey
}

func (a *recordingAgent) Add(k agent.AddedKey) error {
	a.added = append(a.added, k)
	return a.ExtendedAgent.Add(k)
}

// --agent adds the key once, with the lifetime asked for, through the
// agent dialled (sshagent on the real system); a second run finds it.
func TestAgentGetsTheKeyOnce(t *testing.T) {
	w := newWorld(t)
	ag := &recordingAgent{ExtendedAgent: agent.NewKeyring().(agent.ExtendedAgent)}
	dials := 0
	w.options.Agent, w.options.AgentLifetime, w.options.Yes = true, 90*time.Minute, true
	run := func() *setup.Result {
		d := w.deps(nil)
		d.Agent = func() (agent.ExtendedAgent, io.Closer, error) { dials++; return ag, io.NopCloser(nil), nil }
		r, err := setup.Run(context.Background(), w.options, d)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(); r.Agent != setup.AgentAdded || r.AgentLifetime != 90*time.Minute {
		t.Fatalf("agent %v for %v", r.Agent, r.AgentLifetime)
	}
	if len(ag.added) != 1 || ag.added[0].LifetimeSecs != 5400 || ag.added[0].Comment != "alice@example.com" {
		t.Fatalf("added %+v", ag.added)
	}
	if r := run(); r.Agent != setup.AgentPresent || len(ag.added) != 1 || dials != 2 {
		t.Fatalf("second run: agent %v, added %d, dials %d", r.Agent, len(ag.added), dials)
	}
	d := w.deps(nil)
	d.Agent = func() (agent.ExtendedAgent, io.Closer, error) {
		return nil, nil, &sshagent.DialError{NoAgent: true, Err: sshagent.ErrNoAgent}
	}
	_, err := setup.Run(context.Background(), w.options, d)
	var aerr *setup.AgentError
	if !errors.As(err, &aerr) || !aerr.NoAgent {
		t.Fatalf("without an agent: %v", err)
	}
}

// An option value that holds a passphrase never shows it.
func TestOptionsHideThePassphrase(t *testing.T) {
	o := setup.Options{Email: "a@example.com", Passphrase: []byte("correct horse")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, o); strings.Contains(out, "correct horse") || !strings.Contains(out, "a@example.com") {
			t.Errorf("%s shows %s", f, out)
		}
	}
}
