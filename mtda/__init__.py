"""mtda: multi-target domain adaptation by training-free model merging.

Importing the package registers its datasets, models, metric, loops and hooks (``MergeHook``
included) into mmseg's registries; configs say
``custom_imports=dict(imports=['mtda'], allow_failed_imports=False)``. The layers and the data flow
between them are drawn in ``docs/architecture.md``.
"""
from .version import __version__

from . import datasets, evaluation, io, models, training  # noqa: E402,F401  (registration side effects)
from .merging import hook as _merge_hook  # noqa: E402,F401  (registers MergeHook)

__all__ = ['__version__', 'datasets', 'evaluation', 'models', 'training']
