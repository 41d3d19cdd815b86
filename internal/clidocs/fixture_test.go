package clidocs

// testProgram is a command tree shaped like git-bbkey's: every value kind,
// short and long names, repeatable flags, defaults, and commands whose
// names share a first letter.
func testProgram() Program {
	help := Flag{Names: []string{"--help", "-h"}, Long: "help", Short: "h", Usage: "show help", Help: true}
	json := Flag{Names: []string{"--json"}, Long: "json", Usage: "print one JSON document on stdout"}
	server := Flag{Names: []string{"--server"}, Long: "server", Placeholder: "URL", TakesValue: true,
		Usage: "Bitbucket base URL (default: git config bbkey.url, else derived from an https remote)"}
	keyType := Flag{Names: []string{"--type", "-t"}, Long: "type", Short: "t", Placeholder: "TYPE", TakesValue: true,
		Usage: "key TYPE: ed25519, ecdsa or rsa", Kind: ValueWords, Words: []string{"ed25519", "ecdsa", "rsa"}}
	return Program{
		Usage:       "create, register and verify SSH keys for Bitbucket Server",
		Description: "git-bbkey follows Atlassian's \"Creating SSH keys\" procedure.\n\nExit status: 0 success, 130 interrupted.",
		Commands: []Command{
			{Name: "list", Usage: "check for existing SSH keys in ~/.ssh", UsageText: "git bbkey list [--json] [--server URL]",
				Flags: []Flag{json, server, help}},
			{Name: "generate", Usage: "generate a new SSH key", Description: "Generates a key pair (mode 0600) and NAME.pub.",
				UsageText: "git bbkey generate [--type ed25519|ecdsa|rsa] [--bits N] [--file PATH] [--no-passphrase | --passphrase-file FILE]",
				Flags: []Flag{keyType,
					{Names: []string{"--bits", "-b"}, Long: "bits", Short: "b", Placeholder: "N", TakesValue: true, Usage: "key size"},
					{Names: []string{"--file", "-f"}, Long: "file", Short: "f", Placeholder: "PATH", TakesValue: true,
						Usage: "private key PATH (default ~/.ssh/id_<type>)", Kind: ValuePrivateKey},
					{Names: []string{"--no-passphrase"}, Long: "no-passphrase", Usage: "leave the new key unencrypted"},
					{Names: []string{"--passphrase-file"}, Long: "passphrase-file", Placeholder: "FILE", TakesValue: true,
						Usage: "read the passphrase from the first line of FILE", Kind: ValueFile},
					help}},
			{Name: "add", Usage: "register a public key with Bitbucket", Args: ValuePublicKey,
				UsageText: "git bbkey add [PUBKEY | -] [--project KEY]... [--permission read|write]",
				Flags: []Flag{
					{Names: []string{"--project"}, Long: "project", Placeholder: "KEY", TakesValue: true, Usage: "add as an access key to project KEY (repeatable)"},
					{Names: []string{"--permission"}, Long: "permission", Placeholder: "PERMISSION", TakesValue: true, Default: "read",
						Usage: "access key permission: read or write", Kind: ValueWords, Words: []string{"read", "write"}},
					help}},
			{Name: "remove", Usage: "delete your SSH user key from Bitbucket", Args: ValueKeyID,
				UsageText: "git bbkey remove [PUBKEY | FINGERPRINT | ID] [--yes]",
				Flags:     []Flag{{Names: []string{"--yes", "-y"}, Long: "yes", Short: "y", Usage: "delete without asking"}, help}},
			{Name: "verify", Usage: "verify the key works against a repository remote over SSH", Args: ValueRemote,
				UsageText: "git bbkey verify [REMOTE | URL]... [--key PATH] [--timeout DURATION]",
				Flags: []Flag{
					{Names: []string{"--key"}, Long: "key", Placeholder: "PATH", TakesValue: true, Usage: "private key PATH to verify", Kind: ValuePrivateKey},
					{Names: []string{"--timeout"}, Long: "timeout", Placeholder: "DURATION", TakesValue: true, Default: "15s", Usage: "limit per target"},
					help}},
			{Name: "setup", Usage: "the whole procedure in one command", UsageText: "git bbkey setup [--remote NAME] [--type T]",
				Flags: []Flag{{Names: []string{"--remote"}, Long: "remote", Placeholder: "NAME", TakesValue: true, Usage: "remote to verify", Kind: ValueRemote},
					keyType, help}},
			{Name: "rotate", Usage: "replace your key without a moment of lost access", UsageText: "git bbkey rotate [--yes]",
				Flags: []Flag{{Names: []string{"--yes", "-y"}, Long: "yes", Short: "y", Usage: "rotate without asking"}, help}},
		},
	}
}
