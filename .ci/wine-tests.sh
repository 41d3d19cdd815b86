#!/usr/bin/env bash
# TEST-ONLY: runs git-bbkey's tests as Windows programs under Wine, on Linux.
# Nothing here is part of the product or of a release; it sets up a
# throw-away Wine prefix in a temporary directory and removes it at the end.
#
#  1. Installs wine64 and the MinGW-w64 C compiler when missing (apt-get).
#  2. Builds .ci/wine/processprng.c into bcryptprimitives.dll and puts it in
#     the prefix's system32: Go 1.24+ needs ProcessPrng from that DLL, which
#     Wine 8.0 lacks, so without it every Go program dies at start.
#  3. Cross-compiles every package's tests (GOOS=windows) and runs them under
#     wine64 (go test -exec), then lists every skipped test with its reason
#     and fails on any failure (.ci/wine/testreport.go). Tests that need git
#     or OpenSSH skip there: no Windows git or ssh is installed in the prefix.
#  4. Runs git-bbkey.exe end to end under Wine against the Bitbucket sandbox
#     run as a Linux process on loopback (git-bbkey/wine_e2e_test.go).
#
# Wine 8 and os.RemoveAll: Go deletes files with NtSetInformationFile(
# FileDispositionInformationEx) and falls back to the older
# FileDispositionInformation only when Windows says the class or a flag is
# unsupported. Wine 8 answers STATUS_NOT_IMPLEMENTED ("fixme:file:
# NtSetInformationFile Unsupported class (64)"), which Go reports as
# "Invalid function", so every t.TempDir cleanup fails. There is no GODEBUG
# setting for this and no Wine setting (the class is not implemented). The
# test binaries are therefore built with an -overlay of Go's own
# internal/syscall/windows/at_windows.go that also takes the fallback on
# STATUS_NOT_IMPLEMENTED: the fallback is Go's code for older Windows and
# FAT file systems, deletions still really happen and are still checked,
# and no test or product file changes. git-bbkey.exe itself (step 4) is
# built without the overlay, exactly as it ships.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
module=$(go list -m)

# Packages that must run (and pass) real tests under Wine, not only skip.
required=(safefile prompt sshkeys backup sshconfig gitremote bitbucket credential bbsandbox sshagent bbsession register keygen termtext openssh/proc)

find_wine() {
	command -v wine64 2>/dev/null && return
	[ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64 && return
	return 1
}
need=()
find_wine >/dev/null || need+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
	echo "wine-tests: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
wine=$(find_wine)
wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver)

work=$(mktemp -d "${TMPDIR:-/tmp}/bbkey-wine.XXXXXX")
export WINEPREFIX=$work/prefix
export WINEDEBUG=-all
# No Mono or Gecko: nothing here needs .NET or a browser engine, and Wine
# would otherwise offer to download them.
export WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
	"$wineserver" -k 2>/dev/null || true # the wineserver of our prefix only
	rm -rf "$work"
}
trap cleanup EXIT

step() { echo "wine-tests: $* ($((SECONDS - started))s)"; }

step "building the ProcessPrng shim"
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$work/bcryptprimitives.dll" .ci/wine/processprng.c -ladvapi32

step "creating a private Wine prefix"
"$wine" wineboot --init >/dev/null 2>&1
"$wineserver" -w
cp "$work/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
# One persistent wineserver for the whole run (killed in cleanup): without
# it every program start boots Wine's services again, about 3 s each.
"$wineserver" -p
# Start Wine's services now, detached from any pipe: started by the first
# test binary, they would hold its output open and go test would wait.
"$wine" cmd /c exit 0 </dev/null >/dev/null 2>&1

step "preparing the os.RemoveAll overlay for test binaries"
goroot=$(go env GOROOT)
at=$goroot/src/internal/syscall/windows/at_windows.go
mkdir -p "$work/overlay"
sed 's|^\t\tSTATUS_NOT_SUPPORTED: .*|\t\tSTATUS_NOT_SUPPORTED, NTStatus(0xC0000002): // also STATUS_NOT_IMPLEMENTED: Wine 8 (test-only overlay, .ci/wine-tests.sh)|' \
	"$at" >"$work/overlay/at_windows.go"
if ! grep -q 'NTStatus(0xC0000002)' "$work/overlay/at_windows.go"; then
	echo "wine-tests: $at has changed; update the overlay in $0" >&2
	exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$work/overlay/at_windows.go" >"$work/overlay.json"

printf '#!/bin/sh\nexec "%s" "$@"\n' "$wine" >"$work/wine-exec"
chmod +x "$work/wine-exec"
go build -o "$work/testreport" .ci/wine/testreport.go
req=()
for p in "${required[@]}"; do req+=("$module/internal/$p"); done

step "running every package's tests as Windows programs"
# Not BBKEY_REQUIRE_TOOLS: under Wine there is no Windows git or OpenSSH,
# and the tests that need them skip, each with its reason, listed below.
set +e
env -u BBKEY_REQUIRE_TOOLS GOOS=windows GOARCH=amd64 CGO_ENABLED=0 \
	go test -exec "$work/wine-exec" -overlay "$work/overlay.json" -json -count=1 -timeout 10m ./... 2>&1 |
	"$work/testreport" -trim "$module/" -require "$(IFS=,; echo "${req[*]}")"
status=${PIPESTATUS[1]}
set -e
[ "$status" = 0 ] || { echo "wine-tests: Windows tests failed" >&2; exit 1; }

step "git-bbkey.exe end to end under Wine"
go vet -tags wine ./git-bbkey
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o "$work/git-bbkey.exe" ./git-bbkey
set +e
BBKEY_WINE=$wine BBKEY_WINE_EXE=$work/git-bbkey.exe \
	go test -tags wine -run 'TestWine' -count=1 -json -timeout 10m ./git-bbkey 2>&1 |
	"$work/testreport" -trim "$module/" -require "$module/git-bbkey"
status=${PIPESTATUS[1]}
set -e
[ "$status" = 0 ] || { echo "wine-tests: git-bbkey.exe under Wine failed" >&2; exit 1; }

step "done"
