package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// unwrapPathError drops the path Go puts in front of file errors, since
// our messages name the file themselves.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readAllLimited reads at most limit bytes, refusing more.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("input is larger than %d bytes: not a public key", limit)
	}
	return b, nil
}
