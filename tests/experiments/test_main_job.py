"""Experiment configs (configs/mtda/*.py) as the main job reads them."""
import time
from pathlib import Path

import pytest

from experiments.layout import TARGETS
from experiments.main_job import Tools, load_experiment, tiny_experiment, tiny_families
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
    assert experiment.synthetic_data == ('miniature' if tiny else None)
    # the miniature families without ImageNet weights pretrain their init on GTA; the real setup
    # and the EfficientNet-Lite miniature start from ImageNet backbone weights
    imagenet = not tiny or 'efficientnet' in path.stem
    assert (experiment.pretrain_config is None) == imagenet
    assert (experiment.backbone_weights is not None) == imagenet
    if 'efficientnet' in path.stem:
        assert str(experiment.backbone_weights) == 'packaged'
        assert experiment.source_only_config.is_file()


def test_tiny_families_have_experiment_configs():
    assert tiny_experiment(CONFIGS).work_dir.as_posix() == 'work_dirs/mtda_efficientnet-lite0_tiny'
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
    ("experiment = dict(stage_one=dict(cityscapes='a.py'), synthetic_data='huge', "
     "shared_init=dict(backbone_weights='w.pth'))", "synthetic_data='huge'; name a synthetic"),
])
def test_bad_experiment_configs_are_one_line_errors(tmp_path, body, message):
    path = tmp_path / 'experiment.py'
    path.write_text(body + '\n')
    with pytest.raises(MtdaError, match=message):
        load_experiment(path)


def _tool(folder, name, body):
    (folder / name).write_text('import os, sys, time\n' + body)


def test_run_all_runs_jobs_at_once_each_with_its_threads_and_log(tmp_path):
    # each step waits until both have started, so it ends only if the two run at the same time
    _tool(tmp_path, 'meet.py', """
open(sys.argv[1], 'w').close()
deadline = time.time() + 20
while not all(os.path.exists(p) for p in sys.argv[2:]) and time.time() < deadline:
    time.sleep(0.05)
print('threads', os.environ['OMP_NUM_THREADS'], 'met', all(os.path.exists(p) for p in sys.argv[2:]))
""")
    a, b = tmp_path / 'a.started', tmp_path / 'b.started'
    Tools(tmp_path, jobs=2, threads=3).run_all([
        ('meet.py', [a, a, b], tmp_path / 'logs' / 'a.out'),
        ('meet.py', [b, a, b], tmp_path / 'logs' / 'b.out')])
    for log in ('a.out', 'b.out'):
        assert (tmp_path / 'logs' / log).read_text().split() == ['threads', '3', 'met', 'True']


def test_run_all_stops_at_a_failure_and_names_its_log(tmp_path):
    _tool(tmp_path, 'fail.py', "print('first line'); print('the real reason'); sys.exit(3)\n")
    _tool(tmp_path, 'touch.py', "open(sys.argv[1], 'w').close()\n")
    never = tmp_path / 'never'
    with pytest.raises(MtdaError, match=r'fail.py failed; its log is .*fail.out; last lines:\n'
                                        r'first line\nthe real reason'):
        Tools(tmp_path, jobs=1 + 1).run_all([('fail.py', [], tmp_path / 'fail.out'),
                                             ('touch.py', [tmp_path / 'x'], tmp_path / 'x.out'),
                                             ('touch.py', [never], tmp_path / 'never.out')])
    # the step started beside the failing one finishes; none starts after the failure is seen
    assert (tmp_path / 'x').exists() and not never.exists()


def test_run_all_starts_a_step_once_the_files_it_needs_exist(tmp_path):
    # `late` is listed before `free` but needs the file `make` writes after a second, so the
    # second slot goes to `free`; each step notes at its start whether that file exists yet
    _tool(tmp_path, 'note.py', """
name, made = sys.argv[1], sys.argv[2]
print(name, 'after' if os.path.exists(made) else 'before', flush=True)
if name == 'make':
    time.sleep(1.0)
    open(made, 'w').close()
""")
    made = tmp_path / 'made'
    tools = Tools(tmp_path, jobs=2)
    tools.run_all([('note.py', ['make', made], tmp_path / 'make' / 'out'),
                   ('note.py', ['late', made], tmp_path / 'late' / 'out', [made]),
                   ('note.py', ['free', made], tmp_path / 'free' / 'out')])
    notes = {name: (tmp_path / name / 'out').read_text().split() for name in ('make', 'late', 'free')}
    assert notes == {'make': ['make', 'before'], 'late': ['late', 'after'],
                     'free': ['free', 'before']}
    assert [name for name, _ in tools.durations][-1] == str(tmp_path / 'late')
    assert set(tools.ended) == {str(tmp_path / name) for name in ('make', 'late', 'free')}


@pytest.mark.parametrize('jobs', [1, 2])
def test_run_all_names_a_needed_file_no_step_makes(tmp_path, jobs):
    _tool(tmp_path, 'touch.py', "open(sys.argv[1], 'w').close()\n")
    never = tmp_path / 'weights' / 'final.pth'
    with pytest.raises(MtdaError, match=f'merge.py needs {never}, which no step made'):
        Tools(tmp_path, jobs=jobs).run_all([
            ('touch.py', [tmp_path / 'a'], tmp_path / 'a.out'),
            ('merge.py', [], tmp_path / 'm.out', [tmp_path / 'a', never])])
    assert (tmp_path / 'a').exists()


def test_tools_reject_zero_jobs(tmp_path):
    with pytest.raises(MtdaError, match='jobs and threads must be at least 1'):
        Tools(tmp_path, jobs=0)


def test_the_time_profile_adds_invocations_and_keeps_each_steps_latest_time(tmp_path):
    from experiments.main_job import time_profile
    root = tmp_path / 'job'
    first = time_profile({}, 2.0, root, phases={'data': 30.0, 'stage one': 90.0},
                         steps=[(str(root / 'stage_one' / 'idd'), 80.0), ('make_shared_init.py', 5)])
    assert first == dict(minutes=2.0, phases={'data': 30.0, 'stage one': 90.0},
                         steps={'stage_one/idd': 80.0, 'make_shared_init.py': 5})
    resumed = time_profile(first, 1.5, root, phases={'stage one': 60.0},
                           steps=[(str(root / 'stage_one' / 'idd'), 55.0)])
    assert resumed['minutes'] == 3.5 and resumed['phases'] == {'data': 30.0, 'stage one': 150.0}
    assert resumed['steps']['stage_one/idd'] == 55.0


class _TimedTools(Tools):
    """Runs nothing; each step "takes" one second and is recorded as the real Tools records it."""

    def run(self, tool, args, *, label=None):
        self.durations.append((label or tool, 1.0))
        self.ended[label or tool] = time.time()

    def run_all(self, steps):
        for _, _, log, *_ in steps:
            self.run('', [], label=str(Path(log).parent))


def test_a_jobs_time_profile_lists_its_own_steps_not_an_earlier_jobs(tmp_path, monkeypatch):
    """The claims study runs every seed's main job with one Tools; seed 2's timing.json once
    listed seed 1's steps too."""
    import experiments.main_job as main_job
    profiles = {}
    monkeypatch.setattr(main_job, '_make_synthetic_data', lambda *args: None)
    monkeypatch.setattr('mtda.datasets.converters.convert_all', lambda *args: None)
    monkeypatch.setattr(main_job, '_write_methods_table', lambda *args: None)
    monkeypatch.setattr(main_job, '_write_table', lambda experiment, layout, *args, profile:
                        profiles.setdefault(layout.root.name, list(profile['steps'])))
    tools = _TimedTools(tmp_path)
    for seed in (1, 2):
        main_job.run_main_job(tiny_experiment(CONFIGS), tools=tools, seed=seed,
                              work_dir=tmp_path / f'seed{seed}')
    for seed, other in (('seed1', 'seed2'), ('seed2', 'seed1')):
        steps = [name for name, _ in profiles[seed]]
        assert 'make_shared_init.py' in steps and len(steps) == len(profiles[other])
        assert any(seed in name for name in steps) and not any(other in name for name in steps)
