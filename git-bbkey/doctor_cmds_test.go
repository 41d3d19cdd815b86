package main

import "github.com/rogpeppe/go-internal/testscript"

// bbssh on|off: switches SSH access on the sandbox: off makes its settings
// say "enabled": false and its SSH port hang up at once.
func cmdBBSSH(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		ts.Fatalf("usage: bbssh on|off")
	}
	sandboxOf(ts).SetSSHEnabled(args[0] == "on")
}
