"""The main job end to end: data -> labels -> shared init -> stage one per target -> data-free
merges -> every model on every target, one per-domain table with H-mean.

    python tools/run_mtda.py [CONFIG] [--work-dir D] [--seed 0] [--data-seed 0] [--data-size S]
                             [--pretrain-iters N] [--uda-iters N] [--jobs N] [--threads N]

CONFIG is an experiment config (configs/mtda/*.py); the default is the miniature synthetic one,
configs/mtda/gta2all_daformer_efficientnet-lite0_tiny.py (--family picks another tiny model
family). Independent steps run --jobs at a time. Steps whose output exists are skipped, so an
interrupted job continues where it stopped.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from experiments.main_job import (DEFAULT_FAMILY, add_process_arguments, load_experiment,
                                      run_main_job, tiny_experiment, tiny_families,
                                      tools_from_arguments)
    configs = REPO / 'configs'
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', metavar='CONFIG',
                        help='experiment config (default: configs/mtda/gta2all_<family>.py)')
    parser.add_argument('--family', default=DEFAULT_FAMILY, choices=tiny_families(configs),
                        help='tiny model family when no CONFIG is given')
    parser.add_argument('--work-dir', help="default: the experiment's work_dir")
    parser.add_argument('--seed', type=int, default=0, help='training seed')
    parser.add_argument('--data-seed', type=int, default=0, help='synthetic data seed')
    parser.add_argument('--data-size', help="synthetic data size (default: the experiment's)")
    parser.add_argument('--pretrain-iters', type=int, help='override the pretraining length')
    parser.add_argument('--uda-iters', type=int, help='override each stage-one run\'s length')
    add_process_arguments(parser)
    args = parser.parse_args(argv)
    experiment = (load_experiment(args.config) if args.config
                  else tiny_experiment(configs, args.family))
    run_main_job(experiment, tools=tools_from_arguments(REPO / 'tools', args),
                 work_dir=args.work_dir, seed=args.seed, data_seed=args.data_seed,
                 data_size=args.data_size, pretrain_iters=args.pretrain_iters,
                 uda_iters=args.uda_iters)


if __name__ == '__main__':
    sys.exit(run_tool(main))
