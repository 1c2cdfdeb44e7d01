#!/usr/bin/env bash
# Main job on the embedded default case (sets up .venv on first use).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure-env.sh"
cd "$ROMNET_ROOT"
exec romnet run cases/zset_cube "$@"
