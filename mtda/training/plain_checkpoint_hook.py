"""``PlainCheckpointHook``: mmengine checkpoints that load with ``torch.load(weights_only=True)``.

mmengine 0.10.7 pickles its message hub's ``HistoryBuffer`` objects into every checkpoint; their
pickle names ``builtins.getattr`` (for the statistics methods) and numpy's array reconstruction,
so torch >= 2.6's default ``weights_only=True`` refuses the file, and allow-listing ``getattr``
would let any checkpoint call any attribute. Instead, this hook stores each buffer as plain data
(lists and ints) before the checkpoint is written and rebuilds the buffers right after a
checkpoint is loaded, before mmengine hands them to the message hub on ``--resume``. The run's own
checkpoints are then plain data like every other file mtda reads; no allow-list is needed.
"""
from typing import Any

from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmseg.registry import HOOKS

from ..io.checkpoint import primitive

_PLAIN_BUFFER = '__history_buffer__'


def history_buffer_to_plain(buffer: HistoryBuffer) -> dict:
    """A HistoryBuffer as a dict of lists (the inverse of :func:`plain_to_history_buffer`)."""
    log, count = buffer.data
    return {_PLAIN_BUFFER: True, 'log_history': log.tolist(), 'count_history': count.tolist(),
            'max_length': int(buffer.max_length)}


def plain_to_history_buffer(plain: dict) -> HistoryBuffer:
    return HistoryBuffer(plain['log_history'], plain['count_history'],
                         max_length=plain['max_length'])


def _is_plain_buffer(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_PLAIN_BUFFER) is True


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Write the message hub as plain data; restore HistoryBuffers when a checkpoint is loaded."""
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not isinstance(hub, dict):
            return
        hub['log_scalars'] = {key: history_buffer_to_plain(buf) if isinstance(buf, HistoryBuffer)
                              else buf for key, buf in hub.get('log_scalars', {}).items()}
        hub['runtime_info'] = primitive(hub.get('runtime_info', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not isinstance(hub, dict):
            return
        hub['log_scalars'] = {key: plain_to_history_buffer(v) if _is_plain_buffer(v) else v
                              for key, v in hub.get('log_scalars', {}).items()}
