package clidocs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
)

// manExtra documents what the command tree cannot say by itself. It is
// markdown for md2man: _ and * are escaped where they are meant literally.
const manExtra = `
# EXIT STATUS

**0** success; **1** the operation failed, including any verification that did not pass; **2** usage error
(unknown flag, bad value, or missing input that cannot be prompted for without a terminal); **130** interrupted
(Ctrl-C, SIGTERM, a closed terminal, or Ctrl-D at a prompt): the interrupted step leaves nothing behind.

# ENVIRONMENT

**BITBUCKET\_TOKEN**
: HTTP access token sent as *Authorization: Bearer*. Without it, credentials come from *git credential fill*.

**GIT\_TERMINAL\_PROMPT=0**
: never prompt; choices that need a person then need a flag (--yes, --no-passphrase, --accept-new-host-key).

**HOME**, **USERPROFILE**
: the home directory whose .ssh folder is used.

**NO\_COLOR**
: set to anything, no colours unless color.ui or color.bbkey is *always*.

**TERM=dumb**
: no colours and no status line.

**GIT\_SSH\_COMMAND**, **GIT\_SSH**, **GIT\_SSH\_VARIANT**
: the ssh program git runs, in git's order (GIT\_SSH\_COMMAND, core.sshCommand, GIT\_SSH, ssh); verify asks
it for each host's settings (ssh -G) and checks as it would connect.

**HTTPS\_PROXY**, **https\_proxy**, **http\_proxy**, **ALL\_PROXY**, **all\_proxy**, **NO\_PROXY**, **no\_proxy**
: the proxy for REST calls when http.proxy does not name one, chosen as git chooses it (loopback goes
through the proxy unless NO\_PROXY names it).

**GIT\_SSL\_CAINFO**, **GIT\_SSL\_CAPATH**, **GIT\_SSL\_CERT**, **GIT\_SSL\_KEY**, **GIT\_SSL\_NO\_VERIFY**
: as for git, over the http.ssl* settings.

# CONFIGURATION

Read with *git config*, so includes, -c and GIT\_CONFIG\_\* work.

**bbkey.url**
: Bitbucket base URL (with context path); default: derived from an https remote.

**bbkey.keyType**
: key type for generate and setup; default ed25519.

**bbkey.keyFile**
: the private key to use; default for generate and add the first of id\_ed25519, id\_ecdsa, id\_rsa in
~/.ssh, for verify the identity ssh would offer the host.

**bbkey.remote**
: the remote used by verify and setup; default origin.

**user.email**
: the key comment.

**http.sslCAInfo**, **http.sslCAPath**, **http.sslVerify**, **http.sslCert**, **http.sslKey** (and their **http.\<url\>.\*** forms)
: TLS for the Bitbucket URL, as git uses them (sslCAInfo replaces the system roots; sslCert and sslKey a
client certificate).

**http.proxy**, **http.\<url\>.proxy**
: the proxy for REST calls, over the environment's, as in git; an empty value turns proxying off.

**core.sshCommand**, **ssh.variant**
: the ssh program git runs (see GIT\_SSH\_COMMAND). Through it, \~/.ssh/config (Host, Match, Include,
HostName, Port, User, IdentityFile, IdentitiesOnly, ProxyJump, ProxyCommand, UserKnownHostsFile,
GlobalKnownHostsFile, HostKeyAlias, ConnectTimeout) applies to verify as to git fetch; what cannot be
reproduced in-process (PuTTY, wrappers, PKCS11Provider, security keys, Match exec) is checked through your
own ssh ("via": "ssh").

**url.\<base\>.insteadOf**
: rewrites remote URLs, and URLs given to verify, as in git.

**remote.\<name\>.pushurl**, **url.\<base\>.pushInsteadOf**
: where verify --write checks write access, as git pushes; default the fetch URL.

**color.bbkey**, **color.ui**
: colours (ok green, failed red, skipped yellow, error: red) as git uses them: *auto* (the default) on a
terminal only, *always*, or *never*; color.bbkey wins over color.ui.

**color.advice**
: whether hint: lines are coloured (yellow), as git's own hints.

# FILES

**~/.ssh/** (0700), private keys (0600), **NAME.pub** (0644), **~/.ssh/key\_backup/\<UTC time\>/** (0700),
**~/.ssh/known\_hosts** (appended to, never rewritten), **~/.ssh/config** (only the block between
*# BEGIN git-bbkey \<host\>* and *# END git-bbkey \<host\>*).

# SECURITY

Passphrases, passwords and tokens never travel on the command line and are never printed or logged.
Credentials go only over https, except to loopback addresses.

# SEE ALSO

**ssh-keygen**(1), **ssh**(1), **git-credential**(1)
`

// mdText escapes text from the command tree for markdown: in it, * _ ` [ ]
// and < mean what they say.
var mdText = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`).Replace

// ManPage renders git-bbkey(1) from p, with the EXAMPLES taken from the
// "Use" section of readme (README.md's text).
func ManPage(p Program, readme string) (string, error) {
	examples, err := readmeSection(readme, "Use")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("% git-bbkey 1\n\n# NAME\n\ngit-bbkey - " + mdText(p.Usage) + "\n\n# SYNOPSIS\n\n```\n")
	for _, c := range p.Commands {
		b.WriteString(c.UsageText + "\n")
	}
	b.WriteString("git bbkey --version\n```\n\n# DESCRIPTION\n\n")
	for _, para := range strings.Split(p.Description, "\n\n") {
		b.WriteString(mdText(para) + "\n\n")
	}
	b.WriteString("On PATH, git runs git-bbkey as **git bbkey**; **git bbkey --help** opens this page.\n\n# COMMANDS\n\n")
	for _, c := range p.Commands {
		fmt.Fprintf(&b, "## %s\n\n%s.\n\n```\n%s\n```\n\n", c.Name, mdText(upperFirst(c.Usage)), c.UsageText)
		if c.Description != "" {
			b.WriteString(mdText(c.Description) + "\n\n")
		}
		for _, f := range c.Flags {
			if !f.Help {
				b.WriteString(manFlag(f))
			}
		}
	}
	b.WriteString("# OPTIONS\n\n**--version**\n: print the version.\n\n**-h**, **--help**\n: show the help of git bbkey or of a command (**git bbkey verify -h**).\n\n")
	b.WriteString("# EXAMPLES\n\n" + examples + "\n")
	b.WriteString(manExtra)
	return string(md2man.Render([]byte(escapeAngles(b.String())))), nil
}

// manFlag is one option of a command, as git's pages show them: the
// names, the value's name, then what it does and its default.
func manFlag(f Flag) string {
	var names []string
	for _, n := range f.Names {
		name := "**" + n + "**"
		if f.Placeholder != "" {
			name += " *" + mdText(f.Placeholder) + "*"
		}
		names = append(names, name)
	}
	usage := mdText(f.Usage)
	if f.Default != "" {
		usage += " (default: " + mdText(f.Default) + ")"
	}
	return strings.Join(names, ", ") + "\n: " + usage + "\n\n"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// readmeSection returns the markdown under the level-2 heading title, up
// to the next one, with its level-3 headings made level 2 (a man page's
// sections are level 1).
func readmeSection(readme, title string) (string, error) {
	var out []string
	in := false
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "## ") {
			if in {
				break
			}
			in = strings.TrimSpace(line[3:]) == title
			continue
		}
		if in {
			out = append(out, strings.Replace(line, "### ", "## ", 1))
		}
	}
	if !in {
		return "", errors.New("README.md has no \"## " + title + "\" section for the man page's EXAMPLES")
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n", nil
}

// escapeAngles keeps placeholders such as <UTC time> in texts that come
// as markdown: markdown takes them for HTML tags, and the man page would
// drop them. Code blocks and `code spans` show "<" as it is and are left
// alone; a "<" already escaped stays as it is.
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
			parts[j] = strings.ReplaceAll(strings.ReplaceAll(parts[j], `\<`, "<"), "<", `\<`)
		}
		lines[i] = strings.Join(parts, "`")
	}
	return strings.Join(lines, "\n")
}
