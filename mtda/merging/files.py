"""Stage two on files: checked inputs -> streamed merge -> per-domain heads -> atomic save with provenance.

What :class:`~mtda.merging.hook.MergeHook` and ``tools/merge.py`` do with checkpoint files, without
mmengine or mmseg, so it can be read and tested alone::

    MergeSpec(checkpoints, weights, buffers, heads, method, base, ..., out)   every option checked once
      merge_files(spec, kinds=..., config_domains=...)
        merge_checkpoint_files       one file in memory at a time: load_checkpoint_file (weights-only)
          merge_state_dicts            -> select_segmentor_state (student/teacher) -> lineage check
          or merge_task_vectors        (--method task-arithmetic|ties|dare|dare-ties, against --base)
          [--method rebasin: MatchToFirst permutes each input onto the first before the average]
                                       -> [heads='separate': keep a copy of its head]
        assign_domain_heads          heads='separate': which domain each checkpoint's head serves
      merge_provenance               the output's ``meta``: inputs with sha256, weights, policies
      save_merged                    atomic .pth (+ .safetensors)

``heads='separate'`` is the paper's encoder-only merge ("Ours†", its ``merge.py --sep_head``): the
whole model is merged, then each domain is evaluated with the decode head (and the head's
BatchNorm buffers) of its own checkpoint. The per-domain heads are saved under ``domain_heads``
(``{domain: {key: tensor}}``); ``state_dict`` holds the fully merged model, so the file is an
ordinary mmseg checkpoint as well. The rules themselves are in ``docs/merging.md``.
"""
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from tqdm import tqdm

from mtda.errors import CheckpointError, MergeError
from mtda.io import (atomic_save, load_checkpoint_file, provenance, sha256_file, state_dict_of,
                     weights_sha256)
from mtda.io.checkpoint import primitive
from mtda.io.atomic import atomic_output, check_output_path
from mtda.io.segmentor_state import MODEL_ROLES, check_model_role, select_segmentor_state
from mtda.merging.classify import EntryKind, filter_by_prefix
from mtda.merging.rebasin.align import MatchToFirst
from mtda.merging.rebasin.spec import PermutationSpec
from mtda.merging.rules import normalize_merge_weights
from mtda.merging.stream import BUFFER_POLICIES, MergeResult, check_buffer_policy, merge_state_dicts
from mtda.merging.task_merge import METHODS as TASK_METHODS
from mtda.merging.task_merge import TOPK_SCOPES, TaskMethod, merge_task_vectors
from mtda.merging.validate import check_lineage

# Modules of an mmseg segmentor that --heads separate keeps per domain; everything else is the encoder.
HEAD_PREFIXES = ('decode_head', 'auxiliary_head')
HEAD_POLICIES = ('merge', 'separate')
#: ``--method`` choices: the task-vector rules, Git Re-Basin (permute onto the first, average) and
#: ZipIt! (match features on images, zip; :mod:`mtda.merging.zipit`)
REBASIN = 'rebasin'
ZIPIT = 'zipit'
METHODS = (*TASK_METHODS, REBASIN, ZIPIT)
#: ZipIt!'s defaults: the reference's full-zip setting on ImageNet (α = 1, β = 0: no merge within a
#: model), 64 images (docs/merging.md measures 16, 64 and 256), the labelled source images
ZIP_DEFAULTS = dict(images='source', count=64, alpha=1.0, beta=0.0, until=None)
__all__ = ['BUFFER_POLICIES', 'HEAD_POLICIES', 'HEAD_PREFIXES', 'METHODS', 'MODEL_ROLES', 'REBASIN',
           'TOPK_SCOPES', 'ZIPIT', 'ZIP_DEFAULTS', 'MergeSpec',
           'MergedCheckpoints', 'assign_domain_heads', 'check_merge_inputs', 'merge_checkpoint_files',
           'merge_files', 'merge_provenance', 'save_merged']


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


@dataclass(frozen=True)
class MergeSpec:
    """What to merge and how: every option of ``tools/merge.py`` and ``MergeHook``, checked once.

    Constructing a spec checks the files (they exist, the output is not an input) and every option
    before any checkpoint is read; it is the one place where merge options are validated.

    Args:
        checkpoints: two or more files fine-tuned from one init, in merge order.
        weights: parameter weights, one positive number per checkpoint (normalised); ``None``:
            uniform. BatchNorm statistics are weighted by their counters under ``buffers='pool'``.
        buffers: one of :data:`~mtda.merging.stream.BUFFER_POLICIES`.
        heads: one of :data:`HEAD_POLICIES`.
        model: one of :data:`MODEL_ROLES`: which segmentor to read from a full UDA checkpoint.
        domains: the target domain of each checkpoint (for separate heads); ``None``: from each
            checkpoint's ``meta['target_domain']``.
        allow_different_init: merge checkpoints that record different ``init_sha256``.
        out: the ``.pth`` to write (``None``: do not save).
        safetensors: also write ``out`` with suffix ``.safetensors``.
        method: one of :data:`METHODS` (the parameter rule); ``'rebasin'`` permutes every input
            onto the first (Git Re-Basin weight matching), then averages.
        base: the shared init the task vectors are taken against (the task-vector methods); it
            must be the file the inputs record as ``init_sha256``.
        scale, density, drop, topk, method_seed: the method's options
            (:class:`~mtda.merging.task_merge.TaskMethod`; ``None`` scale: the method's default);
            ``method_seed`` also seeds Re-Basin's group order and ZipIt!'s image sample.
        zip_images: ``'source'`` (the config's labelled source images) or a folder of images
            (``--method zipit``; default ``'source'``).
        zip_count: how many of those images ZipIt! reads (a seeded sample; default 64).
        zip_alpha, zip_beta: ZipIt!'s α and β (:func:`~mtda.merging.zipit.matching.zip_match`;
            default 1 and 0).
        zip_until: zip only the entries before the first key starting with this (``decode_head``:
            the backbone), keeping the rest per domain; default: zip everything.

    Raises:
        MergeError, CheckpointError: one line naming the file or option and the fix.
    """

    checkpoints: tuple
    weights: Optional[tuple] = None
    buffers: str = 'pool'
    heads: str = 'merge'
    model: str = 'student'
    domains: Optional[tuple] = None
    allow_different_init: bool = False
    out: Optional[str] = None
    safetensors: bool = False
    method: str = 'average'
    base: Optional[str] = None
    scale: Optional[float] = None
    density: float = 0.2
    drop: float = 0.9
    topk: str = 'tensor'
    method_seed: int = 0
    zip_images: Optional[str] = None
    zip_count: Optional[int] = None
    zip_alpha: Optional[float] = None
    zip_beta: Optional[float] = None
    zip_until: Optional[str] = None
    #: warning lines found while checking (an input given twice)
    warnings: tuple = field(default=(), init=False)

    def __post_init__(self) -> None:
        def store(name, value):
            object.__setattr__(self, name, value)

        # Paths as strings: a spec can become a hook entry of a config, which mmengine dumps.
        store('checkpoints', tuple(str(p) for p in self.checkpoints))
        store('out', None if self.out is None else str(self.out))
        store('weights', None if self.weights is None else tuple(self.weights))
        store('domains', None if self.domains is None else tuple(self.domains))
        store('warnings', tuple(check_merge_inputs(self.checkpoints, out=self.out)))
        normalize_merge_weights(self.weights, len(self.checkpoints), names=self.checkpoints)
        check_buffer_policy(self.buffers)
        if self.heads not in HEAD_POLICIES:
            raise MergeError(f'unknown --heads {self.heads!r}; choose one of {", ".join(HEAD_POLICIES)}')
        check_model_role(self.model)
        if self.domains is not None and len(self.domains) != len(self.checkpoints):
            raise MergeError(f'--domains has {len(self.domains)} name(s) for {len(self.checkpoints)} '
                             'checkpoint(s); give one target domain per checkpoint, in checkpoint order')
        store('base', None if self.base is None else str(self.base))
        method = self.task_method  # checks the method's options
        if method.uses_base and self.base is None:
            raise MergeError(f'--method {self.method} takes task vectors against the shared init: '
                             'pass --base INIT.pth (the shared_init.pth stage one started from)')
        if not method.uses_base and self.base is not None:
            raise MergeError(f'--base is used by the task-vector methods only, not --method '
                             f'{self.method}; drop it or choose a method')
        if method.uses_base and self.weights is not None:
            raise MergeError(f'--weights applies to --method average; --method {self.method} '
                             'weighs the task vectors with --scale')
        if self.base is not None and not Path(self.base).is_file():
            raise CheckpointError(f'{self.base}: no such checkpoint file (--base); check the path')
        if self.out is not None and Path(self.out).suffix == '.safetensors':
            raise MergeError(f'--out {self.out}: give the .pth path; --safetensors writes the '
                             '.safetensors file beside it')
        if self.out is not None:
            check_output_path(self.out, option='--out')
        self._check_zip_options()

    def _check_zip_options(self) -> None:
        given = [name for name in ZIP_DEFAULTS if getattr(self, f'zip_{name}') is not None]
        if self.method != ZIPIT:
            if given:
                raise MergeError(f'--zip-{given[0]} applies to --method zipit, not --method '
                                 f'{self.method}; drop it or choose --method zipit')
            return
        if self.heads == 'separate':
            raise MergeError('--method zipit keeps per-domain layers with --zip-until, not --heads '
                             'separate: pass --zip-until decode_head to zip the backbone only')
        options = self.zip_options
        if options['count'] < 1:
            raise MergeError(f'--zip-count {options["count"]}: give a positive number of images')
        if options['alpha'] > 1 or not 0 <= options['beta'] <= 1:
            raise MergeError(f'--zip-alpha {options["alpha"]} must be <= 1 and --zip-beta '
                             f'{options["beta"]} in [0, 1]')
        if options['images'] != 'source' and not Path(options['images']).is_dir():
            raise MergeError(f'--zip-images {options["images"]}: no such folder; pass a folder of '
                             "images, or 'source' for the config's source images")

    @property
    def zip_options(self) -> dict[str, Any]:
        """ZipIt!'s options with their defaults filled in (:data:`ZIP_DEFAULTS`)."""
        return {name: default if getattr(self, f'zip_{name}') is None
                else getattr(self, f'zip_{name}') for name, default in ZIP_DEFAULTS.items()}


    @property
    def task_method(self) -> TaskMethod:
        """The parameter rule (Re-Basin's is the average, after the matching; ZipIt!'s is its own)."""
        if self.method in (REBASIN, ZIPIT):
            if self.scale is not None:
                raise MergeError(f'--scale applies to the task-vector methods, not --method '
                                 f'{self.method}')
            return TaskMethod('average')
        if self.method not in METHODS:
            raise MergeError(f'unknown --method {self.method!r}; choose one of {", ".join(METHODS)}')
        return TaskMethod(self.method, scale=self.scale, density=self.density, drop=self.drop,
                          topk=self.topk, seed=self.method_seed)


@dataclass
class MergedCheckpoints:
    """What :func:`merge_checkpoint_files` (and :func:`merge_files`) produced.

    Args:
        result: the merged state dict with names, weights and buffer policy.
        metas: each input's ``meta`` (``{}`` if it has none), in input order.
        heads: each input's decode/auxiliary head entries (``heads='separate'`` only, else empty).
        model: which segmentor was read from each file (``'student'`` or ``'teacher'``).
        warnings: lineage warnings (inputs without ``init_sha256``, a tolerated mismatch) and, from
            :func:`merge_files`, the input and head-assignment warnings.
        domain_heads: ``{domain: head entries}`` (:func:`assign_domain_heads`; separate heads only).
        base: ``(path, sha256)`` of the shared init, for the task-vector methods.
        matchings: ``{input: Matching}`` of each input matched to the first (``rebasin`` only).
    """

    result: MergeResult
    metas: list
    heads: list = field(default_factory=list)
    model: str = 'student'
    warnings: list = field(default_factory=list)
    domain_heads: dict = field(default_factory=dict)
    #: the shared init the task vectors were taken against: (path, sha256), for the provenance
    base: Optional[tuple] = None
    #: Re-Basin's matching of each input but the first, for reports
    matchings: dict = field(default_factory=dict)


def merge_checkpoint_files(checkpoints: Sequence, *, kinds: Mapping[str, EntryKind],
                           weights: Optional[Sequence[float]] = None, buffers: str = 'pool',
                           heads: str = 'merge', model_role: str = 'student',
                           allow_different_init: bool = False, method: TaskMethod = TaskMethod(),
                           base=None, permutations: Optional[PermutationSpec] = None,
                           rebasin_seed: int = 0, progress: bool = True) -> MergedCheckpoints:
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
        method: the parameter rule; every method but ``average`` needs ``base``.
        base: the shared init file; each input that records ``init_sha256`` must record its hash.
        permutations: the model's permutation groups: given, every input is matched to the first
            (Git Re-Basin) before the average (``method`` must be ``average``).
        rebasin_seed: seed of the matching's group order.
        progress: show a progress bar over the files (on a terminal).

    Raises:
        MergeError, CheckpointError: one line naming the file and the fix; nothing is returned.
    """
    members = member_counts(checkpoints)
    if any(n > 1 for n in members):
        merged_inputs = [str(p) for p, n in zip(checkpoints, members) if n > 1]
        if method.uses_base or permutations is not None or heads == 'separate':
            what = ('--heads separate' if heads == 'separate'
                    else f'--method {REBASIN if permutations is not None else method.name}')
            raise MergeError(f'{merged_inputs[0]} is itself a merge; {what} cannot merge it again '
                             'as if its members were given: merge the checkpoints its meta lists '
                             '(inputs) with the new ones')
        if weights is None:  # a merge of n models weighs n: the result is the merge of all members
            weights = [float(n) for n in members]
    head_keys = list(filter_by_prefix(kinds, include=HEAD_PREFIXES)) if heads == 'separate' else []
    metas: list[tuple[str, dict]] = []
    kept_heads: list[dict[str, torch.Tensor]] = []
    passes = 2 if method.elects_signs else 1
    bar = tqdm(total=passes * len(checkpoints), desc='merging', unit='checkpoint',
               disable=None if progress else True)
    base_state, base_sha, base_inits = None, None, ()
    if method.uses_base:
        if base is None:
            raise MergeError(f'--method {method.name} needs --base, the shared init')
        base_sha = sha256_file(base)
        base_checkpoint = load_checkpoint_file(base)
        # what the inputs may record: the init's weights hash, or (checkpoints written before
        # stage one hashed the weights) the init file's hash
        base_inits = {weights_sha256(state_dict_of(base_checkpoint, base)), base_sha}
        base_state = select_segmentor_state(base_checkpoint, str(base), model='student')
        del base_checkpoint
    align = None
    if permutations is not None:
        if method.uses_base:
            raise MergeError(f'--method {method.name} does not combine with Re-Basin matching')
        align = MatchToFirst(permutations, seed=rebasin_seed,
                             keys={k for k, kind in kinds.items() if kind is EntryKind.PARAMETER})

    def loader(path):
        def load():
            bar.set_postfix_str(Path(path).name)
            # Mapped, not copied: each tensor is paged in once, by the merge, and let go with it.
            checkpoint = load_checkpoint_file(path, mmap=True)
            state = select_segmentor_state(checkpoint, path, model=model_role)
            meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
            del checkpoint  # a full UDA checkpoint also maps the teacher and optimizer state
            meta = dict(meta) if isinstance(meta, Mapping) else {}
            if base_sha and meta.get('init_sha256') not in (None, *base_inits):
                raise MergeError(f'{path} was trained from init {meta["init_sha256"][:12]}..., but '
                                 f'--base {base} holds other weights; pass the shared init the '
                                 'checkpoints were trained from')
            if len(metas) < len(checkpoints):  # the second TIES pass reads the files again
                metas.append((str(path), meta))
            check_lineage(metas, allow_different_init=allow_different_init)
            if align is not None:  # before the heads are kept: they read the permuted encoder
                state = align(str(path), state)
            if head_keys and len(kept_heads) < len(checkpoints):
                kept_heads.append({key: state[key].detach().clone()
                                   for key in head_keys if key in state})
            bar.update()
            return state
        return load

    try:
        sources = [(str(path), loader(path)) for path in checkpoints]
        if method.uses_base:
            result = merge_task_vectors(sources, base=base_state, base_name=str(base), kinds=kinds,
                                        method=method, buffer_policy=buffers)
        else:
            result = merge_state_dicts(sources, kinds=kinds, weights=weights,
                                       buffer_policy=buffers)
            if align is not None:
                result = align.annotate(result)
    finally:
        bar.close()
    return MergedCheckpoints(result, [meta for _, meta in metas], kept_heads, model_role,
                             check_lineage(metas, allow_different_init=True),
                             base=(str(base), base_sha) if base_sha else None,
                             matchings=dict(align.matchings) if align is not None else {})


def member_count(meta: Optional[Mapping]) -> int:
    """How many stage-one models a checkpoint stands for: 1, or the members of a merged file."""
    if not isinstance(meta, Mapping) or 'merge_method' not in meta:
        return 1
    return int(meta.get('members') or len(meta.get('inputs') or ()) or 1)


def member_counts(checkpoints: Sequence) -> list[int]:
    """:func:`member_count` of each file, from its ``meta`` (read mapped: no tensor is loaded)."""
    counts = []
    for path in checkpoints:
        checkpoint = load_checkpoint_file(path, mmap=True)
        counts.append(member_count(checkpoint.get('meta') if isinstance(checkpoint, Mapping)
                                   else None))
        del checkpoint
    return counts


def merge_files(spec: MergeSpec, *, kinds: Mapping[str, EntryKind],
                config_domains: Sequence[str] = (), permutations: Optional[PermutationSpec] = None,
                progress: bool = True) -> MergedCheckpoints:
    """Merge the files of ``spec`` and, for separate heads, give each domain its head.

    Args:
        spec: the checked inputs and options.
        kinds: the entries of the segmentor the result is for (see :func:`merge_checkpoint_files`).
        config_domains: the domains the merged model will be evaluated on (separate heads).
        permutations: the model's permutation groups (required by ``--method rebasin``;
            :func:`mtda.models.permutation_specs.permutation_spec_of`).
        progress: a progress bar over the files.

    Returns:
        The merge; ``warnings`` holds every warning line (inputs, lineage, heads), deduplicated.
    """
    if spec.method == ZIPIT:
        raise MergeError('--method zipit runs the models on images: use MergeHook or '
                         'mtda.merging.zipit.checkpoints.zip_checkpoint_files')
    if spec.method == REBASIN and permutations is None:
        raise MergeError('--method rebasin needs the permutation groups of the model '
                         '(mtda.models.permutation_specs.permutation_spec_of(segmentor))')
    merged = merge_checkpoint_files(
        spec.checkpoints, kinds=kinds, weights=spec.weights, buffers=spec.buffers,
        heads=spec.heads, model_role=spec.model, allow_different_init=spec.allow_different_init,
        method=spec.task_method, base=spec.base,
        permutations=permutations if spec.method == REBASIN else None,
        rebasin_seed=spec.method_seed, progress=progress)
    warnings = [*spec.warnings, *merged.warnings]
    if spec.heads == 'separate':
        merged.domain_heads, head_warnings = assign_domain_heads(
            merged, config_domains=config_domains, domains=spec.domains)
        warnings += head_warnings
    merged.warnings = list(dict.fromkeys(warnings))
    return merged


def assign_domain_heads(merged: MergedCheckpoints, *, config_domains: Sequence[str],
                        domains: Optional[Sequence[str]] = None
                        ) -> tuple[dict[str, dict[str, torch.Tensor]], list[str]]:
    """Which domain each input's head serves (``heads='separate'``).

    The domain of input i is ``domains[i]`` if given, else the ``target_domain`` its meta records
    (stage-one exports do); an input without either is refused, never mapped by position.

    Args:
        merged: the merge, with the inputs' heads.
        config_domains: the domains the config evaluates, in order.
        domains: ``--domains``, one per input.

    Returns:
        ``{domain: head entries}`` for the config's domains that have a checkpoint, and warnings.

    Raises:
        MergeError: a ``--domains`` name the config lacks, an input without a domain, or two
            inputs for one domain.
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
    else:  # never by position: a silent mix-up would evaluate a domain with another's head
        name = next(n for n, meta in zip(names, merged.metas) if not meta.get('target_domain'))
        raise MergeError(f'{name} records no target_domain, so --heads separate cannot tell which '
                         'domain its head serves; pass --domains, one per checkpoint in order, '
                         f'from {", ".join(config_domains)}')
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


def merge_provenance(merged: MergedCheckpoints, *, heads: str, config: Optional[str] = None
                     ) -> dict[str, Any]:
    """The merged checkpoint's ``meta``: inputs with sha256, weights, policies, lineage, classes.

    ``dataset_meta`` (classes and palette of the first input) lets ``mmseg.apis.init_model`` name
    the classes.
    """
    first = merged.metas[0]
    inits = {meta.get('init_sha256') for meta in merged.metas}
    method = merged.result.method
    record = provenance(merged.result.names)
    member_inputs = []
    for meta, own in zip(merged.metas, record.get('inputs', [])):
        member_inputs += (meta.get('member_inputs') or meta.get('inputs') or [own]
                          if member_count(meta) > 1 else [own])
    fields = dict(
        members=sum(member_count(meta) for meta in merged.metas), member_inputs=member_inputs,
        merge_method='linear' if method == 'average' else method,
        method_options=dict(merged.result.method_options), weights=list(merged.result.weights),
        buffer_policy=merged.result.buffer_policy, heads=heads, model=merged.model,
        target_domains=[domain for meta in merged.metas for domain in (
            meta.get('target_domains') or [None] if member_count(meta) > 1
            else [meta.get('target_domain')])],
        domain_heads=list(merged.domain_heads), init_sha256=inits.pop() if len(inits) == 1 else None,
        config=config)
    if merged.base is not None:  # hashed once, when the merge read it
        fields['base'] = dict(path=merged.base[0], sha256=merged.base[1])
    if first.get('classes'):
        fields['dataset_meta'] = dict(classes=first['classes'], palette=first.get('palette'))
    elif first.get('dataset_meta'):  # the first input is itself a merge
        fields['dataset_meta'] = first['dataset_meta']
    return {**record, **primitive(fields)}


def save_merged(merged: MergedCheckpoints, out, *, meta: Mapping[str, Any],
                safetensors: bool = False) -> list[Path]:
    """Write ``out`` (and ``out`` with suffix ``.safetensors``) atomically.

    The ``.pth`` holds ``state_dict``, ``meta`` and, for separate heads, ``domain_heads``. The
    safetensors file holds the same tensors (heads as ``domain_heads.<domain>.<key>``) and every
    ``meta`` field as a JSON string.

    Args:
        merged: the merge (with its ``domain_heads`` for separate heads).
        out: the ``.pth`` path.
        meta: provenance (:func:`merge_provenance`).
        safetensors: also write the ``.safetensors`` file.

    Returns:
        The written paths.
    """
    out = Path(out)
    checkpoint: dict[str, Any] = dict(state_dict=merged.result.state_dict, meta=dict(meta))
    if merged.domain_heads:
        checkpoint['domain_heads'] = {d: dict(head) for d, head in merged.domain_heads.items()}
    if not safetensors:
        return [atomic_save(checkpoint, out)]
    from safetensors import SafetensorError
    from safetensors.torch import save_file
    tensors = dict(merged.result.state_dict)
    for domain, head in merged.domain_heads.items():
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
