package main

import "golang.org/x/sys/windows"

// errAddrInUse is the error a listen on a port that is taken wraps:
// Winsock's code (syscall.EADDRINUSE is a value Go invented for Windows,
// which no socket call returns).
var errAddrInUse error = windows.WSAEADDRINUSE
