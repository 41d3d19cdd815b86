package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// snapshotOf describes every file under dir: path, mode, mtime and hash.
func snapshotOf(ts *testscript.TestScript, dir string) string {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s %v %d", rel, info.Mode(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		lines = append(lines, line)
		return nil
	})
	ts.Check(err)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// snapshot NAME DIR records DIR; unchanged NAME DIR fails if any file,
// mode or modification time differs since.
func cmdSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: snapshot NAME DIR")
	}
	ts.Check(os.WriteFile(ts.MkAbs(".snapshot-"+args[0]), []byte(snapshotOf(ts, ts.MkAbs(args[1]))), 0o644))
}

func cmdUnchanged(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: unchanged NAME DIR")
	}
	before := ts.ReadFile(".snapshot-" + args[0])
	now := snapshotOf(ts, ts.MkAbs(args[1]))
	if (before == now) == neg {
		ts.Fatalf("%s changed: %v\nbefore:\n%s\nnow:\n%s", args[1], before != now, before, now)
	}
}

// bbcount USER N: the sandbox has exactly N SSH keys for USER.
func cmdBBCount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: bbcount USER N")
	}
	got := fmt.Sprint(len(sandboxOf(ts).UserKeys(args[0])))
	if (got == args[1]) == neg {
		ts.Fatalf("sandbox user %s has %s keys, want %s", args[0], got, args[1])
	}
}
