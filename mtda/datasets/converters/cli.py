"""The shared command line of ``tools/convert_datasets/*.py``: parse, convert, print one line.

Exit codes follow the project's tool contract: 0 on success, 2 with ``error: <one line>`` on stderr
for bad input (any :class:`~mtda.errors.MtdaError`).
"""
import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Optional

from mtda.cli import ArgumentParser
from mtda.errors import MtdaError

from .summary import ConversionSummary


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def run_converter(convert: Callable[..., ConversionSummary], *, description: str,
                  out_dir_help: Optional[str] = None, argv: Optional[Sequence[str]] = None) -> int:
    """Run one dataset's ``convert`` from the command line; returns the exit code.

    Args:
        convert: ``convert(data_root, *, nproc[, out_dir])`` of a converter module.
        description: the ``--help`` text (the tool's docstring).
        out_dir_help: help for ``--out-dir``; None for converters that write no side files, which
            then do not offer the option.
        argv: arguments without the program name (default: ``sys.argv[1:]``).
    """
    parser = ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    dataset = convert.__module__.rsplit('.', 1)[-1]
    parser.add_argument('data_root', metavar='DATA_ROOT', help=f'the dataset folder, e.g. data/{dataset}')
    parser.add_argument('--nproc', type=_positive_int, default=1, metavar='N',
                        help='worker processes (default: 1)')
    if out_dir_help is not None:
        parser.add_argument('--out-dir', metavar='DIR', help=out_dir_help)
    args = parser.parse_args(argv)
    options = {'nproc': args.nproc}
    if out_dir_help is not None:
        options['out_dir'] = args.out_dir
    start = time.perf_counter()
    try:
        summary = convert(args.data_root, **options)
    except MtdaError as exc:
        message = ' '.join(str(exc).splitlines())
        print(f'error: {message}', file=sys.stderr)
        return 2
    print(f'{summary} [{time.perf_counter() - start:.1f} s]')
    return 0
