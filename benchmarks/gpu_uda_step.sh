#!/usr/bin/env bash
# Stage one's UDA-iteration benchmark (benchmarks/uda_step_bench.py) on an offline GPU machine.
#
#     OUT=/tmp/gpu_out [RUNS="mitb5_eager ..."] bash benchmarks/gpu_uda_step.sh [BEFORE_TREE]
#
# The machine has python3 with torch, timm, torchvision, opencv, scipy, but no OpenMMLab and no
# package registry: the wheels come along in .whl/ (docs/stage_one_speed.md says how to fill it).
# mmcv goes in without its compiled ops ("mmcv-lite", a pure-python wheel built here with
# MMCV_WITH_OPS=0) plus a placeholder mmcv/_ext whose every function raises when called: mmseg
# 1.2.2 imports mmcv.ops, but MiT, ResNet, EfficientNet-Lite and the DAFormer/DeepLabV2 heads
# call none of its ops, and the 5.5-minute compile would take a third of a 15-minute lease. An
# op that did get called would stop the run with the placeholder's message, not return a number.
#
# Each measurement writes OUT/NAME.log and OUT/NAME.json (the benchmark's last line); RUNS picks
# and orders them (default: the four that fit one 10-minute call), each runs under its own time
# limit, and a table of all of them comes last. BEFORE_TREE (optional): a checkout of an earlier
# commit, measured with this benchmark script (copied into it), for a before/after pair in the
# same lease. A second call on a still-warm machine skips the install (DEVICE=cpu tries the
# script's flow without a GPU).
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
BEFORE=${1:-}
RUNS=${RUNS:-mitb5_eager mitb5_eager_before mitb5_compiled miniature_eager}
DEVICE=${DEVICE:-cuda}
SITE=/tmp/mtda_site
mkdir -p "$OUT"
start=$(date +%s)

if [ ! -d "$SITE/mmcv" ]; then
    python3 -m pip install -q --no-index --no-deps --target "$SITE" .whl/*.whl 2>&1 | tail -3
    cat > "$SITE/mmcv/_ext.py" <<'EOF'
"""Placeholder of mmcv's compiled ops (benchmarks/gpu_uda_step.sh): each raises when called."""


def __getattr__(name):
    def unavailable(*args, **kwargs):
        raise RuntimeError(f'mmcv op {name} is not built on this machine (mmcv without ops)')
    return unavailable
EOF
fi
export PYTHONPATH="$SITE"
python3 - <<'EOF' | tee "$OUT/env.txt"
import sys, torch, timm, mmcv, mmengine, mmseg
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
print(f'python {sys.version.split()[0]} torch {torch.__version__} cuda {torch.version.cuda} '
      f'timm {timm.__version__} mmcv {mmcv.__version__} mmengine {mmengine.__version__} '
      f'mmseg {mmseg.__version__}; {gpu}')
EOF
echo "install: $(( $(date +%s) - start )) s"

# bench NAME LIMIT_S TREE ARGS...: one benchmark run
bench() {
    local name=$1 limit=$2 tree=$3
    shift 3
    local t0
    t0=$(date +%s)
    (cd "$tree" && timeout "$limit" python3 benchmarks/uda_step_bench.py --device "$DEVICE" "$@") \
        > "$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 1 "$OUT/$name.log" > "$OUT/$name.json"
    echo "$name: exit $rc in $(( $(date +%s) - t0 )) s"
    grep -E '^(supervised|host-device|peak memory ratio)' "$OUT/$name.log"
}

if [ -n "$BEFORE" ]; then
    cp benchmarks/uda_step_bench.py benchmarks/process_memory.py "$BEFORE/benchmarks/"
fi
for run in $RUNS; do
    case $run in
        mitb5_eager) bench "$run" 120 . --size mitb5 --warmup 3 --iters 10 ;;
        mitb5_eager_before) [ -n "$BEFORE" ] &&
            bench "$run" 120 "$BEFORE" --size mitb5 --warmup 3 --iters 10 ;;
        mitb5_compiled) bench "$run" 240 . --size mitb5 --warmup 2 --iters 10 --compile \
            --no-memory ;;
        miniature_eager) bench "$run" 60 . --size miniature --warmup 5 --iters 30 ;;
        mitb5_bf16) bench "$run" 100 . --size mitb5 --warmup 3 --iters 10 --bf16 ;;
        mitb5_compiled_bf16) bench "$run" 240 . --size mitb5 --warmup 2 --iters 10 --compile \
            --bf16 --no-memory ;;
        mitb5_compiled_cudagraphs) bench "$run" 240 . --size mitb5 --warmup 3 --iters 10 \
            --compile --compile-mode reduce-overhead --no-memory ;;
        *) echo "unknown run $run" ;;
    esac
done

python3 - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
print(f'{"run":<22} {"supervised s":>12} {"UDA s":>8} {"ratio":>6} {"/eager":>7} {"mem":>5}')
for path in sorted(Path(sys.argv[1]).glob('*.json')):
    try:
        r = json.loads(path.read_text())
    except ValueError:
        print(f'{path.stem:<22} (no result)')
        continue
    mem = r.get('memory', {}).get('ratio')
    print(f'{path.stem:<22} {r["supervised"]:>12.4f} {r["uda"]:>8.4f} {r["ratio"]:>6.2f} '
          f'{r.get("ratio_to_eager", r["ratio"]):>7.2f} {mem if mem is None else round(mem, 2)!s:>5}')
EOF
echo "total: $(( $(date +%s) - start )) s"
