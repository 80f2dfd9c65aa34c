"""Packaging for mtda. The pinned stack lives in requirements/*.txt (see tools/install.sh)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = re.search(r"__version__ = '([^']+)'", (here / 'mtda' / 'version.py').read_text()).group(1)


def read_requirements(name):
    lines = (here / 'requirements' / name).read_text().splitlines()
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


setup(
    name='mtda',
    version=version,
    description='Training-free model merging for multi-target domain adaptation of semantic segmentation',
    long_description=(here / 'README.md').read_text() if (here / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mtda', 'mtda.*']),
    python_requires='>=3.9',
    install_requires=(read_requirements('torch.txt') + read_requirements('mmcv.txt')
                      + read_requirements('runtime.txt')),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
