"""Label converters against hand-written raw files and independently written expectations.

Every raw file is made here in ``tmp_path`` (P-mode GTA PNGs, 16-bit SYNTHIA PNGs written with
OpenCV, polygon JSON, shipped trainId PNGs); expected trainIds are written out by hand from the
dataset tables in docs/datasets.md, and expected statistics are counted with np.unique.
"""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mtda.datasets.converters import CONVERTERS, acdc, cityscapes, dark_zurich, gta, idd, synthia
from mtda.datasets.converters.class_stats import class_pixel_counts
from mtda.errors import DataError

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / 'tools' / 'convert_datasets'


# ----------------------------------------------------------------------------- raw file writers
def write_rgb(path: Path, height: int, width: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new('RGB', (width, height), (90, 120, 30)).save(path)


def write_gta_label(path: Path, ids) -> None:
    """A P-mode PNG whose palette index is the Cityscapes id, as GTA5 ships its labels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(ids, dtype=np.uint8))
    image.putpalette([(7 * i) % 256 for i in range(768)])  # any palette: only the index matters
    assert image.mode == 'P'
    image.save(path)


def write_synthia_label(path: Path, class_ids, instance_ids=None) -> None:
    """A 16-bit 3-channel PNG with the class in R (BGR index 2) and an instance id in G."""
    path.parent.mkdir(parents=True, exist_ok=True)
    class_ids = np.asarray(class_ids, dtype=np.uint16)
    bgr = np.zeros(class_ids.shape + (3,), np.uint16)
    bgr[..., 2] = class_ids
    bgr[..., 1] = 1000 if instance_ids is None else instance_ids
    assert cv2.imwrite(str(path), bgr)


def write_polygons(path: Path, width: int, height: int, objects) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({'imgHeight': height, 'imgWidth': width, 'objects': objects}))


def rect(label, x0, y0, x1, y1, **extra):
    """A polygon covering pixel columns x0..x1 and rows y0..y1 inclusive (PIL fills the outline)."""
    return {'label': label, 'polygon': [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], **extra}


def write_l_png(path: Path, values) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(values, dtype=np.uint8)).save(path)


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == 'L'
        return np.asarray(image)


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def expected_counts(train_ids: np.ndarray) -> dict:
    values, counts = np.unique(train_ids, return_counts=True)
    return {str(int(v)): int(n) for v, n in zip(values, counts) if v != 255}


# ----------------------------------------------------------------------------- RCS counting
def test_class_pixel_counts_skips_ignore_and_absent_classes():
    label = np.array([[0, 0, 255], [18, 3, 3]], np.uint8)
    assert class_pixel_counts(label) == {0: 2, 3: 2, 18: 1}


# ----------------------------------------------------------------------------- GTA
GTA_RAW = [[7, 26, 0, 33],
           [24, 1, 23, 7],
           [8, 8, 29, 20]]
GTA_EXPECTED = np.array([[0, 13, 255, 18],
                         [11, 255, 10, 0],
                         [1, 1, 255, 7]], np.uint8)  # 29 caravan -> 255
GTA_RAW_2 = [[11, 11, 21, 21],
             [17, 19, 22, 23],
             [31, 32, 25, 27]]
GTA_EXPECTED_2 = np.array([[2, 2, 8, 8],
                           [5, 6, 9, 10],
                           [16, 17, 12, 14]], np.uint8)


@pytest.fixture
def gta_root(tmp_path, monkeypatch):
    """``data/gta`` relative to the working directory, the way users call the converter."""
    monkeypatch.chdir(tmp_path)
    root = Path('data/gta')
    for name, raw in (('00001', GTA_RAW), ('00002', GTA_RAW_2)):
        write_gta_label(root / 'labels' / f'{name}.png', raw)
        write_rgb(root / 'images' / f'{name}.png', 3, 4)
    return root


def test_gta_palette_indices_become_train_ids(gta_root):
    summary = gta.convert('data/gta')
    assert np.array_equal(read_png(gta_root / 'labels/00001_labelTrainIds.png'), GTA_EXPECTED)
    assert np.array_equal(read_png(gta_root / 'labels/00002_labelTrainIds.png'), GTA_EXPECTED_2)
    assert summary.num_label_files == 2 and summary.action == 'converted'


def test_gta_rcs_files_have_daformer_shapes(gta_root):
    gta.convert('data/gta')
    files = ['data/gta/labels/00001_labelTrainIds.png', 'data/gta/labels/00002_labelTrainIds.png']
    counts = [expected_counts(GTA_EXPECTED), expected_counts(GTA_EXPECTED_2)]

    stats = json.loads((gta_root / 'sample_class_stats.json').read_text())
    assert stats == [{**c, 'file': f} for f, c in zip(files, counts)]

    stats_dict = json.loads((gta_root / 'sample_class_stats_dict.json').read_text())
    assert stats_dict == dict(zip(files, counts))

    with_class = json.loads((gta_root / 'samples_with_class.json').read_text())
    expected = {}
    for f, c in zip(files, counts):
        for cls, n in c.items():
            expected.setdefault(cls, []).append([f, n])
    assert with_class == expected
    assert '255' not in with_class and with_class['0'] == [[files[0], 2]]


def test_gta_rcs_out_dir(gta_root, tmp_path):
    gta.convert('data/gta', out_dir=tmp_path / 'rcs')
    assert sorted(p.name for p in (tmp_path / 'rcs').iterdir()) == [
        'sample_class_stats.json', 'sample_class_stats_dict.json', 'samples_with_class.json']
    assert not (gta_root / 'sample_class_stats.json').exists()


def test_gta_rerun_is_idempotent(gta_root):
    gta.convert('data/gta')
    first = snapshot(gta_root)
    gta.convert('data/gta')
    assert snapshot(gta_root) == first
    assert not list(gta_root.rglob('*_labelTrainIds_labelTrainIds*'))
    assert not list(gta_root.rglob('*.tmp'))


def test_gta_parallel_matches_serial(gta_root):
    gta.convert('data/gta', nproc=1)
    serial = snapshot(gta_root)
    for path in gta_root.rglob('*_labelTrainIds.png'):
        path.unlink()
    gta.convert('data/gta', nproc=2)
    assert snapshot(gta_root) == serial


@pytest.mark.parametrize('bad', [34, 200])
def test_gta_index_outside_cityscapes_ids_is_an_error(gta_root, bad):
    raw = np.array(GTA_RAW)
    raw[0, 0] = bad
    write_gta_label(gta_root / 'labels/00003.png', raw)
    with pytest.raises(DataError) as info:
        gta.convert('data/gta')
    message = str(info.value)
    assert '\n' not in message
    assert 'labels/00003.png' in message and f'GTA palette index {bad}' in message
    assert not (gta_root / 'labels/00003_labelTrainIds.png').exists()
    assert not (gta_root / 'sample_class_stats.json').exists()


def test_gta_image_label_size_mismatch_is_an_error(gta_root):
    write_rgb(gta_root / 'images/00002.png', 5, 4)
    with pytest.raises(DataError, match=r'00002\.png is 4x3 but its image .* is 4x5'):
        gta.convert('data/gta')


def test_gta_corrupt_png_is_an_error(gta_root):
    (gta_root / 'labels/00002.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 10)
    with pytest.raises(DataError, match=r'cannot read label .*00002\.png'):
        gta.convert('data/gta')


def test_gta_rgb_label_is_an_error(gta_root):
    write_rgb(gta_root / 'labels/00002.png', 3, 4)
    with pytest.raises(DataError, match="'RGB' image"):
        gta.convert('data/gta')


def test_missing_root_and_empty_label_folder(tmp_path):
    with pytest.raises(DataError, match=r'data root .*nowhere not found; run tools/make_synthetic_data\.py'):
        gta.convert(tmp_path / 'nowhere')
    (tmp_path / 'gta' / 'labels').mkdir(parents=True)
    with pytest.raises(DataError, match=r'no label files matching \*\[0-9\]\.png'):
        gta.convert(tmp_path / 'gta')
    (tmp_path / 'cityscapes').mkdir()
    with pytest.raises(DataError, match=r'gtFine not found'):
        cityscapes.convert(tmp_path / 'cityscapes')


# ----------------------------------------------------------------------------- SYNTHIA
def test_synthia_class_ids_come_from_the_red_channel(tmp_path):
    root = tmp_path / 'synthia'
    write_synthia_label(root / 'GT/LABELS/0000000.png', [[3, 8, 22], [1, 21, 0]],
                        instance_ids=[[7, 300, 65535], [0, 1, 2]])
    write_rgb(root / 'RGB/0000000.png', 2, 3)
    synthia.convert(root)
    assert np.array_equal(read_png(root / 'GT/LABELS/0000000_labelTrainIds.png'),
                          np.array([[0, 13, 255], [10, 3, 255]], np.uint8))
    stats = json.loads((root / 'sample_class_stats.json').read_text())
    assert stats == [{'0': 1, '3': 1, '10': 1, '13': 1,
                      'file': (root / 'GT/LABELS/0000000_labelTrainIds.png').as_posix()}]


@pytest.mark.parametrize('bad', [40, 300])  # 300 must not wrap to 44 (a uint8 cast would)
def test_synthia_id_outside_table_is_an_error(tmp_path, bad):
    root = tmp_path / 'synthia'
    write_synthia_label(root / 'GT/LABELS/0000000.png', [[3, bad]])
    with pytest.raises(DataError, match=rf'0000000\.png holds SYNTHIA class id {bad},'):
        synthia.convert(root)
    assert not (root / 'GT/LABELS/0000000_labelTrainIds.png').exists()


# ----------------------------------------------------------------------------- Cityscapes
def cityscapes_tree(root: Path) -> None:
    write_polygons(root / 'gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json', 12, 6, [
        rect('road', 0, 0, 11, 5),
        rect('car', 2, 1, 5, 3),
        rect('person', 3, 2, 4, 2, deleted=1),       # deleted: not drawn
        rect('cargroup', 8, 0, 9, 1),                 # *group falls back to car
        rect('license plate', 2, 1, 5, 2),            # id -1: never drawn
        rect('sky', 4, 3, 7, 4),                      # drawn after the car: covers it
        rect('ego vehicle', 0, 4, 11, 5),             # trainId 255, over the sky's lower row
    ])
    write_rgb(root / 'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png', 6, 12)
    write_polygons(root / 'gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_polygons.json', 12, 6, [
        rect('building', 0, 0, 11, 5), rect('bicycle', 1, 1, 2, 2)])


def test_cityscapes_polygons_drawn_in_order(tmp_path):
    root = tmp_path / 'cityscapes'
    cityscapes_tree(root)
    summary = cityscapes.convert(root)
    expected = np.zeros((6, 12), np.uint8)            # road
    expected[1:4, 2:6] = 13                            # car
    expected[0:2, 8:10] = 13                           # cargroup
    expected[3:5, 4:8] = 10                            # sky over the car
    expected[4:6, :] = 255                             # ego vehicle over the sky
    label = read_png(root / 'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png')
    assert np.array_equal(label, expected)
    val = read_png(root / 'gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png')
    expected_val = np.full((6, 12), 2, np.uint8)
    expected_val[1:3, 1:3] = 18
    assert np.array_equal(val, expected_val)
    assert summary.label_files == {'train': 1, 'val': 1}

    assert (root / 'train.txt').read_text() == 'aachen/aachen_000000_000019\n'
    assert (root / 'val.txt').read_text() == 'frankfurt/frankfurt_000000_000294\n'
    train_file = (root / 'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png').as_posix()
    stats = json.loads((root / 'sample_class_stats.json').read_text())
    assert stats == [{**expected_counts(expected), 'file': train_file}]  # train split only
    with_class = json.loads((root / 'samples_with_class.json').read_text())
    assert set(with_class) == {'0', '10', '13'}


def test_cityscapes_rerun_is_idempotent(tmp_path):
    root = tmp_path / 'cityscapes'
    cityscapes_tree(root)
    cityscapes.convert(root)
    first = snapshot(root)
    cityscapes.convert(root, nproc=2)
    assert snapshot(root) == first


def test_cityscapes_unknown_label_is_an_error(tmp_path):
    root = tmp_path / 'cityscapes'
    path = root / 'gtFine/val/lindau/lindau_000000_000019_gtFine_polygons.json'
    write_polygons(path, 4, 2, [rect('road', 0, 0, 3, 1), rect('spaceship', 0, 0, 1, 1)])
    with pytest.raises(DataError, match=r"lindau_000000_000019_gtFine_polygons\.json use label 'spaceship'"):
        cityscapes.convert(root)
    assert not list(root.rglob('*.png'))


def test_polygons_size_mismatch_and_bad_json(tmp_path):
    root = tmp_path / 'cityscapes'
    cityscapes_tree(root)
    write_rgb(root / 'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png', 6, 10)
    with pytest.raises(DataError, match='is 12x6 but its image'):
        cityscapes.convert(root)
    write_rgb(root / 'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png', 6, 12)
    (root / 'gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_polygons.json').write_text('{"imgWidth": 3')
    with pytest.raises(DataError, match='cannot read polygons'):
        cityscapes.convert(root)


# ----------------------------------------------------------------------------- IDD
def test_idd_cs_train_ids_from_polygons(tmp_path):
    root = tmp_path / 'idd'
    write_polygons(root / 'gtFine/train/0/005506_gtFine_polygons.json', 10, 4, [
        rect('non-drivable fallback', 0, 0, 9, 3),   # csTrainId 9 (terrain), level3 would merge it
        rect('pole', 1, 0, 2, 3),
        rect('polegroup', 4, 0, 5, 3),               # a label of its own: 255
        rect('persongroup', 6, 1, 7, 2),             # base name person: 11
        rect('car', 0, 0, 9, 3, deleted=1),          # deleted
        rect('road', 8, 2, 9, 3),
    ])
    write_rgb(root / 'leftImg8bit/train/0/005506_leftImg8bit.png', 4, 10)
    summary = idd.convert(root)
    expected = np.full((4, 10), 9, np.uint8)
    expected[:, 1:3] = 5
    expected[:, 4:6] = 255
    expected[1:3, 6:8] = 11
    expected[2:4, 8:10] = 0
    assert np.array_equal(read_png(root / 'gtFine/train/0/005506_gtFine_labelcsTrainIds.png'), expected)
    assert summary.label_files == {'train': 1} and summary.written == ()
    assert not list(root.glob('*.json'))


def test_idd_unknown_label_is_an_error(tmp_path):
    root = tmp_path / 'idd'
    write_polygons(root / 'gtFine/val/119/035471_gtFine_polygons.json', 4, 2, [rect('cart', 0, 0, 3, 1)])
    with pytest.raises(DataError) as info:
        idd.convert(root)
    assert '035471_gtFine_polygons.json' in str(info.value) and "'cart'" in str(info.value)
    assert not list(root.rglob('*.png'))


# ----------------------------------------------------------------------------- ACDC / Dark Zurich
def acdc_tree(root: Path) -> None:
    for cond, split, seq in (('fog', 'train', 'GOPR0475'), ('night', 'val', 'GOPR0376')):
        stem = f'{seq}_frame_000041'
        write_l_png(root / 'gt' / cond / split / seq / f'{stem}_gt_labelTrainIds.png',
                    [[0, 18, 255], [5, 5, 5]])
        write_rgb(root / 'rgb_anon' / cond / split / seq / f'{stem}_rgb_anon.png', 2, 3)


def test_acdc_validates_and_writes_nothing(tmp_path):
    root = tmp_path / 'acdc'
    acdc_tree(root)
    before = snapshot(root)
    summary = acdc.convert(root)
    assert summary.label_files == {'fog/train': 1, 'night/val': 1} and summary.action == 'validated'
    assert snapshot(root) == before


def test_acdc_value_19_is_an_error(tmp_path):
    root = tmp_path / 'acdc'
    acdc_tree(root)
    label = root / 'gt/fog/train/GOPR0475/GOPR0475_frame_000041_gt_labelTrainIds.png'
    write_l_png(label, [[0, 19, 255], [5, 5, 5]])
    with pytest.raises(DataError, match=r'000041_gt_labelTrainIds\.png holds value 19, not a trainId'):
        acdc.convert(root)


def test_acdc_missing_image_and_size_mismatch(tmp_path):
    root = tmp_path / 'acdc'
    acdc_tree(root)
    image = root / 'rgb_anon/night/val/GOPR0376/GOPR0376_frame_000041_rgb_anon.png'
    write_rgb(image, 3, 3)
    with pytest.raises(DataError, match='is 3x2 but its image'):
        acdc.convert(root)
    image.unlink()
    with pytest.raises(DataError, match='has no image'):
        acdc.convert(root)


def test_dark_zurich_val_labels(tmp_path):
    root = tmp_path / 'dark_zurich'
    for frame in (1, 2):
        stem = f'GOPR0356_frame_{frame:06d}'
        write_l_png(root / 'gt/val/night/GOPR0356' / f'{stem}_gt_labelTrainIds.png', [[10, 255]])
        write_rgb(root / 'rgb_anon/val/night/GOPR0356' / f'{stem}_rgb_anon.png', 1, 2)
    write_rgb(root / 'rgb_anon/train/night/GOPR0351/GOPR0351_frame_000001_rgb_anon.png', 1, 2)
    assert dark_zurich.convert(root).label_files == {'val/night': 2}


# ----------------------------------------------------------------------------- command line
def run_tool(name: str, *args: str, cwd: Path):
    return subprocess.run([sys.executable, str(TOOLS / f'{name}.py'), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_cli_bad_label_value_exit_2_one_line(gta_root, tmp_path):
    write_gta_label(gta_root / 'labels/00003.png', [[7, 34]])
    result = run_tool('gta', 'data/gta', '--nproc', '2', cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ')
    assert 'data/gta/labels/00003.png' in lines[0] and 'index 34' in lines[0]
    assert not (gta_root / 'labels/00003_labelTrainIds.png').exists()
    assert not list(gta_root.rglob('*.tmp'))


def test_cli_missing_root_exit_2_one_line(tmp_path):
    result = run_tool('acdc', str(tmp_path / 'no_acdc'), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'no_acdc not found' in lines[0] and 'download ACDC' in lines[0]


def test_cli_success_prints_one_line(gta_root, tmp_path):
    result = run_tool('gta', 'data/gta', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('\n') == 1 and result.stdout.startswith('gta: converted 2 label files')


@pytest.mark.parametrize('name', sorted(CONVERTERS))
def test_cli_help(name, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', [f'{name}.py', '--help'])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(TOOLS / f'{name}.py'), run_name='__main__')
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert 'DATA_ROOT' in out and '--nproc' in out
    assert ('--out-dir' in out) == (name in ('gta', 'synthia', 'cityscapes'))
