"""Stage-one report: source-only, UDA single and oracle mIoU per target, the gap UDA closes, and every
single on every target with its own-target advantage.

    python tools/stage_one_report.py [CONFIG] [--work-dirs D [D ...]] [--seeds S [S ...]]
                                     [--oracle-iters N] [--bn-frames N]

CONFIG is the experiment config the main job ran (default: the EfficientNet-Lite0 miniature). For
each work dir (one per training seed, e.g. the claims study's <family>/seed<N>) the oracles of the
experiment config are trained from that run's shared init and evaluated, unless they exist; then
stage_one_report.{json,md} is written into the first work dir (mean ± std over the work dirs).
With --bn-frames N also stage_one_report_bn<N>.{json,md}: the same numbers with each single's
BatchNorm statistics re-estimated on N unlabelled training frames of its own target and the
source-only model's on each target's (AdaBN; docs/stage_one.md).
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.layout import JobLayout
    from experiments.main_job import (add_experiment_argument, add_process_arguments,
                                      load_experiment, tools_from_arguments)
    from experiments.stage_one_report import (bn_recalibrated_numbers, render_markdown,
                                              run_oracles, stage_one_numbers, summarise)
    from mtda.errors import MtdaError
    from mtda.io.atomic import atomic_write_bytes
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    add_experiment_argument(parser)
    parser.add_argument('--work-dirs', nargs='+', help="main-job work dirs, one per seed "
                        "(default: the experiment's)")
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='training seed of each work dir, for its oracles (default 0, 1, ...)')
    parser.add_argument('--oracle-iters', type=int, help="override the oracles' training length")
    parser.add_argument('--bn-frames', type=int, default=0,
                        help='also report with BatchNorm statistics re-estimated on this many '
                        'unlabelled target training frames (seeded with the work dir\'s seed)')
    add_process_arguments(parser)
    args = parser.parse_args(argv)
    experiment = load_experiment(args.config)
    work_dirs = args.work_dirs or [experiment.work_dir or Path('work_dirs') / experiment.name]
    seeds = args.seeds or list(range(len(work_dirs)))
    if len(seeds) != len(work_dirs):
        raise MtdaError(f'--seeds has {len(seeds)} values for {len(work_dirs)} work dirs; give one '
                        'seed per work dir')
    if args.bn_frames < 0:
        raise MtdaError(f'--bn-frames {args.bn_frames}: give a number of frames >= 1, or 0 for '
                        'the statistics of training')
    runs, bn_runs = [], []
    targets = list(experiment.uda_configs)
    for work_dir, seed in zip(work_dirs, seeds):
        layout = JobLayout(work_dir)
        if not layout.shared_init.exists():
            raise MtdaError(f'{layout.shared_init}: missing; run the main job first '
                            f'(python tools/run_mtda.py {args.config} --work-dir {work_dir})')
        run_oracles(experiment, layout, tools=tools_from_arguments(REPO / 'tools', args),
                    oracle_configs=experiment.oracle_configs, seed=seed, iters=args.oracle_iters)
        runs.append(stage_one_numbers(layout, targets=targets))
        if args.bn_frames:
            bn_runs.append(bn_recalibrated_numbers(experiment, layout, frames=args.bn_frames,
                                                   seed=seed, targets=targets))
    out = JobLayout(work_dirs[0]).root
    reports = [('stage_one_report', runs, 0)]
    if bn_runs:
        reports.append((f'stage_one_report_bn{args.bn_frames}', bn_runs, args.bn_frames))
    for name, measured, frames in reports:
        summary = summarise(measured)
        report = dict(summary, work_dirs=[str(d) for d in work_dirs], seeds=seeds,
                      bn_frames=frames, runs=measured)
        atomic_write_bytes(out / f'{name}.json',
                           (json.dumps(report, indent=1, allow_nan=True) + '\n').encode())
        text = render_markdown(summary, bn_frames=frames)
        atomic_write_bytes(out / f'{name}.md', text.encode())
        print(text)
        print(f'report: {out / f"{name}.json"}, {out / f"{name}.md"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
