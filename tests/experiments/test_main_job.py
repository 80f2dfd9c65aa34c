"""Experiment configs (configs/mtda/*.py) as the main job reads them."""
import pytest

from experiments.layout import TARGETS
from experiments.main_job import load_experiment, tiny_experiment, tiny_families
from mtda.errors import MtdaError
from support import CONFIGS

EXPERIMENTS = sorted((CONFIGS / 'mtda').glob('*.py'))


@pytest.mark.parametrize('path', EXPERIMENTS, ids=lambda p: p.stem)
def test_every_experiment_config_names_existing_configs_for_the_four_targets(path):
    experiment = load_experiment(path)
    assert experiment.name == path.stem and list(experiment.uda_configs) == list(TARGETS)
    for target, config in experiment.uda_configs.items():
        assert config.is_file() and f'2{target}_' in config.name
    tiny = path.stem.endswith('_tiny')
    assert experiment.synthetic_data == tiny
    # the miniature families without ImageNet weights pretrain their init on GTA; the real setup
    # and the EfficientNet-Lite miniature start from ImageNet backbone weights
    imagenet = not tiny or 'efficientnet' in path.stem
    assert (experiment.pretrain_config is None) == imagenet
    assert (experiment.backbone_weights is not None) == imagenet
    if 'efficientnet' in path.stem:
        assert str(experiment.backbone_weights) == 'packaged'
        assert experiment.source_only_config.is_file()


def test_tiny_families_have_experiment_configs():
    assert tiny_experiment(CONFIGS).work_dir.as_posix() == 'work_dirs/mtda_tiny'
    families = tiny_families(CONFIGS)
    assert 'daformer_mit-b0_tiny' in families and len(families) >= 3
    assert {tiny_experiment(CONFIGS, f).name for f in families} == {f'gta2all_{f}' for f in families}


@pytest.mark.parametrize('body, message', [
    ("experiment = dict(shared_init=dict(backbone_weights='w.pth'))", 'no experiment.stage_one'),
    ("experiment = dict(stage_one=dict(cityscapes='a.py'), shared_init=dict())",
     'exactly one of pretrain_config'),
    ("experiment = dict(stage_one=dict(cityscapes='nowhere.py'), "
     "shared_init=dict(backbone_weights='w.pth'))", 'nowhere.py, which does not exist'),
    ("experiment = dict(stage_one=dict(cityscapes='a.py'), source_only='b.py', "
     "shared_init=dict(pretrain_config='c.py'))", 'the source-only row already'),
])
def test_bad_experiment_configs_are_one_line_errors(tmp_path, body, message):
    path = tmp_path / 'experiment.py'
    path.write_text(body + '\n')
    with pytest.raises(MtdaError, match=message):
        load_experiment(path)
