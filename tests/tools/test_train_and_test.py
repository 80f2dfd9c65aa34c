"""tools/train.py and tools/test.py on the tiny synthetic data, as a user runs them."""
import json
from pathlib import Path

import pytest
import torch

from support import TINY_CONFIG, run_tool, tool_main

FAST = ['--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'default_hooks.checkpoint.interval=2', 'randomness.seed=0']


@pytest.fixture(scope='module')
def trained(tiny_data_root):
    """A 4-iteration run of the tiny source-only config."""
    run_tool('train.py', TINY_CONFIG, '--work-dir', 'work_dirs/train4', *FAST, cwd=tiny_data_root)
    return tiny_data_root / 'work_dirs' / 'train4'


def test_training_writes_resume_and_weights_only_checkpoints(trained):
    assert (trained / 'iter_4.pth').is_file() and (trained / 'last_checkpoint').is_file()
    # a weights-only export beside each resumable checkpoint (interval 2), and the final one
    assert sorted(p.name for p in (trained / 'weights').iterdir()) == ['final.pth', 'iter_2.pth',
                                                                       'iter_4.pth']
    export = torch.load(trained / 'weights' / 'final.pth', weights_only=True)
    assert export['meta']['iteration'] == 4
    assert export['meta']['config'] == TINY_CONFIG.name
    assert export['meta']['classes'][0] == 'road'
    assert 'decode_head.conv_seg.weight' in export['state_dict']


def test_weights_only_export_loads_with_mmseg_init_model(trained):
    from mmseg.apis import inference_model, init_model
    import numpy as np
    model = init_model(str(TINY_CONFIG), str(trained / 'weights' / 'final.pth'), device='cpu')
    # the classes come from the file's dataset_meta, not from mmseg's guess by class count
    assert model.dataset_meta == torch.load(trained / 'weights' / 'final.pth',
                                            weights_only=True)['meta']['dataset_meta']
    assert model.dataset_meta['classes'][0] == 'road'
    result = inference_model(model, np.zeros((64, 128, 3), dtype=np.uint8))
    assert result.pred_sem_seg.data.shape == (1, 64, 128)


def test_test_tool_writes_per_domain_results(trained, tiny_data_root, tmp_path):
    import cv2
    preds, drawings = tmp_path / 'preds', tmp_path / 'show'
    proc = run_tool('test.py', TINY_CONFIG, trained / 'weights' / 'final.pth',
                    '--work-dir', tmp_path / 'eval', '--out', preds, '--show-dir', drawings,
                    cwd=tiny_data_root)
    data = json.loads((tmp_path / 'eval' / 'results.json').read_text())
    assert list(data['domains']) == ['cityscapes', 'idd', 'acdc', 'dark_zurich']
    for name, dom in data['domains'].items():
        assert 0.0 <= dom['mIoU'] <= 100.0 and dom['num_images'] > 0
        pngs = sorted((preds / name).glob('*.png'))
        assert len(pngs) == dom['num_images']
        # one drawing per image, under the image's own path: label beside prediction
        drawn = sorted((drawings / name).rglob('*.png'))
        assert len(drawn) == dom['num_images'], name
    drawn = sorted((drawings / 'cityscapes').rglob('*.png'))
    frame = cv2.imread(str(tiny_data_root / 'data/cityscapes/leftImg8bit/val' /
                           drawn[0].relative_to(drawings / 'cityscapes'))).shape
    assert cv2.imread(str(drawn[0])).shape == (frame[0], 2 * frame[1], 3)  # two panels
    assert not list(drawings.rglob('.*'))  # no temporary file left behind
    assert '| gta (final) |' in proc.stdout and 'H-mean' in proc.stdout  # named after its run
    # a short terminal; mmengine's full record (config dump, iterations) in the named log file
    log = Path(proc.stdout.split('full log: ')[1].splitlines()[0])
    assert log.parent.parent == tmp_path / 'eval' and 'Config:' in log.read_text()
    assert 'log' not in data  # results files hold results only (two runs give the same file)
    assert 'Config:' not in proc.stdout + proc.stderr and 'Iter(test)' not in proc.stdout
    assert (tmp_path / 'eval' / 'results.md').is_file()
    assert (tmp_path / 'eval' / 'results.csv').is_file()


class _Payload:
    """Unpickling this would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_test_tool_refuses_a_checkpoint_with_code(trained, tiny_data_root, tmp_path):
    marker = tmp_path / 'code-ran'
    hostile = tmp_path / 'hostile.pth'
    state = torch.load(trained / 'weights' / 'final.pth', weights_only=True)
    torch.save(dict(state, meta=_Payload(str(marker))), hostile)
    proc = run_tool('test.py', TINY_CONFIG, hostile, '--work-dir', tmp_path / 'eval',
                    cwd=tiny_data_root, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'hostile.pth' in lines[0]
    assert 'export_weights' in lines[0] and '--trust-checkpoint' in lines[0]
    assert not marker.exists()
    assert not (tmp_path / 'eval' / 'results.json').exists()


def test_training_checkpoints_are_plain_data(trained):
    """mmengine's own checkpoint (optimizer, message hub) loads weights-only, no allow-list."""
    assert torch.serialization.get_unsafe_globals_in_checkpoint(trained / 'iter_4.pth') == []
    ckpt = torch.load(trained / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert ckpt['message_hub']['log_scalars']['train/loss']['log_history']
    assert ckpt['random_state']['torch_cpu'].dtype == torch.uint8


@pytest.mark.parametrize('tool', ['train.py', 'test.py', 'infer.py'])
def test_tools_print_help(tool, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool_main(tool)(['--help'])
    assert exit_.value.code == 0 and 'usage:' in capsys.readouterr().out
