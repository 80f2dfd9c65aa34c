"""The file layer of stage two (mtda.merging.files): options checked once, student/teacher,
lineage, per-domain heads."""
import pytest
import torch

from mtda.errors import CheckpointError, MergeError, MtdaError
from mtda.io import atomic_save
from mtda.merging import EntryKind
from mtda.merging.files import MergedCheckpoints, MergeSpec, assign_domain_heads, merge_checkpoint_files
from segmentor_files import state_of

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def test_teacher_and_student_are_read_from_a_uda_checkpoint(domain_files, segmentor_kinds, tmp_path):
    a, b = state_of(domain_files['cityscapes']), state_of(domain_files['dark_zurich'])
    wrapper = {**{f'model.{k}': v for k, v in a.items()}, **{f'teacher.{k}': v for k, v in b.items()},
               'imnet_backbone.w': torch.zeros(1)}
    full = atomic_save(dict(state_dict=wrapper, meta={}), tmp_path / 'iter_4.pth')
    for role, expected in (('student', a), ('teacher', b)):
        merged = merge_checkpoint_files([full, full], kinds=segmentor_kinds, model_role=role, progress=False)
        for key, value in merged.result.state_dict.items():
            if segmentor_kinds[key] is EntryKind.BN_COUNTER:
                assert value.item() == 2 * expected[key].item()  # pool adds up the counts
            else:
                assert torch.equal(value, expected[key]), (role, key)
    with pytest.raises(CheckpointError, match=r'cityscapes\.pth: holds one segmentor .*--model student'):
        merge_checkpoint_files([domain_files['cityscapes']] * 2, kinds=segmentor_kinds, model_role='teacher', progress=False)


def test_different_inits_are_refused_unless_allowed(domain_files, segmentor_kinds, tmp_path):
    other = torch.load(domain_files['dark_zurich'], weights_only=True)
    other['meta']['init_sha256'] = 'f' * 64
    path = atomic_save(other, tmp_path / 'other_init.pth')
    with pytest.raises(MergeError, match='different inits.*--allow-different-init'):
        merge_checkpoint_files([domain_files['cityscapes'], path], kinds=segmentor_kinds, progress=False)
    merged = merge_checkpoint_files([domain_files['cityscapes'], path], kinds=segmentor_kinds, allow_different_init=True,
                                    progress=False)
    assert any('different inits' in line for line in merged.warnings)


def _merged_with_heads(metas):
    result = type('R', (), {'names': tuple(f'ckpt{i}.pth' for i in range(len(metas)))})()
    return MergedCheckpoints(result, metas, [{'decode_head.w': torch.full((1,), float(i))}
                                             for i in range(len(metas))])


def test_domain_heads_follow_meta_then_explicit_names_then_config_order():
    domains = ['cityscapes', 'idd', 'acdc']
    heads, warnings = assign_domain_heads(_merged_with_heads([{'target_domain': 'idd'},
                                                              {'target_domain': 'cityscapes'}]),
                                          config_domains=domains)
    assert {d: h['decode_head.w'].item() for d, h in heads.items()} == {'cityscapes': 1.0, 'idd': 0.0}
    assert warnings == ['no checkpoint for acdc: evaluated with the merged head']
    heads, _ = assign_domain_heads(_merged_with_heads([{}, {}]), config_domains=domains,
                                   domains=['acdc', 'idd'])
    assert list(heads) == ['idd', 'acdc'] and heads['acdc']['decode_head.w'].item() == 0.0
    heads, warnings = assign_domain_heads(_merged_with_heads([{}, {}]), config_domains=domains)
    assert list(heads) == ['cityscapes', 'idd'] and 'in order' in warnings[0]
    with pytest.raises(MergeError, match='--domains mars'):
        assign_domain_heads(_merged_with_heads([{}, {}]), config_domains=domains, domains=['idd', 'mars'])
    with pytest.raises(MergeError, match="both for domain 'idd'"):
        assign_domain_heads(_merged_with_heads([{}, {}]), config_domains=domains, domains=['idd', 'idd'])


@pytest.mark.parametrize('kwargs,match', [
    (dict(inputs=1), 'at least two'),
    (dict(weights=[1.0]), '--weights has 1 value'),
    (dict(weights=[1.0, -1.0]), 'not a positive'),
    (dict(heads='both'), '--heads'),
    (dict(buffers='median'), '--buffers'),
    (dict(model='ema'), '--model'),
    (dict(domains=['idd']), '--domains has 1'),
    (dict(out='dark_zurich'), 'would be overwritten'),
])
def test_spec_arguments_are_checked_before_anything_is_read(domain_files, kwargs, match):
    kwargs = dict(kwargs)
    checkpoints = [str(domain_files['cityscapes']), str(domain_files['dark_zurich'])][:kwargs.pop('inputs', 2)]
    if 'out' in kwargs:
        kwargs['out'] = str(domain_files[kwargs['out']])
    with pytest.raises(MtdaError, match=match):
        MergeSpec(checkpoints, **kwargs)
