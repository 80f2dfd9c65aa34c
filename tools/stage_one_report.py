"""Stage-one report: source-only, UDA single and oracle mIoU per target, the gap UDA closes, and every
single on every target with its own-target advantage.

    python tools/stage_one_report.py [CONFIG] [--work-dirs D [D ...]] [--seeds S [S ...]]
                                     [--oracle-iters N]

CONFIG is the experiment config the main job ran (default: the EfficientNet-Lite0 miniature). For
each work dir (one per training seed, e.g. the claims study's <family>/seed<N>) the oracles of the
experiment config are trained from that run's shared init and evaluated, unless they exist; then
stage_one_report.{json,md} is written into the first work dir (mean ± std over the work dirs).
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
    from experiments.stage_one_report import (render_markdown, run_oracles, stage_one_numbers,
                                              summarise)
    from mtda.errors import MtdaError
    from mtda.io.atomic import atomic_write_bytes
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    add_experiment_argument(parser)
    parser.add_argument('--work-dirs', nargs='+', help="main-job work dirs, one per seed "
                        "(default: the experiment's)")
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='training seed of each work dir, for its oracles (default 0, 1, ...)')
    parser.add_argument('--oracle-iters', type=int, help="override the oracles' training length")
    add_process_arguments(parser)
    args = parser.parse_args(argv)
    experiment = load_experiment(args.config)
    work_dirs = args.work_dirs or [experiment.work_dir or Path('work_dirs') / experiment.name]
    seeds = args.seeds or list(range(len(work_dirs)))
    if len(seeds) != len(work_dirs):
        raise MtdaError(f'--seeds has {len(seeds)} values for {len(work_dirs)} work dirs; give one '
                        'seed per work dir')
    runs = []
    for work_dir, seed in zip(work_dirs, seeds):
        layout = JobLayout(work_dir)
        if not layout.shared_init.exists():
            raise MtdaError(f'{layout.shared_init}: missing; run the main job first '
                            f'(python tools/run_mtda.py {args.config} --work-dir {work_dir})')
        run_oracles(experiment, layout, tools=tools_from_arguments(REPO / 'tools', args),
                    oracle_configs=experiment.oracle_configs, seed=seed, iters=args.oracle_iters)
        runs.append(stage_one_numbers(layout, targets=list(experiment.uda_configs)))
    report = dict(summarise(runs), work_dirs=[str(d) for d in work_dirs], seeds=seeds, runs=runs)
    out = JobLayout(work_dirs[0]).root
    atomic_write_bytes(out / 'stage_one_report.json',
                       (json.dumps(report, indent=1, allow_nan=True) + '\n').encode())
    text = render_markdown(summarise(runs))
    atomic_write_bytes(out / 'stage_one_report.md', text.encode())
    print(text)
    print(f'report: {out / "stage_one_report.json"}, {out / "stage_one_report.md"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
