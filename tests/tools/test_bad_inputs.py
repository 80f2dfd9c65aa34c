"""Bad data and bad configs through the real command line: one ``error:`` line naming the file or
option and the fix, exit status 2, nothing written.

(Bad checkpoints for merging are in test_merge_tool.py, bad label values in
tests/datasets/test_converters.py.) Every case is refused before a model or runner is built, so
most run through the tool's ``main`` in this interpreter (:func:`support.run_tool_in_process`);
:data:`OWN_INTERPRETER` cases run as real processes, two at a time.
"""
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from mtda.io import atomic_save
from support import CONFIGS, TINY_CONFIG, TWO_DOMAINS, run_tool, run_tool_in_process

UDA_CONFIG = CONFIGS / 'daformer' / 'gta2cityscapes_daformer_mit-b0_tiny.py'
#: cases run as real processes: the interpreter's exit status and stderr end to end (and the
#: converters, whose entry point is not a ``main``)
OWN_INTERPRETER = ('missing dataset root (train)', 'broken config', 'corrupt PNG',
                   'image and label sizes differ')


def _copy_data(source, root, *names, converted=True):
    for name in names:
        shutil.copytree(source / 'data' / name, root / 'data' / name)
        if not converted:  # the raw download, before tools/convert_datasets/<name>.py
            for label in (root / 'data' / name).rglob('*_labelTrainIds.png'):
                label.unlink()
    return root


@pytest.fixture(scope='module')
def cases(tiny_data_root, tmp_path_factory):
    """``{name: (CompletedProcess, folder that must stay free of outputs, fragments)}``."""
    from mmseg.apis import init_model
    base = tmp_path_factory.mktemp('bad_inputs')
    (base / 'two_domains.py').write_text(TWO_DOMAINS)
    (base / 'broken.py').write_text("_base_ = ['../nowhere/base.py']\nmodel = dict(\n")
    torch.manual_seed(0)
    checkpoint = atomic_save(dict(state_dict=init_model(str(TINY_CONFIG), device='cpu').state_dict()),
                             base / 'model.pth')
    two = ['cityscapes', 'dark_zurich']

    missing_label = _copy_data(tiny_data_root, base / 'missing_label', *two)
    label = sorted((missing_label / 'data/cityscapes/gtFine/val').rglob('*_labelTrainIds.png'))[0]
    label.unlink()
    from PIL import Image
    colour_label = _copy_data(tiny_data_root, base / 'colour_label', *two)
    rgb = sorted((colour_label / 'data/cityscapes/gtFine/val').rglob('*_labelTrainIds.png'))[1]
    Image.open(rgb).convert('RGB').save(rgb)
    small_label = _copy_data(tiny_data_root, base / 'small_label', *two)
    small = sorted((small_label / 'data/dark_zurich/gt/val').rglob('*_labelTrainIds.png'))[0]
    Image.open(small).resize((16, 8)).save(small)
    empty_split = _copy_data(tiny_data_root, base / 'empty_split', *two)
    for image in (empty_split / 'data/dark_zurich/rgb_anon/val').rglob('*.png'):
        image.unlink()
    corrupt = _copy_data(tiny_data_root, base / 'corrupt_png', 'gta', converted=False)
    raw = sorted((corrupt / 'data/gta/labels').glob('[0-9][0-9][0-9][0-9][0-9].png'))[0]
    raw.write_bytes(raw.read_bytes()[:60])  # a PNG cut off in its first chunk
    resized = _copy_data(tiny_data_root, base / 'size_mismatch', 'gta', converted=False)
    image = sorted((resized / 'data/gta/images').glob('*.png'))[0]
    Image.open(image).resize((40, 30)).save(image)
    nothing = base / 'no_data'
    nothing.mkdir()

    table = {  # name: (cwd, tool and arguments, fragments the error line must hold)
        'missing label file': (missing_label, ['test.py', base / 'two_domains.py', checkpoint],
                               [label.name, 'label file missing', 'convert_datasets/cityscapes.py']),
        'colour label': (colour_label, ['test.py', base / 'two_domains.py', checkpoint],
                         [rgb.name, 'a RGB image, not a single-channel label',
                          'tools/convert_datasets/cityscapes.py']),
        'label of another size': (small_label, ['test.py', base / 'two_domains.py', checkpoint],
                                  [small.name, '16x8 pixels, but its image']),
        'empty split folder': (empty_split, ['test.py', base / 'two_domains.py', checkpoint],
                               ['data/dark_zurich/rgb_anon/val: no images', 'empty split']),
        'missing dataset root (test)': (nothing, ['test.py', base / 'two_domains.py', checkpoint],
                                        ['data/cityscapes: no such dataset folder',
                                         'make_synthetic_data.py']),
        'missing dataset root (train)': (nothing, ['train.py', TINY_CONFIG],
                                         ['data/gta: no such dataset folder',
                                          'tools/convert_datasets/gta.py data/gta']),
        'unknown target': (tiny_data_root, ['train.py', UDA_CONFIG, '--cfg-options',
                                            'target_domain=mars'],
                           ["target_domain 'mars'", 'cityscapes, idd, acdc, dark_zurich']),
        'corrupt PNG': (corrupt, ['convert_datasets/gta.py', 'data/gta'], [raw.name]),
        'image and label sizes differ': (resized, ['convert_datasets/gta.py', 'data/gta'],
                                         [image.name]),
        'unknown dataset name': (nothing, ['make_synthetic_data.py', '--datasets', 'mars'],
                                 ["invalid choice: 'mars'", '--help']),
        'missing config': (nothing, ['test.py', base / 'nowhere.py', checkpoint],
                           ['nowhere.py: no such config file']),
        'broken config': (nothing, ['test.py', base / 'broken.py', checkpoint],
                          ['broken.py: the config does not load']),
        'work dir is a file': (nothing, ['test.py', base / 'two_domains.py', checkpoint,
                                         '--work-dir', checkpoint],
                               [f'--work-dir {checkpoint}: is a file', 'folder']),
        'predictions under a file': (nothing, ['test.py', base / 'two_domains.py', checkpoint,
                                               '--save-preds', base / 'model.pth' / 'preds'],
                                     ['--out', 'model.pth is a file, so nothing can be '
                                      'created under it']),
        'drawings into a file': (nothing, ['test.py', base / 'two_domains.py', checkpoint,
                                           '--show-dir', checkpoint],
                                 [f'--show-dir {checkpoint}: is a file', 'folder']),
        'zero iterations': (tiny_data_root, ['train.py', TINY_CONFIG, '--cfg-options',
                                             'train_cfg.max_iters=0'],
                            ['train_cfg.max_iters=0 trains nothing', 'positive number']),
        'no shared init yet': (tiny_data_root, ['train.py', UDA_CONFIG],
                               ['work_dirs/mtda_tiny/shared_init.pth: the shared init',
                                'tools/make_shared_init.py', 'model.init_checkpoint=FILE']),
        'amp without a GPU': (tiny_data_root, ['train.py', TINY_CONFIG, '--amp'],
                              ['--amp float16', 'needs a CUDA GPU', 'without --amp']),
    }

    if torch.cuda.is_available():  # there --amp is a valid request
        del table['amp without a GPU']

    def argv(name):
        cwd, (tool, *args), _ = table[name]
        work = base / 'work' / name.replace(' ', '_')
        extra = ['--work-dir', work] if tool in ('test.py', 'train.py') and \
            '--work-dir' not in args else []
        return cwd, tool, [*args, *extra]

    def run(name):
        cwd, tool, args = argv(name)
        return run_tool(tool, *args, cwd=cwd, check=False, env={'OMP_NUM_THREADS': '1'})

    with ThreadPoolExecutor(max_workers=2) as pool:
        own = [name for name in table if name in OWN_INTERPRETER]
        runs = dict(zip(own, pool.map(run, own)))
        for name in table:
            if name not in OWN_INTERPRETER:
                cwd, tool, args = argv(name)
                runs[name] = run_tool_in_process(tool, *args, cwd=cwd)
    return {name: (runs[name], table[name][0], table[name][2]) for name in table}, base


NAMES = ['missing label file', 'colour label', 'label of another size', 'empty split folder', 'missing dataset root (test)',
         'missing dataset root (train)', 'unknown target', 'corrupt PNG',
         'image and label sizes differ', 'unknown dataset name', 'missing config', 'broken config',
         'work dir is a file', 'predictions under a file', 'drawings into a file',
         'zero iterations',
         'no shared init yet'] + (
            [] if torch.cuda.is_available() else ['amp without a GPU'])


@pytest.mark.parametrize('name', NAMES)
def test_bad_input_is_one_error_line_and_exit_2(cases, name):
    runs, _ = cases
    proc, _, fragments = runs[name]
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert all(fragment in errors[0] for fragment in fragments), errors[0]


@pytest.mark.parametrize('name', NAMES)
def test_bad_input_writes_nothing(cases, name):
    runs, base = cases
    _, cwd, _ = runs[name]
    work = base / 'work' / name.replace(' ', '_')
    written = [p for p in work.rglob('*') if p.suffix in ('.pth', '.json', '.md', '.csv')] \
        if work.exists() else []
    assert not written, written
    assert not list(cwd.rglob('*.tmp'))
    if name in ('corrupt PNG', 'image and label sizes differ'):
        labels = cwd / 'data/gta/labels'
        assert not list(labels.glob('*_labelTrainIds.png'))  # validated before anything is written
