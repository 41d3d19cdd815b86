package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/urfave/cli/v2"
)

// Generated files under contrib/, kept current by TestGeneratedFilesAreCurrent
// and rewritten by `go run ./contrib/gendocs`.
var GeneratedFiles = map[string]func() (string, error){
	"contrib/man/git-bbkey.1":           ManPage,
	"contrib/completion/git-bbkey.bash": BashCompletion,
	"contrib/completion/_git-bbkey":     ZshCompletion,
	"contrib/completion/git-bbkey.fish": FishCompletion,
}

func docApp() *cli.App {
	env := &Env{Version: ""}
	return newApp(env)
}

// manExtra documents what the command tree cannot say by itself.
const manExtra = `
# EXIT STATUS

**0** success; **1** the operation failed, including any verification that did not pass; **2** usage error
(unknown flag, bad value, or missing input that cannot be prompted for without a terminal).

# ENVIRONMENT

**BITBUCKET_TOKEN**
: HTTP access token sent as *Authorization: Bearer*. Without it, credentials come from *git credential fill*.

**GIT_TERMINAL_PROMPT=0**
: never prompt; choices that need a person then need a flag (--yes, --no-passphrase, --accept-new-host-key).

**HOME**, **USERPROFILE**
: the home directory whose .ssh folder is used.

# CONFIGURATION

Read with *git config*, so includes, -c and GIT_CONFIG_* work.

**bbkey.url**
: Bitbucket base URL (with context path); default: derived from an https remote.

**bbkey.keyType**
: key type for generate and setup; default ed25519.

**bbkey.keyFile**
: the private key to use; default the first of id_ed25519, id_ecdsa, id_rsa in ~/.ssh.

**bbkey.remote**
: the remote used by verify and setup; default origin.

**user.email**
: the key comment.

**http.sslCAInfo**, **http.\<url\>.sslCAInfo**, **http.sslVerify**
: TLS trust for the Bitbucket URL, as git uses them (sslCAInfo replaces the system roots).

**url.\<base\>.insteadOf**
: rewrites remote URLs, and URLs given to verify, as in git.

**remote.\<name\>.pushurl**, **url.\<base\>.pushInsteadOf**
: where verify --write checks write access, as git pushes; default the fetch URL.

# FILES

**~/.ssh/** (0700), private keys (0600), **NAME.pub** (0644), **~/.ssh/key_backup/\<UTC time\>/** (0700),
**~/.ssh/known_hosts** (appended to, never rewritten), **~/.ssh/config** (only the block between
*# BEGIN git-bbkey \<host\>* and *# END git-bbkey \<host\>*).

# SECURITY

Passphrases, passwords and tokens never travel on the command line and are never printed or logged.
Credentials go only over https, except to loopback addresses.

# SEE ALSO

**ssh-keygen**(1), **ssh**(1), **git-credential**(1)
`

// ManPage renders git-bbkey(1) from the command tree.
func ManPage() (string, error) {
	md, err := docApp().ToMarkdown()
	if err != nil {
		return "", err
	}
	md = "% git-bbkey 1\n\n" + escapeAngles(md) + manExtra
	return string(md2man.Render([]byte(md))), nil
}

// escapeAngles keeps placeholders such as <UTC time> in the usage texts:
// markdown takes them for HTML tags, and the man page would drop them.
// Code blocks and `code spans` show "<" as it is and are left alone.
func escapeAngles(md string) string {
	lines := strings.Split(md, "\n")
	fenced := false
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for j := 0; j < len(parts); j += 2 {
			parts[j] = strings.ReplaceAll(parts[j], "<", "\\<")
		}
		lines[i] = strings.Join(parts, "`")
	}
	return strings.Join(lines, "\n")
}

// flagInfo is what every completion needs to know of one flag.
type flagInfo struct {
	names   []string // with dashes
	long    string   // first long name, without dashes
	short   string   // one-letter alias, "" if none
	usage   string
	value   bool
	file    bool
	choices []string
	help    bool // the -h/--help every command has (not in cmd.Flags)
}

type commandInfo struct {
	name  string
	usage string
	flags []flagInfo
}

// flagChoices lists the fixed values some flags take.
var flagChoices = map[string][]string{
	"type":       {"ed25519", "ecdsa", "rsa"},
	"permission": {"read", "write"},
}

func commandInfos() []commandInfo {
	var out []commandInfo
	for _, c := range docApp().Commands {
		if c.Hidden {
			continue
		}
		ci := commandInfo{name: c.Name, usage: c.Usage}
		for _, f := range c.Flags {
			fi := flagInfo{choices: flagChoices[f.Names()[0]]}
			if d, ok := f.(cli.DocGenerationFlag); ok {
				fi.value, fi.usage = d.TakesValue(), d.GetUsage()
			}
			if sf, ok := f.(*cli.StringFlag); ok && sf.TakesFile {
				fi.file = true
			}
			if sf, ok := f.(*cli.StringSliceFlag); ok && sf.TakesFile {
				fi.file = true
			}
			for _, n := range f.Names() {
				if len(n) == 1 {
					fi.names = append(fi.names, "-"+n)
					fi.short = n
				} else {
					fi.names = append(fi.names, "--"+n)
					if fi.long == "" {
						fi.long = n
					}
				}
			}
			ci.flags = append(ci.flags, fi)
		}
		ci.flags = append(ci.flags, flagInfo{names: []string{"--help", "-h"}, long: "help", short: "h", usage: "show help", help: true})
		out = append(out, ci)
	}
	return out
}

func commandNames(infos []commandInfo) []string {
	var names []string
	for _, c := range infos {
		names = append(names, c.name)
	}
	return names
}

// BashCompletion defines _git_bbkey, which git's own completion calls for
// `git bbkey <TAB>`, and completes the git-bbkey binary directly.
func BashCompletion() (string, error) {
	infos := commandInfos()
	var b strings.Builder
	b.WriteString("# bash completion for git-bbkey. Generated by `go run ./contrib/gendocs`; do not edit.\n")
	b.WriteString("# With git's completion loaded, `git bbkey <TAB>` calls _git_bbkey.\n\n")
	b.WriteString("_git_bbkey ()\n{\n")
	b.WriteString("\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	fmt.Fprintf(&b, "\tlocal commands=%q\n", strings.Join(commandNames(infos), " "))
	b.WriteString("\tlocal w cmd=\n\tfor w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n")
	b.WriteString("\t\tcase \" $commands \" in *\" $w \"*) cmd=$w; break ;; esac\n\tdone\n")
	b.WriteString("\tif [ -z \"$cmd\" ]; then\n\t\tCOMPREPLY=( $(compgen -W \"$commands --version --help\" -- \"$cur\") )\n\t\treturn\n\tfi\n")
	b.WriteString("\tcase \"$cmd,$prev\" in\n")
	for _, c := range infos {
		for _, f := range c.flags {
			if !f.value {
				continue
			}
			pattern := c.name + "," + strings.Join(f.names, "|"+c.name+",")
			switch {
			case len(f.choices) > 0:
				fmt.Fprintf(&b, "\t%s) COMPREPLY=( $(compgen -W %q -- \"$cur\") ); return ;;\n", pattern, strings.Join(f.choices, " "))
			case f.file:
				fmt.Fprintf(&b, "\t%s) COMPREPLY=( $(compgen -f -- \"$cur\") ); return ;;\n", pattern)
			default:
				fmt.Fprintf(&b, "\t%s) return ;;\n", pattern)
			}
		}
	}
	b.WriteString("\tesac\n\tlocal flags\n\tcase \"$cmd\" in\n")
	for _, c := range infos {
		var names []string
		for _, f := range c.flags {
			for _, n := range f.names {
				if strings.HasPrefix(n, "--") {
					names = append(names, n)
				}
			}
		}
		fmt.Fprintf(&b, "\t%s) flags=%q ;;\n", c.name, strings.Join(names, " "))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tcase \"$cur\" in\n\t-*) COMPREPLY=( $(compgen -W \"$flags\" -- \"$cur\") ) ;;\n")
	b.WriteString("\t*) COMPREPLY=( $(compgen -f -- \"$cur\") ) ;;\n\tesac\n}\n\n")
	b.WriteString("complete -o default -F _git_bbkey git-bbkey\n")
	return b.String(), nil
}

func zshEscape(s string) string {
	return strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]", ":", "\\:").Replace(s)
}

// ZshCompletion is _git-bbkey: zsh's git completion calls it for
// `git bbkey` once bbkey is listed in the user-commands style, and it
// completes the git-bbkey binary directly.
func ZshCompletion() (string, error) {
	infos := commandInfos()
	var b strings.Builder
	b.WriteString("#compdef git-bbkey\n# zsh completion for git-bbkey. Generated by `go run ./contrib/gendocs`; do not edit.\n")
	b.WriteString("# For `git bbkey <TAB>`: zstyle ':completion:*:*:git:*' user-commands bbkey:'SSH keys for Bitbucket'\n\n")
	b.WriteString("_git-bbkey() {\n\tlocal curcontext=$curcontext state line\n\ttypeset -A opt_args\n")
	b.WriteString("\t_arguments -C '(- *)--version[print the version]' '(- *)'{-h,--help}'[show help]' '1: :->command' '*:: :->args'\n")
	b.WriteString("\tcase $state in\n\tcommand)\n\t\tlocal -a commands\n\t\tcommands=(\n")
	for _, c := range infos {
		fmt.Fprintf(&b, "\t\t\t'%s:%s'\n", c.name, zshEscape(c.usage))
	}
	b.WriteString("\t\t)\n\t\t_describe -t commands 'git bbkey command' commands ;;\n\targs)\n\t\tcase $line[1] in\n")
	for _, c := range infos {
		fmt.Fprintf(&b, "\t\t%s)\n\t\t\t_arguments", c.name)
		for _, f := range c.flags {
			spec := "'" + f.names[0] + "[" + zshEscape(f.usage) + "]"
			if f.value {
				switch {
				case len(f.choices) > 0:
					spec += ":value:(" + strings.Join(f.choices, " ") + ")"
				case f.file:
					spec += ":file:_files"
				default:
					spec += ":value:"
				}
			}
			spec += "'"
			fmt.Fprintf(&b, " \\\n\t\t\t\t%s", spec)
		}
		b.WriteString(" \\\n\t\t\t\t'*:file:_files' ;;\n")
	}
	b.WriteString("\t\tesac ;;\n\tesac\n}\n\n_git-bbkey \"$@\"\n")
	return b.String(), nil
}

// FishCompletion completes both `git-bbkey` and `git bbkey`.
func FishCompletion() (string, error) {
	infos := commandInfos()
	var b strings.Builder
	b.WriteString("# fish completion for git-bbkey. Generated by `go run ./contrib/gendocs`; do not edit.\n\n")
	names := commandNames(infos)
	sort.Strings(names)
	all := strings.Join(names, " ")
	targets := []struct{ cmd, base string }{
		{"git-bbkey", "true"},
		{"git", "__fish_seen_subcommand_from bbkey"},
	}
	for _, t := range targets {
		fmt.Fprintf(&b, "# %s\n", t.cmd)
		if t.cmd == "git" {
			b.WriteString("complete -c git -n '__fish_use_subcommand' -a bbkey -d 'SSH keys for Bitbucket'\n")
		}
		for _, c := range infos {
			fmt.Fprintf(&b, "complete -c %s -f -n '%s; and not __fish_seen_subcommand_from %s' -a %s -d '%s'\n",
				t.cmd, t.base, all, c.name, strings.ReplaceAll(c.usage, "'", "\\'"))
			for _, f := range c.flags {
				if f.help {
					continue // fish offers --help itself
				}
				line := fmt.Sprintf("complete -c %s -n '%s; and __fish_seen_subcommand_from %s' -l %s", t.cmd, t.base, c.name, f.long)
				if f.short != "" {
					line += " -s " + f.short
				}
				if f.value {
					if len(f.choices) > 0 {
						line += fmt.Sprintf(" -x -a '%s'", strings.Join(f.choices, " "))
					} else {
						line += " -r"
					}
				}
				line += fmt.Sprintf(" -d '%s'", strings.ReplaceAll(f.usage, "'", "\\'"))
				b.WriteString(line + "\n")
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// WriteGenerated writes every generated file through write.
func WriteGenerated(write func(path string, content string) error) error {
	for path, gen := range GeneratedFiles {
		s, err := gen()
		if err != nil {
			return err
		}
		if err := write(path, s); err != nil {
			return err
		}
	}
	return nil
}
