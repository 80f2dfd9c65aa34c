import os
from collections import OrderedDict

import pytest
import torch

from mtda.errors import CheckpointError
from mtda.io import atomic_save, load_checkpoint_file, load_state_dict_file, provenance, sha256_file


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
