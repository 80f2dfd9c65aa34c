"""Train a segmentor from a config (stage one, or any mmseg-style training).

    python tools/train.py CONFIG [--work-dir D] [--resume] [--amp [--amp-dtype bfloat16]]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Multi-GPU: ``bash tools/dist_train.sh CONFIG GPUS`` (torchrun) or ``tools/slurm_train.sh``.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, add_config_args, run_tool  # noqa: E402


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='experiment config file')
    add_config_args(parser)
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training (GPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16',
                        help='autocast dtype with --amp (bfloat16 needs no loss scaling)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mtda.apis import train_from_config
    train_from_config(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                      launcher=args.launcher, resume=args.resume,
                      amp=args.amp_dtype if args.amp else None)


if __name__ == '__main__':
    sys.exit(run_tool(main))
