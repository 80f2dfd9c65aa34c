"""One writer per dataset: synthetic frames saved in the raw layout, names and label encodings that
users download (``docs/datasets.md``), never the converted trainId files of GTA, SYNTHIA, Cityscapes
or IDD, so that mtda's converters run on them exactly as on real data.

=============  ==================================================================================
dataset        what a frame writes (relative to the dataset folder)
=============  ==================================================================================
gta            ``images/%05d.png`` RGB; ``labels/%05d.png`` P-mode, palette index = Cityscapes id
synthia        ``RGB/%07d.png``; ``GT/LABELS/%07d.png`` 16-bit 3-channel, R = class, G = instance
cityscapes     ``leftImg8bit/{split}/{city}/{city}_%06d_000019_leftImg8bit.png`` and
               ``gtFine/...`` ``_polygons.json`` + ``_labelIds``/``_instanceIds``/``_color`` PNGs
               drawn from that json by ``cityscapesscripts``
idd            ``leftImg8bit/{split}/{drive}/%06d_leftImg8bit.png``; ``gtFine/.../%06d_gtFine_
               polygons.json`` with IDD label names (the only label IDD ships)
acdc           ``rgb_anon/{cond}/{split}[_ref]/GOPRxxxx/..._rgb[_ref]_anon.png``;
               ``gt/{cond}/{split}/GOPRxxxx/..._gt_{labelTrainIds,labelIds,invIds}.png``
dark_zurich    ``rgb_anon/train/{night,day}/GOPRxxxx/...``, ``rgb_anon/val/night/GOPR0356/...``,
               ``rgb_anon/val_ref/day/GOPR0356_ref/..._ref_rgb_anon.png``,
               ``gt/val/night/GOPR0356/..._gt_{labelTrainIds,labelIds,invIds}.png``
=============  ==================================================================================

Each frame is seeded from ``(seed, dataset, split, index)`` alone, so a dataset's bytes do not
depend on which other datasets are generated, and a frame's reference image (ACDC ``_ref``, Dark
Zurich ``val_ref``) shows the same street in daylight with other road users.
"""
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import id2label
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage
from PIL import Image

from ..label_maps import SYNTHIA_ABSENT_IDS
from . import presets, styles
from .layout import generate_scene
from .raster import rasterise
from .scene import Scene, SceneParams
from .sizes import DatasetSize
from .vocabulary import (CITYSCAPES_NAME, IDD_NAME, cityscapes_id_table, synthia_id_table,
                         train_id_table)

CITYSCAPES_TRAIN_CITIES = ('aachen', 'bochum', 'bremen', 'cologne', 'darmstadt', 'dusseldorf',
                           'erfurt', 'hamburg', 'hanover', 'jena', 'krefeld', 'monchengladbach',
                           'strasbourg', 'stuttgart', 'tubingen', 'ulm', 'weimar', 'zurich')
CITYSCAPES_VAL_CITIES = ('frankfurt', 'lindau', 'munster')
DARK_ZURICH_VAL_SEQUENCE = 'GOPR0356'

_CS_ID = cityscapes_id_table()
_TRAIN_ID = train_id_table()
_SYNTHIA_ID = synthia_id_table()
# Annotation-tool metadata of every polygon; fixed so that files are byte-identical per seed.
_ANNOTATION_META = dict(deleted=0, verified=0, date='01-Jan-2024 00:00:00', user='mtda-synthetic')


@dataclass(frozen=True)
class FrameJob:
    """One frame to write.

    Args:
        split: The writer's split key from :class:`.sizes.DatasetSize` (``'all'``, ``'train'``,
            ``'val'``, ``'train/night'`` ...); part of the frame's seed.
        index: Position within the split; part of the seed, and picks the featured class.
        folder: City, drive or sequence folder (empty for flat datasets).
        number: The number in the file name.
        condition: ACDC weather condition, else empty; part of the seed.
    """

    split: str
    index: int
    folder: str = ''
    number: int = 0
    condition: str = ''


@dataclass(frozen=True)
class Frame:
    scene: Scene
    classes: np.ndarray      # canonical class index per pixel
    instances: np.ndarray
    image: np.ndarray        # (H, W, 3) uint8 RGB
    invalid: np.ndarray      # bool, pixels the condition made unrecognisable


def _stable_code(text: str) -> int:
    # crc32, not hash(): str hashes are salted per process and would break determinism.
    return zlib.crc32(text.encode('utf-8'))


def _save(path: Path, image: Image.Image, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format='PNG', **options)


def _save_rgb(path: Path, rgb: np.ndarray) -> None:
    # Fast compression: noisy photos barely shrink at higher levels, and full size is 2 MP.
    _save(path, Image.fromarray(rgb, 'RGB'), compress_level=1)


def _save_gray(path: Path, values: np.ndarray) -> None:
    _save(path, Image.fromarray(values.astype(np.uint8), 'L'))


def _cityscapes_palette() -> list:
    """A 768-entry PNG palette with the cityscapesscripts colour at each label id."""
    palette = np.zeros((256, 3), dtype=np.uint8)
    for label_id, label in id2label.items():
        if 0 <= label_id < 256:
            palette[label_id] = label.color
    return palette.ravel().tolist()


_PALETTE = _cityscapes_palette()


def polygon_document(scene: Scene, names) -> dict:
    """A ``_gtFine_polygons.json`` document (Cityscapes/IDD schema) with ``names[label]`` labels."""
    camera = scene.camera
    return {'imgHeight': camera.height, 'imgWidth': camera.width,
            'objects': [dict(label=names[p.label], polygon=[[x, y] for x, y in p.points],
                             **_ANNOTATION_META) for p in scene.labelled()]}


def _write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=4) + '\n', encoding='utf-8')


def _chunks(count: int, groups, per_group: int) -> list:
    """Assign ``count`` frames to consecutive groups of ``per_group`` (at most ``len(groups)``)."""
    per_group = max(per_group, math.ceil(count / len(groups)))
    return [(groups[i // per_group], i % per_group) for i in range(count)]


class DatasetWriter:
    """Plans the frames of one dataset and writes each; subclasses define the layout.

    Call graph: ``plan(size)`` -> ``[FrameJob]``; ``write(root, job, size=, seed=)`` ->
    ``render(job, ...)`` (scene -> raster -> styled image) -> files.
    """

    name = ''
    scene = SceneParams()

    def plan(self, size: DatasetSize) -> list:
        raise NotImplementedError

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        raise NotImplementedError

    def render(self, job: FrameJob, *, size: DatasetSize, seed: int, style: styles.DomainStyle,
               reference: bool = False) -> Frame:
        """Generate and render a frame; ``reference`` gives the same street with other traffic."""
        layout, traffic, appearance, ref_traffic, ref_appearance = np.random.SeedSequence(
            [seed, _stable_code(self.name), _stable_code(f'{job.condition}/{job.split}'),
             job.index]).spawn(5)
        featured = self.scene.featured[job.index % len(self.scene.featured)] \
            if self.scene.featured else None
        scene = generate_scene(
            self.scene, width=size.width, height=size.height,
            rng=np.random.default_rng(layout), featured=featured,
            dynamic_rng=np.random.default_rng(ref_traffic if reference else traffic))
        raster = rasterise(scene)
        appearance_rng = np.random.default_rng(ref_appearance if reference else appearance)
        rendering = styles.render(style, scene, raster, appearance_rng)
        return Frame(scene=scene, classes=raster.classes, instances=raster.instances,
                     image=rendering.image, invalid=rendering.invalid)


class GTAWriter(DatasetWriter):
    """GTA5: ``images/%05d.png`` from 00001, P-mode ``labels/%05d.png`` (index = Cityscapes id)."""

    name = 'gta'
    scene = presets.GTA

    def plan(self, size: DatasetSize) -> list:
        return [FrameJob('all', i, number=i + 1) for i in range(size.frames['all'])]

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        frame = self.render(job, size=size, seed=seed, style=styles.GTA)
        _save_rgb(root / 'images' / f'{job.number:05d}.png', frame.image)
        labels = Image.fromarray(_CS_ID[frame.classes], 'P')
        labels.putpalette(_PALETTE)
        _save(root / 'labels' / f'{job.number:05d}.png', labels)


class SynthiaWriter(DatasetWriter):
    """SYNTHIA-RAND-CITYSCAPES: ``RGB/%07d.png`` and 16-bit ``GT/LABELS/%07d.png`` from 0000000."""

    name = 'synthia'
    scene = presets.SYNTHIA

    def plan(self, size: DatasetSize) -> list:
        return [FrameJob('all', i, number=i) for i in range(size.frames['all'])]

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        frame = self.render(job, size=size, seed=seed, style=styles.SYNTHIA)
        _save_rgb(root / 'RGB' / f'{job.number:07d}.png', frame.image)
        class_ids = _SYNTHIA_ID[frame.classes]
        if np.isin(class_ids, SYNTHIA_ABSENT_IDS).any():
            raise RuntimeError('synthetic SYNTHIA frame contains terrain/truck/train; '
                               'presets.SYNTHIA.forbidden must exclude them')
        # cv2 writes BGR: the class goes last (R), the instance in G, B stays 0.
        bgr = np.zeros(class_ids.shape + (3,), dtype=np.uint16)
        bgr[..., 2] = class_ids
        bgr[..., 1] = np.minimum(frame.instances, np.iinfo(np.uint16).max)
        path = root / 'GT' / 'LABELS' / f'{job.number:07d}.png'
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), bgr):
            raise OSError(f'could not write {path}')


class CityscapesWriter(DatasetWriter):
    """Cityscapes: images, polygons and the label images ``cityscapesscripts`` draws from them."""

    name = 'cityscapes'
    scene = presets.CITYSCAPES
    frames_per_city = 8

    def plan(self, size: DatasetSize) -> list:
        jobs = []
        for split, cities in (('train', CITYSCAPES_TRAIN_CITIES), ('val', CITYSCAPES_VAL_CITIES)):
            per_city = self.frames_per_city if split == 'train' else 1
            for index, (city, seq) in enumerate(_chunks(size.frames[split], cities, per_city)):
                jobs.append(FrameJob(split, index, folder=city, number=seq))
        return jobs

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        frame = self.render(job, size=size, seed=seed, style=styles.CITYSCAPES)
        stem = f'{job.folder}_{job.number:06d}_000019'
        _save_rgb(root / 'leftImg8bit' / job.split / job.folder / f'{stem}_leftImg8bit.png',
                  frame.image)
        gt = root / 'gtFine' / job.split / job.folder
        json_path = gt / f'{stem}_gtFine_polygons.json'
        _write_json(json_path, polygon_document(frame.scene, CITYSCAPES_NAME))
        annotation = Annotation()
        annotation.fromJsonFile(str(json_path))
        label_ids = createLabelImage(annotation, 'ids')
        if not np.array_equal(np.asarray(label_ids), _CS_ID[frame.classes]):
            raise RuntimeError(f'{json_path}: cityscapesscripts draws other labels than the '
                               'image was rendered from')
        _save(gt / f'{stem}_gtFine_labelIds.png', label_ids)
        # Instance ids (label id * 1000 + k) are 16-bit PNGs, as shipped; Pillow writes 'I;16'.
        instance_ids = np.asarray(createInstanceImage(annotation, 'ids')).astype(np.uint16)
        _save(gt / f'{stem}_gtFine_instanceIds.png', Image.fromarray(instance_ids))
        _save(gt / f'{stem}_gtFine_color.png', createLabelImage(annotation, 'color'))


class IDDWriter(DatasetWriter):
    """IDD segmentation (Part I): images and ``_gtFine_polygons.json`` with IDD label names."""

    name = 'idd'
    scene = presets.IDD
    frames_per_drive = 8
    drives = {'train': ('0', '1', '2', '3', '4', '6', '7', '10'),
              'val': ('119', '120', '121', '123', '125')}

    def plan(self, size: DatasetSize) -> list:
        jobs = []
        for split, first_id in (('train', 5506), ('val', 35471)):
            assigned = _chunks(size.frames[split], self.drives[split], self.frames_per_drive)
            for index, (drive, _) in enumerate(assigned):
                # Image ids are unique across the dataset and not contiguous, like IDD's own.
                jobs.append(FrameJob(split, index, folder=drive, number=first_id + 7 * index))
        return jobs

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        frame = self.render(job, size=size, seed=seed, style=styles.IDD)
        stem = f'{job.number:06d}'
        _save_rgb(root / 'leftImg8bit' / job.split / job.folder / f'{stem}_leftImg8bit.png',
                  frame.image)
        _write_json(root / 'gtFine' / job.split / job.folder / f'{stem}_gtFine_polygons.json',
                    polygon_document(frame.scene, IDD_NAME))


def _write_trainid_gt(directory: Path, stem: str, frame: Frame) -> None:
    """ACDC / Dark Zurich ground truth: trainIds, Cityscapes ids and the invalid-pixel mask."""
    _save_gray(directory / f'{stem}_gt_labelTrainIds.png', _TRAIN_ID[frame.classes])
    _save_gray(directory / f'{stem}_gt_labelIds.png', _CS_ID[frame.classes])
    _save_gray(directory / f'{stem}_gt_invIds.png', frame.invalid)


class ACDCWriter(DatasetWriter):
    """ACDC: four conditions, each with train/val frames, normal-condition references and labels."""

    name = 'acdc'
    scene = presets.ACDC
    frames_per_sequence = 3
    first_sequence = {'fog': 475, 'night': 348, 'rain': 400, 'snow': 122}
    condition_styles = {'fog': styles.ACDC_FOG, 'night': styles.ACDC_NIGHT,
                        'rain': styles.ACDC_RAIN, 'snow': styles.ACDC_SNOW}

    def plan(self, size: DatasetSize) -> list:
        jobs = []
        for c, condition in enumerate(styles.ACDC_CONDITIONS):
            for split_offset, split in enumerate(('train', 'val')):
                count = size.frames[split]
                for i in range(count):
                    group, position = divmod(i, self.frames_per_sequence)
                    sequence = self.first_sequence[condition] + 2 * group + split_offset
                    # index runs across conditions so the featured classes spread over them too
                    jobs.append(FrameJob(split, c * count + i, folder=f'GOPR{sequence:04d}',
                                         number=100 + 37 * position, condition=condition))
        return jobs

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        style = self.condition_styles[job.condition]
        frame = self.render(job, size=size, seed=seed, style=style)
        reference = self.render(job, size=size, seed=seed, style=styles.ZURICH_DAY,
                                reference=True)
        stem = f'{job.folder}_frame_{job.number:06d}'
        images = root / 'rgb_anon' / job.condition
        _save_rgb(images / job.split / job.folder / f'{stem}_rgb_anon.png', frame.image)
        _save_rgb(images / f'{job.split}_ref' / job.folder / f'{stem}_rgb_ref_anon.png',
                  reference.image)
        _write_trainid_gt(root / 'gt' / job.condition / job.split / job.folder, stem, frame)


class DarkZurichWriter(DatasetWriter):
    """Dark Zurich: unlabelled night (and day) training sequences, a labelled night val sequence
    (``GOPR0356``) and its daytime references."""

    name = 'dark_zurich'
    scene = presets.DARK_ZURICH
    frames_per_sequence = 8
    sequences = {'train/night': ('GOPR0351', 'GOPR0352', 'GOPR0353', 'GOPR0354', 'GOPR0355'),
                 'train/day': ('GOPR0346', 'GOPR0347'), 'val': (DARK_ZURICH_VAL_SEQUENCE,)}

    def plan(self, size: DatasetSize) -> list:
        jobs = []
        for split, sequences in self.sequences.items():
            assigned = _chunks(size.frames[split], sequences, self.frames_per_sequence)
            for index, (sequence, position) in enumerate(assigned):
                jobs.append(FrameJob(split, index, folder=sequence, number=1 + 29 * position))
        return jobs

    def write(self, root: Path, job: FrameJob, *, size: DatasetSize, seed: int) -> None:
        stem = f'{job.folder}_frame_{job.number:06d}'
        images = root / 'rgb_anon'
        if job.split == 'train/day':
            frame = self.render(job, size=size, seed=seed, style=styles.ZURICH_DAY)
            _save_rgb(images / job.split / job.folder / f'{stem}_rgb_anon.png', frame.image)
            return
        frame = self.render(job, size=size, seed=seed, style=styles.DARK_ZURICH_NIGHT)
        if job.split == 'train/night':  # no labels for training, as in the real dataset
            _save_rgb(images / job.split / job.folder / f'{stem}_rgb_anon.png', frame.image)
            return
        reference = self.render(job, size=size, seed=seed, style=styles.ZURICH_DAY,
                                reference=True)
        _save_rgb(images / 'val' / 'night' / job.folder / f'{stem}_rgb_anon.png', frame.image)
        _save_rgb(images / 'val_ref' / 'day' / f'{job.folder}_ref' / f'{stem}_ref_rgb_anon.png',
                  reference.image)
        _write_trainid_gt(root / 'gt' / 'val' / 'night' / job.folder, stem, frame)


WRITERS = {writer.name: writer for writer in (GTAWriter(), SynthiaWriter(), CityscapesWriter(),
                                              IDDWriter(), ACDCWriter(), DarkZurichWriter())}
