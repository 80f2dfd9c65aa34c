"""``--method zipit`` on checkpoint files: checked inputs -> built models -> zip -> provenance.

::

    zip_checkpoint_files(spec, segmentor, permutations, batches, run, kinds=...)
      load_checkpoint_file (weights-only) -> select_segmentor_state -> check_state_dict
        a copy of ``segmentor`` per input, with its weights
      zip_models                  mtda.merging.zipit.zip_models (correlate, match, fuse, BatchNorm)
      assign_domain_heads         --zip-until: each domain's own tail (saved as ``domain_heads``)

Unlike the other methods, ZipIt! holds all N models at once (it runs them side by side on the
images), and different inits are its purpose: a lineage mismatch is a warning, not an error. The
segmentor, the images and ``run`` come from the caller (:class:`~mtda.merging.hook.MergeHook`
builds them with mmseg), so this module stays free of it.
"""
import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from torch import nn

from mtda.errors import CheckpointError, MergeError
from mtda.io import load_checkpoint_file
from mtda.io.segmentor_state import select_segmentor_state
from mtda.merging.classify import BATCHNORM_TYPES, EntryKind
from mtda.merging.files import (ZIPIT, MergedCheckpoints, MergeSpec, assign_domain_heads,
                                member_counts)
from mtda.merging.rebasin.spec import PermutationSpec
from mtda.merging.rules import normalize_merge_weights
from mtda.merging.stream import MergeResult
from mtda.merging.validate import check_lineage, check_state_dict, layout_of
from mtda.merging.zipit.zip_models import zip_models

__all__ = ['zip_checkpoint_files']


def _built(segmentor: nn.Module, state: Mapping, path: str) -> nn.Module:
    model = copy.deepcopy(segmentor)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        reason = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise CheckpointError(f'{path}: does not fit the config\'s model ({reason}); merge with '
                              'the config the checkpoints were trained with') from None
    return model.eval()


def zip_checkpoint_files(spec: MergeSpec, segmentor: nn.Module, permutations: PermutationSpec,
                         batches: Sequence[Any], run: Callable[[nn.Module, Any], None], *,
                         kinds: Mapping[str, EntryKind], config_domains: Sequence[str] = (),
                         batchnorm_types: tuple = BATCHNORM_TYPES) -> MergedCheckpoints:
    """Zip the checkpoints of ``spec`` (``method='zipit'``) into one state dict.

    Args:
        spec: the checked inputs and options (``spec.zip_options``).
        segmentor: a model of the checkpoints' architecture; copied once per input, not changed.
        permutations: its feature groups (:func:`mtda.models.permutation_specs.permutation_spec_of`).
        batches: the image batches ZipIt! reads, a sequence (read more than once).
        run: ``run(model, batch)``: one forward pass.
        kinds: the segmentor's entry kinds (checks each input's keys, dtypes and values).
        config_domains: the domains the result is evaluated on (``zip_until``: whose tails).
        batchnorm_types: the classes that keep running statistics.

    Raises:
        MergeError, CheckpointError: one line naming the file or option and the fix.
    """
    if spec.method != ZIPIT:
        raise MergeError(f'zip_checkpoint_files runs --method zipit, not {spec.method}')
    counts = member_counts(spec.checkpoints)
    if any(n > 1 for n in counts):
        merged_input = next(p for p, n in zip(spec.checkpoints, counts) if n > 1)
        raise MergeError(f'{merged_input} is itself a merge; --method zipit zips stage-one models: '
                         'pass the checkpoints its meta lists (inputs)')
    options = spec.zip_options
    weights = normalize_merge_weights(spec.weights, len(spec.checkpoints), names=spec.checkpoints)
    metas, models, reference = [], [], None
    for path in spec.checkpoints:
        checkpoint = load_checkpoint_file(path)
        state = select_segmentor_state(checkpoint, path, model=spec.model)
        meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
        check_state_dict(state, name=path, kinds=kinds, reference=reference)
        reference = reference or layout_of(state, name=path)
        models.append(_built(segmentor, state, path))
        metas.append((path, dict(meta) if isinstance(meta, Mapping) else {}))
        del checkpoint, state
    zipped = zip_models(models, permutations, batches, run, alpha=options['alpha'],
                        beta=options['beta'], weights=spec.weights, until=options['until'],
                        batchnorm_types=batchnorm_types)
    del models
    method_options = dict(alpha=options['alpha'], beta=options['beta'], images=options['images'],
                          count=options['count'], images_read=sum(len(b) for b in batches),
                          seed=spec.method_seed, until=options['until'],
                          zipped_groups=len(zipped.matches),
                          within_model_merges=zipped.within_model_merges(),
                          batchnorm_layers=zipped.batchnorm_layers)
    result = MergeResult(zipped.state_dict, tuple(spec.checkpoints), tuple(weights),
                         buffer_policy='recomputed', method=ZIPIT, method_options=method_options)
    merged = MergedCheckpoints(result, [meta for _, meta in metas], heads=zipped.tails,
                               model=spec.model,
                               warnings=check_lineage(metas, allow_different_init=True))
    warnings = [*spec.warnings, *merged.warnings]
    if zipped.tails:
        merged.domain_heads, tail_warnings = assign_domain_heads(
            merged, config_domains=config_domains, domains=spec.domains)
        warnings += tail_warnings
    merged.warnings = list(dict.fromkeys(warnings))
    return merged
