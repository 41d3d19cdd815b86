//go:build unix

package proc

import (
	"os/exec"
	"syscall"
)

func setGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

func killGroup(cmd *exec.Cmd) error { return signalGroup(cmd, syscall.SIGKILL) }

func hangUpGroup(cmd *exec.Cmd) error { return signalGroup(cmd, syscall.SIGHUP) }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	// The group id is the leader's pid (Setpgid with Pgid 0).
	err := syscall.Kill(-cmd.Process.Pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	return err
}
