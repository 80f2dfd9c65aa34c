"""``ExportWeightsHook``: weights-only checkpoints that other users and stage two can load.

mmengine's own checkpoints (``iter_N.pth``) carry optimizer state and message-hub objects; they
are for resuming the run. Alongside them this hook writes ``<work_dir>/weights/iter_N.pth`` and
``<work_dir>/weights/final.pth``: the segmentor's ``state_dict`` plus primitive ``meta`` (config
name, iteration, classes and palette (also as mmseg's ``dataset_meta``), init sha256, mtda/torch
versions), which loads with ``torch.load(weights_only=True)`` and with ``mmseg.apis.init_model``.
"""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.dist import is_main_process
from mmseg.registry import HOOKS

from ..io import atomic_save
from ..io.checkpoint import clean_meta, provenance
from ..models.segmentor import segmentor_of


@HOOKS.register_module()
class ExportWeightsHook(Hook):
    """Write weights-only segmentor checkpoints every ``interval`` iterations and at the end.

    Args:
        interval: iterations between exports; ``None`` follows the CheckpointHook's interval
            (one export beside each resumable checkpoint); ``<= 0``: only the final one.
        out_dir: folder under the work dir.
        model_attr: attribute of the runner's model holding the segmentor to export (``None``:
            a UDA wrapper's ``student``, else the model itself).
    """
    priority = 'LOW'

    def __init__(self, interval: Optional[int] = None, out_dir: str = 'weights',
                 model_attr: Optional[str] = None) -> None:
        self.interval = interval
        self.out_dir = out_dir
        self.model_attr = model_attr

    @staticmethod
    def _root(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _segmentor(self, runner):
        if self.model_attr:
            return getattr(self._root(runner), self.model_attr)
        return segmentor_of(runner.model)[0]  # UDA wrappers export their student

    def export(self, runner, file_name: str) -> None:
        if not is_main_process():
            return
        cfg = runner.cfg
        meta = provenance(
            config=osp.basename(cfg.filename or ''), iteration=runner.iter,
            experiment_name=runner.experiment_name, seed=runner.seed,
            source_domain=cfg.get('source_domain'), target_domain=cfg.get('target_domain'),
            # lineage: the shared init a UDA model was started from (see mtda.models.shared_init)
            init_sha256=getattr(self._root(runner), 'init_sha256', None),
            classes=list(runner.train_dataloader.dataset.metainfo.get('classes', ())),
            palette=[list(p) for p in runner.train_dataloader.dataset.metainfo.get('palette', ())])
        # where mmseg.apis.init_model looks for them (it warns and guesses without)
        meta['dataset_meta'] = dict(classes=meta['classes'], palette=meta['palette'])
        state = {k: v.detach().cpu() for k, v in self._segmentor(runner).state_dict().items()}
        atomic_save(dict(state_dict=state, meta=clean_meta(meta)),
                    osp.join(runner.work_dir, self.out_dir, file_name))

    def before_train(self, runner) -> None:
        if self.interval is None:
            from mmengine.hooks import CheckpointHook
            intervals = [h.interval for h in runner.hooks if isinstance(h, CheckpointHook)
                         and not h.by_epoch]
            self.interval = intervals[0] if intervals else -1

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval > 0 and self.every_n_train_iters(runner, self.interval):
            self.export(runner, f'iter_{runner.iter + 1}.pth')

    def after_train(self, runner) -> None:
        self.export(runner, 'final.pth')
