//go:build ignore

// check verifies what `goreleaser release --snapshot` left in a dist
// directory (run by .ci/release-check.sh from the repository root):
//
//   - one archive per platform (linux, darwin, windows × amd64, arm64),
//     .tar.gz or .zip for Windows, each holding exactly the binary (built
//     for that platform, executable), README.md, LICENSE, the man page and
//     the completions, the last four byte for byte as in the repository;
//
//   - checksums.txt names every archive with its real SHA-256;
//
//   - the Homebrew formula and the Scoop manifest name the right archives,
//     their download URLs and the checksums of checksums.txt, and install
//     files that the archives hold;
//
//   - the linux/amd64 binary, unpacked, runs and prints the version.
//
//     go run .ci/release/check.go -dist DIR
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
)

const (
	project = "git-bbkey"
	repoURL = "https://github.com/git-bbkey/git-bbkey"
)

var platforms = []struct{ os, arch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

var failures int

func fail(format string, args ...any) {
	failures++
	fmt.Printf("FAIL "+format+"\n", args...)
}

func ok(format string, args ...any) { fmt.Printf("ok   "+format+"\n", args...) }

// entry is one file in an archive.
type entry struct {
	data []byte
	exec bool
}

func main() {
	dist := flag.String("dist", "", "GoReleaser's dist directory")
	flag.Parse()
	if *dist == "" {
		fmt.Println("usage: go run .ci/release/check.go -dist DIR")
		os.Exit(2)
	}

	var meta struct{ Version, Tag string }
	readJSON(filepath.Join(*dist, "metadata.json"), &meta)
	if meta.Version == "" || meta.Tag == "" {
		fmt.Printf("FAIL metadata.json names no version and tag\n")
		os.Exit(1)
	}
	fmt.Printf("release-check: version %s, tag %s\n", meta.Version, meta.Tag)

	sums := readChecksums(filepath.Join(*dist, "checksums.txt"))
	want := expectedFiles()
	archives := map[string]map[string]entry{} // archive name → files
	var names []string
	for _, p := range platforms {
		ext := ".tar.gz"
		if p.os == "windows" {
			ext = ".zip"
		}
		name := fmt.Sprintf("%s_%s_%s_%s%s", project, meta.Version, p.os, p.arch, ext)
		names = append(names, name)
		file := filepath.Join(*dist, name)
		data, err := os.ReadFile(file)
		if err != nil {
			fail("%s/%s: no archive %s: %v", p.os, p.arch, name, err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); sums[name] != got {
			fail("%s: checksums.txt says %q, the file's SHA-256 is %s", name, sums[name], got)
		}
		files, err := readArchive(name, data)
		if err != nil {
			fail("%s: %v", name, err)
			continue
		}
		archives[name] = files
		checkArchive(name, p.os, p.arch, files, want, meta.Version)
	}
	for name := range sums {
		if !slices.Contains(names, name) {
			fail("checksums.txt names %s, which is not one of the release archives", name)
		}
	}
	if failures == 0 {
		ok("%d archives with their files and checksums", len(names))
	}
	checkBrew(filepath.Join(*dist, "homebrew", "Formula", project+".rb"), meta.Version, meta.Tag, sums, archives)
	checkScoop(filepath.Join(*dist, "scoop", "bucket", project+".json"), meta.Version, meta.Tag, sums, archives)
	runVersion(archives, meta.Version)

	if failures > 0 {
		fmt.Printf("release-check: %d problems\n", failures)
		os.Exit(1)
	}
}

func readJSON(file string, v any) {
	data, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		fail("%s: %v", file, err)
	}
}

// readChecksums parses "sha256  name" lines.
func readChecksums(file string) map[string]string {
	data, err := os.ReadFile(file)
	if err != nil {
		fail("no checksums file: %v", err)
		return nil
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 {
			fail("checksums.txt: line %q is not \"sha256  name\"", line)
			continue
		}
		sums[f[1]] = f[0]
	}
	return sums
}

// expectedFiles maps each file an archive must hold besides the binary to
// its content in the repository.
func expectedFiles() map[string][]byte {
	want := map[string][]byte{}
	add := func(inArchive, repoPath string) {
		data, err := os.ReadFile(repoPath)
		if err != nil {
			fail("repository file %s: %v", repoPath, err)
		}
		want[inArchive] = data
	}
	add("README.md", "README.md")
	add("LICENSE", "LICENSE")
	add("man/git-bbkey.1", "contrib/man/git-bbkey.1")
	completions, _ := filepath.Glob("contrib/completion/*")
	if len(completions) == 0 {
		fail("no completions in contrib/completion")
	}
	for _, c := range completions {
		add("completion/"+filepath.Base(c), c)
	}
	return want
}

func readArchive(name string, data []byte) (map[string]entry, error) {
	files := map[string]entry{}
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, err
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			files[f.Name] = entry{b, f.Mode()&0o111 != 0}
		}
		return files, nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = entry{b, h.Mode&0o111 != 0}
	}
}

func checkArchive(name, goos, goarch string, files map[string]entry, want map[string][]byte, version string) {
	dir := fmt.Sprintf("%s_%s_%s_%s/", project, version, goos, goarch)
	bin := project
	if goos == "windows" {
		bin += ".exe"
	}
	var expected []string
	for f := range want {
		expected = append(expected, dir+f)
	}
	expected = append(expected, dir+bin)
	var got []string
	for f := range files {
		got = append(got, f)
	}
	sort.Strings(expected)
	sort.Strings(got)
	if !slices.Equal(got, expected) {
		fail("%s holds %q, want %q", name, got, expected)
	}
	for f, data := range want {
		if e, found := files[dir+f]; found && !bytes.Equal(e.data, data) {
			fail("%s: %s differs from the repository's", name, f)
		}
	}
	b, found := files[dir+bin]
	if !found {
		return
	}
	if !b.exec {
		fail("%s: %s is not executable", name, bin)
	}
	if got := binaryPlatform(b.data); got != goos+"/"+goarch {
		fail("%s: %s is a %s binary, want %s/%s", name, bin, got, goos, goarch)
	}
}

// binaryPlatform reads the OS and architecture an executable is for.
func binaryPlatform(data []byte) string {
	r := bytes.NewReader(data)
	if f, err := elf.NewFile(r); err == nil {
		return "linux/" + map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	}
	if f, err := macho.NewFile(r); err == nil {
		return "darwin/" + map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
	}
	if f, err := pe.NewFile(r); err == nil {
		return "windows/" + map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
	}
	return "unknown"
}

func downloadURL(tag, archive string) string {
	return repoURL + "/releases/download/" + tag + "/" + archive
}

// checkBrew: the formula downloads the four macOS and Linux archives with
// their checksums, and installs files those archives hold.
func checkBrew(file, version, tag string, sums map[string]string, archives map[string]map[string]entry) {
	before := failures
	data, err := os.ReadFile(file)
	if err != nil {
		fail("no Homebrew formula: %v", err)
		return
	}
	text := string(data)
	if !strings.Contains(text, `version "`+version+`"`) {
		fail("%s does not say version %q", file, version)
	}
	pairs := regexp.MustCompile(`url "([^"]+)"\s+sha256 "([0-9a-f]{64})"`).FindAllStringSubmatch(text, -1)
	var named []string
	for _, m := range pairs {
		archive := path.Base(m[1])
		named = append(named, archive)
		if m[1] != downloadURL(tag, archive) {
			fail("formula: URL %s, want %s", m[1], downloadURL(tag, archive))
		}
		if sums[archive] == "" || m[2] != sums[archive] {
			fail("formula: sha256 %s for %s, checksums.txt says %q", m[2], archive, sums[archive])
		}
	}
	var want []string
	for name := range archives {
		if !strings.Contains(name, "_windows_") {
			want = append(want, name)
		}
	}
	sort.Strings(named)
	sort.Strings(want)
	if !slices.Equal(named, want) {
		fail("formula names archives %q, want %q", named, want)
	}
	// Every file the install block names is in every archive it installs from.
	installed := map[string]bool{}
	for _, m := range regexp.MustCompile(`\.install "([^"]+)"`).FindAllStringSubmatch(text, -1) {
		installed[m[1]] = true
	}
	if len(installed) == 0 {
		fail("formula installs nothing")
	}
	for f := range installed {
		for _, name := range want {
			dir := strings.TrimSuffix(strings.TrimSuffix(name, ".tar.gz"), ".zip") + "/"
			if _, found := archives[name][dir+f]; !found {
				fail("formula installs %q, which %s does not hold", f, name)
			}
		}
	}
	if failures == before {
		ok("Homebrew formula: %d archives with their checksums, %d files installed", len(named), len(installed))
	}
}

// checkScoop: the manifest downloads the two Windows archives with their
// checksums, and its bin entries are in them.
func checkScoop(file, version, tag string, sums map[string]string, archives map[string]map[string]entry) {
	var m struct {
		Version      string
		Architecture map[string]struct {
			URL        string
			Hash       string
			Bin        []string
			ExtractDir string `json:"extract_dir"`
		}
	}
	before := failures
	readJSON(file, &m)
	if failures > before {
		return
	}
	if m.Version != version {
		fail("scoop manifest version %q, want %q", m.Version, version)
	}
	for arch, goarch := range map[string]string{"64bit": "amd64", "arm64": "arm64"} {
		a, found := m.Architecture[arch]
		archive := fmt.Sprintf("%s_%s_windows_%s.zip", project, version, goarch)
		switch {
		case !found:
			fail("scoop manifest has no %s architecture", arch)
			continue
		case a.URL != downloadURL(tag, archive):
			fail("scoop %s: URL %s, want %s", arch, a.URL, downloadURL(tag, archive))
		case a.Hash != sums[archive] || a.Hash == "":
			fail("scoop %s: hash %s, checksums.txt says %q for %s", arch, a.Hash, sums[archive], archive)
		}
		if len(a.Bin) == 0 {
			fail("scoop %s: no bin", arch)
		}
		for _, b := range a.Bin {
			p := path.Join(a.ExtractDir, b)
			if _, found := archives[archive][p]; !found {
				fail("scoop %s: bin %q is not in %s", arch, p, archive)
			}
		}
	}
	if len(m.Architecture) != 2 {
		fail("scoop manifest has %d architectures, want 64bit and arm64", len(m.Architecture))
	}
	if failures == before {
		ok("Scoop manifest: 2 archives with their checksums and bin")
	}
}

// runVersion unpacks the binary for this machine and runs --version.
func runVersion(archives map[string]map[string]entry, version string) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		fmt.Printf("release-check: not on linux/amd64, the unpacked binary is not run\n")
		return
	}
	name := fmt.Sprintf("%s_%s_linux_amd64", project, version)
	e, found := archives[name+".tar.gz"][name+"/"+project]
	if !found {
		fail("no linux/amd64 binary to run")
		return
	}
	dir, err := os.MkdirTemp("", "release-check-")
	if err != nil {
		fail("%v", err)
		return
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, project)
	if err := os.WriteFile(bin, e.data, 0o755); err != nil {
		fail("%v", err)
		return
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	want := project + " version " + version
	if err != nil || strings.TrimSpace(string(out)) != want {
		fail("unpacked linux/amd64 %s --version: %q (%v), want %q", project, out, err, want)
		return
	}
	ok("unpacked linux/amd64 binary: %s", want)
}
