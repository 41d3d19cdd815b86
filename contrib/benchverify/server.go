//go:build unix

package main

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// server is what the benchmark talks to: the repositories' SSH URLs,
// and what the in-process floor client needs to log in.
type server struct {
	describe       string
	urls           []string // ssh:// URL of each repository
	paths          []string // the same repositories as paths for git-upload-pack
	knownHostsLine string
	addr           string // host:port
	user           string // SSH user
	hostKey        ssh.PublicKey
}

// startSSHD starts OpenSSH's sshd (internal/testutil/sshdtest), which
// forks a login shell and the command for every session.
func startSSHD(tb *benchTB, cfg config, pubText []byte) *server {
	// sshdtest gives sessions an empty HOME, so a heavy ~/.bashrc is not timed.
	srv := sshdtest.Start(tb, sshdtest.Options{})
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubText)
	must(tb, err)
	srv.Authorize(pub, "bench")
	s := &server{
		describe:       fmt.Sprintf("OpenSSH sshd on 127.0.0.1:%d, default MaxSessions/MaxStartups", srv.Port),
		knownHostsLine: srv.KnownHostsLine(),
		addr:           fmt.Sprintf("%s:%d", srv.Host, srv.Port),
		user:           srv.LoginUser,
		hostKey:        srv.HostKey,
	}
	for i := 1; i <= cfg.repos; i++ {
		path := fmt.Sprintf("/proj/repo%d.git", i)
		srv.NewRepo(path, repoBranches, repoTags)
		s.urls = append(s.urls, srv.URL(path))
		s.paths = append(s.paths, path)
	}
	return s
}

// startSandbox starts internal/bbsandbox in this process: like
// Bitbucket, it forks nothing per session but git itself.
func startSandbox(ctx context.Context, tb *benchTB, cfg config, pubText string) *server {
	slugs := make([]string, cfg.repos)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("repo%d", i+1)
	}
	sb, err := bbsandbox.Start(ctx, bbsandbox.Config{
		Users:    []bbsandbox.User{{Name: "bench", Password: "unused"}},
		Projects: []bbsandbox.Project{{Key: "PROJ", Name: "Bench", Repos: slugs, Readers: []string{"bench"}}},
		DataDir:  tb.TempDir(),
	})
	must(tb, err)
	tb.Cleanup(func() { sb.Close() })
	_, err = sb.AddUserKey("bench", strings.TrimSpace(pubText), "benchverify")
	must(tb, err)

	// One work repository with the branches and tags, pushed to each.
	work := tb.TempDir()
	env := sshdtest.GitEnv(tb.TempDir())
	git := func(dir string, args ...string) {
		output(ctx, tb, cfg.cmdTimeout, dir, env, append([]string{"git"}, args...)...)
	}
	git(work, "init", "-q", "-b", repoBranches[0])
	git(work, "commit", "-q", "--allow-empty", "-m", "first")
	for _, b := range repoBranches[1:] {
		git(work, "branch", b)
	}
	for _, tag := range repoTags {
		git(work, "tag", "-a", "-m", tag, tag)
	}
	s := &server{
		describe:       fmt.Sprintf("internal/bbsandbox (Go SSH server, git per session) on %s", sb.SSHAddr()),
		knownHostsLine: sb.KnownHostsLine(),
		addr:           sb.SSHAddr(),
		user:           "git",
		hostKey:        sb.HostKey(),
	}
	for _, slug := range slugs {
		bare := sb.RepoDir("PROJ", slug)
		if bare == "" {
			tb.Fatalf("sandbox has no repository PROJ/%s", slug)
		}
		git(work, "push", "-q", "--force", bare, "--all")
		git(work, "push", "-q", bare, "--tags")
		git(bare, "symbolic-ref", "HEAD", "refs/heads/"+repoBranches[0])
		u := sb.CloneURL("PROJ", slug)
		s.urls = append(s.urls, u)
		s.paths = append(s.paths, "/proj/"+slug+".git")
	}
	return s
}
