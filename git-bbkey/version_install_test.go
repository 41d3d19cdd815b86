package main

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

const modulePath = "github.com/git-bbkey/git-bbkey"

// `go install github.com/git-bbkey/git-bbkey/git-bbkey@latest`, as the
// README tells users, gives a binary whose --version is the module's
// version, read from the build information (nothing is linked in). The
// module is served as v1.2.3 from a file proxy made of this checkout; its
// dependencies come from the local module cache, so nothing is fetched
// from the network and the real module cache is not touched.
func TestGoInstallReportsModuleVersion(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the file proxy URL and the module cache paths here are Unix ones")
	}
	goTool := testutil.RequireTool(t, "go")
	git := testutil.RequireTool(t, "git")
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	realCache := strings.TrimSpace(string(out))

	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	const version = "v1.2.3"
	writeModuleToProxy(t, git, root, proxy, version)

	cmd := exec.Command(goTool, "install", modulePath+"/git-bbkey@latest")
	cmd.Dir = tmp // outside any module
	cmd.Env = append(os.Environ(),
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(realCache, "cache", "download"),
		"GOSUMDB=off", // offline; go.sum in the module still checks every dependency
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOFLAGS=-modcacherw", // so that the test can remove its module cache
		"GOBIN="+filepath.Join(tmp, "bin"),
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/git-bbkey@latest: %v\n%s", modulePath, err, out)
	}
	out, err = exec.Command(filepath.Join(tmp, "bin", "git-bbkey"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("git-bbkey --version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "git-bbkey version 1.2.3"; got != want {
		t.Fatalf("--version of the installed binary = %q, want %q", got, want)
	}
}

// writeModuleToProxy lays out root's files (tracked, or new and not
// ignored) as version of the module in a GOPROXY directory: list, .info,
// .mod and the module zip.
func writeModuleToProxy(t *testing.T, git, root, proxy, version string) {
	t.Helper()
	dir := filepath.Join(proxy, filepath.FromSlash(modulePath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ls := exec.Command(git, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	f, err := os.Create(filepath.Join(dir, version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(modulePath + "@" + version + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"list":            version + "\n",
		version + ".info": `{"Version":"` + version + `","Time":"2026-12-01T00:00:00Z"}`,
		version + ".mod":  string(mod),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
