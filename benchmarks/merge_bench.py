"""Merge benchmark: merge time / input read time and peak RSS / one checkpoint, N MiT-B5-size inputs.

    python benchmarks/merge_bench.py [--n 2 4 8 16] [--dir TMP] [--repeats 2] [--keep]
                                     [--methods average ties dare rebasin ...]

Writes N weights-only checkpoints of a MiT-B5 + SegFormer-head (256 channels, BatchNorm) segmentor
with random weights (~85M parameters, ~330 MB each) into a temporary folder, then for each N runs,
each in a fresh subprocess so that the N's do not share memory:

* ``load``: ``torch.load`` of the N files one after the other (mtda's weights-only loader), the
  time it takes just to read the inputs;
* ``merge``: what ``tools/merge.py`` does to them (:func:`mtda.merging.files.merge_checkpoint_files`:
  load, select the student, lineage, validation, streaming merge), without building a model.

and prints, per N, merge time / load time (target <= 1.2) and the merge's peak RSS / the size of
one checkpoint (target <= 2.5). ``--methods`` adds rows for the task-vector methods
(docs/merging.md), which also read the shared init (written beside the inputs) and hold it: their
floor is one more checkpoint in memory, and TIES and DARE-TIES read every input twice (sign
election, then the disjoint mean), so their time floor is 2x the load time. ``rebasin`` matches
every input to the first (Git Re-Basin weight matching on the model's permutation groups, saved
beside the inputs as ``spec.json``) before the average, and holds the first input throughout. The
inputs are one init plus small noise, as stage-one models are, so the matching converges to the
identity in one sweep. The peak is measured from the RSS the worker holds once torch,
mmseg and mtda are imported (``/proc/self/clear_refs`` resets the high-water mark there), because
importing torch 2.x alone takes ~1.5 checkpoints of memory that no merge implementation can give
back; the whole-process peak is printed next to it. Times are the best of ``--repeats`` runs of each
worker (files read from the page cache in both).
"""
import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from process_memory import reset_peak, status  # noqa: E402  (beside this script)

# MiT-B5 (SegFormer) and a SegFormer head with DAFormer's embedding width and BatchNorm.
MODEL = dict(
    type='EncoderDecoder',
    backbone=dict(type='MixVisionTransformer', in_channels=3, embed_dims=64, num_stages=4,
                  num_layers=[3, 6, 40, 3], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
                  sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4, qkv_bias=True),
    decode_head=dict(type='SegformerHead', in_channels=[64, 128, 320, 512], in_index=[0, 1, 2, 3],
                     channels=256, num_classes=19, norm_cfg=dict(type='BN', requires_grad=True),
                     loss_decode=dict(type='CrossEntropyLoss')),
    train_cfg=dict(), test_cfg=dict(mode='whole'))


def _reset_peak() -> int:
    """Reset this process's RSS high-water mark; return the current RSS in bytes."""
    reset_peak()
    return status()['VmRSS']


def evict_from_page_cache(path) -> None:
    """Ask the kernel to drop ``path``'s cached pages, so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def worker(mode: str, kinds_file: str, files: list, *, threads: int, cold: bool) -> dict:
    """Run in a fresh process: read (``load``) or merge (``merge`` or ``merge:<method>``)
    ``files``; time and memory."""
    import gc

    import torch
    torch.set_num_threads(threads)
    from mtda.io import load_checkpoint_file
    from mtda.merging import EntryKind
    from mtda.merging.files import merge_checkpoint_files
    from mtda.merging.task_merge import TaskMethod

    kinds = {key: EntryKind(kind) for key, kind in json.loads(Path(kinds_file).read_text()).items()}
    permutations = None
    if mode == 'merge:rebasin':
        from mtda.merging.rebasin import PermutationSpec
        saved = json.loads((Path(kinds_file).parent / 'spec.json').read_text())
        permutations = PermutationSpec(
            {key: tuple(tuple(a) if isinstance(a, list) else a for a in axes)
             for key, axes in saved['axes'].items()}, saved['sizes'])
    if cold:
        for path in files:
            evict_from_page_cache(path)
    gc.collect()
    baseline = _reset_peak()
    start = time.perf_counter()
    if mode == 'load':
        for path in files:
            checkpoint = load_checkpoint_file(path)
            del checkpoint
    else:
        name = mode.partition(':')[2] or 'average'
        method = TaskMethod('average' if name == 'rebasin' else name)
        base = Path(kinds_file).parent / 'init.pth' if method.uses_base else None
        merged = merge_checkpoint_files(files, kinds=kinds, method=method, base=base,
                                        permutations=permutations, progress=False)
        assert len(merged.result.state_dict) == len(kinds)
    seconds = time.perf_counter() - start
    peak = status()['VmHWM']
    return dict(seconds=seconds, baseline=baseline, peak=peak)


def write_checkpoints(folder: Path, n: int) -> tuple[list, int, Path]:
    """N random checkpoints fine-tuned from one init (``init.pth``), and the model's entry kinds
    (JSON).

    Files already in ``folder`` (from an earlier ``--dir D --keep`` run) are reused.
    """
    kinds_file = folder / 'kinds.json'
    files = [folder / f'domain{i}.pth' for i in range(n)]
    init = folder / 'init.pth'
    spec_file = folder / 'spec.json'
    if (kinds_file.is_file() and init.is_file() and spec_file.is_file()
            and all(f.is_file() for f in files)):
        print(f'reusing {n} checkpoints in {folder}', flush=True)
        return files, files[0].stat().st_size, kinds_file
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mtda  # noqa: F401  (registers mtda's modules)
    from mtda.io import atomic_save, weights_sha256
    from mtda.merging import classify_state_dict_entries
    from mtda.models.permutation_specs import permutation_spec_of
    from mtda.models.segmentor import batchnorm_types

    init_default_scope('mmseg')
    model = MODELS.build(MODEL)
    kinds = classify_state_dict_entries(model, batchnorm_types=batchnorm_types())
    kinds_file.write_text(json.dumps({key: kind.value for key, kind in kinds.items()}))
    spec = permutation_spec_of(model)
    spec_file.write_text(json.dumps(dict(axes=spec.axes, sizes=spec.sizes)))
    base = {key: value.detach().clone() for key, value in model.state_dict().items()}
    del model
    atomic_save(dict(state_dict=base, meta={}), init)
    init_sha = weights_sha256(base)
    parameters = sum(v.numel() for k, v in base.items() if kinds[k].value == 'parameter')
    generator = torch.Generator().manual_seed(0)
    for i, path in enumerate(files):
        state = {}
        for key, value in base.items():
            if key.endswith('num_batches_tracked'):
                state[key] = torch.tensor(1000 * (i + 1), dtype=value.dtype)
            elif key.endswith('running_var'):
                state[key] = torch.rand(value.shape, generator=generator) + 0.5
            elif value.is_floating_point():
                state[key] = value + 0.01 * torch.randn(value.shape, generator=generator)
            else:
                state[key] = value
        atomic_save(dict(state_dict=state, meta=dict(init_sha256=init_sha, target_domain=f'd{i}')),
                    path)
        del state
    print(f'wrote {n} checkpoints of {parameters / 1e6:.1f}M parameters, '
          f'{files[0].stat().st_size / 2**20:.0f} MiB each, into {folder}', flush=True)
    return files, files[0].stat().st_size, kinds_file


def run_worker(mode: str, *, kinds_file: Path, files: list, threads: int, cold: bool) -> dict:
    cmd = [sys.executable, __file__, '--threads', str(threads), *(['--cold'] if cold else []),
           '--worker', mode, str(kinds_file), *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'{mode} worker failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, nargs='+', default=[2, 4, 8, 16],
                        help='numbers of checkpoints to merge')
    parser.add_argument('--dir', help='folder for the checkpoints (default: a temporary one)')
    parser.add_argument('--repeats', type=int, default=2, help='runs of each worker; best time')
    parser.add_argument('--keep', action='store_true', help='keep the checkpoint files')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads in the workers (1: stable timings on a busy machine; '
                             'both reading and merging are memory-bound)')
    parser.add_argument('--cold', action='store_true',
                        help='evict the files from the page cache before every run, so both '
                             'reading and merging read from the disk (default: warm cache, the '
                             'harder case for the time ratio)')
    parser.add_argument('--methods', nargs='+', default=['average'],
                        help='merge methods to time (tools/merge.py --method; default average)')
    parser.add_argument('--worker', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.worker[2:],
                                threads=args.threads, cold=args.cold)))
        return 0

    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix='merge_bench_'))
    folder.mkdir(parents=True, exist_ok=True)
    need = max(args.n)
    free = shutil.disk_usage(folder).free
    try:
        files, size, kinds_file = write_checkpoints(folder, need)
        if free < need * size * 1.1:
            print(f'warning: {free / 2**30:.1f} GiB free for {need} checkpoints', flush=True)
        rows = []
        for n in args.n:
            subset = files[:n]
            run = functools.partial(run_worker, kinds_file=kinds_file, files=subset,
                                    threads=args.threads, cold=args.cold)
            run('load')  # page cache warm for both workers (unless --cold evicts it)
            load = min((run('load') for _ in range(args.repeats)), key=lambda r: r['seconds'])
            for method in args.methods:
                merges = [run(f'merge:{method}') for _ in range(args.repeats)]
                merge = min(merges, key=lambda r: r['seconds'])
                merge_peak = max(m['peak'] - m['baseline'] for m in merges)
                rows.append((n, method, load['seconds'], merge['seconds'],
                             merge['seconds'] / load['seconds'], merge_peak / size,
                             max(m['peak'] for m in merges) / size,
                             merges[0]['baseline'] / size))
            print(f'N={n:2d} done', flush=True)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(folder, ignore_errors=True)

    print(f'\none checkpoint: {size / 2**20:.0f} MiB; {os.cpu_count()} CPUs, {args.threads} torch '
          f'thread(s); page cache {"cold" if args.cold else "warm"}; load and merge times are the '
          f'best of {args.repeats}')
    print('| N | method | load s | merge s | merge/load (<= 1.2) | merge peak RSS / ckpt (<= 2.5) '
          '| whole-process peak / ckpt | RSS after imports / ckpt |')
    print('|---|---|---|---|---|---|---|---|')
    for n, method, load_s, merge_s, ratio, peak, whole, base in rows:
        print(f'| {n} | {method} | {load_s:.2f} | {merge_s:.2f} | {ratio:.2f} | {peak:.2f} '
              f'| {whole:.2f} | {base:.2f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
