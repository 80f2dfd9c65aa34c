"""Leave-one-domain-out routing study: does each label-free criterion pick the right model for a
domain no model was adapted to?

    python tools/routing_study.py [CONFIG] [--work-dirs D [D ...]]

CONFIG is the experiment config the main job ran (default: the EfficientNet-Lite0 miniature); each
work dir is one main job (one seed, e.g. the claims study's <family>/seed<N>). Scenarios,
criteria and what is reported: experiments/routing_study.py and docs/routing.md. Writes
routing/routing.json into every work dir and routing_study.{json,md} into the first.
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.layout import JobLayout
    from experiments.main_job import add_experiment_argument, load_experiment
    from experiments.routing_study import render_markdown, run_seed, summarise
    from mtda.config import load_config
    from mtda.io.atomic import atomic_write_bytes
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    add_experiment_argument(parser)
    parser.add_argument('--work-dirs', nargs='+', help="main-job work dirs, one per seed "
                        "(default: the experiment's)")
    args = parser.parse_args(argv)
    experiment = load_experiment(args.config)
    work_dirs = args.work_dirs or [experiment.work_dir or Path('work_dirs') / experiment.name]
    cfg = load_config(str(experiment.first_config))  # its model and the four targets
    per_seed = {str(d): run_seed(cfg, JobLayout(d)) for d in work_dirs}
    summary = summarise(per_seed)
    out = JobLayout(work_dirs[0]).root
    atomic_write_bytes(out / 'routing_study.json',
                       (json.dumps(dict(summary, work_dirs=[str(d) for d in work_dirs],
                                        runs=per_seed), indent=1) + '\n').encode())
    text = render_markdown(summary, len(work_dirs))
    atomic_write_bytes(out / 'routing_study.md', text.encode())
    print(text)
    print(f'results: {out / "routing_study.json"}, {out / "routing_study.md"}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
