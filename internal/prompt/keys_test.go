package prompt

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

type typed struct{ keys []byte }

func (t *typed) next() (byte, error) {
	if len(t.keys) == 0 {
		return 0, io.EOF
	}
	b := t.keys[0]
	t.keys = t.keys[1:]
	return b, nil
}

func TestEditLine(t *testing.T) {
	for _, tc := range []struct {
		name, keys, want, echo string
		err                    error
	}{
		{"enter", "secret\r", "secret", "secret", nil},
		{"newline", "secret\n", "secret", "secret", nil},
		{"empty answer is Enter alone", "\r", "", "", nil},
		{"backspace", "ab\x7fc\r", "ac", "ab\b \bc", nil},
		{"backspace removes a whole character", "é\x7fe\r", "e", "é\b \be", nil},
		{"ctrl-u", "old\x15new\r", "new", "old\b \b\b \b\b \bnew", nil},
		{"arrow keys are ignored", "\x1b[Ay\x1bOB\r", "y", "y", nil},
		{"tab is ignored", "a\tb\r", "ab", "ab", nil},
		{"ctrl-c", "abc\x03", "", "abc", ErrInterrupted},
		{"ctrl-backslash", "\x1c", "", "", ErrInterrupted},
		{"ctrl-c inside an escape sequence", "\x1b[\x03", "", "", ErrInterrupted},
		{"ctrl-d", "\x04", "", "", ErrCancelled},
		{"ctrl-d after text is no answer", "abc\x04", "", "abc", ErrCancelled},
		{"ctrl-d typed before raw mode", "\x00", "", "", ErrCancelled},
		{"end of input", "abc", "", "abc", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var echo bytes.Buffer
			got, err := editLine(&typed{[]byte(tc.keys)}, &echo)
			if !errors.Is(err, tc.err) || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
			if echo.String() != tc.echo {
				t.Errorf("echo %q, want %q", echo.String(), tc.echo)
			}
			// A secret is never shown.
			got, _ = editLine(&typed{[]byte(tc.keys)}, nil)
			if string(got) != tc.want {
				t.Errorf("without echo: got %q", got)
			}
		})
	}
}
