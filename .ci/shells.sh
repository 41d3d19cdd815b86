#!/usr/bin/env bash
# CI: install the shells the completion tests drive through their real
# completion functions: bash with bash-completion and git's own completion
# (Debian's git package ships it), zsh and fish. .ci/run calls this before
# the tests; with BBKEY_REQUIRE_TOOLS=1 a missing one fails those tests
# instead of skipping them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
[ -f /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
[ -f /usr/share/bash-completion/completions/git ] || need+=(git)
command -v bash >/dev/null || need+=(bash)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
if [ ${#need[@]} -gt 0 ]; then
	echo "ci: installing ${need[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
