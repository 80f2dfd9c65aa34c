"""SlimDA's banks against the same widths trained alone, and the merged bank, per width.

    python tools/slimda_width_study.py --work-dirs D0 [D1 ...] [--targets T ...]
                                       [--merge-targets T T ...]
                                       [--widths 0.25 0.5 0.75 1] [--iters N]
                                       [--calibrate-frames N] [--jobs J] [--threads T]

Each work dir is a main job of the DAFormer EfficientNet-Lite0 miniature of one seed
(``tools/run_mtda.py --seed N --work-dir DN``): its shared init, seed and DAFormer singles (width 1
alone) are used. Trains into <work dir>/slimda/ one bank per target and every narrower width alone,
merges the banks of --merge-targets (default: all four when --targets has them), evaluates every
width (<work dir>/slimda/widths.json), and writes slimda_widths.{json,md,png} into the first work
dir (experiments/slimda_width_study.py, docs/slimda.md). With --calibrate-frames N every model is
BN-calibrated on N unlabelled target frames first (widths_calibrated.json,
slimda_widths_calibrated.*). Steps whose output exists are skipped.
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.layout import TARGETS, JobLayout
    from experiments.main_job import add_process_arguments, tools_from_arguments
    from experiments.slimda_width_study import (bank_config, evaluate_record, merge_step,
                                                study_dir, study_name, training_steps,
                                                write_study)
    from mtda.config import load_config
    from mtda.errors import MtdaError
    from mtda.io.atomic import atomic_write_bytes
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dirs', nargs='+', required=True,
                        help='main-job work dirs of the DAFormer miniature, one per seed')
    parser.add_argument('--targets', nargs='+', choices=TARGETS, default=list(TARGETS),
                        help='targets whose bank is compared with its widths trained alone')
    parser.add_argument('--merge-targets', nargs='*', choices=TARGETS, default=None,
                        help='targets whose banks are merged and evaluated at every width '
                             '(default: all four when --targets has all four, else none)')
    parser.add_argument('--widths', nargs='+', type=float, default=[0.25, 0.5, 0.75, 1.0],
                        help="the bank's widths to compare (configs/_base_/uda/slimda.py)")
    parser.add_argument('--iters', type=int, default=None,
                        help="training iterations of every bank and alone run (default: the "
                             "configs', as the DAFormer singles)")
    parser.add_argument('--calibrate-frames', type=int, default=0, metavar='N',
                        help='BN-calibrate every bank width, alone width and single on N '
                             'unlabelled target training frames before evaluating (SlimDA\'s '
                             'calibration; no merged bank then); writes *widths_calibrated.*')
    add_process_arguments(parser)
    args = parser.parse_args(argv)
    known = load_config(str(bank_config(args.targets[0]))).model.segmentor.width_mult_list
    if not set(args.widths) <= set(known):
        parser.error(f'--widths {" ".join(f"{w:g}" for w in args.widths)}: the bank has the '
                     f'widths {" ".join(f"{w:g}" for w in known)}')
    merge = args.merge_targets
    if merge is None:
        merge = list(TARGETS) if set(args.targets) == set(TARGETS) else []
    if args.calibrate_frames < 0:
        parser.error(f'--calibrate-frames {args.calibrate_frames}: give 0 (off) or a count')
    if args.calibrate_frames and merge:
        parser.error('--calibrate-frames evaluates no merged bank; add --merge-targets with '
                     'no target, or drop --calibrate-frames')
    if len(merge) == 1:
        parser.error(f'--merge-targets {merge[0]}: a merge needs two banks or more')
    layouts = [JobLayout(d) for d in args.work_dirs]
    for layout in layouts:
        for target in args.targets:
            if not layout.stage_one_weights(target).is_file():
                raise MtdaError(f'{layout.stage_one_weights(target)}: no DAFormer single (width 1 '
                                f'alone); run tools/run_mtda.py --work-dir {layout.root} first')
    tools = tools_from_arguments(REPO / 'tools', args)
    records = []
    for layout in layouts:
        tools.run_all(training_steps(layout, args.widths, args.targets, bank_targets=merge,
                                     iters=args.iters))
        if merge:
            tools.run_all(merge_step(layout, merge))
        record = evaluate_record(layout, args.widths, args.targets, merge_targets=merge,
                                 calibrate_frames=args.calibrate_frames)
        atomic_write_bytes(study_dir(layout) / f'{study_name(args.calibrate_frames)}.json',
                           (json.dumps(record, indent=1) + '\n').encode())
        records.append(record)
    paths = write_study(records, layouts[0].root)
    print(paths['md'].read_text())
    print(f'curves: {paths["png"]}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
