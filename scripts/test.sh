#!/usr/bin/env bash
# The project's test command: every unit and integration test in the workspace.
# Integration tests start real server processes on ephemeral loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace "$@"
