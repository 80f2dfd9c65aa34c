"""The main job end to end: data -> labels -> shared init -> stage one per target -> data-free
merges -> every model on every target, one per-domain table with H-mean.

    python tools/run_mtda.py [CONFIG] [--work-dir D] [--seed 0] [--data-seed 0]
                             [--pretrain-iters N] [--uda-iters N]

CONFIG is an experiment config (configs/mtda/*.py); the default is the miniature synthetic one,
configs/mtda/gta2all_daformer_mit-b0_tiny.py (--family picks another tiny model family). Steps
whose output exists are skipped, so an interrupted job continues where it stopped.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.main_job import (Tools, load_experiment, run_main_job, tiny_experiment,
                                      tiny_families)
    configs = REPO / 'configs'
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', metavar='CONFIG',
                        help='experiment config (default: configs/mtda/gta2all_<family>.py)')
    parser.add_argument('--family', default='daformer_mit-b0_tiny', choices=tiny_families(configs),
                        help='tiny model family when no CONFIG is given')
    parser.add_argument('--work-dir', help="default: the experiment's work_dir")
    parser.add_argument('--seed', type=int, default=0, help='training seed')
    parser.add_argument('--data-seed', type=int, default=0, help='synthetic data seed')
    parser.add_argument('--pretrain-iters', type=int, help='override the pretraining length')
    parser.add_argument('--uda-iters', type=int, help='override each stage-one run\'s length')
    args = parser.parse_args(argv)
    experiment = (load_experiment(args.config) if args.config
                  else tiny_experiment(configs, args.family))
    run_main_job(experiment, tools=Tools(REPO / 'tools'), work_dir=args.work_dir, seed=args.seed, data_seed=args.data_seed,
                 pretrain_iters=args.pretrain_iters, uda_iters=args.uda_iters)


if __name__ == '__main__':
    sys.exit(run_tool(main))
