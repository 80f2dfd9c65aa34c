"""The linear-mode-connectivity sweep: its ends are the two models, its files are data then views.

A and B are the tiny SegFormer from two random inits (the paper's case where merging collapses), so
the two ends score differently and the end-point checks have teeth.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mtda.analysis.lmc import hmean_barrier, lambdas, render_lmc_markdown
from mtda.errors import MtdaError
from mtda.apis import evaluate_checkpoint
from mtda.io import atomic_save
from support import REPO, TINY_CONFIG, TWO_DOMAINS

pytestmark = pytest.mark.usefixtures('one_torch_thread')



@pytest.fixture(scope='module')
def sweep(tiny_data_root, tmp_path_factory):
    """tools/analyze_lmc.py over 3 points, and each end evaluated alone as tools/test.py does."""
    from mmseg.apis import init_model
    from mtda.config import load_config
    folder = tmp_path_factory.mktemp('lmc')
    config = folder / 'two_domains.py'
    config.write_text(TWO_DOMAINS)
    ends = {}
    for name, seed in (('a', 0), ('b', 1)):
        torch.manual_seed(seed)
        model = init_model(str(TINY_CONFIG), device='cpu')
        ends[name] = atomic_save(dict(state_dict=model.state_dict(), meta={}), folder / f'{name}.pth')
    # A with its units reordered: the same function, far from A in weight space
    from mtda.merging.rebasin import permute_state, random_permutations
    from mtda.models.permutation_specs import permutation_spec_of
    spec = permutation_spec_of(model)
    state = torch.load(ends['a'], weights_only=True)['state_dict']
    ends['a_reordered'] = atomic_save(
        dict(state_dict=permute_state(state, spec, random_permutations(spec, seed=3)), meta={}),
        folder / 'a_reordered.pth')

    def analyze(b, work, *options):
        return subprocess.Popen(
            [sys.executable, str(REPO / 'tools' / 'analyze_lmc.py'), str(config), str(ends['a']),
             str(ends[b]), '--steps', '3', '--work-dir', str(folder / work), *options],
            cwd=tiny_data_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, 'OMP_NUM_THREADS': '1'})

    tool = analyze('b', 'work')
    matched = analyze('a_reordered', 'matched', '--rebasin')
    reference = {}
    with pytest.MonkeyPatch.context() as patch:  # the config reads data/ relative to the cwd
        patch.chdir(tiny_data_root)
        for name, path in ends.items():
            cfg = load_config(str(config), work_dir=str(folder / f'test_{name}'))
            reference[name] = evaluate_checkpoint(cfg, path)
    out, err = tool.communicate(timeout=600)
    assert tool.returncode == 0, err[-3000:]
    matched_out, err = matched.communicate(timeout=600)
    assert matched.returncode == 0, err[-3000:]
    return folder / 'work', reference, out, (folder / 'matched', matched_out)


def test_the_ends_of_the_path_are_the_two_models(sweep):
    work, reference, _, _ = sweep
    data = json.loads((work / 'lmc.json').read_text())
    assert [p['lambda'] for p in data['points']] == [0.0, 0.5, 1.0]
    assert data['domains'] == ['cityscapes', 'dark_zurich']
    for point, end in ((data['points'][0], 'a'), (data['points'][-1], 'b')):
        assert point['mIoU'] == {d: v['mIoU'] for d, v in reference[end]['domains'].items()}
        assert point['hmean'] == reference[end]['hmean']
    assert reference['a']['domains'] != reference['b']['domains']  # the check has teeth
    assert data['lineage'] == [f'{data["checkpoint_a"]} records no init_sha256, so a shared init '
                               'cannot be checked for it',
                               f'{data["checkpoint_b"]} records no init_sha256, so a shared init '
                               'cannot be checked for it']


def test_the_plot_and_table_are_written_from_the_data(sweep):
    work, _, stdout, _ = sweep
    assert (work / 'lmc.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    table = (work / 'lmc.md').read_text()
    assert table == render_lmc_markdown(json.loads((work / 'lmc.json').read_text()))
    assert '| 0.50 |' in table and 'H-mean barrier' in table and table in stdout
    # a line per point as it is measured, mmengine's own log in its file only
    assert 'λ=0.50: H-mean' in stdout and 'Config:' not in stdout
    log = Path(stdout.split('full log: ')[1].splitlines()[0])
    assert log.is_relative_to(work) and 'Config:' in log.read_text()
    assert not [p for p in work.iterdir() if p.name.endswith('.tmp')]


def test_lambda_grid_and_barrier():
    assert lambdas(2) == [0.0, 1.0] and lambdas(5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(MtdaError, match='--steps 1'):
        lambdas(1)
    points = [dict(hmean=h, **{'lambda': lam}) for lam, h in ((0.0, 40.0), (0.5, 10.0), (1.0, 20.0))]
    assert hmean_barrier(points) == pytest.approx(20.0)  # the line is at 30 when lambda = 0.5
    points[1]['hmean'] = None
    assert hmean_barrier(points) is None


def test_barrier_over_a_subset_of_domains():
    # H(C, I) at the three points: H(40, 40) = 40, H(10, 40) = 16, H(20, 20) = 20
    points = [{'lambda': 0.0, 'hmean': 1.0, 'mIoU': dict(cityscapes=40.0, idd=40.0, acdc=1.0)},
              {'lambda': 0.5, 'hmean': 1.0, 'mIoU': dict(cityscapes=10.0, idd=40.0, acdc=1.0)},
              {'lambda': 1.0, 'hmean': 1.0, 'mIoU': dict(cityscapes=20.0, idd=20.0, acdc=1.0)}]
    assert hmean_barrier(points, domains=['cityscapes', 'idd']) == pytest.approx(30.0 - 16.0)
    assert hmean_barrier(points) == pytest.approx(0.0)


def test_rebasin_matches_a_reordered_copy_back_so_the_whole_path_is_the_model(sweep):
    _, reference, _, (work, stdout) = sweep
    data = json.loads((work / 'lmc.json').read_text())
    # the reordered copy matched back is A itself: every point of the path scores as A does
    for point in data['points']:
        assert point['mIoU'] == {d: v['mIoU'] for d, v in reference['a']['domains'].items()}
    assert data['hmean_barrier'] == 0.0
    assert data['rebasin']['fixed_fraction'] < 0.1 and data['rebasin']['units'] > 1000
    assert set(data['rebasin']['fixed_fraction_by_module']) == {'backbone', 'decode_head'}
    assert 'matched to it (Git Re-Basin)' in stdout and 'Re-Basin left' in stdout
