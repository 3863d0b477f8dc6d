#!/usr/bin/env bash
# The project's test command: every unit and integration test in the workspace.
# Integration tests start real server processes on ephemeral loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
# The HTTP tests drive curl and Python, as real clients would.
scripts/lib/ensure-tools.sh curl python3
cargo test --workspace "$@"
