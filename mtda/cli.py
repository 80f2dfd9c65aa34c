"""What every mtda command-line tool shares: the error contract and common options.

Bad input surfaces as :class:`mtda.errors.MtdaError`; :func:`run_tool` prints it as one line,
``error: <message>``, on stderr and exits with status 2 (argparse's usage errors exit 2 as well).
"""
import argparse
import sys
from typing import Callable, Optional, Sequence

from .errors import MtdaError


def run_tool(main: Callable[[Optional[Sequence[str]]], Optional[int]],
             argv: Optional[Sequence[str]] = None) -> int:
    """Call ``main(argv)``; turn MtdaError into a one-line message and exit status 2."""
    try:
        return int(main(argv) or 0)
    except MtdaError as exc:
        message = ' '.join(str(exc).split())
        print(f'error: {message}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('error: interrupted', file=sys.stderr)
        return 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with the tools' error contract: a usage error is one line on stderr,
    ``error: <what> ; run <prog> --help``, and exit status 2 (argparse prints the usage too)."""

    def error(self, message: str):
        print(f'error: {message}; run {self.prog} --help for the options', file=sys.stderr)
        raise SystemExit(2)


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options`` and ``--launcher``, as mmseg's tools name them."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='directory for logs, checkpoints and results '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (pytorch = torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def current_log_file() -> Optional[str]:
    """The file mmengine's current logger writes to (the last runner's), if any."""
    import logging

    from mmengine.logging import MMLogger
    for handler in MMLogger.get_current_instance().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return None
