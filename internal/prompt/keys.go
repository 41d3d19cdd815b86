package prompt

import (
	"io"
	"unicode/utf8"
)

// Keys a raw terminal delivers as bytes.
const (
	keyNUL       = 0x00 // also what Linux leaves for a Ctrl-D typed before raw mode
	keyCtrlC     = 0x03
	keyCtrlD     = 0x04
	keyBackspace = 0x08
	keyLF        = '\n'
	keyCR        = '\r'
	keyCtrlU     = 0x15
	keyEscape    = 0x1b
	keyCtrlBack  = 0x1c // Ctrl-\, the terminal's quit key
	keyDelete    = 0x7f
)

// byteSource yields what is typed, one byte at a time.
type byteSource interface {
	next() (byte, error)
}

// editLine reads one answer typed on a terminal in raw mode. Enter ends it;
// Ctrl-C and Ctrl-\ interrupt (ErrInterrupted); Ctrl-D cancels
// (ErrCancelled), even after some text, so that it is never an empty or
// partial answer; Backspace and Ctrl-U edit; other control keys and escape
// sequences (arrow keys) are ignored. With echo set, the answer is shown as
// it is typed; a secret (echo nil) is never shown.
func editLine(src byteSource, echo io.Writer) ([]byte, error) {
	var line []byte
	fail := func(err error) ([]byte, error) {
		clear(line)
		return nil, err
	}
	var pending []byte // a key that ended an escape sequence
	for {
		var b byte
		if len(pending) > 0 {
			b, pending = pending[0], pending[1:]
		} else {
			var err error
			if b, err = src.next(); err != nil {
				return fail(err)
			}
		}
		switch {
		case b == keyCR || b == keyLF:
			return line, nil
		case b == keyCtrlC || b == keyCtrlBack:
			return fail(ErrInterrupted)
		case b == keyCtrlD || b == keyNUL:
			return fail(ErrCancelled)
		case b == keyBackspace || b == keyDelete:
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				clear(line[len(line)-size:])
				line = line[:len(line)-size]
				show(echo, "\b \b")
			}
		case b == keyCtrlU:
			for n := utf8.RuneCount(line); n > 0; n-- {
				show(echo, "\b \b")
			}
			clear(line)
			line = line[:0]
		case b == keyEscape:
			ended, err := skipEscape(src)
			if err != nil {
				return fail(err)
			}
			pending = ended
		case b < 0x20:
			// Tab and other control keys: not part of an answer.
		default:
			line = append(line, b)
			if echo != nil {
				echo.Write([]byte{b})
			}
		}
	}
}

func show(w io.Writer, s string) {
	if w != nil {
		io.WriteString(w, s)
	}
}

// skipEscape consumes the rest of an escape sequence such as an arrow key
// (ESC [ A) or a function key (ESC O P), so that none of it lands in the
// answer. A control key (Enter, Ctrl-C…) inside it ends the sequence and is
// returned to be handled as typed.
func skipEscape(src byteSource) (ended []byte, err error) {
	b, err := src.next()
	switch {
	case err != nil:
		return nil, err
	case b < 0x20:
		return []byte{b}, nil
	case b != '[' && b != 'O':
		return nil, nil // Alt+key: dropped with its key
	}
	for {
		b, err := src.next()
		switch {
		case err != nil:
			return nil, err
		case b < 0x20:
			return []byte{b}, nil
		case b >= 0x40 && b <= 0x7e:
			return nil, nil
		}
	}
}
