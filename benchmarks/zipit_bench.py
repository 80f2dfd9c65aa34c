"""ZipIt! cost: time of a 4-model zip / the forward passes it needs, and its peak memory / one model.

    python benchmarks/zipit_bench.py CONFIG [--n 4] [--images 8] [--size 512] [--batch 2]
                                     [--until MODULE] [--threads T]

Builds CONFIG's segmentor (e.g. ``configs/daformer/gta2cityscapes_daformer_mitb5.py`` or
``..._dlv2_r101.py``; no data or weights needed) and N copies of it, each with its own small random
perturbation of the weights, then zips them as ``tools/merge.py --method zipit`` does
(:func:`mtda.merging.zipit.zip_models`) on ``--images`` random ``--size``² images and prints, in
one run:

* the phases' wall seconds: the N forward passes alone (the floor: ZipIt! must run every model on
  every image), the correlations (the same passes with the features kept and their moments
  summed), the matching, the fusion and the BatchNorm re-estimation;
* **time ratio**: the whole zip / the forward passes alone;
* **memory**: the zip's peak RSS above the RSS once the N models are built, and that peak / the
  size of one model's state dict.

The correlation time and memory grow with the images (the moments are summed per batch; their
size does not grow), so a run on a few images gives the per-image cost of a larger sample.

``--matching-only`` skips the images: it times the greedy matching on the correlation of random
features for one group of each distinct width and sums over the spec's groups, an estimate of the
matching phase (its iterations, O − C per group, do not depend on the data) for models whose full
zip takes too long to run here.
"""
import argparse
import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from process_memory import reset_peak, status  # noqa: E402  (beside this script)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--n', type=int, default=4, help='models to zip')
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--size', type=int, default=512, help='square image side')
    parser.add_argument('--batch', type=int, default=2, help='images per forward pass')
    parser.add_argument('--until', help='--zip-until: zip only the entries before MODULE')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s)')
    parser.add_argument('--matching-only', action='store_true',
                        help='estimate the matching phase alone, on random correlations')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    import mtda  # noqa: F401  (registers mtda's modules)
    from mtda.config import load_config
    from mtda.merging.zipit import (collect_correlations, feature_points,
                                    recompute_batchnorm_statistics, split_at, unzip_tail,
                                    zip_match, zip_state_dicts)
    from mtda.models.permutation_specs import permutation_spec_of
    from mtda.models.segmentor import batchnorm_types, build_segmentor

    cfg = load_config(args.config)
    torch.manual_seed(0)
    first = build_segmentor(cfg).eval()
    spec = permutation_spec_of(first)
    if args.matching_only:
        return estimate_matching(spec, args.n, zip_match)
    models = [first]
    for _ in range(args.n - 1):
        model = copy.deepcopy(first)
        with torch.no_grad():
            for value in model.state_dict().values():
                if value.is_floating_point():
                    value.add_(0.01 * value.std().nan_to_num() * torch.randn_like(value))
        models.append(model)
    batches = [torch.randn(min(args.batch, args.images - i), 3, args.size, args.size)
               for i in range(0, args.images, args.batch)]

    def run(model, batch):
        model(batch, mode='tensor')

    model_bytes = sum(v.numel() * v.element_size() for v in first.state_dict().values())
    baseline = status()['VmRSS']
    reset_peak()
    seconds = {}
    start = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            for model in models:
                run(model, batch)
    seconds['forward passes'] = time.perf_counter() - start

    start = time.perf_counter()
    states = [model.state_dict() for model in models]
    groups, tail_keys = split_at(spec, list(states[0]), args.until)
    correlations = collect_correlations(models, feature_points(first, spec, groups), batches, run)
    seconds['correlations'] = time.perf_counter() - start
    start = time.perf_counter()
    matches = {g: zip_match(correlations.pop(g), args.n, alpha=1.0, beta=0.0) for g in groups}
    seconds['matching'] = time.perf_counter() - start
    start = time.perf_counter()
    zipped = zip_state_dicts(states, spec, matches)
    tails = [unzip_tail(s, i, spec, matches, tail_keys) for i, s in enumerate(states)]
    seconds['fusion'] = time.perf_counter() - start
    start = time.perf_counter()
    merged = copy.deepcopy(first)
    for tail in [{}, *(tails if tail_keys else [])]:
        merged.load_state_dict({**zipped, **tail})
        recompute_batchnorm_statistics(merged, batches, run, batchnorm_types=batchnorm_types())
    seconds['batchnorm'] = time.perf_counter() - start
    peak = status()['VmHWM'] - baseline

    zip_seconds = sum(v for k, v in seconds.items() if k != 'forward passes')
    print(f'{Path(args.config).name}: {args.n} models, {args.images} images of {args.size}², '
          f'{len(groups)} feature spaces ({spec.units} units), until={args.until}')
    for phase, value in seconds.items():
        print(f'  {phase:15s} {value:8.1f} s')
    print(f'time ratio (zip / forward passes alone): {zip_seconds / seconds["forward passes"]:.2f}'
          f'  ({zip_seconds:.1f} s / {seconds["forward passes"]:.1f} s)')
    print(f'memory: peak {peak / 2**30:.2f} GiB above the built models; / one model '
          f'({model_bytes / 2**20:.0f} MiB): {peak / model_bytes:.1f}')


def estimate_matching(spec, count: int, zip_match) -> None:
    """Print the matching time of every group, from one timed match per distinct width."""
    seconds = {}
    for width in sorted(set(spec.sizes.values())):
        features = torch.randn(4 * count * width, count * width, generator=torch.Generator()
                               .manual_seed(width))
        correlation = torch.corrcoef(features.T)
        start = time.perf_counter()
        zip_match(correlation, count, alpha=1.0, beta=0.0)
        seconds[width] = time.perf_counter() - start
    total = sum(seconds[size] for size in spec.sizes.values())
    print(f'matching estimate: {len(spec.sizes)} groups, {spec.units} units, {count} models: '
          f'{total:.0f} s ({", ".join(f"{w}: {t:.1f} s" for w, t in seconds.items())} per group)')


if __name__ == '__main__':
    main()
