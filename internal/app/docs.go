package app

import (
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// GeneratedFiles returns the files under contrib/ that are made from the
// command tree (and, for the man page's EXAMPLES, from README.md's "Use"
// section), by path. `go run ./contrib/gendocs` writes them, and
// TestGeneratedFilesAreCurrent fails when they are stale.
func GeneratedFiles(readme string) (map[string]string, error) {
	man, err := ManPage(readme)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"contrib/man/git-bbkey.1":           man,
		"contrib/completion/git-bbkey.bash": BashCompletion(),
		"contrib/completion/_git-bbkey":     ZshCompletion(),
		"contrib/completion/git-bbkey.fish": FishCompletion(),
	}, nil
}

func docApp() *cli.App {
	return newApp(&Env{Version: ""})
}

// valueKind is what a flag's value or a positional argument is, for
// completion: the shells offer candidates of that kind.
type valueKind int

const (
	valueNone       valueKind = iota // free text: nothing to offer
	valueWords                       // one of a fixed list
	valuePrivateKey                  // a private key file (not *.pub)
	valuePublicKey                   // a *.pub file
	valueFile                        // any file
	valueRemote                      // a remote of the repository
	valueKeyID                       // the id of one of your keys on Bitbucket
)

// flagValue says what a flag's value is, by the flag's name.
func flagValue(name string) (valueKind, []string) {
	switch name {
	case "type":
		return valueWords, []string{"ed25519", "ecdsa", "rsa"}
	case "permission":
		return valueWords, []string{"read", "write"}
	case "key", "file":
		return valuePrivateKey, nil
	case "passphrase-file":
		return valueFile, nil
	case "remote":
		return valueRemote, nil
	}
	return valueNone, nil
}

// commandArgs says what a command's positional arguments are.
func commandArgs(name string) valueKind {
	switch name {
	case "verify":
		return valueRemote
	case "add":
		return valuePublicKey
	case "remove":
		return valueKeyID
	}
	return valueNone
}

// flagInfo is what the man page and every completion need of one flag.
type flagInfo struct {
	names       []string // with dashes, long first
	long        string   // the long name, without dashes
	short       string   // one-letter alias, "" if none
	placeholder string   // the value's name (`FILE` in the usage), "" for a switch
	usage       string   // the usage with the placeholder's backquotes removed
	defaultText string   // "" when the default is nothing worth saying
	value       bool
	kind        valueKind
	words       []string
	help        bool // the -h/--help every command has (not in cmd.Flags)
}

type commandInfo struct {
	name        string
	usage       string
	usageText   string
	description string
	flags       []flagInfo
	args        valueKind
}

func commandInfos() []commandInfo {
	var out []commandInfo
	for _, c := range docApp().Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		ci := commandInfo{name: c.Name, usage: c.Usage, usageText: c.UsageText, description: c.Description, args: commandArgs(c.Name)}
		for _, f := range c.Flags {
			fi := describeFlag(f)
			if name := usagePlaceholder(c.UsageText, fi.long); fi.value && fi.placeholder == "VALUE" && name != "" {
				fi.placeholder = name // as the command's synopsis names it
			}
			ci.flags = append(ci.flags, fi)
		}
		ci.flags = append(ci.flags, flagInfo{names: []string{"--help", "-h"}, long: "help", short: "h", usage: "show help", help: true})
		out = append(out, ci)
	}
	return out
}

func describeFlag(f cli.Flag) flagInfo {
	fi := flagInfo{}
	for _, n := range f.Names() {
		if len(n) == 1 {
			fi.short = n
		} else if fi.long == "" {
			fi.long = n
		}
	}
	fi.names = []string{"--" + fi.long}
	if fi.short != "" {
		fi.names = append(fi.names, "-"+fi.short)
	}
	fi.kind, fi.words = flagValue(fi.long)
	if d, ok := f.(cli.DocGenerationFlag); ok {
		fi.value = d.TakesValue()
		fi.placeholder, fi.usage = unquoteUsage(d.GetUsage())
		if fi.value && fi.placeholder == "" {
			fi.placeholder = "VALUE"
			if g, ok := f.(*cli.GenericFlag); ok {
				if _, ok := g.Value.(*durationValue); ok {
					fi.placeholder = "DURATION"
				}
			}
			if len(fi.words) > 0 {
				fi.placeholder = strings.ToUpper(fi.long)
			}
		}
		switch def := strings.Trim(d.GetDefaultText(), `"`); def {
		case "", "0", "false", "[]", "0s":
		default:
			fi.defaultText = def
		}
	}
	if !fi.value {
		fi.placeholder = ""
	}
	return fi
}

func commandNames(infos []commandInfo) []string {
	var names []string
	for _, c := range infos {
		names = append(names, c.name)
	}
	return names
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

// unquoteUsage takes the value's name out of a usage text, as urfave/cli
// does for its help: "read `FILE` first" is FILE and "read FILE first".
func unquoteUsage(usage string) (name, text string) {
	before, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return "", usage
	}
	name, after, ok := strings.Cut(rest, "`")
	if !ok {
		return "", usage
	}
	return name, before + name + after
}

var synopsisValue = regexp.MustCompile(`--([a-z0-9-]+) ([A-Z][A-Z0-9_/-]*)\b`)

// usagePlaceholder is the value's name a synopsis gives a flag (--bits N).
func usagePlaceholder(usageText, long string) string {
	for _, m := range synopsisValue.FindAllStringSubmatch(usageText, -1) {
		if m[1] == long {
			return m[2]
		}
	}
	return ""
}
