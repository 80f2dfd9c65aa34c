"""Rasterising a scene into per-pixel maps: class, instance, appearance part and depth.

Polygons are painted in order with ``PIL.ImageDraw.polygon``, the call ``cityscapesscripts``'
``json2labelImg`` makes, so a label image drawn here is pixel-identical to one drawn from the same
polygons in a ``_gtFine_polygons.json``. The painted value is the polygon's position in the list,
which gives every other per-pixel property (class, instance, depth) by table lookup.
"""
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .geometry import MIN_DEPTH
from .scene import PART_CODE, SKY_DEPTH, Scene
from .vocabulary import BACKGROUND, CLASS_INDEX


def draw_polygons(polygons: Sequence[Sequence[tuple]], values: Sequence[int], *, width: int,
                  height: int) -> np.ndarray:
    """Paint ``polygons`` over a zero image, later ones on top; returns an int32 ``(H, W)`` map."""
    image = Image.new('I', (width, height), 0)
    drawer = ImageDraw.Draw(image)
    for points, value in zip(polygons, values):
        drawer.polygon(list(points), fill=int(value))
    return np.asarray(image, dtype=np.int32)


@dataclass(frozen=True)
class SceneRaster:
    """Per-pixel maps of a scene, all ``(H, W)``.

    Attributes:
        classes: uint8 canonical class index (:data:`.vocabulary.CLASS_NAMES`).
        instances: int32 instance id, 0 for stuff.
        polygon_ids: int32, 1 + position in ``scene.labelled()`` of the polygon on top, 0 for none.
        parts: uint8 part code (:data:`.scene.PART_NAMES`), 0 where no part shows.
        part_ids: int32, 1 + position of the visible part polygon among the scene's parts.
        depth: float32 distance along the optical axis in metres.
    """

    classes: np.ndarray
    instances: np.ndarray
    polygon_ids: np.ndarray
    parts: np.ndarray
    part_ids: np.ndarray
    depth: np.ndarray


def rasterise(scene: Scene) -> SceneRaster:
    """Draw the label polygons, then the parts (masked to the class that owns them), and depth."""
    cam = scene.camera
    size = dict(width=cam.width, height=cam.height)
    labelled = scene.labelled()
    polygon_ids = draw_polygons([p.points for p in labelled], range(1, len(labelled) + 1), **size)

    def table(values, background, dtype):
        return np.asarray([background] + list(values), dtype=dtype)

    classes = table((CLASS_INDEX[p.label] for p in labelled), CLASS_INDEX[BACKGROUND],
                    np.uint8)[polygon_ids]
    instances = table((p.instance for p in labelled), 0, np.int32)[polygon_ids]
    depth = _depth(scene, labelled, polygon_ids)

    # Parts are painted among the label polygons so that nearer objects hide them; label polygons
    # paint 0. A part shows only over its owner's class (cast shadows, owned by 'unlabeled', show
    # on anything), so a window rounded one pixel past its car never tints the road.
    parts = [p for p in scene.polygons if p.part]
    counter = iter(range(1, len(parts) + 1))
    part_ids = draw_polygons([p.points for p in scene.polygons],
                             [next(counter) if p.part else 0 for p in scene.polygons], **size)
    owners = table((-1 if p.label == BACKGROUND else CLASS_INDEX[p.label] for p in parts), -1,
                   np.int32)[part_ids]
    codes = table((PART_CODE[p.part] for p in parts), 0, np.uint8)[part_ids]
    shown = (part_ids > 0) & ((owners == -1) | (owners == classes))
    return SceneRaster(classes=classes, instances=instances, polygon_ids=polygon_ids,
                       parts=np.where(shown, codes, 0).astype(np.uint8),
                       part_ids=np.where(shown, part_ids, 0).astype(np.int32), depth=depth)


def _depth(scene: Scene, labelled: list, polygon_ids: np.ndarray) -> np.ndarray:
    cam = scene.camera
    kinds = np.asarray([0] + [('const', 'ground', 'facade').index(p.depth_kind) for p in labelled])
    values = np.asarray([SKY_DEPTH] + [p.depth_value for p in labelled], dtype=np.float64)
    kind, value = kinds[polygon_ids], values[polygon_ids]
    rows, cols = np.indices(polygon_ids.shape, dtype=np.float64)
    depth = np.where(kind == 1, cam.ground_depth(rows), value)
    facade = cam.focal * np.abs(value) / np.maximum(np.abs(cols - cam.centre_x), 0.5)
    depth = np.where(kind == 2, facade, depth)
    return np.clip(depth, MIN_DEPTH, SKY_DEPTH).astype(np.float32)
