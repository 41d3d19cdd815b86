// Package openssh answers "what will OpenSSH do for this host, when git
// runs it?": which ssh program git runs (GIT_SSH_COMMAND, core.sshCommand,
// GIT_SSH, ssh) and with which options, the effective settings OpenSSH
// computes for a host (`ssh -G`), and when git-bbkey cannot reproduce
// OpenSSH in-process, a runner that asks the user's own ssh program.
//
// Inputs come as parameters (environment, git config reader, homes); the
// package never reads the process environment or the home directory on
// its own.
package openssh

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// Source says where git found its ssh command.
type Source int

const (
	SourceDefault        Source = iota // nothing set: "ssh" from PATH
	SourceGitSSHCommand                // the GIT_SSH_COMMAND environment variable
	SourceCoreSSHCommand               // the core.sshCommand setting
	SourceGitSSH                       // the GIT_SSH environment variable (a program, no shell)
)

func (s Source) String() string {
	switch s {
	case SourceGitSSHCommand:
		return "GIT_SSH_COMMAND"
	case SourceCoreSSHCommand:
		return "core.sshCommand"
	case SourceGitSSH:
		return "GIT_SSH"
	}
	return "default"
}

// Variant is the kind of ssh program, as git names it (ssh.variant).
type Variant int

const (
	// VariantAuto: git could not tell from the name and probes the
	// program with `-G`: OpenSSH if that succeeds, else simple.
	VariantAuto Variant = iota
	VariantSimple
	VariantSSH
	VariantPlink
	VariantPutty
	VariantTortoisePlink
)

func (v Variant) String() string {
	switch v {
	case VariantSimple:
		return "simple"
	case VariantSSH:
		return "ssh"
	case VariantPlink:
		return "plink"
	case VariantPutty:
		return "putty"
	case VariantTortoisePlink:
		return "tortoiseplink"
	}
	return "auto"
}

// Command is the ssh program git runs for ssh URLs, and how it runs it.
type Command struct {
	// Text is the program (GIT_SSH, the default "ssh") or the command
	// line (GIT_SSH_COMMAND, core.sshCommand) exactly as configured.
	Text   string
	Source Source
	// Shell: git hands Text to the shell (GIT_SSH_COMMAND, core.sshCommand;
	// only when Text holds a shell metacharacter, see Argv).
	Shell bool
	// Variant as ssh.variant / GIT_SSH_VARIANT set it (VariantSet), else as
	// git guesses it from the program's name; VariantAuto when git probes.
	Variant    Variant
	VariantSet bool
	// ProtocolVersion is protocol.version (git's default 2). With a
	// version above 0 git passes `-o SendEnv=GIT_PROTOCOL` to OpenSSH.
	ProtocolVersion int
	// Words is Text split into arguments exactly as sh would split it,
	// when Text is plain words (quotes, backslashes, ~ and $VAR allowed;
	// no pipes, redirections, substitutions, globs or assignments). nil
	// when it is not: then only the shell knows what runs.
	Words []string
}

// ConfigReader reads git settings; *gitconfig.Reader is one.
type ConfigReader interface {
	GetRegexp(ctx context.Context, pattern string) ([][2]string, error)
}

// GitCommand returns the ssh command git runs, with git's precedence
// (connect.c): GIT_SSH_COMMAND, then core.sshCommand, then GIT_SSH, then
// "ssh". (git's documentation lists GIT_SSH before core.sshCommand; git
// itself lets core.sshCommand win, and so do we.) getenv reads the
// environment git would see; an empty value counts as unset. cfg may be
// nil when there is no git configuration to read.
func GitCommand(ctx context.Context, getenv func(string) string, cfg ConfigReader) (Command, error) {
	var sshCommand, variant, protocol string
	var haveSSHCommand, haveVariant bool
	if cfg != nil {
		// One git process for the three settings: each is its last value.
		entries, err := cfg.GetRegexp(ctx, `^(core\.sshcommand|ssh\.variant|protocol\.version)$`)
		if err != nil {
			return Command{}, fmt.Errorf("read the ssh command from git config: %w", err)
		}
		for _, e := range entries {
			switch e[0] {
			case "core.sshcommand":
				sshCommand, haveSSHCommand = e[1], true
			case "ssh.variant":
				variant, haveVariant = e[1], true
			case "protocol.version":
				protocol = e[1]
			}
		}
	}
	if v := getenv("GIT_SSH_VARIANT"); v != "" {
		variant, haveVariant = v, true
	}

	c := Command{ProtocolVersion: 2}
	switch protocol {
	case "0", "1", "2":
		c.ProtocolVersion, _ = strconv.Atoi(protocol)
	}
	env := getenv
	switch {
	case getenv("GIT_SSH_COMMAND") != "":
		c.Text, c.Source, c.Shell = getenv("GIT_SSH_COMMAND"), SourceGitSSHCommand, true
	case haveSSHCommand:
		c.Text, c.Source, c.Shell = sshCommand, SourceCoreSSHCommand, true
	case getenv("GIT_SSH") != "":
		c.Text, c.Source = getenv("GIT_SSH"), SourceGitSSH
	default:
		c.Text, c.Source = "ssh", SourceDefault
	}
	if c.Shell {
		c.Words, _ = shellWords(c.Text, env)
	} else {
		c.Words = []string{c.Text}
	}
	if haveVariant {
		c.Variant, c.VariantSet = parseVariant(variant), true
	} else {
		c.Variant = guessVariant(c.Text, c.Shell)
	}
	return c, nil
}

// parseVariant reads ssh.variant / GIT_SSH_VARIANT as git does: an
// unknown value means OpenSSH.
func parseVariant(s string) Variant {
	switch s {
	case "auto":
		return VariantAuto
	case "plink":
		return VariantPlink
	case "putty":
		return VariantPutty
	case "tortoiseplink":
		return VariantTortoisePlink
	case "simple":
		return VariantSimple
	}
	return VariantSSH
}

// guessVariant is git's determine_ssh_variant without an override: the
// base name of the program (of the first word of a command line, split
// with git's own split_cmdline) decides; anything else is "auto".
func guessVariant(text string, cmdline bool) Variant {
	prog := text
	if cmdline {
		argv, ok := gitSplitCmdline(text)
		if !ok {
			return VariantAuto
		}
		prog = argv[0]
	}
	switch strings.ToLower(baseName(prog)) {
	case "ssh", "ssh.exe":
		return VariantSSH
	case "plink", "plink.exe":
		return VariantPlink
	case "tortoiseplink", "tortoiseplink.exe":
		return VariantTortoisePlink
	}
	return VariantAuto
}

// gitSplitCmdline is git's split_cmdline (alias.c): words separated by
// space, tab, CR or LF; '…' and "…" quote; a backslash escapes the next
// character except inside single quotes. It fails on an unclosed quote or
// a final backslash. Like git it keeps an empty first word for leading
// space.
func gitSplitCmdline(s string) ([]string, bool) {
	var argv []string
	var cur strings.Builder
	var quoted byte
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case quoted == 0 && gitSpace(c):
			argv = append(argv, cur.String())
			cur.Reset()
			for i++; i < len(s) && gitSpace(s[i]); i++ {
			}
		case quoted == 0 && (c == '\'' || c == '"'):
			quoted = c
			i++
		case c == quoted:
			quoted = 0
			i++
		default:
			if c == '\\' && quoted != '\'' {
				i++
				if i == len(s) {
					return nil, false
				}
				c = s[i]
			}
			cur.WriteByte(c)
			i++
		}
	}
	if quoted != 0 {
		return nil, false
	}
	return append(argv, cur.String()), true
}

func gitSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// baseName is basename(3) as git uses it: the last path component;
// git for Windows also splits at backslashes.
func baseName(p string) string {
	sep := func(c byte) bool { return c == '/' || runtime.GOOS == "windows" && c == '\\' }
	for len(p) > 1 && sep(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	for i := len(p) - 1; i >= 0; i-- {
		if sep(p[i]) && i < len(p)-1 {
			return p[i+1:]
		}
	}
	return p
}

// gitShellMeta is run-command.c's list: a command holding one of these
// runs through `sh -c`; without one git runs the word directly.
const gitShellMeta = "|&;<>()$`\\\"' \t\n*?[#~=%"

// ViaShell reports whether git runs the command through `sh -c`.
func (c Command) ViaShell() bool { return c.Shell && strings.ContainsAny(c.Text, gitShellMeta) }

// Plain reports whether the command's arguments are known without a
// shell (Words is set).
func (c Command) Plain() bool { return c.Words != nil }

// Program is the program the command runs (its first word), "" when
// only the shell knows it.
func (c Command) Program() string {
	if len(c.Words) == 0 {
		return ""
	}
	return c.Words[0]
}

// Argv is the exact argument vector git executes for args (the options
// git adds, the host, the remote command): `sh -c 'TEXT "$@"' TEXT args…`
// when git uses the shell, else TEXT args….
func (c Command) Argv(args ...string) []string {
	if c.ViaShell() {
		return append([]string{shellPath(), "-c", c.Text + ` "$@"`, c.Text}, args...)
	}
	return append([]string{c.Text}, args...)
}

func shellPath() string {
	if runtime.GOOS == "windows" {
		return "sh"
	}
	return "/bin/sh"
}
