package rotate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/rotate"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

const token = "alice-token-SECRET"

// world: a home whose ~/.ssh/id_ed25519 is registered as alice's key on
// a REST sandbox; the SSH check is a fake that answers status.
type world struct {
	t       *testing.T
	bb      *bbsandbox.Server
	key     string
	status  sshverify.Status
	checked []string // key files the fake verify was given
	steps   []rotate.StepKind
}

func newWorld(t *testing.T) *world {
	t.Helper()
	bb := bbsandbox.StartTest(t, bbsandbox.Config{RESTOnly: true,
		Users: []bbsandbox.User{{Name: "alice", Password: "pw", Tokens: []string{token}}}})
	w := &world{t: t, bb: bb, key: filepath.Join(t.TempDir(), ".ssh", "id_ed25519"), status: sshverify.StatusOK}
	plan, err := keygen.NewPlan(keygen.Options{SSHDir: filepath.Dir(w.key), Comment: "alice@example.com", NoPassphrase: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Execute(context.Background(), keygen.Exec{}); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(w.key + ".pub")
	if _, err := bb.AddUserKey("alice", string(pub), ""); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) run(o rotate.Options, ask rotate.Asker, checkpoint func(string)) (*rotate.Result, error) {
	o.KeyPath, o.Server, o.Remote = w.key, w.bb.URL(), "origin"
	o.NoPassphrase = ask == nil // with a person, the new key's passphrase is asked
	d := rotate.Deps{
		Sessions: bbsession.New(bbsession.Config{Env: []string{"BITBUCKET_TOKEN=" + token}, Dir: w.t.TempDir(), Timeout: 5 * time.Second}),
		Verify: func(ctx context.Context, t setup.Target, key *sshkeys.Unlocked) (setup.Outcome, error) {
			w.checked = append(w.checked, key.Path)
			return setup.Outcome{Status: w.status}, nil
		},
		Step:       func(s rotate.Step) { w.steps = append(w.steps, s.Kind) },
		Checkpoint: checkpoint,
		LockWait:   5 * time.Second,
	}
	if ask != nil {
		d.Ask = ask
	}
	return rotate.Run(context.Background(), o, d)
}

// fingerprint checks with ssh-keygen that path and path.pub are one key.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	keyg := testutil.RequireTool(t, "ssh-keygen")
	derived, err := exec.Command(keyg, "-y", "-P", "", "-f", path).Output()
	pub, perr := os.ReadFile(path + ".pub")
	if err != nil || perr != nil || strings.Join(strings.Fields(string(derived))[:2], " ") != strings.Join(strings.Fields(string(pub))[:2], " ") {
		t.Fatalf("%s is not a whole pair: %v %v", path, err, perr)
	}
	out, err := exec.Command(keyg, "-l", "-E", "sha256", "-f", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

func (w *world) registered() []string {
	var fps []string
	for _, k := range w.bb.UserKeys("alice") {
		fps = append(fps, k.Fingerprint)
	}
	return fps
}

func TestRotateReplacesTheKey(t *testing.T) {
	w := newWorld(t)
	old := fingerprint(t, w.key)
	oldBytes, _ := os.ReadFile(w.key)
	r, err := w.run(rotate.Options{Yes: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := fingerprint(t, w.key)
	if now == old || r.NewKey.Fingerprint != now || r.OldKey.Fingerprint != old || r.NewKey.PrivateKeyPath != w.key {
		t.Fatalf("old %s new %s, result %+v / %+v", old, now, r.OldKey, r.NewKey)
	}
	if !slices.Equal(w.registered(), []string{now}) || len(r.Removed) != 1 || r.Removed[0].Fingerprint != old {
		t.Fatalf("server has %v, removed %+v", w.registered(), r.Removed)
	}
	if backed, _ := os.ReadFile(filepath.Join(r.BackupDir, "id_ed25519")); string(backed) != string(oldBytes) {
		t.Fatalf("the old key is not in %s", r.BackupDir)
	}
	if !slices.Equal(w.checked, []string{w.key + rotate.TmpSuffix}) {
		t.Fatalf("verified %v, want the new key alone beside the old", w.checked)
	}
	want := []rotate.StepKind{rotate.StepNewKey, rotate.StepRegistered, rotate.StepVerified, rotate.StepBackedUp, rotate.StepMoved, rotate.StepRemoved}
	if !slices.Equal(w.steps, want) {
		t.Fatalf("steps %v, want %v", w.steps, want)
	}
}

// A new key that does not verify stops the rotation before anything is
// switched; the next run goes on with that key.
func TestRotateStopsWhenTheNewKeyFails(t *testing.T) {
	w := newWorld(t)
	old := fingerprint(t, w.key)
	w.status = sshverify.StatusKeyRejected
	_, err := w.run(rotate.Options{Yes: true}, nil, nil)
	var left *rotate.LeftBehindError
	var verr *setup.VerifyError
	if !errors.As(err, &left) || !errors.As(err, &verr) || left.NewPath != w.key+rotate.TmpSuffix {
		t.Fatalf("err = %v", err)
	}
	waiting := fingerprint(t, w.key+rotate.TmpSuffix)
	if fingerprint(t, w.key) != old || !slices.Contains(w.registered(), old) {
		t.Fatal("the old key is not in place and registered")
	}
	w.status, w.steps = sshverify.StatusOK, nil
	if _, err := w.run(rotate.Options{Yes: true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, w.key) != waiting || !slices.Equal(w.registered(), []string{waiting}) || w.steps[0] != rotate.StepContinuing {
		t.Fatalf("in place %s, server %v, steps %v; want %s", fingerprint(t, w.key), w.registered(), w.steps, waiting)
	}
}

type crash struct{}

// Cut short after any step, the key in place logs in (it is old or new and
// registered); the next run finishes without redoing, and loses nothing.
func TestRotateCutShortAtEachStep(t *testing.T) {
	for _, step := range []string{"registered", "backed-up", "removed-old-public", "moved-private", "moved"} {
		t.Run(step, func(t *testing.T) {
			w := newWorld(t)
			old := fingerprint(t, w.key)
			func() {
				defer func() {
					if p := recover(); p != nil && p != (crash{}) {
						panic(p)
					}
				}()
				w.run(rotate.Options{Yes: true}, nil, func(s string) {
					if s == step {
						panic(crash{})
					}
				})
				t.Fatalf("never reached %s", step)
			}()
			inPlace, err := sshkeys.FileFingerprint(w.key)
			if err != nil || !slices.Contains(w.registered(), inPlace) {
				t.Fatalf("the key in place (%s, %v) is not registered: %v", inPlace, err, w.registered())
			}
			r, err := w.run(rotate.Options{Yes: true}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			now := fingerprint(t, w.key)
			if now == old || !slices.Equal(w.registered(), []string{now}) || r.NewKey == nil || r.NewKey.Fingerprint != now {
				t.Fatalf("after the next run: in place %s (old %s), server %v, result %+v", now, old, w.registered(), r.NewKey)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(w.key), rotate.JournalName)); !os.IsNotExist(err) {
				t.Fatal("the journal stays")
			}
		})
	}
}

type asker struct {
	rotate bool
	errAt  string
	asked  []string
}

func (a *asker) step(q string) error {
	a.asked = append(a.asked, q)
	if q == a.errAt {
		return prompt.ErrInterrupted
	}
	return nil
}
func (a *asker) Rotate(context.Context, rotate.Plan) (bool, error) { return a.rotate, a.step("rotate") }
func (a *asker) NewPassphrase(context.Context) ([]byte, error)     { return nil, a.step("new-passphrase") }
func (a *asker) Passphrase(context.Context, string) ([]byte, error) {
	return nil, a.step("passphrase")
}
func (a *asker) Say(string) {}

// Without a terminal rotate needs --yes; a no, or an interrupt at any of
// its questions, leaves the key and the server as they were.
func TestRotateAsksFirst(t *testing.T) {
	w := newWorld(t)
	old := fingerprint(t, w.key)
	var person *setup.NeedsPersonError
	if _, err := w.run(rotate.Options{}, nil, nil); !errors.As(err, &person) || person.Choice != setup.ChoiceRotate {
		t.Fatalf("no terminal: %v", err)
	}
	var declined *setup.DeclinedError
	if _, err := w.run(rotate.Options{}, &asker{}, nil); !errors.As(err, &declined) {
		t.Fatalf("a no: %v", err)
	}
	for _, q := range []string{"rotate", "new-passphrase"} {
		a := &asker{rotate: true, errAt: q}
		if _, err := w.run(rotate.Options{}, a, nil); !errors.Is(err, prompt.ErrInterrupted) {
			t.Fatalf("interrupted at %s: %v (asked %v)", q, err, a.asked)
		}
	}
	if fingerprint(t, w.key) != old || !slices.Equal(w.registered(), []string{old}) {
		t.Fatal("the key or the server changed")
	}
	if left, _ := filepath.Glob(w.key + rotate.TmpSuffix + "*"); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}

func TestOptionsHideThePassphrase(t *testing.T) {
	o := rotate.Options{KeyPath: "/k", Passphrase: []byte("correct horse")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, o); strings.Contains(out, "correct horse") || !strings.Contains(out, "/k") {
			t.Errorf("%s shows %s", f, out)
		}
	}
}
