//go:build windows

package proc

import (
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

func setGroup(*exec.Cmd) {}

// killGroup ends the process and every process it started, and they
// started, as taskkill /T does: Windows has no process groups to signal,
// and a ProxyCommand runs behind cmd.exe.
func killGroup(cmd *exec.Cmd) error {
	killDescendants(uint32(cmd.Process.Pid))
	return cmd.Process.Kill()
}

// hangUpGroup: Windows has no SIGHUP; the tree is ended.
func hangUpGroup(cmd *exec.Cmd) error { return killGroup(cmd) }

// killDescendants terminates the processes below root, deepest first,
// while their parents still stand (so that the parent links still hold).
// A process counts as a child only when it started after its parent: a
// parent's id may have been reused, and an older process is not ours.
func killDescendants(root uint32) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return
	}
	defer windows.CloseHandle(snap)
	children := map[uint32][]uint32{}
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if e.ProcessID != 0 && e.ProcessID != e.ParentProcessID {
			children[e.ParentProcessID] = append(children[e.ParentProcessID], e.ProcessID)
		}
	}
	var walk func(pid uint32, born int64, depth int)
	walk = func(pid uint32, born int64, depth int) {
		if depth > 32 {
			return
		}
		for _, c := range children[pid] {
			h, err := windows.OpenProcess(windows.PROCESS_TERMINATE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, c)
			if err != nil {
				continue
			}
			if t := started(h); t >= born {
				walk(c, t, depth+1)
				windows.TerminateProcess(h, 1)
			}
			windows.CloseHandle(h)
		}
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, root)
	if err != nil {
		return
	}
	born := started(h)
	windows.CloseHandle(h)
	walk(root, born, 0)
}

// started is when the process was created (-1 when unknown, which only
// the root may be: an unknown child is left alone).
func started(h windows.Handle) int64 {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return -1
	}
	return created.Nanoseconds()
}
