"""MergeHook: files merged into a real tiny segmentor, student/teacher, lineage, heads, saving.

Checkpoints here are the tiny SegFormer's shared init plus a small per-"domain" perturbation of every
floating entry, random BatchNorm statistics and different counters: cheap to make, and the merge's
expected output can be computed independently from them.
"""
import json

import pytest
import torch

from mtda.datasets.label_maps import CLASSES
from mtda.errors import CheckpointError, MergeError
from mtda.evaluation import evaluate_checkpoint
from mtda.io import atomic_save, sha256_file
from mtda.merging import EntryKind, classify_state_dict_entries
from mtda.merging.hook import (HEAD_PREFIXES, MergedCheckpoints, MergeHook, assign_domain_heads,
                               batchnorm_types, merge_checkpoint_files, run_merge, segmentor_of)
from support import TWO_DOMAINS

pytestmark = pytest.mark.usefixtures('one_torch_thread')



def _is_head(key):
    return key.startswith(tuple(f'{p}.' for p in HEAD_PREFIXES))


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    from mtda.config import load_config
    path = tmp_path_factory.mktemp('cfg') / 'two_domains.py'
    path.write_text(TWO_DOMAINS)
    return load_config(str(path), work_dir=str(path.parent / 'work'))


@pytest.fixture(scope='module')
def segmentor(config):
    from mmseg.apis import init_model
    torch.manual_seed(0)
    return init_model(config, device='cpu')


@pytest.fixture(scope='module')
def kinds(segmentor):
    return classify_state_dict_entries(segmentor, batchnorm_types=batchnorm_types())


def _fine_tuned(init, kinds, seed, counter):
    """The init moved a little in every floating entry, with its own BatchNorm statistics."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in init.items():
        kind = kinds[key]
        if kind is EntryKind.BN_COUNTER:
            state[key] = torch.tensor(counter, dtype=value.dtype)
        elif kind is EntryKind.BN_VAR:
            state[key] = torch.rand(value.shape, generator=generator) + 0.2
        elif kind is EntryKind.BN_MEAN:
            state[key] = torch.randn(value.shape, generator=generator)
        elif value.is_floating_point():
            state[key] = value + 0.05 * torch.randn(value.shape, generator=generator)
        else:
            state[key] = value.clone()
    return state


@pytest.fixture(scope='module')
def files(tmp_path_factory, segmentor, kinds):
    """init.pth and two checkpoints fine-tuned from it, for cityscapes (n=10) and dark_zurich (n=30)."""
    folder = tmp_path_factory.mktemp('ckpts')
    init = {k: v.detach().clone() for k, v in segmentor.state_dict().items()}
    atomic_save(dict(state_dict=init, meta={}), folder / 'init.pth')
    init_sha = sha256_file(folder / 'init.pth')
    paths = {}
    for name, seed, counter in (('cityscapes', 1, 10), ('dark_zurich', 2, 30)):
        state = _fine_tuned(init, kinds, seed, counter)
        meta = dict(init_sha256=init_sha, target_domain=name, classes=list(CLASSES))
        paths[name] = atomic_save(dict(state_dict=state, meta=meta), folder / f'{name}.pth')
    return paths


def _state(path):
    return torch.load(path, weights_only=True)['state_dict']


def test_separate_heads_evaluate_each_domain_with_its_own_head(config, files, tiny_data_root, monkeypatch,
                                                                tmp_path, kinds):
    monkeypatch.chdir(tiny_data_root)
    out = tmp_path / 'merged.pth'
    hook, results = run_merge(config, checkpoints=[files['cityscapes'], files['dark_zurich']], out=str(out),
                              heads='separate', progress=False)
    saved = torch.load(out, weights_only=True)
    a, b = _state(files['cityscapes']), _state(files['dark_zurich'])
    # the encoder is the average of the two; each domain's head is its checkpoint's, bit for bit
    key = 'backbone.layers.0.0.projection.weight'
    torch.testing.assert_close(saved['state_dict'][key], (a[key].double() / 2 + b[key].double() / 2).float())
    for domain, source in (('cityscapes', a), ('dark_zurich', b)):
        head = saved['domain_heads'][domain]
        assert set(head) == {k for k in kinds if _is_head(k)}
        assert all(torch.equal(head[k], source[k]) for k in head)
    assert saved['meta']['heads'] == 'separate' and saved['meta']['domain_heads'] == ['cityscapes',
                                                                                       'dark_zurich']
    # the model is left with the fully merged weights: each domain's head was restored after it ran
    model = hook.merged.result.state_dict
    assert all(torch.equal(model[k], saved['state_dict'][k]) for k in model)

    # reference: evaluate "merged encoder + that domain's head" as an ordinary checkpoint
    reference = {}
    for domain in ('cityscapes', 'dark_zurich'):
        single = tmp_path / f'merged_with_{domain}_head.pth'
        atomic_save(dict(state_dict={**saved['state_dict'], **saved['domain_heads'][domain]}), single)
        reference[domain] = {d: r['mIoU'] for d, r in evaluate_checkpoint(config, single)['domains'].items()}
    assert {d: results['domains'][d]['mIoU'] for d in reference} == {d: reference[d][d] for d in reference}
    # the check has teeth: the two heads score differently on some domain
    assert reference['cityscapes'] != reference['dark_zurich']


def test_teacher_and_student_are_read_from_a_uda_checkpoint(files, kinds, tmp_path):
    a, b = _state(files['cityscapes']), _state(files['dark_zurich'])
    wrapper = {**{f'model.{k}': v for k, v in a.items()}, **{f'teacher.{k}': v for k, v in b.items()},
               'imnet_backbone.w': torch.zeros(1)}
    full = atomic_save(dict(state_dict=wrapper, meta={}), tmp_path / 'iter_4.pth')
    for role, expected in (('student', a), ('teacher', b)):
        merged = merge_checkpoint_files([full, full], kinds=kinds, model_role=role, progress=False)
        for key, value in merged.result.state_dict.items():
            if kinds[key] is EntryKind.BN_COUNTER:
                assert value.item() == 2 * expected[key].item()  # pool adds up the counts
            else:
                assert torch.equal(value, expected[key]), (role, key)
    with pytest.raises(CheckpointError, match=r'cityscapes\.pth: holds one segmentor .*--model student'):
        merge_checkpoint_files([files['cityscapes']] * 2, kinds=kinds, model_role='teacher', progress=False)


def test_different_inits_are_refused_unless_allowed(files, kinds, tmp_path):
    other = torch.load(files['dark_zurich'], weights_only=True)
    other['meta']['init_sha256'] = 'f' * 64
    path = atomic_save(other, tmp_path / 'other_init.pth')
    with pytest.raises(MergeError, match='different inits.*--allow-different-init'):
        merge_checkpoint_files([files['cityscapes'], path], kinds=kinds, progress=False)
    merged = merge_checkpoint_files([files['cityscapes'], path], kinds=kinds, allow_different_init=True,
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
def test_hook_arguments_are_checked_before_anything_is_read(files, kwargs, match):
    kwargs = dict(kwargs)
    checkpoints = [str(files['cityscapes']), str(files['dark_zurich'])][:kwargs.pop('inputs', 2)]
    if 'out' in kwargs:
        kwargs['out'] = str(files[kwargs['out']])
    with pytest.raises(MergeError, match=match):
        MergeHook(checkpoints=checkpoints, **kwargs)


def test_safetensors_export_carries_the_same_tensors_and_provenance(config, files, tmp_path):
    from safetensors import safe_open
    out = tmp_path / 'merged.pth'
    hook, _ = run_merge(config, evaluate=False, checkpoints=[files['cityscapes'], files['dark_zurich']],
                        out=str(out), heads='separate', buffers='mean', weights=[3, 1], safetensors=True,
                        progress=False)
    assert [p.name for p in hook.saved] == ['merged.pth', 'merged.safetensors']
    saved = torch.load(out, weights_only=True)
    meta = saved['meta']
    assert meta['weights'] == pytest.approx([0.75, 0.25]) and meta['buffer_policy'] == 'mean'
    assert [i['sha256'] for i in meta['inputs']] == [sha256_file(files['cityscapes']),
                                                     sha256_file(files['dark_zurich'])]
    assert meta['init_sha256'] and meta['dataset_meta']['classes'][0] == 'road'
    with safe_open(str(tmp_path / 'merged.safetensors'), 'pt') as f:
        assert {k: json.loads(v) for k, v in f.metadata().items()} == meta
        for key, value in saved['state_dict'].items():
            assert torch.equal(f.get_tensor(key), value)
        head_key = next(iter(saved['domain_heads']['dark_zurich']))
        assert torch.equal(f.get_tensor(f'domain_heads.dark_zurich.{head_key}'),
                           saved['domain_heads']['dark_zurich'][head_key])


def test_a_uda_wrapper_merges_into_its_student():
    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1))
            self.teacher = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1))

        @property
        def student(self):
            return self.model

    wrapper = Wrapper()
    assert segmentor_of(wrapper) == (wrapper.model, 'model.')
    assert segmentor_of(wrapper.teacher) == (wrapper.teacher, '')
