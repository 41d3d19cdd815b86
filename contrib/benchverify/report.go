//go:build unix

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

type scenario struct {
	name, what string
	run        func()
	inProcess  bool // no processes: client CPU is not measured
	times      []time.Duration
	cpu        []time.Duration // user+system CPU of the timed processes (with their children)
}

func (s *scenario) median() time.Duration { return median(s.times) }

func median(times []time.Duration) time.Duration {
	t := slices.Clone(times)
	slices.Sort(t)
	n := len(t)
	if n%2 == 1 {
		return t[n/2]
	}
	return (t[n/2-1] + t[n/2]) / 2
}

func (s *scenario) min() time.Duration { return slices.Min(s.times) }
func (s *scenario) max() time.Duration { return slices.Max(s.times) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(w io.Writer, cfg config, sc []*scenario, server string, load0 string, total time.Duration) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "machine:")
	fmt.Fprintf(w, "  cpus:      %d (nproc %s)\n", runtime.NumCPU(), firstLine(quiet("nproc")))
	fmt.Fprintf(w, "  cpu model: %s\n", cpuModel())
	fmt.Fprintf(w, "  kernel:    %s\n", firstLine(quiet("uname", "-sr")))
	fmt.Fprintf(w, "  go:        %s\n", firstLine(quiet("go", "version")))
	fmt.Fprintf(w, "  openssh:   %s\n", firstLine(quiet("ssh", "-V")))
	fmt.Fprintf(w, "  git:       %s\n", firstLine(quiet("git", "--version")))
	fmt.Fprintf(w, "  loadavg:   %s at start, %s at end\n", load0, loadavg())
	fmt.Fprintf(w, "  server:    %s; %d repos, %d refs each\n", server, cfg.repos, refsPerRepo)
	fmt.Fprintf(w, "  runs:      %d per scenario, fresh process each, interleaved; total %s\n", cfg.runs, total.Round(time.Second))
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmedian ms\tmin ms\tmax ms\tclient cpu ms\t")
	for _, s := range sc {
		cpu := fmt.Sprintf("%.1f", ms(median(s.cpu)))
		if s.inProcess {
			cpu = "-"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%s\t\n", s.name, ms(s.median()), ms(s.min()), ms(s.max()), cpu)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, s := range sc {
		fmt.Fprintf(w, "  %-14s %s\n", s.name, s.what)
	}
	fmt.Fprintln(w, "  (client cpu: median user+system time of the timed processes and their children; the server's share is not in it)")
	tw.Flush()
	fmt.Fprintln(w)

	n := cfg.repos
	ratios := []struct {
		num, den *scenario
		target   float64
	}{
		{sc[0], sc[1], 0.6},
		{sc[2], sc[0], 2.5},
		{sc[2], sc[3], 0.1},
		{sc[2], sc[6], 1.15},
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ratio\tmedian\tmin\ttarget\tresult\t")
	for _, r := range ratios {
		med := ms(r.num.median()) / ms(r.den.median())
		low := ms(r.num.min()) / ms(r.den.min())
		verdict := "pass"
		if med > r.target {
			verdict = "MISS"
		}
		fmt.Fprintf(tw, "%s / %s\t%.3f\t%.3f\t<= %.2f\t%s\t\n", r.num.name, r.den.name, med, low, r.target, verdict)
	}
	tw.Flush()

	// No client gets verify-N done before the server has served its
	// sessions, and none starts them before it has connected as verify-1
	// does.
	v1, sN, s1 := ms(sc[0].median()), ms(sc[5].median()), ms(sc[4].median())
	fmt.Fprintf(w, "\nfloor: the server needs %.0f ms for the %d sessions of verify-%d on an open connection (%.0f ms for verify-1's two),\n", sN, n+1, n, s1)
	fmt.Fprintf(w, "so verify-%d / verify-1 cannot be below (verify-1 - server-1 + server-%d) / verify-1 = %.2f with this server.\n", n, n, (v1-s1+sN)/v1)
	cN := ms(sc[6].median())
	fmt.Fprintf(w, "With the connection opened too (conn-%d, %.0f ms: dial, key exchange, login, the sessions), verify-%d spends\n", n, cN, n)
	fmt.Fprintf(w, "%.0f ms more: starting the process (through git), reading git's settings, ssh -G, loading the key.\n", ms(sc[2].median())-cN)
	if n != 20 {
		fmt.Fprintf(w, "\nnote: the targets are meant for 20 remotes; this run used %d.\n", n)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
