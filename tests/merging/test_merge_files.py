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


def test_domain_heads_follow_explicit_names_then_meta_never_position():
    domains = ['cityscapes', 'idd', 'acdc']
    heads, warnings = assign_domain_heads(_merged_with_heads([{'target_domain': 'idd'},
                                                              {'target_domain': 'cityscapes'}]),
                                          config_domains=domains)
    assert {d: h['decode_head.w'].item() for d, h in heads.items()} == {'cityscapes': 1.0, 'idd': 0.0}
    assert warnings == ['no checkpoint for acdc: evaluated with the merged head']
    heads, _ = assign_domain_heads(_merged_with_heads([{}, {}]), config_domains=domains,
                                   domains=['acdc', 'idd'])
    assert list(heads) == ['idd', 'acdc'] and heads['acdc']['decode_head.w'].item() == 0.0
    with pytest.raises(MergeError, match=r'ckpt1\.pth records no target_domain, so --heads '
                                         r'separate cannot tell .* pass --domains, one per '
                                         r'checkpoint in order, from cityscapes, idd, acdc'):
        assign_domain_heads(_merged_with_heads([{'target_domain': 'idd'}, {}]),
                            config_domains=domains)
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
    # the init is its weights: the same weights in another file (another meta) are the same base
    copy = atomic_save(dict(state_dict=base, meta={'note': 'built again'}), tmp_path / 'copy.pth')
    assert sha256_file(copy) != sha256_file(init)
    again = merge_files(MergeSpec(inputs, method='ties', base=copy, density=0.5),
                        kinds=segmentor_kinds, progress=False)
    torch.testing.assert_close(again.result.state_dict[key], merged.result.state_dict[key])
    # checkpoints written before the weights hash record the init file's hash: still accepted
    olds = []
    for path in inputs:
        checkpoint = torch.load(path, weights_only=True)
        checkpoint['meta']['init_sha256'] = sha256_file(init)
        olds.append(atomic_save(checkpoint, tmp_path / f'old_{path.name}'))
    merge_files(MergeSpec(olds, method='task-arithmetic', base=init), kinds=segmentor_kinds,
                progress=False)
    # a base with other weights than the inputs were trained from is refused, naming both
    moved = dict(base, **{key: base[key] + 1e-3})
    other = atomic_save(dict(state_dict=moved, meta={}), tmp_path / 'x.pth')
    with pytest.raises(MergeError, match=r'cityscapes\.pth was trained from init .*--base .*x\.pth'):
        merge_files(MergeSpec(inputs, method='task-arithmetic', base=other), kinds=segmentor_kinds,
                    progress=False)


def test_merging_is_associative_through_the_recorded_members(domain_files, segmentor_kinds,
                                                             tmp_path):
    """merge(merge(A, B), C) == merge(A, B, C): parameters (the merge of two weighs two) and the
    pooled BatchNorm statistics (its counters hold both members'); other methods refuse."""
    from mtda.io import sha256_file
    from mtda.merging.files import merge_files, merge_provenance, save_merged
    from segmentor_files import fine_tuned
    a, b = domain_files['cityscapes'], domain_files['dark_zurich']
    meta = torch.load(a, weights_only=True)['meta']
    init = state_of(domain_files['cityscapes'])  # any state of the model serves as a start
    c = atomic_save(dict(state_dict=fine_tuned(init, segmentor_kinds, 7, 50),
                         meta=dict(meta, target_domain='idd')), tmp_path / 'idd.pth')

    def merge(inputs, out=None, **options):
        merged = merge_files(MergeSpec(inputs, **options), kinds=segmentor_kinds, progress=False)
        if out is not None:
            save_merged(merged, out, meta=merge_provenance(merged, heads='merge'))
        return merged

    merge([a, b], tmp_path / 'ab.pth')
    stepwise = merge([tmp_path / 'ab.pth', c], tmp_path / 'abc.pth')
    at_once = merge([a, b, c])
    assert stepwise.result.weights == pytest.approx((2 / 3, 1 / 3))
    largest = max(float((stepwise.result.state_dict[k].double()
                         - at_once.result.state_dict[k].double()).abs().max())
                  for k in at_once.result.state_dict)
    print(f"associativity: largest difference {largest:.3g}")
    assert largest < 1e-6
    counter = next(k for k, kind in segmentor_kinds.items() if kind is EntryKind.BN_COUNTER)
    assert int(stepwise.result.state_dict[counter]) == 10 + 30 + 50
    saved = torch.load(tmp_path / 'abc.pth', weights_only=True)['meta']
    assert saved['members'] == 3
    assert [m['sha256'] for m in saved['member_inputs']] == [sha256_file(p) for p in (a, b, c)]
    assert saved['target_domains'] == ['cityscapes', 'dark_zurich', 'idd']
    with pytest.raises(MergeError, match=r'ab\.pth is itself a merge; --heads separate cannot'):
        merge([tmp_path / 'ab.pth', c], heads='separate')
    with pytest.raises(MergeError, match=r'ab\.pth is itself a merge; --method ties cannot'):
        merge([tmp_path / 'ab.pth', c], method='ties', base=a)
