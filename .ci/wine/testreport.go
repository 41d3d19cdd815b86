//go:build ignore

// testreport reads `go test -json` from stdin (TEST-ONLY, for
// .ci/wine-tests.sh) and prints, package by package, what passed, then
// every skipped test with its reason, then every failure with its output.
// It exits 1 when a test or a build failed, when a test skipped without a
// reason, when the stream had no result for a package, or when a package
// named by -require ran no passing test: nothing may pass silently.
//
//	go test -json ... | go run .ci/wine/testreport.go -require pkg1,pkg2
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

type pkgResult struct {
	action                  string
	passed, skipped, failed int
	elapsed                 float64
}

type testKey struct{ pkg, test string }

func main() {
	require := flag.String("require", "", "comma-separated import paths that must run at least one passing test")
	prefix := flag.String("trim", "", "import path prefix to leave out when printing")
	flag.Parse()

	outputs := map[testKey][]string{}
	builds := map[string][]string{}
	pkgs := map[string]*pkgResult{}
	var skips, fails []string
	var stray []string
	start := time.Now()

	short := func(p string) string { return strings.TrimPrefix(p, *prefix) }
	result := func(p string) *pkgResult {
		if pkgs[p] == nil {
			pkgs[p] = &pkgResult{}
		}
		return pkgs[p]
	}

	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			stray = append(stray, string(line))
			fmt.Println(string(line))
			continue
		}
		k := testKey{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			builds[e.ImportPath] = append(builds[e.ImportPath], e.Output)
		case "build-fail":
			fails = append(fails, fmt.Sprintf("build of %s failed:\n%s", e.ImportPath, strings.Join(builds[e.ImportPath], "")))
		case "output":
			outputs[k] = append(outputs[k], e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				r := result(e.Package)
				r.action, r.elapsed = e.Action, e.Elapsed
				fmt.Printf("%-4s %-40s %3d passed, %2d skipped, %d failed (%.1fs)\n",
					map[string]string{"pass": "ok", "fail": "FAIL", "skip": "--"}[e.Action],
					short(e.Package), r.passed, r.skipped, r.failed, e.Elapsed)
				if e.Action == "fail" && r.failed == 0 {
					// A failure outside any test (a panic in TestMain, a
					// crash, a timeout): show the package's own output.
					fails = append(fails, fmt.Sprintf("%s:\n%s", short(e.Package), strings.Join(outputs[k], "")))
				}
				continue
			}
			r := result(e.Package)
			switch e.Action {
			case "pass":
				r.passed++
			case "skip":
				r.skipped++
				why := reason(outputs[k])
				if why == "" {
					fails = append(fails, fmt.Sprintf("%s %s skipped without saying why", short(e.Package), e.Test))
					why = "(no reason given)"
				}
				skips = append(skips, fmt.Sprintf("%s %s: %s", short(e.Package), e.Test, why))
			case "fail":
				r.failed++
				fails = append(fails, fmt.Sprintf("%s %s:\n%s", short(e.Package), e.Test, strings.Join(outputs[k], "")))
			}
		}
	}
	if err := sc.Err(); err != nil {
		fails = append(fails, "reading go test -json: "+err.Error())
	}

	sort.Strings(skips)
	fmt.Printf("\nskipped under Wine (%d):\n", len(skips))
	for _, s := range skips {
		fmt.Println("  " + s)
	}
	for _, p := range strings.Split(*require, ",") {
		if p == "" {
			continue
		}
		if r := pkgs[p]; r == nil || r.passed == 0 {
			fails = append(fails, fmt.Sprintf("%s ran no passing test under Wine", short(p)))
		}
	}
	for p, r := range pkgs {
		if r.action == "" {
			fails = append(fails, fmt.Sprintf("%s never finished (no result in the stream)", short(p)))
		}
	}
	if len(fails) > 0 {
		fmt.Printf("\nfailed (%d):\n", len(fails))
		for _, f := range fails {
			fmt.Println(strings.TrimRight(f, "\n"))
			fmt.Println()
		}
		os.Exit(1)
	}
	total := 0
	for _, r := range pkgs {
		total += r.passed
	}
	fmt.Printf("\nall %d packages ok under Wine: %d tests passed, %d skipped (listed above), in %s\n",
		len(pkgs), total, len(skips), time.Since(start).Round(time.Second))
}

// reason is what a skipped test said, without go test's own framing lines.
func reason(lines []string) string {
	var kept []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		kept = append(kept, t)
	}
	return strings.Join(kept, " / ")
}
