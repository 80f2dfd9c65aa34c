import hashlib
import os
from collections import OrderedDict

import pytest
import torch

from mtda.errors import CheckpointError
from mtda.io import (atomic_save, load_checkpoint_file, load_state_dict_file, provenance, sha256_file,
                     weights_sha256)


def test_weights_sha256_is_of_the_weights_not_the_file(tmp_path):
    # the format, computed by hand: name|dtype|shape and the raw bytes, per tensor in name order
    weights = torch.tensor([1.0, 2.0])
    expected = hashlib.sha256(b'w|torch.float32|(2,)\n' + weights.numpy().tobytes()).hexdigest()
    assert weights_sha256({'w': weights}) == expected
    state = OrderedDict(b=torch.arange(6.).reshape(2, 3), a=torch.tensor([True, False]))
    digest = weights_sha256(state)
    # two files of the same weights (another time and inputs in the meta) hash alike ...
    first = atomic_save(dict(state_dict=state, meta=provenance(note='first')), tmp_path / '1.pth')
    second = atomic_save(dict(state_dict=state, meta=provenance(note='again')), tmp_path / '2.pth')
    assert sha256_file(first) != sha256_file(second)
    assert weights_sha256(load_state_dict_file(first)) == weights_sha256(
        load_state_dict_file(second)) == digest
    # ... in either file format ...
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / '3.safetensors'),
              metadata={'note': '"safetensors"'})
    assert weights_sha256(load_state_dict_file(tmp_path / '3.safetensors')) == digest
    # ... whatever the keys' order or the memory layout
    assert weights_sha256(OrderedDict(reversed(list(state.items())))) == digest
    assert weights_sha256(dict(state, b=state['b'].T.contiguous().T)) == digest
    # any change of a value, dtype, shape or name is another init
    changed = [dict(state, b=state['b'] + torch.finfo(torch.float32).eps * 4),
               dict(state, b=state['b'].double()), dict(state, b=state['b'].reshape(3, 2)),
               {'c' if k == 'b' else k: v for k, v in state.items()}]
    assert len({digest, *map(weights_sha256, changed)}) == 5
    assert len(weights_sha256({'h': torch.ones(3, dtype=torch.bfloat16)})) == 64


class _Payload:
    """Unpickling this would write a marker file: the safe loader must never do it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_atomic_save_roundtrip_with_provenance(tmp_path):
    src = tmp_path / 'in.bin'
    src.write_bytes(b'abc')
    state = OrderedDict(w=torch.arange(4.0))
    meta = provenance([src], weights=[0.5, 0.5])
    out = atomic_save(dict(state_dict=state, meta=meta), tmp_path / 'sub' / 'out.pth')
    assert sorted(p.name for p in out.parent.iterdir()) == ['out.pth']  # no temp file left
    loaded = torch.load(out, weights_only=True)
    assert torch.equal(loaded['state_dict']['w'], state['w'])
    assert loaded['meta']['inputs'][0]['sha256'] == sha256_file(src)
    assert loaded['meta']['inputs'][0]['sha256'] == \
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    assert load_state_dict_file(out)['w'].tolist() == [0, 1, 2, 3]


def test_pickle_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / 'pwned'
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': _Payload(str(marker))}, bad)
    with pytest.raises(CheckpointError, match=r'bad\.pth: holds pickled Python objects.*'
                                              r'export_weights'):
        load_checkpoint_file(bad)
    assert not marker.exists()


@pytest.mark.parametrize('content,match', [
    (b'', 'empty file'),
    (b'not a checkpoint at all', 'not a readable torch checkpoint'),
])
def test_corrupt_files_get_one_line_errors(tmp_path, content, match):
    path = tmp_path / 'x.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint_file(path)
    assert '\n' not in str(info.value) and 'x.pth' in str(info.value)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / 't.pth'
    torch.save({'w': torch.randn(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        load_checkpoint_file(path)


def test_missing_file_and_non_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match='no such checkpoint file'):
        load_checkpoint_file(tmp_path / 'nope.pth')
    path = tmp_path / 'list.pth'
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match='not a checkpoint'):
        load_state_dict_file(path)


def test_prefix_selection(tmp_path):
    path = tmp_path / 'uda.pth'
    torch.save({'state_dict': {'model.a': torch.zeros(1), 'ema_model.a': torch.ones(1)}}, path)
    assert list(load_state_dict_file(path, prefix='model.')) == ['a']
    with pytest.raises(CheckpointError, match='no weights under "student."'):
        load_state_dict_file(path, prefix='student.')


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken_save(obj, f):
        f.write(b'partial')
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(CheckpointError, match='could not be written'):
        atomic_save({'w': torch.ones(1)}, tmp_path / 'o.pth')
    assert os.listdir(tmp_path) == []


def test_checkpoint_labels_name_the_run_when_the_file_name_does_not():
    from mtda.io import checkpoint_label
    meta = dict(source_domain='gta', target_domain='cityscapes')
    assert checkpoint_label('w/stage_one/cityscapes/weights/final.pth', meta) == \
        'gta→cityscapes (final)'
    assert checkpoint_label('iter_1500.pth', dict(target_domain='idd')) == 'source→idd (iter_1500)'
    assert checkpoint_label('source_only/final.pth', dict(source_domain='gta')) == 'gta (final)'
    assert checkpoint_label('final.pth', None) == 'final'
    assert checkpoint_label('merged_ci.pth', meta) == 'merged_ci'  # a name someone chose


def test_output_paths_are_checked_before_any_work(tmp_path, monkeypatch):
    from pathlib import Path

    from mtda.errors import MtdaError
    from mtda.io.atomic import check_output_path
    a_file = tmp_path / 'a.txt'
    a_file.write_text('x')
    check_output_path(tmp_path / 'new' / 'deeper' / 'out.pth', option='--out')  # to be created
    check_output_path(tmp_path / 'work', option='--work-dir', folder=True)
    assert not (tmp_path / 'new').exists() and not list(tmp_path.glob('.mtda-write-probe*'))
    with pytest.raises(MtdaError, match=r'^--out .*: is a folder; give the path of a file'):
        check_output_path(tmp_path, option='--out')
    with pytest.raises(MtdaError, match=r'^--work-dir .*a\.txt: is a file; give the path of a folder'):
        check_output_path(a_file, option='--work-dir', folder=True)
    with pytest.raises(MtdaError, match=r'a\.txt is a file, so nothing can be created under it'):
        check_output_path(a_file / 'sub' / 'out.pth', option='--out')

    def read_only(self, *args, **kwargs):
        raise OSError(30, 'Read-only file system')
    monkeypatch.setattr(Path, 'touch', read_only)
    with pytest.raises(MtdaError, match=r'cannot write into .* \(Read-only file system\); choose a '
                                        'writable location'):
        check_output_path(tmp_path / 'out.pth', option='--out')
