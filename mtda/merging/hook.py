"""``MergeHook``: stage two inside mmengine, merging per-domain checkpoints into the runner's model.

The hook is the mmengine edge of :mod:`mtda.merging.files`: before the first validation or test it
merges the files into the runner's segmentor (a UDA wrapper's student), saves the result with its
provenance and, for ``heads='separate'``, hands each domain's own head to the multi-domain loop.
``import mtda`` registers it, so any mmseg config can merge this way::

    custom_imports = dict(imports=['mtda'], allow_failed_imports=False)
    custom_hooks = [dict(type='MergeHook', checkpoints=['cs.pth', 'idd.pth'], out='merged.pth')]

Call graph::

    MergeHook.before_test / before_val (once)
      merge_into(model)
        classify_state_dict_entries(segmentor)   what each entry is, from the module tree
        permutation_spec_of(segmentor)            --method rebasin|zipit: its permutation groups
        merge_files(spec)                         mtda.merging.files: stream, heads, warnings
        or zip_checkpoint_files(spec, ...)        --method zipit: the models on images
                                                  (mtda.merging.zip_images), zipped
        load_state_strict(segmentor)
        save_merged                               atomic .pth (+ .safetensors), main process only
      loop.domain_state_overrides                 heads='separate': each domain with its own head

``tools/merge.py`` (through :func:`mtda.apis.merge_checkpoints`) builds the hook from a checked
:class:`~mtda.merging.files.MergeSpec` and registers it on the runner.
"""
import copy
import functools
import logging
from pathlib import Path
from typing import Optional, Sequence

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from mtda.errors import MergeError
from mtda.merging.classify import classify_state_dict_entries
from mtda.merging.files import (REBASIN, ZIPIT, MergedCheckpoints, MergeSpec, merge_files,
                                merge_provenance, save_merged)
from mtda.merging.zip_images import image_batches, run_segmentor, sample_images, source_image_folder
from mtda.merging.zipit.checkpoints import zip_checkpoint_files
from mtda.models.permutation_specs import permutation_spec_of
from mtda.models.segmentor import (batchnorm_types, build_segmentor, load_state_strict,
                                   segmentor_of)


@HOOKS.register_module()
class MergeHook(Hook):
    """Merge checkpoints into the runner's model before the first validation or test.

    Args:
        checkpoints: two or more files fine-tuned from one init (stage one's exports or full UDA
            checkpoints), in merge order.
        weights, buffers, heads, model, domains, allow_different_init, out, safetensors, method,
            base, scale, density, drop, topk, method_seed, zip_images, zip_count, zip_alpha,
            zip_beta, zip_until: see :class:`~mtda.merging.files.MergeSpec`, which checks them.
        progress: a progress bar over the checkpoints while merging.
    """

    priority = 'VERY_HIGH'  # the model must be merged before any other hook sees it

    def __init__(self, checkpoints: Sequence[str], weights: Optional[Sequence[float]] = None,
                 buffers: str = 'pool', heads: str = 'merge', model: str = 'student',
                 domains: Optional[Sequence[str]] = None, allow_different_init: bool = False,
                 out: Optional[str] = None, safetensors: bool = False, method: str = 'average',
                 base: Optional[str] = None, scale: Optional[float] = None, density: float = 0.2,
                 drop: float = 0.9, topk: str = 'tensor', method_seed: int = 0,
                 zip_images: Optional[str] = None, zip_count: Optional[int] = None,
                 zip_alpha: Optional[float] = None, zip_beta: Optional[float] = None,
                 zip_until: Optional[str] = None, progress: bool = True) -> None:
        self.spec = MergeSpec(checkpoints, weights=weights, buffers=buffers, heads=heads,
                              model=model, domains=domains,
                              allow_different_init=allow_different_init, out=out,
                              safetensors=safetensors, method=method, base=base, scale=scale,
                              density=density, drop=drop, topk=topk, method_seed=method_seed,
                              zip_images=zip_images, zip_count=zip_count, zip_alpha=zip_alpha,
                              zip_beta=zip_beta, zip_until=zip_until)
        self.progress = progress
        self.merged: Optional[MergedCheckpoints] = None
        self.saved: list[Path] = []

    @classmethod
    def from_spec(cls, spec: MergeSpec, *, progress: bool = True) -> 'MergeHook':
        """A hook for an already checked spec (no second check of the files)."""
        hook = cls.__new__(cls)
        hook.spec, hook.progress, hook.merged, hook.saved = spec, progress, None, []
        return hook

    @property
    def out(self) -> Optional[str]:
        return self.spec.out

    @property
    def domain_heads(self) -> dict:
        return self.merged.domain_heads if self.merged is not None else {}

    def merge_into(self, model: torch.nn.Module, *, config_domains: Sequence[str] = (),
                   config: Optional[str] = None, cfg=None) -> MergedCheckpoints:
        """Merge the checkpoints, load the result into ``model`` and save it to ``out``.

        Args:
            model: the runner's model (a segmentor, a UDA wrapper or a DDP wrapper of either).
            config_domains: the domains the model will be evaluated on (for separate heads).
            config: the config's file name, for the provenance.
            cfg: the loaded config (``--method zipit``: its source images and test pipeline).
        """
        segmentor, _ = segmentor_of(model)
        kinds = classify_state_dict_entries(segmentor, batchnorm_types=batchnorm_types())
        if self.spec.method == ZIPIT:
            merged = self._zip(segmentor, kinds, config_domains, cfg)
        else:
            permutations = permutation_spec_of(segmentor) if self.spec.method == REBASIN else None
            merged = merge_files(self.spec, kinds=kinds, config_domains=config_domains,
                                 permutations=permutations, progress=self.progress)
        for name, matching in merged.matchings.items():
            print_log(f'MergeHook: Re-Basin matched {name} to {self.spec.checkpoints[0]}: '
                      f'{100 * matching.fixed_fraction():.1f} % of its units left in place '
                      f'({matching.rounds} sweeps)', logger='current')
        for line in merged.warnings:
            print_log(f'MergeHook: {line}', logger='current', level=logging.WARNING)
        load_state_strict(segmentor, merged.result.state_dict, 'the merged checkpoint')
        if self.spec.out is not None and is_main_process():
            meta = merge_provenance(merged, heads=self.spec.heads, config=config)
            self.saved = save_merged(merged, self.spec.out, meta=meta,
                                     safetensors=self.spec.safetensors)
            print_log(f'MergeHook: saved {", ".join(map(str, self.saved))}', logger='current')
        self.merged = merged
        return merged

    def _zip(self, segmentor, kinds, config_domains, cfg) -> MergedCheckpoints:
        """``--method zipit``: the checkpoints run side by side on the sampled images, zipped."""
        if cfg is None:
            raise MergeError('--method zipit runs the models on images through the config\'s test '
                             'pipeline: pass the loaded config (merge_into(..., cfg=cfg))')
        options = self.spec.zip_options
        folder = source_image_folder(cfg) if options['images'] == 'source' else options['images']
        files = sample_images(folder, options['count'], seed=self.spec.method_seed)
        print_log(f'MergeHook: ZipIt! reads {len(files)} images of {folder}', logger='current')
        pipeline_cfg = copy.deepcopy(cfg)  # mmseg's inference edits the test pipeline it reads
        # A plain segmentor of the config, with its own data preprocessor: a UDA wrapper's student
        # has none (the wrapper preprocesses its batches).
        plain = build_segmentor(cfg).to(next(segmentor.parameters()).device)
        merged = zip_checkpoint_files(
            self.spec, plain, permutation_spec_of(plain), image_batches(files),
            functools.partial(run_segmentor, cfg=pipeline_cfg), kinds=kinds,
            config_domains=config_domains, batchnorm_types=batchnorm_types())
        zipped = merged.result.method_options
        print_log(f'MergeHook: ZipIt! zipped {zipped["zipped_groups"]} feature spaces '
                  f'({zipped["within_model_merges"]} merges within a model), re-estimated '
                  f'{zipped["batchnorm_layers"]} BatchNorm layers'
                  + (f', kept {len(merged.domain_heads)} tails from {options["until"]} on'
                     if options['until'] else ''), logger='current')
        return merged

    def _merge_before(self, runner, loop) -> None:
        separate = self.spec.heads == 'separate' or self.spec.zip_until is not None
        if separate and not hasattr(loop, 'domain_state_overrides'):
            raise MergeError(f'--heads separate evaluates each domain with its own head, which '
                             f'needs a MultiDomainTestLoop/MultiDomainValLoop, not '
                             f'{type(loop).__name__}; set test_cfg as configs/_base_/datasets/'
                             'targets_val*.py do')
        if self.merged is None:
            domains = list(getattr(loop, 'dataloaders', {}))
            self.merge_into(runner.model, config_domains=domains,
                            config=Path(runner.cfg.filename).name if runner.cfg.filename else None,
                            cfg=runner.cfg)
        if separate:
            _, prefix = segmentor_of(runner.model)
            loop.domain_state_overrides = {
                domain: {prefix + key: value for key, value in head.items()}
                for domain, head in self.domain_heads.items()}

    def before_val(self, runner) -> None:
        self._merge_before(runner, runner.val_loop)

    def before_test(self, runner) -> None:
        self._merge_before(runner, runner.test_loop)
