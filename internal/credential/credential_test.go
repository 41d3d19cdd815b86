package credential

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

const secret = "pw-SECRET-789"

// isolatedGit returns a Helper whose git sees only a temporary HOME with
// the given global config lines (key, value pairs).
func isolatedGit(t *testing.T, config ...string) (*Helper, string) {
	t.Helper()
	git := testutil.RequireTool(t, "git")
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"),
		"GIT_CONFIG_COUNT=0",
	}
	for i := 0; i+1 < len(config); i += 2 {
		cmd := exec.Command(git, "config", "--global", "--add", config[i], config[i+1])
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git config: %v\n%s", err, out)
		}
	}
	return &Helper{Git: git, Env: env, Dir: home}, home
}

// scriptHelper writes a credential helper that answers "get" with
// alice/secret and appends every call (action and stdin) to a log.
func scriptHelper(t *testing.T, dir string) (script, log string) {
	t.Helper()
	log = filepath.Join(dir, "helper.log")
	script = filepath.Join(dir, "helper.sh")
	body := `#!/bin/sh
echo "action=$1 args=$#" >> "` + log + `"
cat >> "` + log + `"
if [ "$1" = get ]; then
	echo username=alice
	echo password=` + secret + `
fi
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func TestFillApproveRejectWithAHelperScript(t *testing.T) {
	dir := t.TempDir()
	script, log := scriptHelper(t, dir)
	h, _ := isolatedGit(t, "credential.helper", script)
	ctx := context.Background()
	const base = "https://bb.example.com:8443/bitbucket/"

	c, err := h.Fill(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "alice" || c.Password != secret {
		t.Fatalf("Fill = %#v (password %v)", c, c.Password == secret)
	}
	got := readFile(t, log)
	for _, want := range []string{"action=get args=1", "protocol=https", "host=bb.example.com:8443"} {
		if !strings.Contains(got, want) {
			t.Errorf("helper input lacks %q:\n%s", want, got)
		}
	}
	// Without credential.useHttpPath, git drops the path for https.
	if strings.Contains(got, "path=") {
		t.Errorf("path reached the helper without useHttpPath:\n%s", got)
	}

	if err := h.Approve(ctx, base, c); err != nil {
		t.Fatal(err)
	}
	if err := h.Reject(ctx, base, c); err != nil {
		t.Fatal(err)
	}
	got = readFile(t, log)
	store, erase, ok := strings.Cut(got[strings.Index(got, "action=store"):], "action=erase")
	if !ok {
		t.Fatalf("no store then erase in the helper log:\n%s", got)
	}
	for _, part := range []string{store, erase} {
		for _, want := range []string{"protocol=https", "host=bb.example.com:8443", "username=alice", "password=" + secret} {
			if !strings.Contains(part, want) {
				t.Errorf("helper input lacks %q:\n%s", want, part)
			}
		}
	}
}

func TestPathGoesToTheHelperWithUseHttpPath(t *testing.T) {
	dir := t.TempDir()
	script, log := scriptHelper(t, dir)
	h, _ := isolatedGit(t, "credential.helper", script, "credential.useHttpPath", "true")
	if _, err := h.Fill(context.Background(), "https://alice@bb.example.com/bitbucket"); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, log)
	for _, want := range []string{"path=bitbucket", "username=alice"} {
		if !strings.Contains(got, want) {
			t.Errorf("helper input lacks %q:\n%s", want, got)
		}
	}
}

func TestCredentialStore(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "creds")
	h, _ := isolatedGit(t, "credential.helper", "store --file="+store)
	ctx := context.Background()
	const base = "https://bb.example.com"

	// Nothing stored and no terminal: an error, quickly, not a prompt.
	ctx2, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := h.Fill(ctx2, base)
	if !errors.Is(err, ErrNoCredential) {
		t.Fatalf("Fill with nothing stored = %v, want ErrNoCredential", err)
	}
	if !strings.Contains(err.Error(), "terminal prompts disabled") {
		t.Errorf("error does not give git's reason: %v", err)
	}

	want := &Credential{Username: "alice", Password: secret}
	if err := h.Approve(ctx, base, want); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, store); !strings.Contains(got, "https://alice:"+secret+"@bb.example.com") {
		t.Errorf("store file = %q", got)
	}
	got, err := h.Fill(ctx, base)
	if err != nil || *got != *want {
		t.Fatalf("Fill after approve = %#v, %v", got, err)
	}
	if err := h.Reject(ctx, base, got); err != nil {
		t.Fatal(err)
	}
	if s := readFile(t, store); strings.Contains(s, secret) {
		t.Errorf("store still holds the password after reject: %q", s)
	}
	if _, err := h.Fill(ctx, base); !errors.Is(err, ErrNoCredential) {
		t.Errorf("Fill after reject = %v, want ErrNoCredential", err)
	}
}

// A stand-in git records its arguments and environment: secrets must not
// be in argv, and prompting must be off unless Interactive.
func TestArgvAndPromptEnvironment(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in git is a /bin/sh script, which Windows cannot run")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	fakeGit := filepath.Join(dir, "git")
	body := `#!/bin/sh
{ echo "argv=$*"; echo "prompt=${GIT_TERMINAL_PROMPT-unset}"; echo "askpass=${GIT_ASKPASS-unset}"; } > "` + record + `"
cat > /dev/null
echo username=bob
echo password=` + secret + `
`
	if err := os.WriteFile(fakeGit, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, interactive := range []bool{false, true} {
		h := &Helper{Git: fakeGit, Interactive: interactive, Env: []string{"GIT_TERMINAL_PROMPT=1", "GIT_ASKPASS=/bin/askpass"}}
		c, err := h.Fill(ctx, "https://bb.example.com")
		if err != nil || c.Username != "bob" {
			t.Fatalf("Fill = %v, %v", c, err)
		}
		got := readFile(t, record)
		wantPrompt, wantAskpass := "prompt=0\naskpass=\n", "argv=credential fill\n"
		if interactive {
			wantPrompt = "prompt=1\naskpass=/bin/askpass\n"
		}
		if !strings.Contains(got, wantPrompt) || !strings.HasPrefix(got, wantAskpass) {
			t.Errorf("interactive=%v: recorded\n%s", interactive, got)
		}
		if err := h.Approve(ctx, "https://bb.example.com", c); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, record); strings.Contains(got, secret) || !strings.HasPrefix(got, "argv=credential approve\n") {
			t.Errorf("approve recorded\n%s", got)
		}
	}
}

func TestSecretsNeverShown(t *testing.T) {
	c := Credential{Username: "alice", Password: secret}
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%v %+v %#v %s", &c, &c, &c, &c),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("password shown: %s", s)
		}
		if !strings.Contains(s, "alice") {
			t.Errorf("user name missing: %s", s)
		}
	}

	h := &Helper{Git: "/nonexistent/git"}
	errs := []error{
		h.Approve(context.Background(), "https://bb.example.com", &c),
		h.Approve(context.Background(), "https://bb.example.com", &Credential{Username: "alice", Password: "a\nprotocol=http"}),
		h.Reject(context.Background(), "https://alice:"+secret+"@bb.example.com", &c),
		h.Reject(context.Background(), "https://alice:"+secret+"@bb.example.com/%zz", &c),
		h.Reject(context.Background(), "/relative:"+secret, &c),
	}
	for _, err := range errs {
		if err == nil {
			t.Error("want an error")
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := h.Fill(context.Background(), "https://bb.example.com"); err == nil || errors.Is(err, ErrNoCredential) {
		t.Errorf("a missing git is not \"no credential\": %v", err)
	}
}

// Without git, Fill says that git is missing: that is not "no credential".
func TestFillWithoutGit(t *testing.T) {
	h := &Helper{Git: filepath.Join(t.TempDir(), "no-such-git")}
	_, err := h.Fill(context.Background(), "https://bb.example.com")
	if !errors.Is(err, gitconfig.ErrGitNotFound) || errors.Is(err, ErrNoCredential) {
		t.Fatalf("Fill without git = %v, want gitconfig.ErrGitNotFound", err)
	}
}
