"""The one exception type mtda raises for bad input.

Tools catch :class:`MtdaError` at the top level and print ``error: <message>`` as a single line with a
non-zero exit code, so every message must name the offending file or option *and* say how to fix it.
"""


class MtdaError(Exception):
    """Bad user input: a missing or corrupt file, an incompatible checkpoint, a wrong option."""


class DataError(MtdaError):
    """A dataset on disk is missing, empty or holds values it must not hold."""


class CheckpointError(MtdaError):
    """A checkpoint cannot be read safely or does not fit what it is used for."""


class MergeError(MtdaError):
    """Checkpoints that cannot be merged (keys, shapes, dtypes, lineage, weights)."""
