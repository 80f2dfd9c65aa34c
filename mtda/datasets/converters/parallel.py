"""Run one function per label file, with a progress bar and optionally in worker processes.

Converting a real download is ~25k independent files, so ``--nproc`` spreads them over processes.
On the first failure no further file is started; files already in flight finish (their writes are
atomic, see :mod:`.atomic_files`), so a failed run leaves no half-written file and no temp file.
"""
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

Result = TypeVar('Result')


def map_files(work: Callable[[Path], Result], files: Sequence[Path], *, nproc: int = 1,
              desc: str) -> list[Result]:
    """``[work(f) for f in files]`` in file order, with a tqdm bar.

    Args:
        work: a picklable callable (module-level function or ``functools.partial`` of one) when
            ``nproc > 1``.
        nproc: number of worker processes; 1 runs in this process.
        desc: the progress bar's label.
    """
    # disable=None hides the bar when stderr is not a terminal, so logs and the one-line error
    # contract of the tools are not interleaved with carriage-return updates.
    with tqdm(total=len(files), desc=desc, unit='file', disable=None) as bar:
        if nproc <= 1 or len(files) <= 1:
            results = []
            for path in files:
                results.append(work(path))
                bar.update()
            return results
        pool = ProcessPoolExecutor(max_workers=min(nproc, len(files)))
        try:
            futures = [pool.submit(work, path) for path in files]
            for future in futures:
                future.add_done_callback(lambda _: bar.update())
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                raise failed[0].exception()
            return [future.result() for future in futures]
        finally:
            # Also on Ctrl-C: drop the files not yet started instead of converting all of them.
            pool.shutdown(wait=True, cancel_futures=True)
