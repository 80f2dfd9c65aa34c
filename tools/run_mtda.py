"""The main job end to end on miniature synthetic data: data -> labels -> shared init ->
stage one per target -> data-free merges -> one per-domain table with H-mean.

    python tools/run_mtda.py [--family daformer_mit-b0_tiny] [--work-dir work_dirs/mtda_tiny]
                             [--seed 0] [--data-seed 0] [--pretrain-iters N] [--uda-iters N]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    from mtda.main_job import TINY_FAMILIES, run_main_job, tiny_experiment
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--family', default='daformer_mit-b0_tiny',
                        choices=TINY_FAMILIES,
                        help='tiny model family (configs/daformer/gta2*_<family>.py)')
    parser.add_argument('--work-dir', default='work_dirs/mtda_tiny')
    parser.add_argument('--seed', type=int, default=0, help='training seed')
    parser.add_argument('--data-seed', type=int, default=0, help='synthetic data seed')
    parser.add_argument('--pretrain-iters', type=int, help='override the pretraining length')
    parser.add_argument('--uda-iters', type=int, help='override each stage-one run\'s length')
    args = parser.parse_args(argv)
    run_main_job(tiny_experiment(args.family), work_dir=args.work_dir, seed=args.seed,
                 data_seed=args.data_seed,
                 pretrain_iters=args.pretrain_iters, uda_iters=args.uda_iters)


if __name__ == '__main__':
    sys.exit(run_tool(main))
