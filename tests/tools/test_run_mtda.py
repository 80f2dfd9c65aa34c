"""The README's main job, shortened to a few iterations, from an empty folder."""
import json

from support import run_tool


def test_main_job_from_an_empty_folder(tmp_path):
    proc = run_tool('run_mtda.py', '--max-iters', '3', '--work-dir', 'work_dirs/job',
                    cwd=tmp_path)
    for name in ('gta', 'synthia', 'cityscapes', 'idd', 'acdc', 'dark_zurich'):
        assert (tmp_path / 'data' / name).is_dir()
    assert (tmp_path / 'data' / 'gta' / 'samples_with_class.json').is_file()
    data = json.loads((tmp_path / 'work_dirs' / 'job' / 'results.json').read_text())
    assert data['name'] == 'source-only (GTA)'
    assert list(data['domains']) == ['cityscapes', 'idd', 'acdc', 'dark_zurich']
    assert '| source-only (GTA) |' in proc.stdout
    assert 'main job finished in' in proc.stdout
