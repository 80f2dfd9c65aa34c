"""A stage-one method's training cost against DAFormer's: one UDA iteration of each, and their
peak memory, measured in one run.

    python benchmarks/method_cost_bench.py [--pair hrda-mitb5|hrda-miniature|slimda-miniature]
                                           [--iters N] [--warmup W] [--device cpu|cuda]
                                           [--threads T] [--no-memory]

``hrda-mitb5`` (the default): MiT-B5 + DAFormer head trained as DAFormer (512x512 crops,
``configs/daformer/gta2cityscapes_daformer_mitb5.py``) and as HRDA (1024x1024 crops, a 0.5
context and a 512 detail crop, the teacher's detail branch in 3x3 overlapping 512 windows,
``configs/hrda/gta2cityscapes_hrda_mitb5.py``); batch 2 per domain in both, as in the papers.
``hrda-miniature``: the EfficientNet-Lite0 pair at 64 and 128 crops. ``slimda-miniature``: the
EfficientNet-Lite0 miniature as one model and as a SlimDA bank (four sandwich widths and SEED per
iteration, ``configs/slimda/``).

Each iteration is :meth:`~mtda.models.uda.daformer_uda.DAFormerUDA.train_step` as mmengine's loop
runs it, built and fed by ``benchmarks/uda_step_bench.py`` (random weights, synthetic batch). The
two kinds alternate, ``--warmup`` times each and then ``--iters`` times each; the medians and
their ratio are measured in one run. Peak memory: each kind in a fresh subprocess
(``uda_step_bench.py --memory-worker uda``: on CUDA ``max_memory_allocated``, on CPU the peak
RSS above the RSS after the imports). HRDA's own report: 32 h and 22.5 GB on a Titan RTX vs
DAFormer's 16 h and 9.7 GB (``lhoyer/HRDA#14``), i.e. about 2x the time and 2.3x the memory.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from uda_step_bench import REPO, alternate, build  # noqa: E402  (beside this script)

MINIATURE = ('configs/daformer/gta2cityscapes_daformer_efficientnet-lite0_tiny.py', (64, 64))
PAIRS = {
    # pair: the method's name, {kind: (config, crop)}, warm-up and timed iterations
    'hrda-mitb5': ('HRDA', {
        'DAFormer': ('configs/daformer/gta2cityscapes_daformer_mitb5.py', (512, 512)),
        'HRDA': ('configs/hrda/gta2cityscapes_hrda_mitb5.py', (1024, 1024))}, (1, 1)),
    'hrda-miniature': ('HRDA', {
        'DAFormer': MINIATURE,
        'HRDA': ('configs/hrda/gta2cityscapes_hrda_efficientnet-lite0_tiny.py', (128, 128))},
        (3, 10)),
    'slimda-miniature': ('SlimDA', {
        'DAFormer': MINIATURE,
        'SlimDA': ('configs/slimda/gta2cityscapes_slimda_efficientnet-lite0_tiny.py', (64, 64))},
        (3, 10)),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pair', choices=PAIRS, default='hrda-mitb5')
    parser.add_argument('--iters', type=int, help='timed iterations of each kind')
    parser.add_argument('--warmup', type=int, help='untimed iterations of each kind first')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, help="torch threads (default: torch's)")
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory runs')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    warmup, iters = PAIRS[args.pair][2]
    args.warmup = warmup if args.warmup is None else args.warmup
    args.iters = iters if args.iters is None else args.iters
    return args


def _step_args(args, config, crop) -> argparse.Namespace:
    """What ``uda_step_bench.build`` reads: plain eager float32, batch 2."""
    return argparse.Namespace(config=config, crop=tuple(crop), batch=2, device=args.device,
                              seed=args.seed, compile=False, compile_mode='default', bf16=False,
                              channels_last=False)


def peak_memory(args, config, crop) -> dict:
    command = [sys.executable, str(REPO / 'benchmarks' / 'uda_step_bench.py'), '--config', config,
               '--crop', *map(str, crop), '--batch', '2', '--device', args.device,
               '--memory-worker', 'uda']
    if args.threads:
        command += ['--threads', str(args.threads)]
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'the memory run of {config} failed (exit {proc.returncode}): '
                         f'{proc.stderr.strip().splitlines()[-1:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.logging import MMLogger
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_instance('method_cost_bench', log_level='ERROR')
    method, pair, _ = PAIRS[args.pair]
    print(f'{args.pair}: {", ".join(f"{k} {c} at {s[0]}x{s[1]}" for k, (c, s) in pair.items())}; '
          f'batch 2 per domain, {args.device}, {torch.get_num_threads()} thread(s); median of '
          f'{args.iters} after {args.warmup} warm-up')
    memory = None
    if not args.no_memory:  # first, while this process holds no model
        memory = {kind: peak_memory(args, *spec) for kind, spec in pair.items()}
    steps = {kind: build(_step_args(args, *spec), 'uda')[2] for kind, spec in pair.items()}
    medians = alternate(steps, warmup=args.warmup, iters=args.iters, device=args.device)
    ratio = medians[method] / medians['DAFormer']
    print(f'UDA iteration: DAFormer {medians["DAFormer"]:.3f} s | {method} {medians[method]:.3f} s'
          f' | {method} / DAFormer {ratio:.2f}')
    record = dict(pair=args.pair, method=method, device=args.device,
                  threads=torch.get_num_threads(),
                  configs={k: dict(config=c, crop=list(s)) for k, (c, s) in pair.items()},
                  seconds=medians, ratio=ratio)
    if memory is not None:
        mib = 1 << 20
        memory_ratio = memory[method]['peak'] / memory['DAFormer']['peak']
        print(f'peak memory: DAFormer {memory["DAFormer"]["peak"] / mib:.0f} MiB | {method} '
              f'{memory[method]["peak"] / mib:.0f} MiB | {method} / DAFormer {memory_ratio:.2f}')
        record['memory'] = dict(memory, ratio=memory_ratio)
    print(json.dumps(record))


if __name__ == '__main__':
    main()
