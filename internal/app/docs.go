package app

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/clidocs"
)

// GeneratedFiles returns the files under contrib/ that are made from the
// command tree (and, for the man page's EXAMPLES, from README.md's "Use"
// section), by path. `go run ./contrib/gendocs` writes them, and
// TestGeneratedFilesAreCurrent fails when they are stale.
func GeneratedFiles(readme string) (map[string]string, error) {
	p := docProgram()
	man, err := clidocs.ManPage(p, readme)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"contrib/man/git-bbkey.1":           man,
		"contrib/completion/git-bbkey.bash": clidocs.Bash(p),
		"contrib/completion/_git-bbkey":     clidocs.Zsh(p),
		"contrib/completion/git-bbkey.fish": clidocs.Fish(p),
	}, nil
}

// WriteGenerated writes every generated file through write.
func WriteGenerated(readme string, write func(path string, content string) error) error {
	files, err := GeneratedFiles(readme)
	if err != nil {
		return err
	}
	for path, content := range files {
		if err := write(path, content); err != nil {
			return err
		}
	}
	return nil
}

// docProgram describes the command tree for clidocs: the visible commands,
// their flags (with the -h every command has) and what their values are.
func docProgram() clidocs.Program {
	a := newApp(&Env{Version: ""})
	p := clidocs.Program{Usage: a.Usage, Description: a.Description}
	for _, c := range a.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		dc := clidocs.Command{Name: c.Name, Usage: c.Usage, UsageText: c.UsageText, Description: c.Description, Args: commandArgs(c.Name)}
		for _, f := range c.Flags {
			df := describeFlag(f)
			if name := clidocs.SynopsisPlaceholder(c.UsageText, df.Long); df.TakesValue && df.Placeholder == "VALUE" && name != "" {
				df.Placeholder = name // as the command's synopsis names it
			}
			dc.Flags = append(dc.Flags, df)
		}
		dc.Flags = append(dc.Flags, clidocs.Flag{Names: []string{"--help", "-h"}, Long: "help", Short: "h", Usage: "show help", Help: true})
		p.Commands = append(p.Commands, dc)
	}
	return p
}

// flagValue says what a flag's value is, by the flag's name.
func flagValue(name string) (clidocs.ValueKind, []string) {
	switch name {
	case "type":
		return clidocs.ValueWords, []string{"ed25519", "ecdsa", "rsa"}
	case "permission":
		return clidocs.ValueWords, []string{"read", "write"}
	case "key", "file":
		return clidocs.ValuePrivateKey, nil
	case "passphrase-file":
		return clidocs.ValueFile, nil
	case "remote":
		return clidocs.ValueRemote, nil
	}
	return clidocs.ValueNone, nil
}

// commandArgs says what a command's positional arguments are.
func commandArgs(name string) clidocs.ValueKind {
	switch name {
	case "verify":
		return clidocs.ValueRemote
	case "add":
		return clidocs.ValuePublicKey
	case "remove":
		return clidocs.ValueKeyID
	}
	return clidocs.ValueNone
}

func describeFlag(f cli.Flag) clidocs.Flag {
	df := clidocs.Flag{}
	for _, n := range f.Names() {
		if len(n) == 1 {
			df.Short = n
		} else if df.Long == "" {
			df.Long = n
		}
	}
	df.Names = []string{"--" + df.Long}
	if df.Short != "" {
		df.Names = append(df.Names, "-"+df.Short)
	}
	df.Kind, df.Words = flagValue(df.Long)
	if d, ok := f.(cli.DocGenerationFlag); ok {
		df.TakesValue = d.TakesValue()
		df.Placeholder, df.Usage = clidocs.SplitPlaceholder(d.GetUsage())
		if df.TakesValue && df.Placeholder == "" {
			df.Placeholder = "VALUE"
			if g, ok := f.(*cli.GenericFlag); ok {
				if _, ok := g.Value.(*durationValue); ok {
					df.Placeholder = "DURATION"
				}
			}
			if len(df.Words) > 0 {
				df.Placeholder = strings.ToUpper(df.Long)
			}
		}
		switch def := strings.Trim(d.GetDefaultText(), `"`); def {
		case "", "0", "false", "[]", "0s":
		default:
			df.Default = def
		}
	}
	if !df.TakesValue {
		df.Placeholder = ""
	}
	return df
}
