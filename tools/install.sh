#!/usr/bin/env bash
# Creates (or refreshes) .venv/ at the repository root with the stack mtda is tested on.
#
# Idempotent: a second run checks a stamp and the imports and returns in seconds. mmcv 2.1.0 has no
# binary wheel for this torch, so it is compiled from its sdist with the CPU ops (mmseg 1.2.2 imports
# mmcv.ops at import time, so mmcv-lite is not an option); pip's wheel cache keeps the compiled wheel,
# which makes re-installs on the same machine take seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"
stamp="$venv/.mtda-install-stamp"
wheel_cache="${MTDA_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mtda/wheels}"
want="$(cat "$root/tools/install.sh" "$root/setup.py" "$root/requirements/"*.txt 2>/dev/null | sha256sum | cut -c1-16)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && "$py" -c "import mmcv.ops, mmseg, mmengine, timm, torchvision, cityscapesscripts, mtda" 2>/dev/null; then
  echo "[install] .venv is up to date ($venv)"
  exit 0
fi

start=$SECONDS
PYTHON="${PYTHON:-python3}"
[ -x "$py" ] || "$PYTHON" -m venv "$venv"
pip=("$py" -m pip install --disable-pip-version-check --progress-bar off -c "$root/requirements/constraints.txt")
echo "[install] build tools"
"${pip[@]}" -q "pip>=23" "setuptools<81" wheel ninja
echo "[install] torch + torchvision"
"${pip[@]}" -q -r "$root/requirements/torch.txt"
echo "[install] mmcv 2.1.0 with ops (compiled once, then reused from $wheel_cache)"
if ! "$py" -c "import mmcv.ops" 2>/dev/null; then
  torch_version="$("$py" -c 'import torch; print(torch.__version__)')"
  wheel_dir="$wheel_cache/torch-$torch_version"
  if ! ls "$wheel_dir"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    src="$(mktemp -d)"
    trap 'rm -rf "$src"' EXIT
    "$py" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation -d "$src" -r "$root/requirements/mmcv.txt"
    tar -xzf "$src"/mmcv-2.1.0.tar.gz -C "$src"
    # mmcv 2.1.0 hard-codes -std=c++17 after the user's flags; torch >= 2.14 headers refuse anything
    # below C++20 ("#error C++20 or later compatible compiler is required to use ATen").
    if grep -q "C++20 or later" "$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/include/ATen/ATen.h"; then
      sed -i 's/-std=c++17/-std=c++20/' "$src"/mmcv-2.1.0/setup.py
    fi
    (cd "$src"/mmcv-2.1.0 && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "$py" -m pip wheel -q --no-build-isolation --no-deps -w "$wheel_dir" .)
  fi
  "${pip[@]}" -q --no-deps "$wheel_dir"/mmcv-2.1.0-*.whl
fi
echo "[install] OpenMMLab, timm and the rest"
"${pip[@]}" -q -r "$root/requirements/runtime.txt" -r "$root/requirements/tests.txt"
"${pip[@]}" -q --no-build-isolation --no-deps -e "$root"
"$py" -c "import mmcv.ops, mmseg, mmengine, timm, torchvision, cityscapesscripts, mtda"
echo "$want" > "$stamp"
echo "[install] done in $((SECONDS - start)) s; venv size $(du -sh "$venv" | cut -f1)"
