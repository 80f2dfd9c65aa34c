"""Boxes of HRDA's detail crop and of its sliding-window inference, and cropping by a box.

Hoyer et al., "HRDA: Context-Aware High-Resolution Domain-Adaptive Semantic Segmentation", ECCV
2022 (``mmseg/models/segmentors/hrda_encoder_decoder.py``: ``get_crop_bbox``, ``crop``,
``extract_slide_feat``; ``mmseg/models/decode_heads/hrda_head.py``: ``scale_box``). A box is
``(y1, y2, x1, x2)`` in pixels, end-exclusive, as there.
"""
from typing import List, Sequence, Tuple

import torch

Box = Tuple[int, int, int, int]


def random_crop_box(height: int, width: int, crop_size: Sequence[int], *,
                    divisible: int = 1, generator: torch.Generator = None) -> Box:
    """A uniformly drawn ``crop_size`` box inside a ``height`` x ``width`` image whose corner
    coordinates are multiples of ``divisible`` (HRDA: 8, so that the box lands on whole cells of
    the context branch's stride-8 logit grid).

    Every multiple of ``divisible`` that keeps the box inside the image is possible (HRDA's draw
    leaves out the last one; the difference is one position per axis).
    """
    crop_h, crop_w = (int(s) for s in crop_size)
    if crop_h > height or crop_w > width:
        raise ValueError(f'HRDA detail crop {crop_h}x{crop_w} is larger than the {height}x{width} '
                         'image; lower hr_crop_size or train on larger crops')
    y1 = int(torch.randint((height - crop_h) // divisible + 1, (), generator=generator))
    x1 = int(torch.randint((width - crop_w) // divisible + 1, (), generator=generator))
    y1, x1 = y1 * divisible, x1 * divisible
    return y1, y1 + crop_h, x1, x1 + crop_w


def crop(x: torch.Tensor, box: Box) -> torch.Tensor:
    """The ``box`` region of the last two dimensions of ``x`` (a view)."""
    y1, y2, x1, x2 = box
    return x[..., y1:y2, x1:x2]


def scale_box(box: Box, factor: float) -> Box:
    """``box`` in the coordinates of a grid ``factor`` times coarser (HRDA's ``scale_box``)."""
    return tuple(int(c / factor) for c in box)


def slide_boxes(height: int, width: int, crop_size: Sequence[int],
                stride: Sequence[int]) -> List[Box]:
    """The windows of mmseg's sliding-window inference: a grid of ``stride`` steps whose last row
    and column are moved back to end at the image border; windows larger than the image are cut
    to it."""
    crop_h, crop_w = crop_size
    stride_h, stride_w = stride
    rows = max(height - crop_h + stride_h - 1, 0) // stride_h + 1
    cols = max(width - crop_w + stride_w - 1, 0) // stride_w + 1
    boxes = []
    for row in range(rows):
        for col in range(cols):
            y2, x2 = min(row * stride_h + crop_h, height), min(col * stride_w + crop_w, width)
            boxes.append((max(y2 - crop_h, 0), y2, max(x2 - crop_w, 0), x2))
    return boxes


def stitch(crop_logits: torch.Tensor, boxes: Sequence[Box], batch_size: int) -> torch.Tensor:
    """Average window logits into one map: ``crop_logits`` holds the windows of ``boxes`` one
    batch after another (``(len(boxes) * batch_size, C, h, w)``), the boxes are in the logits'
    own grid; overlapping windows are averaged."""
    height = max(box[1] for box in boxes)
    width = max(box[3] for box in boxes)
    channels = crop_logits.shape[1]
    total = crop_logits.new_zeros((batch_size, channels, height, width))
    count = crop_logits.new_zeros((1, 1, height, width))
    for index, (y1, y2, x1, x2) in enumerate(boxes):
        total[..., y1:y2, x1:x2] += crop_logits[index * batch_size:(index + 1) * batch_size]
        count[..., y1:y2, x1:x2] += 1
    return total / count  # every cell is covered: the last window of each axis ends at the border
