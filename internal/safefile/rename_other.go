//go:build !linux

package safefile

func renameNoReplace(oldpath, newpath string) error { return renameUnlessExists(oldpath, newpath) }
