package rotate

import "fmt"

// LeftBehindError: the rotation stopped before anything was switched. The
// old key at OldPath is unchanged and still registered; the new key waits
// at NewPath, and the next rotate goes on with it.
type LeftBehindError struct {
	OldPath, NewPath string
	Err              error
}

func (e *LeftBehindError) Error() string { return e.Err.Error() }
func (e *LeftBehindError) Unwrap() error { return e.Err }

// NotAPairError: there is no whole key pair at Path to rotate.
type NotAPairError struct{ Path string }

func (e *NotAPairError) Error() string { return fmt.Sprintf("%s is not a complete key pair", e.Path) }

// JournalError: the journal of an interrupted rotation cannot be read.
// The old key is backed up in key_backup/.
type JournalError struct {
	Path string
	Err  error // nil: it is damaged (not what rotate writes)
}

func (e *JournalError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cannot read %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("%s is damaged", e.Path)
}

func (e *JournalError) Unwrap() error { return e.Err }

// MoveError: the new key could not be moved into place at Path. The old
// pair is in BackupDir; the next rotate goes on from here.
type MoveError struct {
	Path, BackupDir string
	Err             error
}

func (e *MoveError) Error() string {
	return fmt.Sprintf("cannot move the new key into %s: %v", e.Path, e.Err)
}
func (e *MoveError) Unwrap() error { return e.Err }

// ChangedError: the key in place is not the new key any more (someone
// changed it meanwhile): nothing is deleted from Bitbucket.
type ChangedError struct {
	Path, Fingerprint, BackupDir string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s is not the new key %s any more; stopping before anything is deleted", e.Path, e.Fingerprint)
}

// RemoveOldError: the new key is in place and works, but the old key (ID)
// could not be deleted from Bitbucket; the next rotate tries again.
type RemoveOldError struct {
	ID          int
	Fingerprint string
	Err         error
}

func (e *RemoveOldError) Error() string { return e.Err.Error() }
func (e *RemoveOldError) Unwrap() error { return e.Err }
