package openssh

import (
	"fmt"
	"strings"
)

// sshOptionArgs are the options of OpenSSH's ssh that take an argument
// (its getopt string "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy").
const sshOptionArgs = "bceilmopBDEFIJLOPQRSwW"

// sshFlags are the options without an argument.
const sshFlags = "1246afgknqstvxACGKMNTVXYy"

// cmdOptions are the options of an ssh command line that decide where
// and how it connects, in the order given.
type cmdOptions struct {
	ConfigFile string   // -F
	Identities []string // -i, as given
	Options    []string // -o values, as given ("Key=Value" or "Key Value")
	Port       string   // first -p
	User       string   // first -l
	Jump       string   // first -J
	Verbose    int      // number of -v
	Host       string   // a destination on the command line itself, rarely
	// Lines are the options that set configuration keywords, in the order
	// given, as ssh_config lines (keyword, value): -o, -p, -l, -J; -i as
	// ("-i", file), since ssh treats it apart (it drops a missing file).
	Lines [][2]string
}

// parseSSHArgs reads OpenSSH options the way ssh's getopt loop does
// (clustered flags, attached or separate arguments, options after the
// destination too). An unknown option is an error, as in ssh.
func parseSSHArgs(args []string) (cmdOptions, error) {
	var o cmdOptions
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) && o.Host == "" {
				o.Host = args[i+1]
			}
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if o.Host == "" {
				o.Host = a
				continue
			}
			break // the remote command
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if strings.IndexByte(sshFlags, c) >= 0 {
				if c == 'v' {
					o.Verbose++
				}
				continue
			}
			if strings.IndexByte(sshOptionArgs, c) < 0 {
				return o, fmt.Errorf("unknown ssh option -%c in %q", c, a)
			}
			val := a[j+1:]
			if val == "" {
				if i+1 == len(args) {
					return o, fmt.Errorf("ssh option -%c needs an argument", c)
				}
				i++
				val = args[i]
			}
			switch c {
			case 'F':
				o.ConfigFile = val
			case 'i':
				o.Identities = append(o.Identities, val)
				o.Lines = append(o.Lines, [2]string{"-i", val})
			case 'o':
				o.Options = append(o.Options, val)
				k, v := splitOption(val)
				o.Lines = append(o.Lines, [2]string{k, v})
			case 'p':
				if o.Port == "" {
					o.Port = val
				}
				o.Lines = append(o.Lines, [2]string{"Port", val})
			case 'l':
				if o.User == "" {
					o.User = val
				}
				o.Lines = append(o.Lines, [2]string{"User", val})
			case 'J':
				if o.Jump == "" {
					o.Jump = val
				}
				o.Lines = append(o.Lines, [2]string{"ProxyJump", val})
			}
			break
		}
	}
	return o, nil
}

// splitOption splits a -o argument into keyword and value as ssh does:
// at the first '=' or blank.
func splitOption(s string) (key, value string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "= \t")
	if i < 0 {
		return s, ""
	}
	key, value = s[:i], strings.TrimLeft(s[i:], " \t")
	value = strings.TrimPrefix(value, "=")
	return key, strings.TrimSpace(value)
}
