"""mtda: multi-target domain adaptation by training-free model merging.

Importing the package registers its datasets, metric and loops into mmseg's registries (configs
say ``custom_imports=dict(imports=['mtda'], allow_failed_imports=False)``).
"""
from .version import __version__

from . import datasets, evaluation, models, training  # noqa: E402,F401  (registration side effects)
# UDADataset pairs source and target and imports the RCS statistics from models.uda, so it is
# registered after both packages are loaded.
from .datasets import uda_dataset  # noqa: E402,F401

__all__ = ["__version__", "datasets", "evaluation", "models", "training"]
