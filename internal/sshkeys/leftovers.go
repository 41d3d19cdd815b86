package sshkeys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/git-bbkey/git-bbkey/internal/backup"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// ReplaceJournalName is the file in a key's directory that records a key
// replacement in progress (written by package keygen): while it exists the
// pair may be the private key alone, and the next writing run finishes the
// replacement.
const ReplaceJournalName = ".git-bbkey-replace.json"

// LeftoverKind says what an interrupted git-bbkey run left behind.
type LeftoverKind int

const (
	// LeftoverTempFile: a temporary ".NAME.tmp-N" of a write that never
	// reached its rename. It may be a complete private key; it is never the
	// key in use, and removing it loses nothing.
	LeftoverTempFile LeftoverKind = iota + 1
	// LeftoverBackupTemp: a backup directory under key_backup/ that was
	// still being filled; the keys it copied are still in place.
	LeftoverBackupTemp
	// LeftoverReplaceJournal: a key replacement that stopped half-way (the
	// old pair is in key_backup/); the next writing run completes it.
	LeftoverReplaceJournal
)

// Leftover is one file or directory an interrupted run left behind.
type Leftover struct {
	Kind LeftoverKind
	Path string
}

// What says what the leftover is, for people.
func (l Leftover) What() string {
	switch l.Kind {
	case LeftoverTempFile:
		return "a temporary file of an interrupted write (never a key in use)"
	case LeftoverBackupTemp:
		return "an unfinished backup of an interrupted run (the keys it copied are still in place)"
	case LeftoverReplaceJournal:
		return "a key replacement that was interrupted (the old key is in key_backup)"
	}
	return "left by an interrupted run"
}

func (l Leftover) String() string { return l.Path + ": " + l.What() }

// FindLeftovers lists what interrupted writers left in dir (and in its
// key_backup/): temporaries, unfinished backup directories and an
// unfinished replacement's journal. A missing dir has none. FindKeyPairs
// never lists any of them as keys.
func FindLeftovers(dir string) ([]Leftover, error) {
	var out []Leftover
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read ssh directory %q: %w", dir, err)
	}
	for _, e := range entries {
		switch name := e.Name(); {
		case name == ReplaceJournalName:
			out = append(out, Leftover{Kind: LeftoverReplaceJournal, Path: filepath.Join(dir, name)})
		case safefile.IsTemporary(name) && !e.IsDir():
			out = append(out, Leftover{Kind: LeftoverTempFile, Path: filepath.Join(dir, name)})
		}
	}
	backups := filepath.Join(dir, backup.DirName)
	entries, err = os.ReadDir(backups)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, fmt.Errorf("cannot read backup directory %q: %w", backups, err)
	}
	for _, e := range entries {
		if name := e.Name(); safefile.IsTemporary(name) {
			out = append(out, Leftover{Kind: LeftoverBackupTemp, Path: filepath.Join(backups, name)})
		}
	}
	return out, nil
}
