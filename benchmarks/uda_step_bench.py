"""UDA-iteration benchmark: one DAFormer iteration against one supervised step of the same model.

    python benchmarks/uda_step_bench.py [--size miniature|mitb5] [--config C] [--batch B]
                                        [--crop H W] [--iters N] [--warmup W] [--device cpu|cuda]
                                        [--threads T] [--compile [--compile-mode M]] [--bf16]
                                        [--channels-last] [--no-memory]

Both steps are built from one stage-one config (``--size`` picks one: the EfficientNet-Lite0
miniature at its 64x64 training crop, or MiT-B5 + DAFormer head at 512x512; batch 2 in both), with
the config's optimiser, on the same synthetic batch (normalised noise images, labels in 8x8-pixel
blocks of random trainIds, so ClassMix and the thing-class rule of the feature distance have
regions to work on):

* **supervised**: the plain segmentor's ``train_step`` on the source batch (preprocessing, loss,
  backward, optimiser step: a source-only iteration, what stage one would cost without
  adaptation);
* **UDA**: :meth:`~mtda.models.uda.daformer_uda.DAFormerUDA.train_step` on the source and target
  batches (EMA update, student on source, frozen ImageNet backbone and feature distance, the
  source backward, teacher pseudo labels, ClassMix and strong augmentation, student on the mixed
  batch, its backward, the optimiser step), as mmengine's training loop runs it.

The two alternate, ``--warmup`` times each and then ``--iters`` times each, and the medians are
compared: the printed ratio is measured in one run, on one machine state. One more, profiled, UDA
iteration gives the share of each ``record_function`` scope of the iteration
(:data:`~mtda.models.uda.daformer_uda.PARTS`); the rest is the preprocessing, the two backward
passes and the optimiser step. Peak memory: each kind of step runs in a fresh
subprocess that builds its model, optimiser and batch and runs two steps; on CUDA its
``max_memory_allocated``, on CPU its peak RSS above the RSS once torch, mmseg and mtda are imported
(:mod:`process_memory` resets the high-water mark there). The FLOP ratio of the two steps
(DAFormer: about 2.6-2.7) bounds what the time ratio can reach; see ``docs/stage_one_speed.md``.

``--compile`` compiles the backbones and heads (``torch.compile`` through ``nn.Module.compile``),
``--bf16`` trains both under bfloat16 autocast (on a GPU mmengine's ``AmpOptimWrapper``, what
``tools/train.py --amp --amp-dtype bfloat16`` uses; on a CPU, where that wrapper refuses to run,
``torch.autocast('cpu')`` around the step): each changes both steps, so their effect on the
ratio and on the absolute times is printed as measured, and the plain supervised step (eager,
float32) is timed beside them as the reference of both. On CUDA the host-device synchronisations
of one step of each kind are counted, with the lines that cause them.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from process_memory import reset_peak, status  # noqa: E402  (beside this script)

REPO = Path(__file__).resolve().parents[1]
SIZES = {
    # config, crop (H, W), batch, warm-up, timed iterations
    'miniature': ('configs/daformer/gta2cityscapes_daformer_efficientnet-lite0_tiny.py',
                  (64, 64), 2, 3, 20),
    'mitb5': ('configs/daformer/gta2cityscapes_daformer_mitb5.py', (512, 512), 2, 1, 1),
}
NUM_CLASSES = 19


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', choices=SIZES, default='miniature')
    parser.add_argument('--config', help='a stage-one (DAFormerUDA) config (default: the size\'s)')
    parser.add_argument('--batch', type=int, help='images per domain (default: 2)')
    parser.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--iters', type=int, help='timed iterations of each step')
    parser.add_argument('--warmup', type=int, help='untimed iterations of each step first')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument('--compile', action='store_true', help='torch.compile backbones and heads')
    parser.add_argument('--compile-mode', default='default',
                        choices=('default', 'reduce-overhead', 'max-autotune-no-cudagraphs'),
                        help='torch.compile mode with --compile')
    parser.add_argument('--bf16', action='store_true', help='bfloat16 autocast of the forwards')
    parser.add_argument('--channels-last', action='store_true',
                        help='weights in channels-last memory format (the activations follow)')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory runs')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--memory-worker', choices=('supervised', 'uda'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    config, crop, batch, warmup, iters = SIZES[args.size]
    args.config = args.config or config
    args.crop = tuple(args.crop or crop)
    args.batch = args.batch or batch
    args.warmup = warmup if args.warmup is None else args.warmup
    args.iters = iters if args.iters is None else args.iters
    return args


# --- building -----------------------------------------------------------------------------------
def build(args, kind: str):
    """``(model, optim_wrapper, step)``: ``step()`` runs one iteration of ``kind``."""
    import torch
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mtda  # noqa: F401  (registers DAFormerUDA)
    from mtda.models.segmentor import segmentor_config

    init_default_scope('mmseg')
    torch.manual_seed(args.seed)
    cfg = Config.fromfile(str(REPO / args.config))
    if 'segmentor' not in cfg.model:
        raise SystemExit(f'{args.config}: not a stage-one (DAFormerUDA) config')
    device = torch.device(args.device)
    if kind == 'uda':
        model = MODELS.build(dict(cfg.model, init_checkpoint=None))  # random weights time the same
    else:
        seg_cfg = dict(segmentor_config(cfg))
        seg_cfg['data_preprocessor'] = dict(cfg.model.get('data_preprocessor')
                                            or seg_cfg['data_preprocessor'],
                                            type='SegDataPreProcessor')
        model = MODELS.build(seg_cfg)
    model.to(device).train()
    if args.channels_last:  # a conv with channels-last weights gives channels-last activations
        model.to(memory_format=torch.channels_last)
    optim_cfg = dict(cfg.optim_wrapper)
    cpu_autocast = args.bf16 and device.type == 'cpu'  # mmengine's AMP wrapper is GPU-only
    if args.bf16 and not cpu_autocast:
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    optim = build_optim_wrapper(model, optim_cfg)
    if args.compile:
        mode = None if args.compile_mode == 'default' else args.compile_mode
        for module in _compiled_parts(model, kind):
            module.compile(mode=mode)
    # the teacher's weight of a mid-run iteration (the first iteration copies the student)
    MessageHub.get_current_instance().update_info('iter', 1000)
    source = _batch(args, device, seed=1)
    batch = dict(source=source, target=_batch(args, device, seed=2)) if kind == 'uda' else source

    def step():
        """One training iteration, as mmengine's loop runs it (``model.train_step``)."""
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=cpu_autocast):
            model.train_step(batch, optim)
    return model, optim, step


def _compiled_parts(model, kind):
    roots = [model.model, model.teacher] if kind == 'uda' else [model]
    parts = [part for root in roots for part in (root.backbone, root.decode_head)]
    if kind == 'uda' and model.imnet_backbone is not None:
        parts.append(model.imnet_backbone)
    return parts


def _batch(args, device, *, seed: int) -> dict:
    import torch
    import torch.nn.functional as F
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    generator = torch.Generator().manual_seed(seed)
    height, width = args.crop
    images = torch.randint(0, 256, (args.batch, 3, height, width), generator=generator,
                           dtype=torch.uint8)
    blocks = torch.randint(0, NUM_CLASSES, (args.batch, 1, -(-height // 8), -(-width // 8)),
                           generator=generator)
    labels = F.interpolate(blocks.float(), scale_factor=8, mode='nearest')[..., :height, :width]
    samples = []
    for label in labels.long():
        sample = SegDataSample(metainfo=dict(img_shape=(height, width), pad_shape=(height, width),
                                             ori_shape=(height, width)))
        sample.gt_sem_seg = PixelData(data=label.to(device))
        samples.append(sample)
    return dict(inputs=list(images.to(device)), data_samples=samples)  # as the dataloader gives


# --- measuring ----------------------------------------------------------------------------------
def _now(device: str) -> float:
    if device.startswith('cuda'):
        import torch
        torch.cuda.synchronize()
    return time.perf_counter()


EAGER = 'supervised, eager fp32'


def time_steps(args) -> tuple:
    """``({kind: median seconds}, {kind: step})``: the kinds alternate, after the warm-up.

    With ``--compile``, ``--bf16`` or ``--channels-last`` the plain supervised step (eager,
    float32, contiguous) is a third kind, so what the options gain is measured against it in the
    same run."""
    steps = {kind: build(args, kind)[2] for kind in ('supervised', 'uda')}
    if args.compile or args.bf16 or args.channels_last:
        plain = dict(vars(args), compile=False, bf16=False, channels_last=False)
        steps[EAGER] = build(argparse.Namespace(**plain), 'supervised')[2]
    return alternate(steps, warmup=args.warmup, iters=args.iters, device=args.device), steps


def alternate(steps: dict, *, warmup: int, iters: int, device: str) -> dict:
    """``{kind: median seconds}``: every step runs ``warmup`` times, then the kinds alternate
    ``iters`` times, each timed on its own (one machine state for all)."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {kind: [] for kind in steps}
    for _ in range(iters):
        for kind, step in steps.items():
            start = _now(device)
            step()
            times[kind].append(_now(device) - start)
    return {kind: statistics.median(values) for kind, values in times.items()}


def count_syncs(step) -> tuple:
    """``(count, {place: count})``: the host-device synchronisations of one ``step()`` on CUDA,
    each place the innermost Python frame that caused one (CUDA's sync debug mode warns once
    per synchronising call)."""
    import warnings

    import torch
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode('default')
    places = {}
    for warning in caught:
        if 'synchroniz' in str(warning.message):
            place = f'{Path(warning.filename).name}:{warning.lineno}'
            places[place] = places.get(place, 0) + 1
    return sum(places.values()), places


def shares(step, device: str) -> dict:
    """The share of each ``uda_loss`` scope in one profiled UDA iteration, the rest being the
    preprocessing, the backward passes and the optimiser step (the profiler slows what it
    records, so shares, not its seconds, are kept)."""
    from torch.profiler import ProfilerActivity, profile

    from mtda.models.uda.daformer_uda import PARTS
    cuda = device.startswith('cuda')
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    start = _now(device)
    with profile(activities=activities) as prof:
        step()
        total = _now(device) - start
    seconds = dict.fromkeys(PARTS, 0.0)
    for event in prof.key_averages():
        if event.key in seconds:
            gpu = getattr(event, 'device_time_total', 0) or getattr(event, 'cuda_time_total', 0)
            seconds[event.key] = (gpu if cuda else event.cpu_time_total) / 1e6
    result = {name: value / total for name, value in seconds.items()}
    result['backward passes, optimiser step, preprocessing'] = max(1.0 - sum(result.values()),
                                                                   0.0)
    return result


def memory_worker(args) -> dict:
    """Memory of ``args.memory_worker``'s training, in this (fresh) process, in bytes.

    ``peak``: the most it takes at once over building the model, the optimiser and the batch and
    running two steps (on CUDA ``max_memory_allocated``; on CPU the peak RSS above the RSS once
    torch, mmseg and mtda are imported, as ``benchmarks/merge_bench.py`` measures); ``held``: what
    it holds between steps (weights, optimiser state, batch).
    """
    import torch
    import mtda  # noqa: F401  (imported before the baseline)
    cuda = args.device.startswith('cuda')
    if not cuda:
        base = status()['VmRSS']
        reset_peak()
    _, _, step = build(args, args.memory_worker)
    for _ in range(2):
        step()
    if cuda:
        torch.cuda.synchronize()
        return dict(held=torch.cuda.memory_allocated(), peak=torch.cuda.max_memory_allocated())
    now = status()
    return dict(held=now['VmRSS'] - base, peak=now['VmHWM'] - base)


def measure_memory(args, argv) -> dict:
    results = {}
    for kind in ('supervised', 'uda'):
        proc = subprocess.run([sys.executable, __file__, *argv, '--memory-worker', kind],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f'the {kind} memory run failed (exit {proc.returncode}): '
                             f'{proc.stderr.strip().splitlines()[-1:]}')
        results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    import torch
    from mmengine.logging import MMLogger
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_instance('uda_step_bench', log_level='ERROR')  # no per-parameter lines
    if args.memory_worker:
        print(json.dumps(memory_worker(args)))
        return
    print(f'{args.config}: batch {args.batch} per domain, crop {args.crop[0]}x{args.crop[1]}, '
          f'{args.device}, {torch.get_num_threads()} thread(s)'
          f'{", compiled" if args.compile else ""}{", bf16 autocast" if args.bf16 else ""}'
          f'{", channels-last" if args.channels_last else ""}; '
          f'median of {args.iters} after {args.warmup} warm-up')
    memory = None
    if not args.no_memory:  # first, while this process holds no model
        memory = measure_memory(args, [a for a in argv if a != '--no-memory'])
    medians, steps = time_steps(args)
    supervised, uda = medians['supervised'], medians['uda']
    ratio = uda / supervised
    print(f'supervised step {supervised:.4f} s | UDA iteration {uda:.4f} s | ratio {ratio:.2f}')
    record = dict(config=args.config, size=args.size, batch=args.batch, crop=list(args.crop),
                  device=args.device, threads=torch.get_num_threads(), compile=args.compile,
                  compile_mode=args.compile_mode if args.compile else None, bf16=args.bf16,
                  channels_last=args.channels_last,
                  supervised=supervised, uda=uda, ratio=ratio)
    if EAGER in medians:
        record.update(supervised_eager_fp32=medians[EAGER], ratio_to_eager=uda / medians[EAGER])
        print(f'{EAGER} step {medians[EAGER]:.4f} s | UDA iteration / it '
              f'{uda / medians[EAGER]:.2f} | supervised step / it '
              f'{supervised / medians[EAGER]:.2f}')
    if args.device.startswith('cuda'):
        record['syncs'] = {}
        for kind in ('supervised', 'uda'):
            count, places = count_syncs(steps[kind])
            record['syncs'][kind] = dict(count=count, places=places)
            where = ', '.join(f'{place} x{n}' for place, n in sorted(places.items()))
            print(f'host-device syncs in one {kind} step: {count}' + (f' ({where})' if where
                                                                      else ''))
    breakdown = {name: share * uda for name, share in shares(steps['uda'], args.device).items()}
    print('UDA iteration by part (shares of one profiled iteration, times the median):')
    for name, seconds in breakdown.items():
        print(f'  {name:<48} {seconds:8.4f} s  {100 * seconds / uda:5.1f} %')
    record['breakdown'] = breakdown
    if memory is not None:
        mib = 1 << 20
        for kind, values in memory.items():
            print(f'peak memory, {kind}: {values["peak"] / mib:.1f} MiB '
                  f'(holds {values["held"] / mib:.1f} MiB between steps)')
        ratio = memory['uda']['peak'] / memory['supervised']['peak']
        print(f'peak memory ratio: {ratio:.2f}')
        record['memory'] = dict(memory, ratio=ratio)
    print(json.dumps(record))


if __name__ == '__main__':
    main()
