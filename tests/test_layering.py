"""The package's imports run one way (tools/check_layering.py), and the check itself has teeth."""
import subprocess
import sys

from support import REPO

CHECK = REPO / 'tools' / 'check_layering.py'


def _check(root):
    return subprocess.run([sys.executable, str(CHECK), '--root', str(root)], capture_output=True,
                          text=True)


def test_mtda_has_no_import_against_the_layering():
    proc = _check(REPO / 'mtda')
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip().endswith('0 import(s) against the layering')


def test_backward_sibling_and_impure_imports_are_found(tmp_path):
    package = tmp_path / 'mtda'
    files = {
        '__init__.py': 'from . import models, evaluation\n',  # the root may import anything
        'models/__init__.py': '',
        'models/uda.py': 'def f():\n    from mtda.evaluation.loop import x\n',  # deferred: counts
        'evaluation/__init__.py': '',
        'evaluation/loop.py': 'from ..models import uda\nx = 1\n',  # downwards: fine
        'analysis/__init__.py': '',
        'analysis/lmc.py': 'from mtda.merging import hook\n',  # sibling of layer 5
        'merging/__init__.py': '',
        'merging/rules.py': 'import mmengine.runner\n',  # the pure core importing mmengine
        'merging/hook.py': 'import mmengine\nfrom mtda.models import uda\n',  # the edge: fine
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    proc = _check(package)
    assert proc.returncode == 1
    found = proc.stdout.splitlines()
    assert found[-1] == '3 import(s) against the layering'
    assert any('models/uda.py:2: mtda.models.uda imports mtda.evaluation.loop (layer 3 -> higher '
               'layer 4)' in line for line in found)
    assert any('analysis/lmc.py:1: mtda.analysis.lmc imports mtda.merging.hook (sibling' in line
               for line in found)
    assert any('merging/rules.py:1' in line and 'pure module importing mmengine' in line
               for line in found)
