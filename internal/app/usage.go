package app

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// durationFlag is a --timeout style flag that, unlike cli.DurationFlag,
// says what to write when given a bare number (git users type --timeout 5).
// c.Duration(name) reads it as before.
func durationFlag(d *cli.DurationFlag) cli.Flag {
	return &cli.GenericFlag{
		Name: d.Name, Aliases: d.Aliases, Usage: d.Usage, Hidden: d.Hidden,
		Value: &durationValue{d: d.Value},
	}
}

type durationValue struct{ d time.Duration }

func (v *durationValue) Set(s string) error {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Errorf("use a unit, e.g. %ss", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration: use a number and a unit, e.g. 15s, 2m or 1h")
	}
	v.d = d
	return nil
}

// String is the value as time.ParseDuration reads it back (c.Duration
// does), and "" for none, so help shows no "(default: 0s)".
func (v *durationValue) String() string {
	if v == nil || v.d == 0 {
		return ""
	}
	return v.d.String()
}

// closestCommands returns the commands a mistyped name most likely meant,
// as git suggests them: the ones at the smallest edit distance, if that is
// small for the name's length, and the commands the name begins.
func closestCommands(name string, commands []string) []string {
	name = strings.ToLower(name)
	best, limit := -1, 1+len(name)/3
	if limit > 3 {
		limit = 3
	}
	var out []string
	for _, c := range commands {
		d := editDistance(name, c)
		if len(name) >= 2 && strings.HasPrefix(c, name) {
			d = 0
		}
		switch {
		case d > limit:
		case best < 0 || d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// editDistance counts the insertions, deletions, substitutions and
// transpositions of neighbours that turn a into b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
