"""Evaluation of one model on every target domain in one mmengine loop.

The config names the domains and their val/test datasets; the dataloader config is a template
(batch size, sampler, workers) shared by all domains::

    test_dataloader = dict(batch_size=1, num_workers=2,
                           sampler=dict(type='DefaultSampler', shuffle=False))
    test_evaluator = dict(type='DomainIoUMetric')
    test_cfg = dict(type='MultiDomainTestLoop',
                    domains=dict(cityscapes=cityscapes_val, idd=idd_val, ...))

For each domain the loop builds a dataloader and a fresh evaluator, runs the model over it and
reduces the metric; the logged metrics are ``<domain>/mIoU`` (and aAcc, mAcc), ``hmean`` and
``mean``; :attr:`domain_metrics` keeps the full per-domain numbers (per-class IoU, image count) that
:mod:`mtda.evaluation.results` turns into the results files. ``MultiDomainValLoop`` does the same
for validation during training (checkpoint selection can use ``save_best='hmean'``).

:attr:`domain_state_overrides` (``{domain: {state-dict key: tensor}}``, empty by default) lets a
domain be evaluated with some entries of the model replaced, e.g. its own decode head for the
encoder-only merge (``MergeHook(heads='separate')``); the model is restored after the domain.
"""
import contextlib
import copy
import os.path as osp
from typing import Dict, Mapping

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, ValLoop
from mmseg.registry import LOOPS

from ..errors import MtdaError
from .scores import harmonic_mean

SUMMARY_KEYS = ('mIoU', 'aAcc', 'mAcc')


def require_multi_domain_test_cfg(cfg, config_path: str) -> None:
    """Raise MtdaError unless the config's ``test_cfg`` is a MultiDomainTestLoop with domains."""
    test_cfg = cfg.get('test_cfg') or {}
    if test_cfg.get('type') != 'MultiDomainTestLoop' or not test_cfg.get('domains'):
        raise MtdaError(f'{config_path}: test_cfg must be a MultiDomainTestLoop with target '
                        'domains; inherit configs/_base_/datasets/targets_val*.py')


def nest_domain_metrics(flat: Mapping[str, float]) -> dict:
    """``{'mIoU':.., 'IoU.road':..}`` -> ``{'mIoU':.., 'IoU': {'road': ..}}``."""
    nested: Dict[str, object] = {}
    per_class: Dict[str, float] = {}
    for key, value in flat.items():
        if key.startswith('IoU.'):
            per_class[key[len('IoU.'):]] = value
        else:
            nested[key] = value
    nested['IoU'] = per_class
    return nested


class _MultiDomainLoopMixin:
    """Shared set-up and loop body; ``_stage`` is 'val' or 'test'."""
    _stage = 'test'

    def _build_domains(self, runner, dataloader: Mapping, evaluator, domains: Mapping) -> None:
        if not domains:
            raise ValueError(f'{type(self).__name__} needs at least one domain in `domains`')
        template = {k: v for k, v in dict(dataloader).items() if k != 'dataset'}
        self._runner = runner
        self.dataloaders, self.evaluators = {}, {}
        for name, dataset_cfg in domains.items():
            loader = runner.build_dataloader(dict(copy.deepcopy(template), dataset=dataset_cfg),
                                             seed=runner.seed)
            metric_cfg = copy.deepcopy(evaluator)
            if isinstance(metric_cfg, dict) and metric_cfg.get('output_dir'):
                # predictions of each domain into their own folder
                metric_cfg['output_dir'] = osp.join(metric_cfg['output_dir'], name)
            metric = runner.build_evaluator(metric_cfg)
            metric.dataset_meta = loader.dataset.metainfo
            self.dataloaders[name], self.evaluators[name] = loader, metric
        first = next(iter(domains))
        #: the domain being evaluated (hooks read it, e.g. to file outputs per domain)
        self.domain = first
        self.dataloader, self.evaluator = self.dataloaders[first], self.evaluators[first]
        runner.visualizer.dataset_meta = self.dataloader.dataset.metainfo
        self.domain_metrics: Dict[str, dict] = {}
        self.domain_state_overrides: Dict[str, Dict[str, torch.Tensor]] = {}

    @contextlib.contextmanager
    def _domain_state(self, name: str):
        """Evaluate domain ``name`` with its entries of :attr:`domain_state_overrides` loaded."""
        override = self.domain_state_overrides.get(name)
        if not override:
            yield
            return
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        current = model.state_dict()
        unknown = sorted(set(override) - set(current))
        if unknown:
            raise KeyError(f'state override for domain {name!r} names keys the model lacks: '
                           f'{unknown[:3]}')
        saved = {key: current[key].detach().clone() for key in override}
        model.load_state_dict(override, strict=False)
        try:
            yield
        finally:
            model.load_state_dict(saved, strict=False)

    def run(self) -> dict:
        stage = self._stage
        self.runner.call_hook(f'before_{stage}')
        self.runner.call_hook(f'before_{stage}_epoch')
        self.runner.model.eval()
        metrics: Dict[str, float] = {}
        self.domain_metrics = {}
        for name in self.dataloaders:
            self.domain = name
            self.dataloader, self.evaluator = self.dataloaders[name], self.evaluators[name]
            with self._domain_state(name):
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
            flat = self.evaluator.evaluate(len(self.dataloader.dataset))
            self.domain_metrics[name] = nest_domain_metrics(flat)
            metrics.update({f'{name}/{key}': flat[key] for key in SUMMARY_KEYS if key in flat})
        mious = [m['mIoU'] for m in self.domain_metrics.values()]
        metrics['hmean'] = harmonic_mean(mious)
        metrics['mean'] = sum(mious) / len(mious)
        self.runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{stage}')
        return metrics


@LOOPS.register_module()
class MultiDomainTestLoop(_MultiDomainLoopMixin, TestLoop):
    """Test on every domain of ``domains`` (``{name: dataset config}``).

    Args:
        runner: the runner.
        dataloader: dataloader config template (its ``dataset``, if any, is ignored).
        evaluator: evaluator config, built once per domain.
        domains: ordered ``{domain name: dataset config}``.
        fp16: autocast during the forward pass.
    """
    _stage = 'test'

    def __init__(self, runner, dataloader: Mapping, evaluator, domains: Mapping,
                 fp16: bool = False) -> None:
        self._build_domains(runner, dataloader, evaluator, domains)
        self.fp16 = fp16
        self.test_loss = dict()


@LOOPS.register_module()
class MultiDomainValLoop(_MultiDomainLoopMixin, ValLoop):
    """Validation on every domain of ``domains``; arguments as :class:`MultiDomainTestLoop`."""
    _stage = 'val'

    def __init__(self, runner, dataloader: Mapping, evaluator, domains: Mapping,
                 fp16: bool = False) -> None:
        self._build_domains(runner, dataloader, evaluator, domains)
        self.fp16 = fp16
        self.val_loss = dict()
