"""tools/merge.py as a user runs it, on tiny checkpoints fine-tuned from one shared init.

The checkpoints: two copies of the tiny source-only SegFormer fine-tuned for 2 iterations with
different seeds from one init (``load_from``); stage one's lineage (init sha256) and target domain are
written into their meta. The runs whose output or exit status is the point go through a real
interpreter (in parallel); the others call the tool's ``main`` in this process, through the same
argument parsing and error contract (:func:`mtda.cli.run_tool`).
"""
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from mtda.io import atomic_save, sha256_file
from support import (CONFIGS, TINY_CONFIG, finetune_two_from_one_init, run_tool,
                     run_tool_in_process, tool_main)

# One OpenMP thread per tool: the tiny model gains nothing from more, and parallel runs share 2 cores.
ENV = {'OMP_NUM_THREADS': '1'}

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def _cli(*argv, tool='merge'):
    """Run a tool's main in this process: (exit status, stdout, stderr)."""
    run = run_tool_in_process(f'{tool}.py', *argv, cwd=Path.cwd())
    return run.returncode, run.stdout, run.stderr


def _run_all(cases, cwd):
    """``{name: argv}`` -> ``{name: CompletedProcess}`` of tools/merge.py (or ``['test.py', *argv]``),
    each in its own interpreter, in parallel."""
    def run(argv):
        tool, argv = (argv[0], argv[1:]) if argv[0] == 'test.py' else ('merge.py', argv)
        return run_tool(tool, *argv, cwd=cwd, check=False, env=ENV)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, [str(a) for a in argv]) for name, argv in cases.items()}
    return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope='module')
def setup(tiny_data_root, tmp_path_factory):
    """Config with two target domains, and two checkpoints fine-tuned from one init."""
    folder = tmp_path_factory.mktemp('merge_tool')
    config, init, finals = finetune_two_from_one_init(tiny_data_root, folder)
    files = {}
    for domain, final in zip(('cityscapes', 'idd'), finals):
        checkpoint = torch.load(final, weights_only=True)
        # stage one's lineage, as ExportWeightsHook records it for a UDA model
        checkpoint['meta'].update(init_sha256=sha256_file(init), target_domain=domain)
        files[domain] = atomic_save(checkpoint, folder / f'{domain}.pth')
    return dict(root=tiny_data_root, folder=folder, config=config, init=init, **files)


def _state(path):
    return torch.load(path, weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def evaluated(setup, merged):
    """A checkpoint merged with itself and evaluated by tools/merge.py, next to tools/test.py on it;
    the separate-heads merge evaluated by tools/merge.py and by tools/test.py on its file."""
    s, out = setup, setup['folder']
    return _run_all({
        'identity': [s['config'], s['cityscapes'], s['cityscapes'], '--out', out / 'same.pth',
                     '--work-dir', out / 'eval_same'],
        'test': ['test.py', s['config'], s['cityscapes'], '--work-dir', out / 'eval_single'],
        'separate': [s['config'], s['cityscapes'], s['idd'], '--out', out / 'separate_eval.pth',
                     '--heads', 'separate', '--domains', 'dark_zurich', 'cityscapes',
                     '--work-dir', out / 'eval_separate_merge'],
        'test separate': ['test.py', s['config'], out / 'separate.pth', '--work-dir',
                          out / 'eval_separate_test'],
    }, cwd=s['root'])


@pytest.fixture(scope='module')
def merged(setup):
    """Merges without evaluation: pool (default), mean with weights 1:3, separate heads."""
    s, out = setup, setup['folder']
    return {
        'pool': _cli(s['config'], s['cityscapes'], s['idd'], '--out', out / 'pool.pth',
                     '--no-eval', '--work-dir', out / 'noeval'),
        'mean': _cli(s['config'], s['cityscapes'], s['idd'], '--out', out / 'mean.pth',
                     '--no-eval', '--buffers', 'mean', '--weights', '1', '3'),
        'separate': _cli(s['config'], s['cityscapes'], s['idd'], '--out',
                         out / 'separate.pth', '--no-eval', '--heads', 'separate',
                         '--domains', 'dark_zurich', 'cityscapes', '--safetensors'),
        'ties': _cli(s['config'], s['cityscapes'], s['idd'], '--out', out / 'ties.pth',
                     '--no-eval', '--method', 'ties', '--base', s['init'], '--density', '0.3'),
    }


def test_merging_a_checkpoint_with_itself_gives_it_back_and_scores_the_same(setup, evaluated):
    for name in ('identity', 'test'):
        assert evaluated[name].returncode == 0, evaluated[name].stderr[-2000:]
    out = setup['folder']
    source, merged = _state(setup['cityscapes']), torch.load(out / 'same.pth', weights_only=True)
    for key, value in source.items():
        expected = 2 * value if key.endswith('num_batches_tracked') else value  # pool sums the counts
        assert torch.equal(merged['state_dict'][key], expected), key
    ours = json.loads((out / 'eval_same' / 'results.json').read_text())
    reference = json.loads((out / 'eval_single' / 'results.json').read_text())
    assert list(ours['domains']) == ['cityscapes', 'dark_zurich']
    assert {d: v['mIoU'] for d, v in ours['domains'].items()} == \
        {d: v['mIoU'] for d, v in reference['domains'].items()}
    assert ours['hmean'] == reference['hmean'] and ours['checkpoint'].endswith('same.pth')
    assert '| same |' in evaluated['identity'].stdout and 'H-mean' in evaluated['identity'].stdout
    # the input given twice is worth a warning, on stderr, and nothing else is there
    assert evaluated['identity'].stderr.strip().splitlines() == [
        f'warning: {setup["cityscapes"]} is given more than once, so it counts 2 times in the average']


def test_test_py_evaluates_each_domain_with_its_own_head_as_merge_py_does(setup, evaluated):
    for name in ('separate', 'test separate'):
        assert evaluated[name].returncode == 0, evaluated[name].stderr[-2000:]
    out = setup['folder']
    by_merge = json.loads((out / 'eval_separate_merge' / 'results.json').read_text())
    by_test = json.loads((out / 'eval_separate_test' / 'results.json').read_text())
    assert by_test['domains'] == by_merge['domains'] and by_test['hmean'] == by_merge['hmean']
    # the heads the file carries differ from its merged head, so the per-domain load matters
    saved = torch.load(out / 'separate.pth', weights_only=True)
    key = 'decode_head.conv_seg.weight'
    assert not torch.equal(saved['domain_heads']['cityscapes'][key], saved['state_dict'][key])


def test_ties_through_the_tool_is_the_streamed_rule_with_its_provenance(setup, merged):
    from mmseg.apis import init_model

    from mtda.config import load_config
    from mtda.io.segmentor_state import select_segmentor_state
    from mtda.merging import classify_state_dict_entries
    from mtda.merging.task_merge import TaskMethod, merge_task_vectors
    from mtda.models.segmentor import batchnorm_types
    assert merged['ties'][0] == 0, merged['ties'][2]
    saved = torch.load(setup['folder'] / 'ties.pth', weights_only=True)
    meta = saved['meta']
    assert meta['merge_method'] == 'ties' and meta['base']['sha256'] == sha256_file(setup['init'])
    assert meta['method_options'] == dict(scale=1.0, density=0.3, topk='tensor')
    base = select_segmentor_state(torch.load(setup['init'], weights_only=True), 'init')
    states = [_state(setup['cityscapes']), _state(setup['idd'])]
    model = init_model(load_config(str(setup['config'])), device='cpu')
    kinds = classify_state_dict_entries(model, batchnorm_types=batchnorm_types())
    expected = merge_task_vectors([(str(i), lambda s=s: s) for i, s in enumerate(states)],
                                  base=base, base_name='init', kinds=kinds,
                                  method=TaskMethod('ties', density=0.3)).state_dict
    for key, value in expected.items():
        assert torch.equal(saved['state_dict'][key], value), key


def _reordered_idd(setup, name: str, *, seed: int):
    """``(permutation spec, IDD state, file)``: the IDD checkpoint with its units randomly
    reordered (the same function), saved as ``name``."""
    from mmseg.apis import init_model

    from mtda.config import load_config
    from mtda.merging.rebasin import permute_state, random_permutations
    from mtda.models.permutation_specs import permutation_spec_of
    spec = permutation_spec_of(init_model(load_config(str(setup['config'])), device='cpu'))
    checkpoint = torch.load(setup['idd'], weights_only=True)
    original = dict(checkpoint['state_dict'])
    checkpoint['state_dict'] = permute_state(original, spec, random_permutations(spec, seed=seed))
    return spec, original, atomic_save(checkpoint, setup['folder'] / name)


def test_rebasin_through_the_tool_undoes_a_planted_permutation(setup):
    """The IDD model merged with a reordered copy of itself (same function): Re-Basin gives it back."""
    folder = setup['folder']
    spec, original, copy = _reordered_idd(setup, 'idd_reordered.pth', seed=4)
    status, out, err = _cli(setup['config'], setup['idd'], copy, '--out', folder / 'rebasin.pth',
                            '--no-eval', '--method', 'rebasin')
    assert status == 0, err
    assert f'Re-Basin: {copy} matched to {setup["idd"]}, ' in out
    saved = torch.load(folder / 'rebasin.pth', weights_only=True)
    for key, value in original.items():
        if key.endswith('num_batches_tracked'):
            assert int(saved['state_dict'][key]) == 2 * int(value)
        else:
            assert torch.allclose(saved['state_dict'][key], value, atol=1e-6), key
    options = saved['meta']['method_options']
    assert saved['meta']['merge_method'] == 'rebasin' and options['reference'] == str(setup['idd'])
    assert options['units'] == spec.units and 0 <= options['fixed_fraction'][str(copy)] < 0.1


def test_rebasin_of_models_fine_tuned_from_one_init_is_the_average_bit_for_bit(setup, merged):
    assert merged['pool'][0] == 0, merged['pool'][2]
    status, out, err = _cli(setup['config'], setup['cityscapes'], setup['idd'], '--out',
                            setup['folder'] / 'rebasin_shared.pth', '--no-eval', '--method', 'rebasin')
    assert status == 0, err
    saved = torch.load(setup['folder'] / 'rebasin_shared.pth', weights_only=True)
    average = _state(setup['folder'] / 'pool.pth')
    assert all(torch.equal(saved['state_dict'][k], v) for k, v in average.items())
    assert saved['meta']['method_options']['fixed_fraction'] == {str(setup['idd']): 1.0}
    assert '100.0 % of its units left in place' in out


def test_the_merged_file_loads_weights_only_and_with_mmseg(setup, merged):
    from mmseg.apis import init_model
    assert merged['pool'][0] == 0, merged['pool'][2]
    path = setup['folder'] / 'pool.pth'
    checkpoint = torch.load(path, weights_only=True)
    meta = checkpoint['meta']
    assert [i['sha256'] for i in meta['inputs']] == [sha256_file(setup['cityscapes']),
                                                     sha256_file(setup['idd'])]
    assert meta['weights'] == [0.5, 0.5] and meta['buffer_policy'] == 'pool' and meta['heads'] == 'merge'
    assert meta['target_domains'] == ['cityscapes', 'idd'] and meta['mtda_version']
    model = init_model(str(TINY_CONFIG), str(path), device='cpu')
    assert model.dataset_meta['classes'][0] == 'road'
    assert torch.equal(model.state_dict()['decode_head.conv_seg.bias'],
                       checkpoint['state_dict']['decode_head.conv_seg.bias'])


def test_pool_and_mean_buffers_follow_their_formulas(setup, merged):
    assert merged['mean'][0] == 0, merged['mean'][2]
    a, b = _state(setup['cityscapes']), _state(setup['idd'])
    pool = _state(setup['folder'] / 'pool.pth')
    mean = _state(setup['folder'] / 'mean.pth')
    layers = [k[:-len('.running_var')] for k in a if k.endswith('.running_var')]
    assert any(layer.startswith('decode_head') for layer in layers)
    for layer in layers:
        n = [int(s[f'{layer}.num_batches_tracked']) for s in (a, b)]
        mu = [s[f'{layer}.running_mean'].double() for s in (a, b)]
        var = [s[f'{layer}.running_var'].double() for s in (a, b)]
        p = [count / sum(n) for count in n]
        pooled_mean = p[0] * mu[0] + p[1] * mu[1]
        pooled_var = sum(p[i] * (var[i] + (mu[i] - pooled_mean) ** 2) for i in range(2))
        torch.testing.assert_close(pool[f'{layer}.running_mean'], pooled_mean.float())
        torch.testing.assert_close(pool[f'{layer}.running_var'], pooled_var.float())
        assert pool[f'{layer}.num_batches_tracked'].item() == sum(n)
        # --buffers mean --weights 1 3: the variances are averaged like parameters
        torch.testing.assert_close(mean[f'{layer}.running_var'], (0.25 * var[0] + 0.75 * var[1]).float())
        # pool adds the between-domain spread, positive wherever the two means differ
        spread = pooled_var - (p[0] * var[0] + p[1] * var[1])
        assert torch.all(spread >= 0) and torch.any(spread > 0)
    key = 'decode_head.conv_seg.weight'
    torch.testing.assert_close(mean[key], (0.25 * a[key].double() + 0.75 * b[key].double()).float())


def test_no_eval_writes_no_results(setup, merged):
    assert not (setup['folder'] / 'noeval').exists()
    assert 'merged 2 checkpoints' in merged['pool'][1]


def test_separate_heads_keep_each_domain_head(setup, merged):
    from safetensors import safe_open
    assert merged['separate'][0] == 0, merged['separate'][2]
    saved = torch.load(setup['folder'] / 'separate.pth', weights_only=True)
    a, b = _state(setup['cityscapes']), _state(setup['idd'])
    # --domains maps the cityscapes checkpoint's head to dark_zurich and the idd one's to cityscapes
    for domain, source in (('dark_zurich', a), ('cityscapes', b)):
        head = saved['domain_heads'][domain]
        assert head and all(k.startswith('decode_head.') for k in head)
        assert all(torch.equal(v, source[k]) for k, v in head.items())
    with safe_open(str(setup['folder'] / 'separate.safetensors'), 'pt') as f:
        assert json.loads(f.metadata()['heads']) == 'separate'


class _Payload:
    """Unpickling this would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


# name: (what follows CONFIG CKPT_1 on the command line, what the error line must name)
BAD = {
    'single input': ([], 'at least two'),
    'output is an input': (['{idd}', '--out', '{idd}'], '--out {idd}'),
    'other architecture': (['{bad}/resnet18.pth'], 'resnet18.pth'),
    'weights count': (['{idd}', '--weights', '1'], '--weights'),
    'negative weight': (['{idd}', '--weights', '1', '-1'], '--weights value -1.0'),
    'zero weight': (['{idd}', '--weights', '0', '1'], '--weights value 0.0'),
    'different init': (['{bad}/other_init.pth'], '--allow-different-init'),
    'missing key': (['{bad}/missing_key.pth'], 'missing_key.pth lacks 1 key(s)'),
    'extra key': (['{bad}/extra_key.pth'], 'extra_key.pth has 1 key(s)'),
    'shape mismatch': (['{bad}/shape.pth'], 'has shape (1, 2, 3) in'),
    'dtype mismatch': (['{bad}/dtype.pth'], 'torch.float64 in'),
    'NaN weights': (['{bad}/nan.pth'], 'nan.pth holds NaN'),
    'Inf weights': (['{bad}/inf.pth'], 'inf.pth holds Inf'),
    'zero BN counters': (['{bad}/zero_bn.pth'], 'zero_bn.pth: BatchNorm layer'),
    'truncated file': (['{bad}/truncated.pth'], 'truncated.pth'),
    'empty file': (['{bad}/empty.pth'], 'empty.pth: empty file'),
    'not a checkpoint': (['{bad}/notes.pth'], 'notes.pth: not a readable torch checkpoint'),
    'no state dict': (['{bad}/no_state.pth'], 'no_state.pth: not a checkpoint'),
    'code in pickle': (['{bad}/hostile.pth'], 'hostile.pth'),
    'missing file': (['{bad}/nowhere.pth'], 'nowhere.pth'),
    'unknown option value': (['{idd}', '--buffers', 'median'], "invalid choice: 'median'"),
    'rebasin with a scale': (['{idd}', '--method', 'rebasin', '--scale', '0.5'],
                             '--scale applies to the task-vector methods, not --method rebasin'),
    'rebasin with a base': (['{idd}', '--method', 'rebasin', '--base', '{idd}'],
                            '--base is used by the task-vector methods only, not --method rebasin'),
    'rebasin, other architecture': (['{bad}/resnet18.pth', '--method', 'rebasin'],
                                    'resnet18.pth lacks'),
    'output is a folder': (['{idd}', '--out', '{bad}'], 'is a folder; give the path of a file'),
    'output under a file': (['{idd}', '--out', '{idd}/merged.pth'],
                            'is a file, so nothing can be created under it'),
}
# The architecture mismatch is found by the hook inside the runner, during evaluation; every other
# input is refused on the way in, so those run with --no-eval.
EVALUATED = ('other architecture',)


def _edited(path, edit):
    """The checkpoint at ``path`` with ``edit(state_dict)`` applied."""
    checkpoint = torch.load(path, weights_only=True)
    edit(checkpoint['state_dict'])
    return checkpoint


def _first_float(state):
    return next(k for k, v in state.items() if v.is_floating_point() and v.ndim > 1)


def _poison(value):
    def edit(state):
        state[_first_float(state)].view(-1)[0] = value
    return edit


def _zero_counters(state):
    for key in state:
        if key.endswith('num_batches_tracked'):
            state[key].zero_()


@pytest.fixture(scope='module')
def bad_inputs(setup):
    """Every bad input of the table through tools/merge.py in its own interpreter; returns the
    folder and ``{name: CompletedProcess}``."""
    from mmseg.apis import init_model
    s, folder = setup, setup['folder'] / 'bad'
    folder.mkdir()
    resnet = init_model(str(CONFIGS / 'source_only' / 'gta_timm-resnet18_tiny.py'), device='cpu')
    atomic_save(dict(state_dict=resnet.state_dict(), meta={}), folder / 'resnet18.pth')
    other = torch.load(s['idd'], weights_only=True)
    other['meta']['init_sha256'] = 'f' * 64
    atomic_save(other, folder / 'other_init.pth')
    edits = {
        'missing_key': lambda state: state.pop(_first_float(state)),
        'extra_key': lambda state: state.__setitem__('backbone.extra.weight', torch.zeros(3)),
        'shape': lambda state: state.__setitem__(_first_float(state), torch.zeros(1, 2, 3)),
        'dtype': lambda state: state.__setitem__(_first_float(state),
                                                 state[_first_float(state)].double()),
        'nan': _poison(float('nan')), 'inf': _poison(float('inf')), 'zero_bn': _zero_counters,
    }
    for name, edit in edits.items():
        atomic_save(_edited(s['idd'], edit), folder / f'{name}.pth')
    (folder / 'truncated.pth').write_bytes(s['idd'].read_bytes()[:4096])
    (folder / 'empty.pth').write_bytes(b'')
    (folder / 'notes.pth').write_text('these are my notes, not a checkpoint\n')
    torch.save({'epoch': 3}, folder / 'no_state.pth')
    torch.save(dict(state_dict=_state(s['idd']), meta=_Payload(str(folder / 'code-ran'))),
               folder / 'hostile.pth')
    inputs = {p.name for p in folder.iterdir()}

    def argv(name):
        extra = [a.format(idd=s['idd'], cityscapes=s['cityscapes'], bad=folder)
                 for a in BAD[name][0]]
        out = [] if '--out' in extra else ['--out', folder / f'out_{name.replace(" ", "_")}.pth']
        evaluate = [] if name in EVALUATED else ['--no-eval']
        return [s['config'], s['cityscapes'], *extra, *out, *evaluate, '--work-dir', folder / 'work']

    # The cases refused before a model is built run through the tool's main in this process (the
    # same parsing, checks and error contract, without an interpreter start of ~6 s each); the
    # ones that reach the runner or write a file get their own interpreter.
    own = {name: argv(name) for name in EVALUATED}
    own['different init, allowed'] = [s['config'], s['cityscapes'], folder / 'other_init.pth',
                                      '--out', folder / 'allowed.pth', '--no-eval',
                                      '--allow-different-init']
    runs = _run_all(own, cwd=s['root'])
    for name in BAD:
        if name not in EVALUATED:
            runs[name] = run_tool_in_process('merge.py', *argv(name), cwd=s['root'])
    return folder, inputs, runs


def test_the_bad_input_table_covers_twenty_distinct_cases():
    assert len(BAD) >= 20 and len({named for _, named in BAD.values()}) == len(BAD)


@pytest.mark.parametrize('case', list(BAD))
def test_bad_input_is_one_line_exit_2_and_no_output(setup, bad_inputs, case):
    folder, inputs, runs = bad_inputs
    run = runs[case]
    named = BAD[case][1].format(idd=setup['idd'], cityscapes=setup['cityscapes'])
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and named in lines[0], lines
    written = {p.name for p in folder.iterdir()} - inputs - {'allowed.pth', 'work'}
    assert not written, written  # no output, no temporary file
    assert not (folder / 'work' / 'results.json').exists()
    assert not (folder / 'code-ran').exists()
    assert setup['idd'].stat().st_size > 0 and setup['cityscapes'].stat().st_size > 0


def test_different_inits_merge_when_allowed(bad_inputs):
    folder, _, runs = bad_inputs
    assert runs['different init, allowed'].returncode == 0
    assert (folder / 'allowed.pth').is_file()


@pytest.mark.parametrize('tool', ['merge', 'analyze_lmc'])
def test_tools_print_help(capsys, tool):
    with pytest.raises(SystemExit) as exit_:
        tool_main(f'{tool}.py')(['--help'])
    assert exit_.value.code == 0 and 'usage:' in capsys.readouterr().out


def _zip_reference(setup, checkpoint_state, count):
    """The tiny segmentor with ``checkpoint_state``, its BatchNorm statistics measured on the same
    seeded sample of source images ZipIt! reads (computed here with the pieces, not the tool)."""
    from mmseg.apis import init_model

    from mtda.config import load_config
    from mtda.merging.zip_images import (image_batches, run_segmentor, sample_images,
                                         source_image_folder)
    from mtda.merging.zipit import recompute_batchnorm_statistics
    cfg = load_config(str(setup['config']))
    model = init_model(cfg, device='cpu')
    model.load_state_dict(checkpoint_state)
    files = sample_images(setup['root'] / source_image_folder(cfg), count, seed=0)
    recompute_batchnorm_statistics(model, image_batches(files),
                                   lambda m, b: run_segmentor(m, b, cfg=cfg))
    return model.state_dict()


def test_zipit_through_the_tool_zips_a_model_with_a_reordered_copy_back_into_itself(setup):
    """alpha 0, beta 0: every merged feature takes one feature of each model, so the IDD model and
    a reordered copy of it zip into the IDD model, with BatchNorm measured on the source images."""
    folder = setup['folder']
    spec, original, reordered = _reordered_idd(setup, 'idd_reordered_zip.pth', seed=7)
    run = run_tool_in_process(
        'merge.py', setup['config'], setup['idd'], reordered, '--out', folder / 'zipit_self.pth',
        '--no-eval', '--method', 'zipit', '--zip-alpha', '0', '--zip-count', '8',
        cwd=setup['root'])
    status, out, err = run.returncode, run.stdout, run.stderr
    assert status == 0, err
    assert 'ZipIt!: ' in out and 'on 8 source images, 0 merges within a model' in out
    saved = torch.load(folder / 'zipit_self.pth', weights_only=True)
    expected = _zip_reference(setup, original, 8)
    for key, value in expected.items():
        if not key.endswith('num_batches_tracked'):
            assert torch.allclose(saved['state_dict'][key], value, atol=1e-4), key
    options = saved['meta']['method_options']
    assert saved['meta']['merge_method'] == 'zipit' and saved['meta']['buffer_policy'] == 'recomputed'
    assert options['images_read'] == 8 and options['within_model_merges'] == 0
    assert options['zipped_groups'] == len(spec.groups)


def test_a_partial_zip_is_evaluated_with_each_domains_own_tail(setup):
    """--zip-until decode_head: the backbone zipped, each domain's decode head kept, reading the
    zipped backbone; the file loads weights-only and its tails are the per-domain heads."""
    folder = setup['folder']
    run = run_tool_in_process(
        'merge.py', setup['config'], setup['cityscapes'], setup['idd'], '--out',
        folder / 'zipit_partial.pth', '--method', 'zipit', '--zip-until', 'decode_head',
        '--zip-count', '8', '--domains', 'cityscapes', 'dark_zurich', '--work-dir',
        folder / 'eval_zipit_partial', cwd=setup['root'])
    status, out, err = run.returncode, run.stdout, run.stderr
    assert status == 0, err
    assert 'per-domain tails from decode_head on for cityscapes, dark_zurich' in out
    saved = torch.load(folder / 'zipit_partial.pth', weights_only=True)
    heads = saved['domain_heads']
    assert sorted(heads) == ['cityscapes', 'dark_zurich']
    assert all(key.startswith('decode_head.') for key in heads['cityscapes'])
    assert set(heads['cityscapes']) == {k for k in saved['state_dict'] if k.startswith('decode_head.')}
    # the classifier reads only the head's own fusion features (not zipped): each domain's own
    classifier = 'decode_head.conv_seg.weight'
    for domain, source in (('cityscapes', 'cityscapes'), ('dark_zurich', 'idd')):
        assert torch.equal(heads[domain][classifier], _state(setup[source])[classifier])
    results = json.loads((folder / 'eval_zipit_partial' / 'results.json').read_text())
    assert list(results['domains']) == ['cityscapes', 'dark_zurich'] and results['hmean'] >= 0
    # tools/test.py on the file evaluates each domain through the same tail: the same scores
    run = run_tool_in_process('test.py', setup['config'], folder / 'zipit_partial.pth',
                              '--work-dir', folder / 'test_zipit_partial', cwd=setup['root'])
    assert run.returncode == 0, run.stderr
    tested = json.loads((folder / 'test_zipit_partial' / 'results.json').read_text())
    assert {d: v['mIoU'] for d, v in tested['domains'].items()} == \
        {d: v['mIoU'] for d, v in results['domains'].items()}


@pytest.mark.parametrize('argv,message', [
    (['--zip-until', 'decode_head'], '--zip-until applies to --method zipit'),
    (['--method', 'zipit', '--zip-images', 'no/such/folder'],
     '--zip-images no/such/folder: no such folder'),
    (['--method', 'zipit', '--heads', 'separate'], 'pass --zip-until decode_head'),
    (['--method', 'zipit', '--zip-beta', '2'], '--zip-beta 2.0 in [0, 1]'),
    (['--method', 'zipit', '--zip-until', 'backbone.nothing', '--zip-count', '2'],
     '--zip-until backbone.nothing: no entry of the model starts with it'),
])
def test_bad_zipit_options_are_refused_in_one_line(setup, argv, message):
    run = run_tool_in_process('merge.py', setup['config'], setup['cityscapes'], setup['idd'],
                              '--out', setup['folder'] / 'never.pth', '--no-eval', *argv,
                              cwd=setup['root'])
    status, err = run.returncode, run.stderr
    assert status != 0 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (setup['folder'] / 'never.pth').exists()


def test_zipit_images_are_batched_by_size_and_sampled_by_seed(tmp_path):
    import cv2
    import numpy as np

    from mtda.merging.zip_images import image_batches, sample_images
    for i in range(5):
        size = (8, 6) if i % 2 else (4, 4)
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.full((*size, 3), i, dtype=np.uint8))
    files = sample_images(tmp_path, 4, seed=1)
    assert files == sample_images(tmp_path, 4, seed=1) and len(files) == 4
    assert len(sample_images(tmp_path, 99)) == 5
    batches = image_batches(sample_images(tmp_path, 5), batch_size=2)
    assert [[int(image[0, 0, 0]) for image in batch] for batch in batches] == [[0, 2], [4], [1, 3]]
