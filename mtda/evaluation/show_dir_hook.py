"""``DomainShowDirHook``: mmseg's ``--show-dir`` drawings, filed per target domain.

mmseg's ``tools/test.py --show-dir`` turns on ``SegVisualizationHook``, which names each drawing
``test_<image basename>_<iteration>.png``: in a multi-domain test the four targets' images land in
one folder, and images with the same basename (IDD's per-sequence ``000123_leftImg8bit.png``, ACDC's
and Dark Zurich's ``GOPR…`` frames) overwrite each other. This hook draws the same picture with
mmseg's ``SegLocalVisualizer.add_datasample`` (the label, where the data sample has one, beside
the prediction, each blended over the image) and writes it to
``<show_dir>/<domain>/<image path under the dataset's img_path>.png``, one file per test image,
each written atomically.
"""
import os
import os.path as osp
from pathlib import Path
from typing import Optional, Sequence

import mmcv
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..io.atomic import atomic_output


@HOOKS.register_module()
class DomainShowDirHook(Hook):
    """Draw every test prediction into ``show_dir/<domain>/``.

    Args:
        show_dir: the root folder of the drawings.
        with_labels: write class names on the drawing (mmseg's default; off here, the tiny
            miniature frames are smaller than the text).
    """
    priority = 'LOW'

    def __init__(self, show_dir: str, with_labels: bool = False) -> None:
        self.show_dir = Path(show_dir)
        self.with_labels = with_labels

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        loop = runner.test_loop
        domain = getattr(loop, 'domain', 'test')
        root = loop.dataloader.dataset.data_prefix.get('img_path', '')
        for sample in outputs or ():
            relative = osp.relpath(sample.img_path, root) if root else osp.basename(sample.img_path)
            if relative.startswith('..'):
                relative = osp.basename(sample.img_path)
            out = (self.show_dir / domain / relative).with_suffix('.png')
            image = mmcv.imread(sample.img_path, channel_order='rgb')
            with atomic_output(out) as tmp:
                drawn = tmp.with_name(tmp.name + '.png')  # mmcv picks the encoder by suffix
                try:
                    runner.visualizer.add_datasample(
                        f'{domain}/{relative}', image, data_sample=sample, show=False,
                        out_file=str(drawn), with_labels=self.with_labels)
                    os.replace(drawn, tmp)
                finally:
                    drawn.unlink(missing_ok=True)
