"""ZipIt! beside averaging and Git Re-Basin, on shared-init and different-init stage-one models.

    python tools/zipit_study.py [CONFIG] --work-dirs D0 D1 [D2 ...] [--jobs J] [--threads T]

CONFIG is the experiment config the main job ran (default: the EfficientNet-Lite0 miniature); each
work dir is one main job of another seed (``tools/run_mtda.py --seed N --work-dir DN``), whose
shared init differs from the others'. Seed i's different-init set takes IDD and Dark Zurich from
seed i+1 (the last from the first). Rows and what is reported: experiments/zipit_study.py and
docs/merging.md. Writes <work dir>/zipit/<row>/ per merge and zipit_study.{json,md} into the first.
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.layout import TARGETS, JobLayout
    from experiments.main_job import (add_experiment_argument, add_process_arguments,
                                      load_experiment, tools_from_arguments)
    from experiments.zipit_study import (merge_steps, model_cost, render_markdown, rows_of,
                                         summarise)
    from mtda.config import load_config
    from mtda.io.atomic import atomic_write_bytes
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    add_experiment_argument(parser)
    parser.add_argument('--work-dirs', nargs='+', required=True,
                        help='main-job work dirs, one per seed (two or more)')
    add_process_arguments(parser)
    args = parser.parse_args(argv)
    if len(args.work_dirs) < 2:
        parser.error('--work-dirs: give two or more seeds\' work dirs (the different-init set '
                     'takes models from two seeds)')
    experiment = load_experiment(args.config)
    layouts = [JobLayout(d) for d in args.work_dirs]
    tools = tools_from_arguments(REPO / 'tools', args)
    for i, layout in enumerate(layouts):
        tools.run_all(merge_steps(experiment.first_config, layout,
                                  layouts[(i + 1) % len(layouts)]))
    per_seed = {str(layout.root): rows_of(layout) for layout in layouts}
    summary = summarise(per_seed)
    out = layouts[0].root
    runs = {root: {f'{setting}/{row}': record for (setting, row), record in rows.items()}
            for root, rows in per_seed.items()}
    cost = model_cost(load_config(str(experiment.first_config)))
    atomic_write_bytes(out / 'zipit_study.json', (json.dumps(
        dict(summary=summary, cost=cost, work_dirs=args.work_dirs, runs=runs), indent=1)
        + '\n').encode())
    text = render_markdown(summary) + (
        f'\nParameters and FLOPs per {cost["image_size"][0]}x{cost["image_size"][1]} image: every '
        f'full merge {cost["params"] / 1e6:.2f} M, {cost["flops"] / 1e9:.3f} GFLOPs; the '
        f'backbone-only zip {cost["zipped_trunk_params"] / 1e6:.2f} M ({len(TARGETS)} '
        f'{cost["tail"]}s of {cost["tail_params"] / 1e6:.2f} M), {cost["flops"] / 1e9:.3f} '
        f'GFLOPs per image through its domain\'s tail, '
        f'{cost["zipped_trunk_flops_all_tails"] / 1e9:.3f} through all tails\n')
    atomic_write_bytes(out / 'zipit_study.md', text.encode())
    print(text)
    print(f'results: {out / "zipit_study.json"}, {out / "zipit_study.md"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
