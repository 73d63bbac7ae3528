#!/usr/bin/env bash
# Installs what cc-relay's build and tests use, skipping whatever is already present.
# Debian 12 packages for the build; npm packages (the Anthropic SDK and the Claude Code CLI)
# for the end-to-end tests when called with --test.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) want_tests=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake ninja-build ccache pkg-config git ca-certificates openssl curl
      libboost1.81-dev libsimdjson-dev libyaml-cpp-dev libspdlog-dev libcli11-dev libssl-dev
      libsqlite3-dev libnghttp2-dev libtcmalloc-minimal4)
if [ "$want_tests" = 1 ]; then
  # nginx, haproxy and wrk: the benchmark smoke run compares against nginx and HAProxy.
  # bsdutils: `script`, the pseudo-terminal of the `cc-relay top` test.
  # strace: the unit's SystemCallFilter is checked against the relay's traced calls.
  # linux-perf: the benchmark's count of system calls per request (scenario 7).
  pkgs+=(libgtest-dev libgmock-dev systemd nginx haproxy wrk bsdutils strace linux-perf)
  # nghttp and h2load: HTTP/2 clients for the inbound HTTP/2 tests.
  pkgs+=(nghttp2-client)
  # The fuzz step (scripts/fuzz.sh): clang 14 and its libFuzzer and sanitizer runtimes.
  pkgs+=(clang libclang-rt-14-dev)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
  # The master tests' $NOTIFY_SOCKET listener (tests/lib/process.mjs) is a python3 one-liner.
  command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ "$want_tests" = 1 ]; then
  # Exact versions are pinned by tests/package-lock.json; skip when already in place.
  if [ ! -x tests/node_modules/.bin/claude ] || [ tests/package-lock.json -nt tests/node_modules/.stamp ]; then
    echo "install-deps: npm packages for the tests"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
  fi
fi
