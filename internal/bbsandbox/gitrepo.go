package bbsandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// gitEnv is the environment for every git the sandbox runs: the caller's,
// minus anything that would point git elsewhere, with user and system
// configuration ignored so that results do not depend on the machine.
func gitEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GIT_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
	)
	return append(env, extra...)
}

// initBareRepo creates a bare repository at dir with one commit on main
// (a README), so that refs exist for ls-remote and clones. An existing
// repository is left alone.
func initBareRepo(ctx context.Context, git, dir string) error {
	if _, err := os.Stat(dir + "/HEAD"); err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, git, args...)
		cmd.Env = gitEnv(
			"GIT_DIR="+dir,
			"GIT_AUTHOR_NAME=Bitbucket Sandbox", "GIT_AUTHOR_EMAIL=sandbox@127.0.0.1",
			"GIT_COMMITTER_NAME=Bitbucket Sandbox", "GIT_COMMITTER_EMAIL=sandbox@127.0.0.1",
			"GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z",
		)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("bbsandbox: git %s in %q: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(errb.String()))
		}
		return strings.TrimSpace(out.String()), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bbsandbox: %w", err)
	}
	if _, err := run("", "init", "--quiet", "--bare", dir); err != nil {
		return err
	}
	if _, err := run("", "symbolic-ref", "HEAD", "refs/heads/main"); err != nil {
		return err
	}
	blob, err := run("Created by the Bitbucket sandbox.\n", "hash-object", "-w", "--stdin")
	if err != nil {
		return err
	}
	tree, err := run("100644 blob "+blob+"\tREADME.md\n", "mktree")
	if err != nil {
		return err
	}
	commit, err := run("", "commit-tree", tree, "-m", "Initial commit")
	if err != nil {
		return err
	}
	_, err = run("", "update-ref", "refs/heads/main", commit)
	return err
}
