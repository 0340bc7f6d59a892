#!/usr/bin/env bash
# Set up the development environment (idempotent) and run a job.
#   bash scripts/dev.sh setup   create .venv, install torch==2.13.0, dgmcore and every plugin (editable)
#   bash scripts/dev.sh demo    set up, then run `dgm demo vae`: a VAE on the scikit-learn digits
#   bash scripts/dev.sh test    set up, then run ruff, mypy and the whole test suite
#   bash scripts/dev.sh bench   set up (with the bench extra), then run the benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python

setup() {
    if [ ! -x "$PY" ]; then
        python3 -m venv "$VENV"
    fi
    # torch first: a plain "torch" requirement with no torch installed would pull a CUDA build.
    if ! "$PY" -c "import torch" >/dev/null 2>&1; then
        "$PY" -m pip install -q "torch==2.13.0"
    fi
    local extra="${1:-test}"
    local stamp="$VENV/.dgmcore-setup-${extra//,/-}"
    local digest
    digest=$(cat pyproject.toml plugins/*/pyproject.toml 2>/dev/null | sha1sum | cut -d' ' -f1)-$extra
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        local args=(-e ".[$extra]")
        for plugin in plugins/*/; do
            [ -f "$plugin/pyproject.toml" ] && args+=(-e "$plugin")
        done
        "$PY" -m pip install -q "${args[@]}"
        echo "$digest" > "$stamp"
    fi
}

case "${1:-}" in
    setup) setup ;;
    demo) setup demo; shift; "$VENV/bin/dgm" demo vae "$@" ;;
    test)
        setup
        shift
        "$PY" -m ruff check .
        # the core and every plugin package (plugins/<dist>/<package>/__init__.py); incremental via .mypy_cache
        packages=(dgmcore)
        for init in plugins/*/dgmcore_*/__init__.py; do
            [ -f "$init" ] && packages+=("${init%/__init__.py}")
        done
        "$PY" -m mypy "${packages[@]}"
        "$PY" -m pytest -q "$@"
        ;;
    bench) setup "test,bench"; shift; "$PY" -m benchmarks "$@" ;;
    *) echo "usage: bash scripts/dev.sh {setup|demo|test|bench} [args...]" >&2; exit 2 ;;
esac
