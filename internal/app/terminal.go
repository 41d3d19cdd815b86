package app

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/termui"
)

// runUI is what one run shows on the terminal besides its output: the
// status line on stderr and the colours of both streams.
type runUI struct {
	status    *termui.Status
	stdoutTTY bool
	stderrTTY bool
	getenv    func(string) string
	colorMode func() (ui, bbkey, advice termui.Mode) // read once, when first needed

	once                      sync.Once
	stdout, stderr, hintColor termui.Palette
}

// forRun returns the Env one run of Main works with: stdout and stderr
// erase the status line before they write and fall silent once ctx ends
// (so an interrupted command adds nothing after it stopped), and Ctrl-C or
// Ctrl-D at a prompt ends ctx with that cause, exactly as a signal does.
func (e *Env) forRun(ctx context.Context, stop context.CancelCauseFunc) *Env {
	run := *e
	getenv := e.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ui := &runUI{stdoutTTY: isTerminal(e.Stdout), stderrTTY: isTerminal(e.Stderr), getenv: getenv}
	ui.colorMode = func() (termui.Mode, termui.Mode, termui.Mode) { return readColorModes(e) }
	ui.status = termui.NewStatus(e.Stderr, termui.ShowStatus(ui.stderrTTY, getenv), terminalWidth(e.Stderr))
	run.ui = ui
	run.agent = sshagent.NewLazy(sshagent.System(getenv))
	context.AfterFunc(ctx, ui.status.Disable) // erased at once, never drawn again
	run.Stderr = &untilDone{ctx: ctx, w: ui.status.Writer(e.Stderr)}
	stdout := e.Stdout
	if ui.stdoutTTY {
		stdout = ui.status.Writer(stdout)
	}
	run.Stdout = &untilDone{ctx: ctx, w: stdout}
	if e.Prompter != nil {
		run.Prompter = &runPrompter{Prompter: e.Prompter, stop: stop, status: ui.status}
	}
	return &run
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func terminalWidth(w io.Writer) func() int {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	return func() int {
		width, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return width
	}
}

// readColorModes reads color.ui, color.bbkey and color.advice in one git
// config call. It runs when a colour is first needed, with its own short
// deadline: an interrupted run still colours its last line.
func readColorModes(e *Env) (ui, bbkey, advice termui.Mode) {
	if e.Git == "" {
		return termui.Unset, termui.Unset, termui.Unset
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	entries, err := e.config().GetRegexp(ctx, `^color\.(ui|bbkey|advice)$`)
	if err != nil {
		return termui.Unset, termui.Unset, termui.Unset
	}
	for _, kv := range entries { // the last value wins, as in git
		switch kv[0] {
		case "color.ui":
			ui = termui.ParseMode(kv[1])
		case "color.bbkey":
			bbkey = termui.ParseMode(kv[1])
		case "color.advice":
			advice = termui.ParseMode(kv[1])
		}
	}
	return ui, bbkey, advice
}

func (u *runUI) palettes() {
	u.once.Do(func() {
		ui, bbkey, advice := u.colorMode()
		mode := termui.FirstSet(bbkey, ui)
		u.stdout = termui.NewPalette(termui.UseColor(mode, u.stdoutTTY, u.getenv))
		u.stderr = termui.NewPalette(termui.UseColor(mode, u.stderrTTY, u.getenv))
		u.hintColor = termui.NewPalette(termui.UseColor(termui.FirstSet(advice, bbkey, ui), u.stderrTTY, u.getenv))
	})
}

// stderrPalettes are the colours of error: and hint: lines; none outside
// Main.
func (u *runUI) stderrPalettes() errorColors {
	if u == nil {
		return errorColors{}
	}
	u.palettes()
	return errorColors{err: u.stderr, hint: u.hintColor}
}

// statusLine is the run's status line on stderr: off outside Main, with
// --json, off a terminal and with TERM=dumb (it is then a no-op). Slow
// steps call Show before they start, and the line is erased when anything
// is printed and when the command ends.
func (e *Env) statusLine() *termui.Status {
	if e.ui == nil {
		return nil // a nil *termui.Status does nothing
	}
	return e.ui.status
}

// failedStatuses are verify's statuses for a target that did not pass.
var failedStatuses = map[string]bool{
	"key-rejected": true, "host-unknown": true, "host-mismatch": true, "unreachable": true,
	"timeout": true, "repo-not-found": true, "no-write-access": true, "bad-url": true, "key-error": true,
}

// statusWord paints a status word for stdout as git would colour it: ok
// green; failed, FAIL and verify's failure statuses red; skipped, skip and
// warn yellow. Other words, and every word off a terminal (unless
// color.ui=always), stay as they are. Pad after painting: the escapes have
// no width.
func (e *Env) statusWord(word string) string {
	if e.ui == nil {
		return word
	}
	e.ui.palettes()
	return paintStatus(e.ui.stdout, word)
}

// statusWordErr is statusWord for lines on stderr.
func (e *Env) statusWordErr(word string) string {
	if e.ui == nil {
		return word
	}
	e.ui.palettes()
	return paintStatus(e.ui.stderr, word)
}

func paintStatus(p termui.Palette, word string) string {
	if failedStatuses[word] {
		return p.Paint(termui.Red, word)
	}
	return p.Status(word)
}

// untilDone passes writes through until ctx ends, then drops them.
type untilDone struct {
	ctx     context.Context
	w       io.Writer
	written atomic.Int64 // bytes passed on
}

func (u *untilDone) Write(p []byte) (int, error) {
	if u.ctx.Err() != nil {
		return len(p), nil
	}
	n, err := u.w.Write(p)
	u.written.Add(int64(n))
	return n, err
}

// runPrompter ends the run when a person stops it at a prompt (Ctrl-C,
// Ctrl-D), so that whatever the caller does with the error, nothing more
// happens; and it erases the status line before it asks.
type runPrompter struct {
	prompt.Prompter
	stop   context.CancelCauseFunc
	status *termui.Status
}

func (p *runPrompter) stopOn(err error) {
	if errors.Is(err, prompt.ErrInterrupted) || errors.Is(err, prompt.ErrCancelled) {
		p.stop(err)
	}
}

func (p *runPrompter) Secret(ctx context.Context, question string) ([]byte, error) {
	p.status.Clear()
	s, err := p.Prompter.Secret(ctx, question)
	p.stopOn(err)
	return s, err
}

func (p *runPrompter) Confirm(ctx context.Context, question string) (bool, error) {
	p.status.Clear()
	ok, err := p.Prompter.Confirm(ctx, question)
	p.stopOn(err)
	return ok, err
}

func (p *runPrompter) Line(ctx context.Context, question string) (string, error) {
	p.status.Clear()
	s, err := p.Prompter.Line(ctx, question)
	p.stopOn(err)
	return s, err
}

func (p *runPrompter) Say(text string) error {
	p.status.Clear()
	return p.Prompter.Say(text)
}
