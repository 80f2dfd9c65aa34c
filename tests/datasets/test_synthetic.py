"""Tests for mtda.datasets.synthetic: raw layouts, label encodings, determinism, atomic writes and
domain differences of the generated miniature datasets (all generated once, tiny, on the CPU)."""
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import id2label, name2label
from cityscapesscripts.preparation.json2labelImg import createLabelImage
from PIL import Image, ImageDraw

from mtda.datasets.label_maps import (CITYSCAPES_ID_TO_TRAIN_ID, IDD_LABELS, SYNTHIA_ABSENT_IDS,
                                      SYNTHIA_ID_TO_TRAIN_ID, SYNTHIA_NAMES, idd_cs_train_id,
                                      lookup_table)
from mtda.datasets.synthetic import (DATASETS, MARKER, RENDERING, SIZES, content_sha256,
                                     make_synthetic_datasets, styles, writers)
from mtda.errors import DataError, MtdaError

SEQ = r'GOPR\d{4}'
FRAME = rf'(?P<seq>{SEQ})_frame_\d{{6}}'
CS_CITY = r'[a-z]+'
# Every file a dataset may contain (relative path, full match) and the real aspect ratio (W / H).
LAYOUTS = {
    'gta': ([r'images/\d{5}\.png', r'labels/\d{5}\.png'], 1914 / 1052),
    'synthia': ([r'RGB/\d{7}\.png', r'GT/LABELS/\d{7}\.png'], 1280 / 760),
    'cityscapes': ([
        rf'leftImg8bit/(train|val)/(?P<c>{CS_CITY})/(?P=c)_\d{{6}}_\d{{6}}_leftImg8bit\.png',
        rf'gtFine/(train|val)/(?P<c>{CS_CITY})/(?P=c)_\d{{6}}_\d{{6}}_gtFine_'
        r'(polygons\.json|labelIds\.png|instanceIds\.png|color\.png)'], 2.0),
    'idd': ([r'leftImg8bit/(train|val)/\d+/\d{6}_leftImg8bit\.png',
             r'gtFine/(train|val)/\d+/\d{6}_gtFine_polygons\.json'], 16 / 9),
    'acdc': ([rf'rgb_anon/(fog|night|rain|snow)/(train|val)/{SEQ}/{FRAME}_rgb_anon\.png',
              rf'rgb_anon/(fog|night|rain|snow)/(train|val)_ref/{SEQ}/{FRAME}_rgb_ref_anon\.png',
              rf'gt/(fog|night|rain|snow)/(train|val)/{SEQ}/{FRAME}_gt_'
              r'(labelTrainIds|labelIds|invIds)\.png'], 16 / 9),
    'dark_zurich': ([rf'rgb_anon/train/(night|day)/{SEQ}/{FRAME}_rgb_anon\.png',
                     r'rgb_anon/val/night/GOPR0356/GOPR0356_frame_\d{6}_rgb_anon\.png',
                     r'rgb_anon/val_ref/day/GOPR0356_ref/GOPR0356_frame_\d{6}_ref_rgb_anon\.png',
                     r'gt/val/night/GOPR0356/GOPR0356_frame_\d{6}_gt_'
                     r'(labelTrainIds|labelIds|invIds)\.png'], 16 / 9),
}
CS_TRAIN_ID = lookup_table(CITYSCAPES_ID_TO_TRAIN_ID)
LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('synthetic')
    summary = make_synthetic_datasets(root, size='tiny', seed=0, progress=False)
    assert set(summary) == set(DATASETS)
    assert all(row['status'] == 'written' for row in summary.values())
    return root


def files(root: Path) -> list:
    return sorted(str(p.relative_to(root)) for p in root.rglob('*') if p.is_file()
                  and p.name != MARKER)


def read_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'), dtype=np.float64) / 255.0


def luminance(paths) -> list:
    return [read_rgb(p) @ LUMA for p in paths]


def class_histogram(label_maps) -> np.ndarray:
    counts = np.bincount(np.concatenate([m.ravel() for m in label_maps]), minlength=256)[:19]
    return counts / counts.sum()


def cityscapes_label_ids(image: Path) -> np.ndarray:
    """``.../leftImg8bit/{split}/{city}/X_leftImg8bit.png`` -> ``gtFine/.../X_gtFine_labelIds``."""
    split, city = image.parent.parent.name, image.parent.name
    stem = image.name[:-len('_leftImg8bit.png')]
    label = image.parents[3] / 'gtFine' / split / city / f'{stem}_gtFine_labelIds.png'
    return np.asarray(Image.open(label))


def idd_train_ids(json_path: Path) -> np.ndarray:
    """Rasterise an IDD polygon file to csTrainIds, independently of mtda's own rasteriser."""
    doc = json.loads(json_path.read_text())
    image = Image.new('L', (doc['imgWidth'], doc['imgHeight']), 255)
    drawer = ImageDraw.Draw(image)
    for obj in doc['objects']:
        drawer.polygon([tuple(p) for p in obj['polygon']], fill=idd_cs_train_id(obj['label']))
    return np.asarray(image)


# ------------------------------------------------------------------------------------------------
# Layout


@pytest.mark.parametrize('name', DATASETS)
def test_every_file_follows_the_raw_layout(data, name):
    patterns, _ = LAYOUTS[name]
    listed = files(data / name)
    unmatched = [f for f in listed if not any(re.fullmatch(p, f) for p in patterns)]
    assert not unmatched, unmatched[:5]
    for pattern in patterns:
        assert any(re.fullmatch(pattern, f) for f in listed), f'nothing matches {pattern}'
    assert not list(data.glob(f'.{name}.*')), 'temporary folder left behind'


@pytest.mark.parametrize('name', DATASETS)
def test_aspect_ratio_is_kept(data, name):
    _, aspect = LAYOUTS[name]
    sizes = {Image.open(p).size for p in (data / name).rglob('*.png')}  # images and label maps
    assert len(sizes) == 1
    width, height = sizes.pop()
    assert width / height == pytest.approx(aspect, rel=0.02)


def test_numbering_and_counts_match_the_real_datasets(data):
    tiny = SIZES['tiny']
    gta = sorted(p.name for p in (data / 'gta/images').iterdir())
    assert gta[0] == '00001.png' and len(gta) == tiny['gta'].frames['all']
    assert gta == sorted(p.name for p in (data / 'gta/labels').iterdir())
    synthia = sorted(p.name for p in (data / 'synthia/RGB').iterdir())
    assert synthia[0] == '0000000.png' and len(synthia) == tiny['synthia'].frames['all']
    train_cities = {p.name for p in (data / 'cityscapes/leftImg8bit/train').iterdir()}
    val_cities = {p.name for p in (data / 'cityscapes/leftImg8bit/val').iterdir()}
    assert train_cities <= set(writers.CITYSCAPES_TRAIN_CITIES) and len(train_cities) >= 2
    assert val_cities == set(writers.CITYSCAPES_VAL_CITIES)
    for split in ('train', 'val'):
        images = list((data / 'cityscapes/leftImg8bit' / split).rglob('*.png'))
        assert len(images) == tiny['cityscapes'].frames[split]
        idd = list((data / 'idd/leftImg8bit' / split).rglob('*.png'))
        assert len(idd) == tiny['idd'].frames[split]
        assert len({p.name for p in idd}) == len(idd), 'IDD image ids must be unique'
    assert not list((data / 'idd/gtFine').rglob('*.png')), 'IDD ships polygons only'
    for condition in ('fog', 'night', 'rain', 'snow'):
        for split in ('train', 'val'):
            adverse = list((data / 'acdc/rgb_anon' / condition / split).rglob('*.png'))
            refs = list((data / 'acdc/rgb_anon' / condition / f'{split}_ref').rglob('*.png'))
            assert len(adverse) == len(refs) == tiny['acdc'].frames[split]
    dz = data / 'dark_zurich'
    assert len({p.parent.name for p in (dz / 'rgb_anon/train/night').rglob('*.png')}) >= 2
    assert list((dz / 'rgb_anon/train/day').rglob('*.png'))
    assert not (dz / 'gt/train').exists(), 'Dark Zurich has no training labels'


# ------------------------------------------------------------------------------------------------
# Label encodings


def test_gta_labels_are_palette_pngs_of_cityscapes_ids(data):
    seen = set()
    for path in sorted((data / 'gta/labels').glob('*.png')):
        image = Image.open(path)
        assert image.mode == 'P'
        ids = np.asarray(image)
        assert ids.dtype == np.uint8 and ids.max() <= 33
        palette = np.asarray(image.getpalette()[:3 * 34]).reshape(34, 3)
        for label_id in np.unique(ids):
            assert tuple(palette[label_id]) == id2label[int(label_id)].color
        seen |= set(np.unique(CS_TRAIN_ID[ids]).tolist())
    assert set(range(19)) <= seen, f'GTA lacks trainIds {set(range(19)) - seen}'


def test_synthia_labels_are_16bit_with_class_in_red(data):
    to_train = lookup_table(SYNTHIA_ID_TO_TRAIN_ID, size=65536)
    seen = set()
    for path in sorted((data / 'synthia/GT/LABELS').glob('*.png')):
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == np.uint16 and raw.ndim == 3 and raw.shape[2] == 3
        classes = raw[:, :, -1]
        assert set(np.unique(classes).tolist()) <= set(SYNTHIA_NAMES)
        assert not np.isin(classes, SYNTHIA_ABSENT_IDS).any()
        assert not raw[:, :, 0].any(), 'blue channel must be 0'
        assert raw[:, :, 1].max() > 0, 'instance ids belong in the green channel'
        seen |= set(np.unique(to_train[classes]).tolist())
    assert seen - {255} == set(range(19)) - {9, 14, 16}


def test_cityscapes_label_ids_are_what_cityscapesscripts_draws(data):
    jsons = sorted((data / 'cityscapes/gtFine').rglob('*_gtFine_polygons.json'))
    assert len(jsons) == sum(SIZES['tiny']['cityscapes'].frames.values())
    for path in jsons:
        doc = json.loads(path.read_text())
        assert set(doc) == {'imgHeight', 'imgWidth', 'objects'}
        for obj in doc['objects']:
            assert set(obj) >= {'label', 'polygon', 'deleted', 'verified', 'date', 'user'}
            assert obj['label'] in name2label
        annotation = Annotation()
        annotation.fromJsonFile(str(path))
        expected = np.asarray(createLabelImage(annotation, 'ids'))
        stem = str(path)[:-len('_polygons.json')]
        saved = np.asarray(Image.open(stem + '_labelIds.png'))
        np.testing.assert_array_equal(saved, expected)
        split, city = path.parent.parent.name, path.parent.name
        image = path.parents[3] / 'leftImg8bit' / split / city / path.name.replace(
            '_gtFine_polygons.json', '_leftImg8bit.png')
        assert Image.open(image).size == (doc['imgWidth'], doc['imgHeight']) == saved.shape[::-1]
        instances = np.asarray(Image.open(stem + '_instanceIds.png'))
        assert instances.max() >= 24000, 'things carry label id * 1000 + instance'


def test_idd_polygons_use_idd_names_including_merged_level3_labels(data):
    used = set()
    for path in (data / 'idd/gtFine').rglob('*_gtFine_polygons.json'):
        used |= {obj['label'] for obj in json.loads(path.read_text())['objects']}
    assert used <= set(IDD_LABELS)
    # Labels whose level3 class also holds a label with another csTrainId: a level3 mask cannot
    # give their Cityscapes class, only the polygons can.
    by_level3 = {}
    for _, cs_train_id, level3 in IDD_LABELS.values():
        by_level3.setdefault(level3, set()).add(cs_train_id)
    ambiguous = {n for n, (_, _, level3) in IDD_LABELS.items() if len(by_level3[level3]) > 1}
    assert used & ambiguous, 'no IDD label that a level3 map would get wrong'
    assert 'non-drivable fallback' in used and IDD_LABELS['non-drivable fallback'][1] == 9
    assert used & {'autorickshaw', 'animal', 'drivable fallback', 'curb', 'billboard'}


def test_acdc_and_dark_zurich_ground_truth(data):
    gt = list((data / 'acdc/gt').rglob('*_gt_labelTrainIds.png')) + list(
        (data / 'dark_zurich/gt').rglob('*_gt_labelTrainIds.png'))
    for path in gt:
        train_ids = Image.open(path)
        assert train_ids.mode == 'L'
        train_ids = np.asarray(train_ids)
        assert set(np.unique(train_ids).tolist()) <= set(range(19)) | {255}
        label_ids = np.asarray(Image.open(str(path).replace('labelTrainIds', 'labelIds')))
        np.testing.assert_array_equal(CS_TRAIN_ID[label_ids], train_ids)
        invalid = np.asarray(Image.open(str(path).replace('labelTrainIds', 'invIds')))
        assert set(np.unique(invalid).tolist()) <= {0, 1}


@pytest.mark.parametrize('name, labels', [
    ('cityscapes', 'gtFine/val/**/*_labelIds.png'), ('idd', 'gtFine/val/**/*.json'),
    ('acdc', 'gt/*/val/**/*_labelTrainIds.png'), ('dark_zurich', 'gt/val/**/*_labelTrainIds.png')])
def test_target_val_splits_hold_most_classes(data, name, labels):
    maps = []
    for path in (data / name).glob(labels):
        if name == 'idd':
            maps.append(idd_train_ids(path))
        elif name == 'cityscapes':
            maps.append(CS_TRAIN_ID[np.asarray(Image.open(path))])
        else:
            maps.append(np.asarray(Image.open(path)))
    present = set(np.unique(np.concatenate([m.ravel() for m in maps])).tolist()) - {255}
    assert len(present) >= 17, f'{name} val lacks {set(range(19)) - present}'


# ------------------------------------------------------------------------------------------------
# Domains


def test_dark_zurich_night_is_darker_than_cityscapes_yet_visible(data):
    night = luminance(sorted((data / 'dark_zurich/rgb_anon/val/night').rglob('*.png')))
    day = luminance(sorted((data / 'cityscapes/leftImg8bit/val').rglob('*.png')))
    night_mean = np.mean([m.mean() for m in night])
    assert night_mean < 0.7 * np.mean([m.mean() for m in day])
    # lamps, lit facades and the camera's gain: little of the frame is black (the ambient light
    # alone, 6-10 % of daylight, would leave ~40 % of it below 5 % luminance)
    assert np.mean([(m < 0.05).mean() for m in night]) < 0.1
    assert night_mean > 0.3 * np.mean([m.mean() for m in day])


@pytest.mark.parametrize('width', [128, 1024, 2048])
def test_sensor_noise_shrinks_with_the_frame_as_downscaling_averages_it(width):
    """``DomainStyle.noise`` is the standard deviation at 1024 px; a frame ``k`` times narrower
    averages ``k**2`` sensor pixels into each of its own, so its noise is ``k`` times smaller."""
    style = replace(styles.DARK_ZURICH_NIGHT, blur=0.0, vignette=0.0, contrast=1.0, gamma=1.0,
                    saturation=1.0, tint=(1.0, 1.0, 1.0), exposure=1.0)
    grey = np.full((width // 2, width, 3), 0.5, np.float32)
    image = styles._camera_response(style, grey, np.random.default_rng(0)) / 255.0
    rounding = 1 / 255 / np.sqrt(12)  # the uint8 file's own quantisation noise
    expected = np.hypot(style.noise * width / 1024, rounding)
    assert image.std() == pytest.approx(expected, rel=0.05)


def test_fog_removes_contrast_of_the_same_streets(data):
    acdc = data / 'acdc/rgb_anon'
    fog = luminance(sorted((acdc / 'fog/val').rglob('*.png')))
    reference = luminance(sorted((acdc / 'fog/val_ref').rglob('*.png')))
    assert np.mean([m.std() for m in fog]) < 0.8 * np.mean([m.std() for m in reference])


def test_idd_class_frequencies_differ_from_cityscapes(data):
    idd = class_histogram(idd_train_ids(p) for p in (data / 'idd/gtFine').rglob('*.json'))
    cityscapes = class_histogram(CS_TRAIN_ID[cityscapes_label_ids(p)]
                                 for p in (data / 'cityscapes/leftImg8bit').rglob('*.png'))
    sidewalk, terrain, motorcycle = 1, 9, 17
    assert 0.5 * np.abs(idd - cityscapes).sum() > 0.1  # total variation distance
    assert idd[sidewalk] < 0.7 * cityscapes[sidewalk]
    assert idd[terrain] > 2 * cityscapes[terrain]
    assert idd[motorcycle] > 2 * cityscapes[motorcycle]


def test_domains_differ_beyond_a_colour_tint(data):
    """A per-channel gain cannot map GTA's road and vegetation colours onto Cityscapes' ones."""
    road, vegetation, sky = 0, 8, 10

    def class_colours(pairs):
        colours = {}
        for rgb, ids in pairs:
            for train_id in (road, vegetation, sky):
                colours.setdefault(train_id, []).append(rgb[ids == train_id])
        return np.stack([np.concatenate(colours[k]).mean(axis=0) for k in sorted(colours)])

    gta = class_colours((read_rgb(p), CS_TRAIN_ID[np.asarray(Image.open(data / 'gta/labels' /
                                                                         p.name))])
                        for p in (data / 'gta/images').glob('*.png'))
    cs = class_colours((read_rgb(p), CS_TRAIN_ID[cityscapes_label_ids(p)])
                       for p in (data / 'cityscapes/leftImg8bit').rglob('*.png'))
    gains = cs / gta  # per class and channel; a tint would make every row the same
    assert np.ptp(gains, axis=0).max() > 0.3


# ------------------------------------------------------------------------------------------------
# Determinism, atomicity, idempotence, CLI


def test_same_seed_same_bytes_and_other_seed_other_bytes(tmp_path):
    subset = ['gta', 'acdc']
    for name, seed in (('a', 0), ('b', 0), ('c', 1)):
        make_synthetic_datasets(tmp_path / name, seed=seed, datasets=subset, progress=False)

    def contents(root):
        return {f: (root / f).read_bytes() for f in files(root)}
    a, b, c = (contents(tmp_path / name) for name in 'abc')
    assert a == b
    assert a.keys() == c.keys()
    assert sum(a[f] != c[f] for f in a) > 0.9 * len(a)


def test_dataset_does_not_depend_on_the_others(data, tmp_path):
    make_synthetic_datasets(tmp_path, datasets=['idd'], progress=False)
    assert {f: (tmp_path / 'idd' / f).read_bytes() for f in files(tmp_path / 'idd')} == \
        {f: (data / 'idd' / f).read_bytes() for f in files(data / 'idd')}


@pytest.mark.parametrize('error', [RuntimeError('disk full'), KeyboardInterrupt()])
def test_failure_mid_write_leaves_nothing_behind(tmp_path, monkeypatch, error):
    writer = writers.WRITERS['cityscapes']
    real_write, calls = writer.write, []

    def failing_write(root, job, **kwargs):
        calls.append(job)
        if len(calls) == 5:
            raise error
        real_write(root, job, **kwargs)

    monkeypatch.setattr(writer, 'write', failing_write)
    with pytest.raises(type(error)):
        make_synthetic_datasets(tmp_path, datasets=['gta', 'cityscapes'], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['gta']


def test_reruns_skip_complete_datasets_and_protect_foreign_ones(tmp_path):
    first = make_synthetic_datasets(tmp_path, datasets=['gta'], progress=False)
    marker = tmp_path / 'gta' / MARKER
    stamp = marker.stat().st_mtime_ns
    again = make_synthetic_datasets(tmp_path, datasets=['gta'], progress=False)
    assert first['gta']['status'] == 'written' and again['gta']['status'] == 'skipped'
    assert marker.stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match='overwrite'):
        make_synthetic_datasets(tmp_path, datasets=['gta'], seed=3, progress=False)
    redone = make_synthetic_datasets(tmp_path, datasets=['gta'], seed=3, overwrite=True,
                                     progress=False)
    assert redone['gta']['status'] == 'written'
    assert json.loads(marker.read_text())['seed'] == 3
    real = tmp_path / 'synthia'
    (real / 'RGB').mkdir(parents=True)
    assert make_synthetic_datasets(tmp_path, datasets=['synthia'],
                                   progress=False)['synthia']['status'] == 'kept'
    with pytest.raises(DataError, match='not generated by mtda'):
        make_synthetic_datasets(tmp_path, datasets=['synthia'], overwrite=True, progress=False)
    assert (real / 'RGB').is_dir()


def test_marker_records_the_hash_of_the_files(tmp_path):
    make_synthetic_datasets(tmp_path / 'a', datasets=['gta'], progress=False)
    folder = tmp_path / 'a' / 'gta'
    recorded = json.loads((folder / MARKER).read_text())['content_sha256']
    digest = hashlib.sha256()  # the documented scheme, computed here from the file list
    for name in files(folder):
        digest.update(name.encode() + b'\0' + (folder / name).read_bytes())
    assert recorded == digest.hexdigest()
    make_synthetic_datasets(tmp_path / 'b', datasets=['gta'], progress=False)
    assert json.loads((tmp_path / 'b' / 'gta' / MARKER).read_text())['content_sha256'] == recorded
    image = sorted((folder / 'images').iterdir())[0]
    image.write_bytes(image.read_bytes() + b'\0')  # one byte more in one file
    assert content_sha256(folder) != recorded


def test_folders_of_an_older_rendering_are_refused_not_reused(tmp_path):
    make_synthetic_datasets(tmp_path, datasets=['gta'], progress=False)
    marker = tmp_path / 'gta' / MARKER
    provenance = json.loads(marker.read_text())
    assert provenance['rendering'] == RENDERING
    del provenance['rendering']  # what every generator before the number wrote
    marker.write_text(json.dumps(provenance))
    with pytest.raises(DataError, match=r"rendering=None, not rendering=%d; pass overwrite "
                       r"\(--overwrite\)" % RENDERING):
        make_synthetic_datasets(tmp_path, datasets=['gta'], progress=False)


@pytest.mark.parametrize('options', [dict(size='huge'), dict(datasets=['kitti']), dict(seed=-1)])
def test_bad_options_are_mtda_errors(tmp_path, options):
    with pytest.raises(MtdaError):
        make_synthetic_datasets(tmp_path, progress=False, **options)


def test_cli_writes_and_reports_errors(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_data', Path(__file__).resolve().parents[2] / 'tools/make_synthetic_data.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    from mtda.cli import run_tool
    assert run_tool(tool.main, ['--out', str(tmp_path), '--datasets', 'gta', '--no-progress']) == 0
    assert 'gta' in capsys.readouterr().out
    (tmp_path / 'idd').mkdir()
    assert run_tool(tool.main, ['--out', str(tmp_path), '--datasets', 'idd', '--overwrite',
                                '--no-progress']) == 2
    assert capsys.readouterr().err.startswith('error: ')
