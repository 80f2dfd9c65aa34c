"""``UDADataPreProcessor``: mmseg's SegDataPreProcessor applied to the source and the target half
of a UDA batch (``{'source': {...}, 'target': {...}}``, see :class:`mtda.datasets.UDADataset`).

Evaluation batches are ordinary mmseg batches and pass through unchanged.
"""
from typing import Any, Dict

from mmseg.models import SegDataPreProcessor
from mmseg.registry import MODELS


@MODELS.register_module()
class UDADataPreProcessor(SegDataPreProcessor):
    """Normalise, convert and pad both halves of a UDA batch; arguments as SegDataPreProcessor."""

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        if 'source' in data and 'target' in data:
            return dict(source=super().forward(data['source'], training),
                        target=super().forward(data['target'], training))
        return super().forward(data, training)
