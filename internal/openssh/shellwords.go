package openssh

import "strings"

// shellWords splits a command line into the arguments a POSIX sh would
// pass to the program, for command lines made of plain words only:
// blanks separate words; '…', "…" and backslashes quote; an unquoted ~ or
// ~/ at the start of a word is $HOME; $NAME and ${NAME} expand from
// getenv (unquoted, only to values that need no field splitting or
// globbing). Anything else — pipes, lists, redirections, command
// substitution, globs, comments, assignments, keywords and special
// built-ins, other parameter forms, newlines — makes it not plain
// (ok false): only a shell can tell what runs.
func shellWords(s string, getenv func(string) string) (words []string, ok bool) {
	var cur strings.Builder
	inWord, quoted := false, false // quoted: some part of the word was quoted
	end := func() {
		if inWord && (cur.Len() > 0 || quoted) {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			end()
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord, quoted = true, true
			i += j + 2
		case c == '"':
			n, ok := doubleQuoted(s[i+1:], &cur, getenv)
			if !ok {
				return nil, false
			}
			inWord, quoted = true, true
			i += n + 2
		case c == '\\':
			if i+1 == len(s) {
				return nil, false
			}
			if s[i+1] != '\n' { // backslash-newline continues the line
				cur.WriteByte(s[i+1])
				inWord, quoted = true, true
			}
			i += 2
		case c == '$':
			val, n, ok := parameter(s[i:], getenv)
			if !ok || strings.ContainsAny(val, " \t\n*?[") {
				return nil, false
			}
			cur.WriteString(val)
			inWord = true
			i += n
		case c == '~' && !inWord:
			j := i + 1
			for j < len(s) && s[j] != '/' && s[j] != ' ' && s[j] != '\t' {
				j++
			}
			home := getenv("HOME")
			if j != i+1 || home == "" { // ~user, or no HOME: leave it to a shell
				return nil, false
			}
			cur.WriteString(home)
			inWord, quoted = true, true // a home with spaces stays one word
			i++
		case strings.IndexByte("|&;<>()`*?[#{}\n", c) >= 0,
			c == '!' && len(words) == 0 && !inWord:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	end()
	if len(words) == 0 || isAssignment(words[0]) || shellKeyword[words[0]] {
		return nil, false
	}
	return words, true
}

// doubleQuoted reads the inside of "…" from s (just after the opening
// quote), writing the value to b, and returns the length read up to the
// closing quote.
func doubleQuoted(s string, b *strings.Builder, getenv func(string) string) (int, bool) {
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '"':
			return i, true
		case '\\':
			if i+1 == len(s) {
				return 0, false
			}
			switch n := s[i+1]; n {
			case '$', '`', '"', '\\':
				b.WriteByte(n)
			case '\n':
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			i += 2
		case '$':
			val, n, ok := parameter(s[i:], getenv)
			if !ok {
				return 0, false
			}
			b.WriteString(val)
			i += n
		case '`':
			return 0, false
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, false
}

// parameter expands $NAME or ${NAME} at the start of s.
func parameter(s string, getenv func(string) string) (val string, n int, ok bool) {
	if strings.HasPrefix(s, "${") {
		end := strings.IndexByte(s, '}')
		if end < 0 || !isName(s[2:end]) {
			return "", 0, false
		}
		return getenv(s[2:end]), end + 1, true
	}
	j := 1
	for j < len(s) && isNameByte(s[j], j == 1) {
		j++
	}
	if j == 1 {
		return "", 0, false // $1, $@, $$, $(…), a lone $: not plain
	}
	return getenv(s[1:j]), j, true
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// isAssignment: NAME=value before the command sets the command's
// environment, which only a shell applies.
func isAssignment(w string) bool {
	name, _, found := strings.Cut(w, "=")
	return found && isName(name)
}

// shellKeyword holds words that a shell does not run as a program when
// they come first.
var shellKeyword = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "case": true, "esac": true,
	"for": true, "while": true, "until": true, "do": true, "done": true, "in": true, "function": true,
	"select": true, "time": true, ".": true, ":": true, "break": true, "continue": true, "eval": true,
	"exec": true, "exit": true, "export": true, "readonly": true, "return": true, "set": true,
	"shift": true, "times": true, "trap": true, "unset": true, "command": true, "cd": true, "source": true,
}
