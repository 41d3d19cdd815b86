// Command bbsandbox runs the local Bitbucket stand-in (internal/bbsandbox)
// for demos and manual testing of git bbkey:
//
//	go run ./contrib/bbsandbox [--http-port N] [--ssh-port N] [--context /bitbucket] [--data DIR] [--tls]
//
// It creates the user alice (password and HTTP access token printed), the
// project PROJ with the repository demo and alice's personal repository
// ~alice/dotfiles, prints what to run next and serves until Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bbsandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpPort := fs.Int("http-port", 7990, "REST port on 127.0.0.1 (0 = random)")
	sshPort := fs.Int("ssh-port", 7999, "SSH port on 127.0.0.1 (0 = random)")
	advertised := fs.Int("advertised-ssh-port", 0, "SSH port that settings and clone links report (default: the real one)")
	contextPath := fs.String("context", "", "context path, e.g. /bitbucket")
	dataDir := fs.String("data", "", "directory for the bare repositories (default: a new temporary directory, removed on exit)")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a generated CA (its PEM is written into the data directory)")
	pageLimit := fs.Int("page-limit", 2, "largest page the REST API returns")
	git := fs.String("git", "git", "path to git")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bbsandbox-")
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	password, token := randomSecret(8), "BBDC-"+randomSecret(20)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	srv, err := bbsandbox.Start(startCtx, bbsandbox.Config{
		ContextPath:       *contextPath,
		Users:             []bbsandbox.User{{Name: "alice", Password: password, Tokens: []string{token}}},
		Projects:          []bbsandbox.Project{{Key: "PROJ", Name: "Demo project", Repos: []string{"demo"}, Admins: []string{"alice"}}, {Key: "~alice", Repos: []string{"dotfiles"}}},
		PageLimit:         *pageLimit,
		TLS:               *useTLS,
		HTTPPort:          *httpPort,
		SSHPort:           *sshPort,
		AdvertisedSSHPort: *advertised,
		DataDir:           dir,
		Git:               *git,
	})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		if errors.Is(err, errAddrInUse) {
			fmt.Fprintln(stderr, "hint: pick free ports, e.g. --http-port 0 --ssh-port 0")
		}
		return 1
	}
	defer srv.Close()

	caFile := ""
	if *useTLS {
		caFile = filepath.Join(dir, "sandbox-ca.pem")
		if err := os.WriteFile(caFile, srv.CACertPEM(), 0o644); err != nil {
			fmt.Fprintf(stderr, "error: write CA certificate: %v\n", err)
			return 1
		}
	}
	printInstructions(stdout, srv, password, token, dir, caFile)
	<-ctx.Done()
	fmt.Fprintln(stderr, "\nbbsandbox: stopping")
	return 0
}

func printInstructions(w io.Writer, srv *bbsandbox.Server, password, token, dir, caFile string) {
	url := srv.URL()
	fmt.Fprintf(w, "Bitbucket sandbox is running (Ctrl-C to stop).\n\n")
	fmt.Fprintf(w, "  REST URL:     %s\n", url)
	fmt.Fprintf(w, "  SSH:          %s (host key %s)\n", srv.SSHAddr(), fingerprint(srv))
	fmt.Fprintf(w, "  user:         alice\n  password:     %s\n  HTTP token:   %s\n", password, token)
	fmt.Fprintf(w, "  repositories: %s\n                %s\n", srv.CloneURL("PROJ", "demo"), srv.CloneURL("~alice", "dotfiles"))
	fmt.Fprintf(w, "  data dir:     %s\n", dir)
	if caFile != "" {
		fmt.Fprintf(w, "  CA file:      %s\n", caFile)
	}
	fmt.Fprintf(w, "\nTry:\n\n")
	fmt.Fprintf(w, "  git config --global bbkey.url %s\n", url)
	if caFile != "" {
		fmt.Fprintf(w, "  git config --global http.%s/.sslCAInfo %s\n", url, caFile)
	}
	fmt.Fprintf(w, "  BITBUCKET_TOKEN=%s git bbkey add\n", token)
	fmt.Fprintf(w, "  git bbkey verify %s\n", srv.CloneURL("PROJ", "demo"))
	fmt.Fprintf(w, "  BITBUCKET_TOKEN=%s git bbkey add --repo PROJ/demo --permission write ~/.ssh/deploy_key.pub\n", token)
	fmt.Fprintf(w, "  git clone %s\n", srv.CloneURL("PROJ", "demo"))
	fmt.Fprintf(w, "  curl -u alice:%s %s/rest/ssh/1.0/settings\n", password, url)
}

func fingerprint(srv *bbsandbox.Server) string {
	return srv.HostKey().Type() + " " + ssh.FingerprintSHA256(srv.HostKey())
}

func randomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)[:n*2]
}
