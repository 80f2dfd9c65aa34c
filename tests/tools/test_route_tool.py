"""tools/route.py on the tiny synthetic data: candidates scored, the choice, predictions by the
chosen model, and bad inputs as one-line errors."""
import json

import cv2
import numpy as np
import pytest
import torch

from mtda.io import atomic_save
from support import TINY_CONFIG, run_tool, run_tool_in_process

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def candidates(tmp_path_factory):
    """Two experts of one init: ``day`` as initialised, ``shifted`` with every BN's running mean
    moved by 3 (so the frames' statistics match ``day``'s far better)."""
    from mmseg.apis import init_model
    folder = tmp_path_factory.mktemp('route')
    torch.manual_seed(0)
    state = init_model(str(TINY_CONFIG), device='cpu').state_dict()
    meta = dict(dataset_meta=dict(classes=[f'c{i}' for i in range(19)],
                                  palette=[[i, i, i] for i in range(19)]))
    day = atomic_save(dict(state_dict=state, meta=meta), folder / 'day.pth')
    shifted_state = {k: v + 3.0 if k.endswith('running_mean') else v for k, v in state.items()}
    shifted = atomic_save(dict(state_dict=shifted_state, meta=meta), folder / 'shifted.pth')
    return folder, day, shifted


@pytest.fixture(scope='module')
def frames(tiny_data_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp('frames')
    for image in sorted((tiny_data_root / 'data/dark_zurich/rgb_anon/val').rglob('*.png'))[:3]:
        (folder / image.name).write_bytes(image.read_bytes())
    return folder


def test_route_scores_every_candidate_and_predicts_with_the_choice(candidates, frames,
                                                                   tiny_data_root, tmp_path):
    folder, day, shifted = candidates
    out = tmp_path / 'route'
    proc = run_tool('route.py', TINY_CONFIG, '--experts', shifted, day, '--images', frames,
                    '--out-dir', out, '--predict', cwd=tiny_data_root)
    record = json.loads((out / 'route.json').read_text())
    assert record['candidates'] == ['shifted', 'day'] and record['frames'] == 3
    # the BN-statistics criterion sees the shift: the unshifted model fits the frames
    assert record['chosen'] == 'day' and record['choice']['bn'] == 'day'
    bn = record['scores']['bn']
    assert bn[0] > bn[1] >= 0.0
    assert record['per_frame'] == {'day': 3}
    assert (out / 'route.md').read_text() in proc.stdout
    preds = sorted((out / 'pred').glob('*.png'))
    assert len(preds) == 3 and len(list((out / 'overlay').glob('*.jpg'))) == 3
    # the predictions are the chosen model's own
    from mtda.apis.infer import load_segmentor, predict
    from mtda.config import load_config
    model = load_segmentor(load_config(str(TINY_CONFIG)), day)
    frame = cv2.imread(str(frames / preds[0].name), cv2.IMREAD_COLOR)
    assert np.array_equal(cv2.imread(str(preds[0]), cv2.IMREAD_UNCHANGED), predict(model, frame))


def test_labels_equal_to_a_candidate_s_own_predictions_choose_it(candidates, frames,
                                                                 tiny_data_root, tmp_path):
    from mtda.apis.infer import load_segmentor, predict, read_frames
    from mtda.config import load_config
    folder, day, shifted = candidates
    labels = tmp_path / 'labels'
    labels.mkdir()
    model = load_segmentor(load_config(str(TINY_CONFIG)), shifted)
    for name, frame in read_frames(frames):
        cv2.imwrite(str(labels / f'{name}.png'), predict(model, frame))
    out = tmp_path / 'route'
    run_tool('route.py', TINY_CONFIG, '--experts', day, shifted, '--images', frames,
             '--labels', labels, '--criterion', 'labels', '--per-image', '--out-dir', out,
             cwd=tiny_data_root)
    record = json.loads((out / 'route.json').read_text())
    assert record['chosen'] == 'shifted'
    assert record['scores']['labels'][1] == pytest.approx(100.0)
    assert set(record['frame_choices'].values()) == {'shifted'}


def test_bad_inputs_are_one_line_errors(candidates, frames, tiny_data_root, tmp_path):
    folder, day, shifted = candidates
    empty = tmp_path / 'empty'
    empty.mkdir()
    other = atomic_save(dict(torch.load(day, weights_only=True),
                             meta=dict(dataset_meta=dict(classes=[f'x{i}' for i in range(19)],
                                                         palette=[[0, 0, 0]] * 19))),
                        tmp_path / 'other_classes.pth')
    not_segmentor = atomic_save(dict(state_dict={'fc.weight': torch.zeros(2, 2)}),
                                tmp_path / 'classifier.pth')
    cases = {
        'no images': (['--experts', day, shifted, '--images', empty], ['empty: no images']),
        'classes differ': (['--experts', day, other, '--images', frames],
                           ['other_classes.pth: predicts the classes', 'one label set']),
        'not a segmentor': (['--experts', day, not_segmentor, '--images', frames],
                            ['classifier.pth: does not fit the config\'s model']),
        'one candidate': (['--experts', day, '--images', frames],
                          ['1 candidate(s): routing needs at least two models']),
        'labels criterion without labels': (['--experts', day, shifted, '--images', frames,
                                             '--criterion', 'labels'],
                                            ['--criterion labels needs --labels DIR']),
    }
    for name, (args, fragments) in cases.items():
        out = tmp_path / name.replace(' ', '_')
        proc = run_tool_in_process('route.py', TINY_CONFIG, *args, '--out-dir', out,
                                   cwd=tiny_data_root)
        errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
        assert proc.returncode == 2 and len(errors) == 1, (name, proc.stderr[-2000:])
        assert all(f in errors[0] for f in fragments), (name, errors[0])
        assert not (out / 'route.json').exists(), name
