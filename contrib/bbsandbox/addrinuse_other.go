//go:build !windows

package main

import "syscall"

// errAddrInUse is the error a listen on a port that is taken wraps.
var errAddrInUse error = syscall.EADDRINUSE
