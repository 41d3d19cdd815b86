// Package gitremote reads a repository's remotes (through go-git) and
// parses the URL forms git accepts, without touching the network.
package gitremote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	git "github.com/go-git/go-git/v5"
)

// ErrNotRepository is returned (wrapped) when dir is not inside a git
// repository.
var ErrNotRepository = errors.New("not a git repository")

// ErrRemoteNotFound is returned (wrapped) by Remote for an unknown name.
var ErrRemoteNotFound = errors.New("no such remote")

// Remote is one configured remote. From Remotes and LookupRemote its URLs
// are as written in the config (url.<base>.insteadOf not applied); from a
// Repo they are the URLs git uses, and Written keeps them as written.
type Remote struct {
	Name     string
	URLs     []string // remote.<name>.url
	PushURLs []string // remote.<name>.pushurl; none: pushes go to URLs
	Written  []string // with Repo: remote.<name>.url as written
}

// Remotes lists the remotes of the repository containing dir (a work
// tree, a linked worktree, or a .git directory), sorted by name. GIT_DIR
// is honoured as git does; a relative GIT_DIR is taken from dir.
// Only the repository's own config is read (go-git ignores includes and
// global settings), and the URLs are as written there: Repo applies
// url.<base>.insteadOf with every rule git has.
func Remotes(dir string) ([]Remote, error) {
	repo, err := open(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := repo.Config()
	if err != nil {
		return nil, fmt.Errorf("read the configuration of the repository in %q: %w", dir, err)
	}
	remotes := make([]Remote, 0, len(cfg.Remotes))
	for name, rc := range cfg.Remotes {
		// The URLs as written: go-git applies the repository's own
		// url.<base>.insteadOf rules, and the caller applies git's full
		// set (global ones too), which must happen once.
		sub := cfg.Raw.Section("remote").Subsection(name)
		urls := rc.URLs
		if raw := sub.Options.GetAll("url"); len(raw) > 0 {
			urls = raw
		}
		r := Remote{Name: name, URLs: append([]string(nil), urls...)}
		if push := sub.Options.GetAll("pushurl"); len(push) > 0 {
			r.PushURLs = append([]string(nil), push...)
		}
		remotes = append(remotes, r)
	}
	sort.Slice(remotes, func(i, j int) bool { return remotes[i].Name < remotes[j].Name })
	return remotes, nil
}

// LookupRemote returns the remote called name; ErrRemoteNotFound if there
// is none. (It cannot be called Remote: that is the type.)
func LookupRemote(dir, name string) (*Remote, error) {
	remotes, err := Remotes(dir)
	if err != nil {
		return nil, err
	}
	for i := range remotes {
		if remotes[i].Name == name {
			return &remotes[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q in the repository at %q", ErrRemoteNotFound, name, dir)
}

func open(dir string) (*git.Repository, error) {
	if dir == "" {
		dir = "."
	}
	path, detect := dir, true
	if gitDir := os.Getenv("GIT_DIR"); gitDir != "" {
		// GIT_DIR names the repository itself: no search upwards, which
		// could find an unrelated repository around a bare one.
		path, detect = gitDir, false
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if st, err := os.Stat(path); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: GIT_DIR=%q does not exist", ErrNotRepository, gitDir)
		}
	}
	repo, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: detect, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%w (or any of the parent directories): %q", ErrNotRepository, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open the repository at %q: %w", path, err)
	}
	return repo, nil
}
