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
    (dict(method='ties'), '--method ties takes task vectors against the shared init: pass --base'),
    (dict(base='init'), '--base is used by the task-vector methods only'),
    (dict(method='ties', base='init', weights=[1.0, 2.0]), '--weights applies to --method average'),
    (dict(method='dare', base='nowhere.pth'), 'nowhere.pth: no such checkpoint file \\(--base\\)'),
    (dict(method='ties', base='init', density=0.0), '--density 0.0 is out of range'),
])
def test_spec_arguments_are_checked_before_anything_is_read(domain_files, kwargs, match):
    kwargs = dict(kwargs)
    checkpoints = [str(domain_files['cityscapes']), str(domain_files['dark_zurich'])][:kwargs.pop('inputs', 2)]
    if 'out' in kwargs:
        kwargs['out'] = str(domain_files[kwargs['out']])
    if kwargs.get('base') == 'init':
        kwargs['base'] = str(domain_files['cityscapes'].parent / 'init.pth')
    with pytest.raises(MtdaError, match=match):
        MergeSpec(checkpoints, **kwargs)


def test_ties_on_files_checks_the_base_and_records_what_it_did(domain_files, segmentor_kinds,
                                                                 tmp_path):
    from mtda.io import sha256_file
    from mtda.merging.files import merge_files, merge_provenance
    init = domain_files['cityscapes'].parent / 'init.pth'
    inputs = [domain_files['cityscapes'], domain_files['dark_zurich']]
    spec = MergeSpec(inputs, method='ties', base=init, density=0.5)
    merged = merge_files(spec, kinds=segmentor_kinds, progress=False)
    base, a, b = state_of(init), state_of(inputs[0]), state_of(inputs[1])
    key = 'decode_head.conv_seg.weight'
    tau_a, tau_b = a[key] - base[key], b[key] - base[key]
    # two models: where both survive the trim and agree, their mean; where they disagree, the
    # larger one (it decides the elected sign); where one survives, that one
    expected = torch.zeros_like(tau_a)
    for tau, other in ((tau_a, tau_b), (tau_b, tau_a)):
        kept = tau.abs() >= tau.abs().reshape(-1).topk(-(-tau.numel() // 2)).values.min()
        kept_other = other.abs() >= other.abs().reshape(-1).topk(-(-other.numel() // 2)).values.min()
        alone = kept & ~kept_other
        expected[alone] = tau[alone]
        both = kept & kept_other
        agree = both & (tau.sign() == other.sign())
        expected[agree] = (tau[agree] + other[agree]) / 2
        wins = both & (tau.sign() != other.sign()) & (tau.abs() > other.abs())
        expected[wins] = tau[wins]
    torch.testing.assert_close(merged.result.state_dict[key], base[key] + expected)
    meta = merge_provenance(merged, heads='merge')
    assert meta['merge_method'] == 'ties' and meta['base']['sha256'] == sha256_file(init)
    assert meta['method_options'] == dict(scale=1.0, density=0.5, topk='tensor')
    # a base the inputs were not trained from is refused, naming both hashes' heads
    other = atomic_save(dict(state_dict=base, meta={'note': 'another file'}), tmp_path / 'x.pth')
    with pytest.raises(MergeError, match=r'cityscapes\.pth was trained from init .*--base .*x\.pth'):
        merge_files(MergeSpec(inputs, method='task-arithmetic', base=other), kinds=segmentor_kinds,
                    progress=False)
