"""``MergeHook``: stage two inside mmengine, merging per-domain checkpoints into the runner's model.

The hook is the edge around the pure core of :mod:`mtda.merging`: it reads the files (weights-only,
student or teacher), classifies the entries from the model's own module tree, lets
:func:`~mtda.merging.stream.merge_state_dicts` merge them with one checkpoint in memory at a time,
loads the result into the model before the first validation or test, and saves it with its
provenance. Any mmseg config can merge this way::

    custom_imports = dict(imports=['mtda', 'mtda.merging.hook'])
    custom_hooks = [dict(type='MergeHook', checkpoints=['cs.pth', 'idd.pth'], out='merged.pth')]

``tools/merge.py`` is a thin wrapper around :func:`run_merge`, which adds the hook to a config and
runs the test loop (or, without evaluation, merges into a model built from the config).

Call graph::

    MergeHook.before_test / before_val (once)
      merge_into(model)
        merge_checkpoint_files       one loader per file: load_checkpoint_file (weights-only)
          merge_state_dicts            -> select_segmentor_state (student/teacher) -> lineage check
                                       -> [heads='separate': keep a copy of its head]
        load_weights_into(segmentor)
        assign_domain_heads          heads='separate': which domain each checkpoint's head serves
        save_merged                  atomic .pth (+ .safetensors), provenance in ``meta``
      loop.domain_state_overrides    heads='separate': each domain evaluated with its own head

``heads='separate'`` is the paper's encoder-only merge ("Ours†", ``merge.py --sep_head``): the whole
model is merged, then each domain is evaluated with the decode head (and the head's BatchNorm
buffers) of its own checkpoint. Domains without a checkpoint of their own keep the merged head.
The per-domain heads are saved in the output under ``domain_heads`` (``{domain: {key: tensor}}``);
``state_dict`` holds the fully merged model, so the file is an ordinary mmseg checkpoint as well.
"""
import copy
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import HOOKS, MODELS
from tqdm import tqdm

from mtda.datasets.data_check import check_datasets
from mtda.errors import CheckpointError, MergeError
from mtda.evaluation.evaluate import load_weights_into, require_multi_domain_test_cfg
from mtda.evaluation.results import model_results
from mtda.io import atomic_save, load_checkpoint_file, provenance
from mtda.io.atomic import atomic_output
from mtda.io.segmentor_state import SEGMENTOR_PREFIXES, select_segmentor_state
from mtda.merging.classify import (BATCHNORM_TYPES, EntryKind, classify_state_dict_entries,
                                   filter_by_prefix)
from mtda.merging.rules import normalize_merge_weights
from mtda.merging.stream import BUFFER_POLICIES, MergeResult, merge_state_dicts
from mtda.merging.validate import check_lineage

# Modules of an mmseg segmentor that --heads separate keeps per domain; everything else is the encoder.
HEAD_PREFIXES = ('decode_head', 'auxiliary_head')
HEAD_POLICIES = ('merge', 'separate')


def batchnorm_types() -> tuple:
    """torch's BatchNorm classes plus mmcv's ``SyncBatchNorm``, which keeps the same buffers."""
    try:
        from mmcv.ops import SyncBatchNorm
    except ImportError:  # mmcv built without ops
        return BATCHNORM_TYPES
    return BATCHNORM_TYPES + (SyncBatchNorm,)


def segmentor_of(model: torch.nn.Module) -> tuple[torch.nn.Module, str]:
    """The segmentor to merge into, and its key prefix inside ``model``'s state dict.

    A UDA wrapper (a model with a ``student`` attribute) merges into its student, as it evaluates
    the student; a DDP wrapper is unwrapped.
    """
    root = model.module if is_model_wrapper(model) else model
    segmentor = getattr(root, 'student', root)
    if segmentor is root:
        return root, ''
    name = next(name for name, module in root.named_modules() if module is segmentor)
    return segmentor, f'{name}.'


def check_merge_inputs(checkpoints: Sequence, *, out=None) -> list[str]:
    """Checks on the file list that need no file contents.

    Args:
        checkpoints: the input files, in merge order.
        out: the output file, if any.

    Returns:
        Warning lines (an input given twice counts twice in the average).

    Raises:
        MergeError: fewer than two inputs, or the output would overwrite an input.
        CheckpointError: an input that does not exist.
    """
    paths = [Path(p) for p in checkpoints]
    if len(paths) < 2:
        raise MergeError(f'merging needs at least two checkpoints, got {len(paths)} '
                         f'({", ".join(map(str, paths)) or "none"}); pass two or more')
    for path in paths:
        if not path.is_file():
            raise CheckpointError(f'{path}: no such checkpoint file; check the path')
    resolved = [p.resolve() for p in paths]
    if out is not None and Path(out).resolve() in resolved:
        raise MergeError(f'--out {out} is also an input checkpoint and would be overwritten; '
                         'choose another output path')
    warnings = []
    for i, path in enumerate(resolved):
        if path in resolved[:i]:
            warnings.append(f'{paths[i]} is given more than once, so it counts '
                            f'{resolved.count(path)} times in the average')
    return list(dict.fromkeys(warnings))


@dataclass
class MergedCheckpoints:
    """What :func:`merge_checkpoint_files` produced.

    Args:
        result: the merged state dict with names, weights and buffer policy.
        metas: each input's ``meta`` (``{}`` if it has none), in input order.
        heads: each input's decode/auxiliary head entries (``heads='separate'`` only, else empty).
        model: which segmentor was read from each file (``'student'`` or ``'teacher'``).
        warnings: lineage warnings (inputs without ``init_sha256``, a tolerated mismatch).
    """

    result: MergeResult
    metas: list[dict]
    heads: list[dict[str, torch.Tensor]] = field(default_factory=list)
    model: str = 'student'
    warnings: list[str] = field(default_factory=list)


def merge_checkpoint_files(checkpoints: Sequence, *, kinds: Mapping[str, EntryKind],
                           weights: Optional[Sequence[float]] = None, buffers: str = 'pool',
                           heads: str = 'merge', model_role: str = 'student',
                           allow_different_init: bool = False,
                           progress: bool = True) -> MergedCheckpoints:
    """Merge checkpoint files of one architecture, one file in memory at a time.

    Args:
        checkpoints: input files (weights-only exports or full UDA checkpoints).
        kinds: the entries of the segmentor the result is for, classified from its module tree
            (``classify_state_dict_entries(segmentor, batchnorm_types=batchnorm_types())``).
        weights: parameter weights, one positive number per file; default uniform.
        buffers: BatchNorm buffer policy, ``'pool'``, ``'mean'`` or ``'first'``.
        heads: ``'merge'``, or ``'separate'`` to also keep each file's head.
        model_role: ``'student'`` or ``'teacher'`` (see :mod:`mtda.io.segmentor_state`).
        allow_different_init: merge even if the files record different ``init_sha256``.
        progress: show a progress bar over the files (on a terminal).

    Raises:
        MergeError, CheckpointError: one line naming the file and the fix; nothing is returned.
    """
    head_keys = list(filter_by_prefix(kinds, include=HEAD_PREFIXES)) if heads == 'separate' else []
    metas: list[tuple[str, dict]] = []
    kept_heads: list[dict[str, torch.Tensor]] = []
    bar = tqdm(total=len(checkpoints), desc='merging', unit='checkpoint',
               disable=None if progress else True)

    def loader(path):
        def load():
            bar.set_postfix_str(Path(path).name)
            # Mapped, not copied: each tensor is paged in once, by the merge, and let go with it.
            checkpoint = load_checkpoint_file(path, mmap=True)
            state = select_segmentor_state(checkpoint, path, model=model_role)
            meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
            del checkpoint  # a full UDA checkpoint also maps the teacher and optimizer state
            metas.append((str(path), dict(meta) if isinstance(meta, Mapping) else {}))
            check_lineage(metas, allow_different_init=allow_different_init)
            if head_keys:
                kept_heads.append({key: state[key].detach().clone()
                                   for key in head_keys if key in state})
            bar.update()
            return state
        return load

    try:
        result = merge_state_dicts([(str(path), loader(path)) for path in checkpoints],
                                   kinds=kinds, weights=weights, buffer_policy=buffers)
    finally:
        bar.close()
    return MergedCheckpoints(result, [meta for _, meta in metas], kept_heads, model_role,
                             check_lineage(metas, allow_different_init=True))


def assign_domain_heads(merged: MergedCheckpoints, *, config_domains: Sequence[str],
                        domains: Optional[Sequence[str]] = None
                        ) -> tuple[dict[str, dict[str, torch.Tensor]], list[str]]:
    """Which domain each input's head serves (``heads='separate'``).

    The domain of input i is ``domains[i]`` if given, else the ``target_domain`` its meta records
    (stage-one exports do), else the i-th domain of the config.

    Args:
        merged: the merge, with the inputs' heads.
        config_domains: the domains the config evaluates, in order.
        domains: ``--domains``, one per input.

    Returns:
        ``{domain: head entries}`` for the config's domains that have a checkpoint, and warnings.

    Raises:
        MergeError: a ``--domains`` name the config lacks, or two inputs for one domain.
    """
    names = merged.result.names
    warnings = []
    if domains is not None:
        unknown = [d for d in domains if d not in config_domains]
        if unknown:
            raise MergeError(f'--domains {" ".join(unknown)}: not a domain of the config '
                             f'({", ".join(config_domains)}); name one per checkpoint from that list')
        targets = list(domains)
    elif all(meta.get('target_domain') for meta in merged.metas):
        targets = [str(meta['target_domain']) for meta in merged.metas]
    else:
        if len(names) > len(config_domains):
            raise MergeError(f'{len(names)} checkpoints record no target_domain and the config has '
                             f'only {len(config_domains)} domains; pass --domains, one per checkpoint')
        targets = list(config_domains[:len(names)])
        warnings.append('checkpoints record no target_domain; their heads serve the config\'s '
                        'domains in order: ' + ', '.join(f'{n} -> {d}' for n, d in zip(names, targets)))
    for i, domain in enumerate(targets):
        if domain in targets[:i]:
            first = names[targets.index(domain)]
            raise MergeError(f'{first} and {names[i]} are both for domain {domain!r}, so '
                             '--heads separate cannot tell whose head to use; pass --domains')
    heads = {}
    for name, domain, head in zip(names, targets, merged.heads):
        if domain in config_domains:
            heads[domain] = head
        else:
            warnings.append(f'{name} is for domain {domain!r}, which the config does not evaluate; '
                            'its head is left unused')
    without = [d for d in config_domains if d not in heads]
    if without:
        warnings.append(f'no checkpoint for {", ".join(without)}: evaluated with the merged head')
    return {d: heads[d] for d in config_domains if d in heads}, warnings


def merge_provenance(merged: MergedCheckpoints, *, heads: str, domain_heads: Mapping,
                     config: Optional[str] = None) -> dict[str, Any]:
    """The merged checkpoint's ``meta``: inputs with sha256, weights, policies, lineage, classes.

    ``dataset_meta`` (classes and palette of the first input) lets ``mmseg.apis.init_model`` name
    the classes.
    """
    first = merged.metas[0]
    inits = {meta.get('init_sha256') for meta in merged.metas}
    fields = dict(
        merge_method='linear', weights=list(merged.result.weights),
        buffer_policy=merged.result.buffer_policy, heads=heads, model=merged.model,
        target_domains=[meta.get('target_domain') for meta in merged.metas],
        domain_heads=list(domain_heads), init_sha256=inits.pop() if len(inits) == 1 else None,
        config=config)
    if first.get('classes'):
        fields['dataset_meta'] = dict(classes=first['classes'], palette=first.get('palette'))
    return provenance(merged.result.names, **fields)


def save_merged(merged: MergedCheckpoints, out, *, meta: Mapping[str, Any],
                domain_heads: Optional[Mapping[str, Mapping[str, torch.Tensor]]] = None,
                safetensors: bool = False) -> list[Path]:
    """Write ``out`` (and ``out`` with suffix ``.safetensors``) atomically.

    The ``.pth`` holds ``state_dict``, ``meta`` and, for separate heads, ``domain_heads``. The
    safetensors file holds the same tensors (heads as ``domain_heads.<domain>.<key>``) and every
    ``meta`` field as a JSON string.

    Args:
        merged: the merge.
        out: the ``.pth`` path.
        meta: provenance (:func:`merge_provenance`).
        domain_heads: ``{domain: head entries}`` for separate heads.
        safetensors: also write the ``.safetensors`` file.

    Returns:
        The written paths.
    """
    out = Path(out)
    checkpoint: dict[str, Any] = dict(state_dict=merged.result.state_dict, meta=dict(meta))
    if domain_heads:
        checkpoint['domain_heads'] = {d: dict(head) for d, head in domain_heads.items()}
    if not safetensors:
        return [atomic_save(checkpoint, out)]
    from safetensors import SafetensorError
    from safetensors.torch import save_file
    tensors = dict(merged.result.state_dict)
    for domain, head in (domain_heads or {}).items():
        tensors.update({f'domain_heads.{domain}.{key}': value for key, value in head.items()})
    side = out.with_suffix('.safetensors')
    with atomic_output(side) as tmp:  # renamed into place only once the .pth is written too
        try:
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp),
                      metadata={key: json.dumps(value) for key, value in meta.items()})
        except SafetensorError as exc:  # how safetensors reports a failed write (a full disk)
            raise OSError(str(exc)) from None
        atomic_save(checkpoint, out)
    return [out, side]


@HOOKS.register_module()
class MergeHook(Hook):
    """Merge checkpoints into the runner's model before the first validation or test.

    Args:
        checkpoints: two or more files fine-tuned from one init (stage one's exports or full UDA
            checkpoints), in merge order.
        weights: parameter weights, one positive number per checkpoint (normalised); default
            uniform. BatchNorm statistics are weighted by their counters (``buffers='pool'``).
        buffers: ``'pool'`` (the paper's mixture of statistics), ``'mean'`` or ``'first'``.
        heads: ``'merge'`` (whole model) or ``'separate'`` (encoder merged, each domain evaluated
            with its own checkpoint's head).
        model: ``'student'`` or ``'teacher'``: which segmentor to read from a UDA checkpoint.
        domains: the target domain of each checkpoint (for separate heads); default from each
            checkpoint's ``meta['target_domain']``, else the config's domains in order.
        allow_different_init: merge checkpoints that record different ``init_sha256`` (the merge
            of unrelated models is usually useless).
        out: where to save the merged checkpoint (``None``: do not save).
        safetensors: also write ``out`` with suffix ``.safetensors``.
        progress: a progress bar over the checkpoints while merging.
    """

    priority = 'VERY_HIGH'  # the model must be merged before any other hook sees it

    def __init__(self, checkpoints: Sequence[str], weights: Optional[Sequence[float]] = None,
                 buffers: str = 'pool', heads: str = 'merge', model: str = 'student',
                 domains: Optional[Sequence[str]] = None, allow_different_init: bool = False,
                 out: Optional[str] = None, safetensors: bool = False, progress: bool = True) -> None:
        self.input_warnings = check_merge_inputs(checkpoints, out=out)
        names = [str(p) for p in checkpoints]
        normalize_merge_weights(weights, len(names), names=names)  # refuse bad weights up front
        if buffers not in BUFFER_POLICIES:
            raise MergeError(f'unknown --buffers {buffers!r}; choose one of {", ".join(BUFFER_POLICIES)}')
        if heads not in HEAD_POLICIES:
            raise MergeError(f'unknown --heads {heads!r}; choose one of {", ".join(HEAD_POLICIES)}')
        if model not in SEGMENTOR_PREFIXES:
            raise MergeError(f'unknown --model {model!r}; choose one of {", ".join(SEGMENTOR_PREFIXES)}')
        if domains is not None and len(domains) != len(names):
            raise MergeError(f'--domains has {len(domains)} name(s) for {len(names)} checkpoint(s); '
                             'give one target domain per checkpoint, in checkpoint order')
        if out is not None and Path(out).suffix == '.safetensors':
            raise MergeError(f'--out {out}: give the .pth path; --safetensors writes the '
                             '.safetensors file beside it')
        self.checkpoints = names
        self.weights = None if weights is None else list(weights)
        self.buffers, self.heads, self.model, self.out = buffers, heads, model, out
        self.domains = None if domains is None else list(domains)
        self.allow_different_init = allow_different_init
        self.safetensors = safetensors
        self.progress = progress
        self.merged: Optional[MergedCheckpoints] = None
        self.domain_heads: dict[str, dict[str, torch.Tensor]] = {}
        self.saved: list[Path] = []

    def merge_into(self, model: torch.nn.Module, *, config_domains: Sequence[str] = (),
                   config: Optional[str] = None) -> MergedCheckpoints:
        """Merge the checkpoints, load the result into ``model`` and save it to ``out``.

        Args:
            model: the runner's model (a segmentor, a UDA wrapper or a DDP wrapper of either).
            config_domains: the domains the model will be evaluated on (for separate heads).
            config: the config's file name, for the provenance.
        """
        segmentor, _ = segmentor_of(model)
        kinds = classify_state_dict_entries(segmentor, batchnorm_types=batchnorm_types())
        merged = merge_checkpoint_files(
            self.checkpoints, kinds=kinds, weights=self.weights, buffers=self.buffers,
            heads=self.heads, model_role=self.model, allow_different_init=self.allow_different_init,
            progress=self.progress)
        warnings = self.input_warnings + merged.warnings
        if self.heads == 'separate':
            self.domain_heads, head_warnings = assign_domain_heads(
                merged, config_domains=config_domains, domains=self.domains)
            warnings += head_warnings
        for line in dict.fromkeys(warnings):
            print_log(f'MergeHook: {line}', logger='current', level=logging.WARNING)
        load_weights_into(segmentor, merged.result.state_dict, 'the merged checkpoint')
        if self.out is not None and is_main_process():
            meta = merge_provenance(merged, heads=self.heads, domain_heads=self.domain_heads,
                                    config=config)
            self.saved = save_merged(merged, self.out, meta=meta, domain_heads=self.domain_heads,
                                     safetensors=self.safetensors)
            print_log(f'MergeHook: saved {", ".join(map(str, self.saved))}', logger='current')
        self.merged = merged
        return merged

    def _merge_before(self, runner, loop) -> None:
        if self.heads == 'separate' and not hasattr(loop, 'domain_state_overrides'):
            raise MergeError(f'--heads separate evaluates each domain with its own head, which '
                             f'needs a MultiDomainTestLoop/MultiDomainValLoop, not '
                             f'{type(loop).__name__}; set test_cfg as configs/_base_/datasets/'
                             'targets_val*.py do')
        if self.merged is None:
            domains = list(getattr(loop, 'dataloaders', {}))
            self.merge_into(runner.model, config_domains=domains,
                            config=Path(runner.cfg.filename).name if runner.cfg.filename else None)
        if self.heads == 'separate':
            _, prefix = segmentor_of(runner.model)
            loop.domain_state_overrides = {
                domain: {prefix + key: value for key, value in head.items()}
                for domain, head in self.domain_heads.items()}

    def before_val(self, runner) -> None:
        self._merge_before(runner, runner.val_loop)

    def before_test(self, runner) -> None:
        self._merge_before(runner, runner.test_loop)


def run_merge(cfg, *, evaluate: bool = True, name: str = '', **hook_args
              ) -> tuple[MergeHook, Optional[dict]]:
    """Merge with :class:`MergeHook` and evaluate the result on every target domain of ``cfg``.

    Args:
        cfg: a loaded config; with ``evaluate`` its ``test_cfg`` must be a MultiDomainTestLoop.
        evaluate: run the test loop (merging happens in the hook before it); without it the
            segmentor is built from ``cfg.model`` alone (no data needed) and merged into.
        name: the results row label (default: the output file's stem).
        **hook_args: :class:`MergeHook` arguments (``checkpoints``, ``out``, ``weights`` ...).

    Returns:
        The hook (merge, saved paths) and the results record (``None`` without ``evaluate``).
    """
    # Paths as strings: the hook's arguments become part of the config the runner dumps.
    hook_args['checkpoints'] = [str(path) for path in hook_args.get('checkpoints', ())]
    if hook_args.get('out') is not None:
        hook_args['out'] = str(hook_args['out'])
    hook = MergeHook(**hook_args)  # checks the arguments before anything is built
    config_name = Path(cfg.filename).name if cfg.filename else None
    if not evaluate:
        from mtda.models.shared_init import segmentor_config
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        model = MODELS.build(copy.deepcopy(segmentor_config(cfg)))
        domains = list((cfg.get('test_cfg') or {}).get('domains') or {})
        hook.merge_into(model, config_domains=domains, config=config_name)
        return hook, None
    require_multi_domain_test_cfg(cfg, cfg.filename or 'the config')
    cfg = copy.deepcopy(cfg)
    cfg.load_from, cfg.resume = None, False
    cfg.custom_hooks = [*(cfg.get('custom_hooks') or []), dict(type='MergeHook', **hook_args)]
    check_datasets(cfg, parts=('test',))
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, MergeHook))
    runner.test()
    if not is_main_process():
        return hook, None
    checkpoint = str(hook.out) if hook.out else 'merged'
    results = model_results(runner.test_loop.domain_metrics, checkpoint=checkpoint,
                            name=name or Path(checkpoint).stem,
                            classes=runner.test_loop.dataloader.dataset.metainfo['classes'],
                            source=cfg.get('source_domain'))
    return hook, results
