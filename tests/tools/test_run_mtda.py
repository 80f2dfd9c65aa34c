"""The README's main job, shortened to a few iterations, from an empty folder."""
import json

import pytest
import torch

from mtda.io import load_state_dict_file, weights_sha256
from support import CONFIGS, run_tool, run_tool_in_process

pytestmark = pytest.mark.first  # the longest test: started first (tests/conftest.py)


def test_main_job_from_an_empty_folder(tmp_path):
    # two steps at a time, as on the README's 2-core machine; a new interpreter, as a user starts it
    proc = run_tool('run_mtda.py', '--uda-iters', '2', '--data-size', 'tiny', '--jobs', '2',
                    '--work-dir', 'work_dirs/job', cwd=tmp_path, timeout=900,
                    fresh_interpreter=True)
    for name in ('gta', 'synthia', 'cityscapes', 'idd', 'acdc', 'dark_zurich'):
        assert (tmp_path / 'data' / name).is_dir()
    job = tmp_path / 'work_dirs' / 'job'
    data = json.loads((job / 'results.json').read_text())
    names = [m['name'] for m in data['models']]
    assert names == ['source-only (GTA)', 'single: cityscapes', 'single: idd', 'single: acdc',
                     'single: dark_zurich', 'merged (pool BN)', 'merged (mean BN)',
                     'merged (first BN)', 'merged encoder, own heads']
    for model in data['models']:
        assert list(model['domains']) == ['cityscapes', 'idd', 'acdc', 'dark_zurich']
    assert (job / 'results.png').stat().st_size > 0
    # the second table: the average beside every merge method, from its own merge
    methods = json.loads((job / 'methods' / 'results.json').read_text())
    assert [m['name'] for m in methods['models']] == [
        'merged (pool BN)', 'merged (TIES)', 'merged (DARE)', 'merged (DARE-TIES)',
        'merged (Git Re-Basin)', 'zipped (ZipIt!, 64 source images)',
        'zipped backbone, own heads (ZipIt!)']
    assert methods['models'][0] == data['models'][5]
    zipped = torch.load(job / 'methods' / 'zipit_backbone' / 'merged.pth', weights_only=True)
    assert zipped['meta']['merge_method'] == 'zipit'
    assert zipped['meta']['method_options']['until'] == 'decode_head'
    assert sorted(zipped['domain_heads']) == ['acdc', 'cityscapes', 'dark_zurich', 'idd']
    rebasin = torch.load(job / 'methods' / 'rebasin' / 'merged.pth', weights_only=True)['meta']
    assert rebasin['merge_method'] == 'rebasin' and len(rebasin['method_options']['rounds']) == 3
    assert 'merge methods table:' in proc.stdout
    # every stage-one run started from the one shared init
    init = weights_sha256(load_state_dict_file(job / 'shared_init.pth'))
    for target in ('cityscapes', 'idd', 'acdc', 'dark_zurich'):
        meta = torch.load(job / 'stage_one' / target / 'weights' / 'final.pth',
                          weights_only=True)['meta']
        assert meta['init_sha256'] == init and meta['target_domain'] == target
    assert 'main job finished in' in proc.stdout
    timing = (job / 'timing.json').read_text()
    # the time profile: every phase, and every step by the folder it wrote
    profile = json.loads(timing)
    assert list(profile['phases']) == ['data', 'shared init', 'stage one', 'evaluation and merges']
    for step in ('make_shared_init.py', 'stage_one/cityscapes', 'source_only', 'eval/acdc',
                 'merged/pool', 'methods/rebasin'):
        assert profile['steps'][step] > 0, step
    assert sum(profile['phases'].values()) <= 60 * profile['minutes'] + 1
    assert 'time profile (wall seconds, all invocations): data' in proc.stdout
    # a second run, naming the default experiment config, continues from what exists: nothing is
    # trained again and the job's recorded time stays
    again = run_tool_in_process(
        'run_mtda.py', CONFIGS / 'mtda' / 'gta2all_daformer_efficientnet-lite0_tiny.py',
        '--data-size', 'tiny', '--work-dir', 'work_dirs/job', cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert 'stage one:' not in again.stdout and 'tools/train.py' not in again.stdout
    assert (job / 'timing.json').read_text() == timing
    # the same folder asked for the experiment's own (larger) data: a one-line error with the fix
    other = run_tool_in_process('run_mtda.py', '--work-dir', 'work_dirs/job', cwd=tmp_path)
    assert other.returncode != 0
    assert "made with size='tiny'" in other.stderr and "not size='miniature'" in other.stderr
    assert '--size miniature --seed 0 --overwrite' in other.stderr
