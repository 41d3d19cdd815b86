//go:build !unix && !windows

package proc

import "os/exec"

func setGroup(*exec.Cmd) {}

// killGroup ends the process; Windows has no process groups to signal
// (a job object would be needed to end its children too).
func killGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }

func hangUpGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }
