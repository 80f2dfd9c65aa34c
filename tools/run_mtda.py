"""The main job end to end on miniature synthetic data: data -> labels -> training -> table.

    python tools/run_mtda.py [CONFIG] [--work-dir work_dirs/mtda_tiny] [--seed 0] [--max-iters N]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import run_tool  # noqa: E402


def main(argv=None):
    from mtda.main_job import DEFAULT_CONFIG, run_main_job
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', default=str(DEFAULT_CONFIG),
                        help='experiment config (default: the tiny synthetic experiment)')
    parser.add_argument('--work-dir', default='work_dirs/mtda_tiny')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-iters', type=int, help="override the config's training length")
    args = parser.parse_args(argv)
    run_main_job(args.config, work_dir=args.work_dir, seed=args.seed, max_iters=args.max_iters)


if __name__ == '__main__':
    sys.exit(run_tool(main))
