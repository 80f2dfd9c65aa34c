"""MergeHook: registered by ``import mtda``, merging domain_files into a real tiny tiny_segmentor through
:func:`mtda.apis.merge_checkpoints`, per-domain heads in the multi-domain loop, saving."""
import json

import pytest
import torch

from mtda.apis import evaluate_checkpoint, init_model, merge_checkpoints
from mtda.errors import CheckpointError
from mtda.io import atomic_save, sha256_file
from mtda.io.segmentor_state import read_segmentor_file
from mtda.merging.files import MergeSpec
from mtda.merging.hook import MergeHook
from segmentor_files import is_head_key, state_of

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def test_import_mtda_registers_the_hook_for_configs(domain_files):
    from mmseg.registry import HOOKS
    hook = HOOKS.build(dict(type='MergeHook', checkpoints=[str(domain_files['cityscapes']),
                                                          str(domain_files['dark_zurich'])],
                            buffers='mean', weights=[1, 3]))
    assert isinstance(hook, MergeHook)
    assert hook.spec.buffers == 'mean' and hook.spec.weights == (1, 3)


def test_separate_heads_evaluate_each_domain_with_its_own_head(two_domain_config, domain_files, tiny_data_root, monkeypatch,
                                                                tmp_path, segmentor_kinds):
    monkeypatch.chdir(tiny_data_root)
    out = tmp_path / 'merged.pth'
    spec = MergeSpec([domain_files['cityscapes'], domain_files['dark_zurich']], out=out, heads='separate')
    hook, results = merge_checkpoints(two_domain_config, spec, progress=False)
    saved = torch.load(out, weights_only=True)
    a, b = state_of(domain_files['cityscapes']), state_of(domain_files['dark_zurich'])
    # the encoder is the average of the two; each domain's head is its checkpoint's, bit for bit
    key = 'backbone.layers.0.0.projection.weight'
    torch.testing.assert_close(saved['state_dict'][key], (a[key].double() / 2 + b[key].double() / 2).float())
    for domain, source in (('cityscapes', a), ('dark_zurich', b)):
        head = saved['domain_heads'][domain]
        assert set(head) == {k for k in segmentor_kinds if is_head_key(k)}
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
        reference[domain] = {d: r['mIoU'] for d, r in evaluate_checkpoint(two_domain_config, single)['domains'].items()}
    assert {d: results['domains'][d]['mIoU'] for d in reference} == {d: reference[d][d] for d in reference}
    # the check has teeth: the two heads score differently on some domain
    assert reference['cityscapes'] != reference['dark_zurich']


def test_safetensors_export_carries_the_same_tensors_and_provenance(two_domain_config, domain_files, tmp_path):
    from safetensors import safe_open
    out = tmp_path / 'merged.pth'
    spec = MergeSpec([domain_files['cityscapes'], domain_files['dark_zurich']], out=out, heads='separate',
                     buffers='mean', weights=[3, 1], safetensors=True)
    hook, _ = merge_checkpoints(two_domain_config, spec, evaluate=False, progress=False)
    assert [p.name for p in hook.saved] == ['merged.pth', 'merged.safetensors']
    saved = torch.load(out, weights_only=True)
    meta = saved['meta']
    assert meta['weights'] == pytest.approx([0.75, 0.25]) and meta['buffer_policy'] == 'mean'
    assert [i['sha256'] for i in meta['inputs']] == [sha256_file(domain_files['cityscapes']),
                                                     sha256_file(domain_files['dark_zurich'])]
    assert meta['init_sha256'] and meta['dataset_meta']['classes'][0] == 'road'
    with safe_open(str(tmp_path / 'merged.safetensors'), 'pt') as f:
        assert {k: json.loads(v) for k, v in f.metadata().items()} == meta
        for key, value in saved['state_dict'].items():
            assert torch.equal(f.get_tensor(key), value)
        head_key = next(iter(saved['domain_heads']['dark_zurich']))
        assert torch.equal(f.get_tensor(f'domain_heads.dark_zurich.{head_key}'),
                           saved['domain_heads']['dark_zurich'][head_key])
    # read back as the .pth it mirrors, by mtda's readers and by mmseg's init_model
    side = tmp_path / 'merged.safetensors'
    read = read_segmentor_file(side)
    assert read.meta == meta and sorted(read.domain_heads) == ['cityscapes', 'dark_zurich']
    assert read.state.keys() == saved['state_dict'].keys()
    assert all(torch.equal(read.state[k], v) for k, v in saved['state_dict'].items())
    assert all(torch.equal(read.domain_heads['dark_zurich'][k], v)
               for k, v in saved['domain_heads']['dark_zurich'].items())
    from mmseg.apis import init_model as mmseg_init_model
    loaded = mmseg_init_model(two_domain_config, str(side), device='cpu').state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in saved['state_dict'].items())
    # mtda's init_model picks a domain's own head, the merged one without a domain
    night = init_model(two_domain_config, str(side), device='cpu', domain='dark_zurich')
    merged_head = init_model(two_domain_config, str(out), device='cpu').state_dict()
    for key, value in saved['domain_heads']['dark_zurich'].items():
        assert torch.equal(night.state_dict()[key], value)
        assert torch.equal(merged_head[key], saved['state_dict'][key])
    assert night.dataset_meta['classes'][0] == 'road' and night.cfg is not None
    with pytest.raises(CheckpointError, match=r"merged\.safetensors: no head for domain 'idd'; "
                                              r'it has heads for cityscapes, dark_zurich'):
        init_model(two_domain_config, str(side), device='cpu', domain='idd')
    side.write_bytes(side.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r'merged\.safetensors: not a readable safetensors '
                                              r'file .*re-create it'):
        read_segmentor_file(side)
