// Package clidocs renders git-bbkey's man page and its bash, zsh and fish
// completions from a plain description of the command tree (Program). It
// knows nothing of the CLI library: internal/app describes its commands as
// a Program, and contrib/gendocs writes what these renderers return.
package clidocs

import (
	"regexp"
	"strings"
)

// ValueKind is what a flag's value or a command's positional argument is,
// for completion: the shells offer candidates of that kind.
type ValueKind int

const (
	ValueNone       ValueKind = iota // free text: nothing to offer
	ValueWords                       // one of a fixed list (Flag.Words)
	ValuePrivateKey                  // a private key file (not *.pub)
	ValuePublicKey                   // a *.pub file
	ValueFile                        // any file
	ValueRemote                      // a remote of the repository
	ValueKeyID                       // the id of one of your keys on Bitbucket
)

// Program is the command tree as the man page and the completions need it.
type Program struct {
	Usage       string // one line: what the program does
	Description string // paragraphs separated by a blank line
	Commands    []Command
}

// Command is one command of the tree.
type Command struct {
	Name        string
	Usage       string // one line, lower case, no final period
	UsageText   string // the synopsis: git bbkey NAME [options]…
	Description string
	Flags       []Flag
	Args        ValueKind // what its positional arguments are
}

// Flag is one flag of a command.
type Flag struct {
	Names       []string // with dashes, long first
	Long        string   // the long name, without dashes
	Short       string   // one-letter alias, "" if none
	Placeholder string   // the value's name (FILE), "" for a switch
	Usage       string   // what it does, the placeholder's backquotes removed
	Default     string   // "" when the default is nothing worth saying
	TakesValue  bool
	Kind        ValueKind
	Words       []string // the values of a ValueWords flag
	Help        bool     // the -h/--help every command has
}

// SplitPlaceholder takes the value's name out of a usage text, as
// urfave/cli does for its help: "read `FILE` first" is FILE and "read FILE
// first". Without a pair of backquotes, name is "" and text is usage.
func SplitPlaceholder(usage string) (name, text string) {
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

// SynopsisPlaceholder is the value's name a synopsis gives the flag long
// (N for "--bits N"); "" when the synopsis names none.
func SynopsisPlaceholder(usageText, long string) string {
	for _, m := range synopsisValue.FindAllStringSubmatch(usageText, -1) {
		if m[1] == long {
			return m[2]
		}
	}
	return ""
}

func commandNames(cmds []Command) []string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	return names
}
