package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/clidocs"
)

// TestGeneratedFilesAreCurrent keeps the man page and completions in step
// with the commands and README.md: regenerate with `go run ./contrib/gendocs`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := GeneratedFiles(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatalf("%s: %v (run: go run ./contrib/gendocs)", path, err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date: run go run ./contrib/gendocs", path)
		}
	}
}

// docProgram describes each flag as the man page and the completions need
// it: the value's name, a default worth saying, what the shells offer.
func TestDocProgram(t *testing.T) {
	flags := map[string]clidocs.Flag{}
	commands := map[string]clidocs.Command{}
	for _, c := range docProgram().Commands {
		commands[c.Name] = c
		for _, f := range c.Flags {
			flags[c.Name+" --"+f.Long] = f
		}
	}
	if _, ok := commands["__complete"]; ok {
		t.Error("the hidden __complete command is documented")
	}
	for name, want := range map[string]clidocs.Flag{
		"generate --type":            {Names: []string{"--type", "-t"}, Short: "t", Placeholder: "TYPE", TakesValue: true, Kind: clidocs.ValueWords, Words: []string{"ed25519", "ecdsa", "rsa"}},
		"generate --bits":            {Names: []string{"--bits", "-b"}, Short: "b", Placeholder: "N", TakesValue: true}, // from the synopsis
		"generate --file":            {Names: []string{"--file", "-f"}, Short: "f", Placeholder: "PATH", TakesValue: true, Kind: clidocs.ValuePrivateKey},
		"generate --force":           {Names: []string{"--force"}},
		"generate --passphrase-file": {Names: []string{"--passphrase-file"}, Placeholder: "FILE", TakesValue: true, Kind: clidocs.ValueFile},
		"add --permission":           {Names: []string{"--permission"}, Placeholder: "PERMISSION", TakesValue: true, Default: "read", Kind: clidocs.ValueWords, Words: []string{"read", "write"}},
		"add --expiry-days":          {Names: []string{"--expiry-days"}, Placeholder: "N", TakesValue: true}, // no "(default: 0)"
		"verify --timeout":           {Names: []string{"--timeout"}, Placeholder: "DURATION", TakesValue: true, Default: "15s"},
		"verify --key":               {Names: []string{"--key"}, Placeholder: "PATH", TakesValue: true, Kind: clidocs.ValuePrivateKey},
		"setup --remote":             {Names: []string{"--remote"}, Placeholder: "NAME", TakesValue: true, Kind: clidocs.ValueRemote},
		"list --help":                {Names: []string{"--help", "-h"}, Short: "h", Help: true},
	} {
		got, ok := flags[name]
		if !ok {
			t.Errorf("%s is not described", name)
			continue
		}
		if !slices.Equal(got.Names, want.Names) || got.Short != want.Short || got.Placeholder != want.Placeholder ||
			got.TakesValue != want.TakesValue || got.Default != want.Default || got.Kind != want.Kind ||
			!slices.Equal(got.Words, want.Words) || got.Help != want.Help {
			t.Errorf("%s is described as %+v, want %+v", name, got, want)
		}
	}
	for name, want := range map[string]clidocs.ValueKind{"verify": clidocs.ValueRemote, "add": clidocs.ValuePublicKey,
		"remove": clidocs.ValueKeyID, "list": clidocs.ValueNone} {
		if got := commands[name].Args; got != want {
			t.Errorf("the arguments of %s are of kind %d, want %d", name, got, want)
		}
	}
}
