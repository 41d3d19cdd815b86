//go:build !windows

package safefile

import "syscall"

func umask(m int) int { return syscall.Umask(m) }
