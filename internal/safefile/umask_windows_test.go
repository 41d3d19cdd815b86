//go:build windows

package safefile

func umask(m int) int { return 0 }
