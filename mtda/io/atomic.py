"""Write any output file atomically: to a temporary name beside it, then renamed into place.

For writers that want a path rather than a file object (safetensors, matplotlib);
:func:`~mtda.io.checkpoint.atomic_save` does the same for ``torch.save``.
"""
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import MtdaError


@contextlib.contextmanager
def atomic_output(path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else remove it.

    Args:
        path: the final file; its folder is created.

    Raises:
        MtdaError: the file could not be written (e.g. a full disk), naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise MtdaError(f'{path}: could not be written ({exc.strerror or exc}); free disk space '
                        'or choose another output path') from None
    finally:
        Path(tmp).unlink(missing_ok=True)
