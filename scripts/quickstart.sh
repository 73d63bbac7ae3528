#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the relay in the foreground on
# 127.0.0.1:8787 (the config found by discovery, else the built-in pass-through to Anthropic).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
dir=$(scripts/build.sh release cc-relay)
exec "$dir/cli/cc-relay" serve "$@"
