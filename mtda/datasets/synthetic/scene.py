"""Street-scene types and the tools that build one: an ordered list of labelled polygons.

A scene is what an annotator would have drawn: polygons in pixel coordinates, each named by a
canonical class (:mod:`.vocabulary`), listed back to front so that later polygons cover earlier
ones, exactly how Cityscapes' ``json2labelImg`` paints its ``_gtFine_polygons.json`` files. The
layout is built in metres in front of a level pinhole camera (:mod:`.geometry`) and projected.

Besides labels, a polygon can be an appearance-only *part* (a window, a lamp, a wheel, a head, a
cast shadow): parts never reach a label file, they let :mod:`.styles` draw detail and light sources.
:class:`SceneParams` sets the camera and how often each thing occurs, so domains differ in layout
(IDD: unstructured verges, crowds, autorickshaws; SYNTHIA: a high camera, no terrain/truck/train),
not only in appearance. ``featured`` forces one class into a frame, so that small splits still
contain every class.

This module holds the types (:class:`ScenePolygon`, :class:`Scene`, :class:`SceneParams`), the
sampling helpers, :func:`sample_camera`, the :class:`SceneBuilder` that collects projected
polygons, and the road's cross-section (:func:`cross_section`). It draws nothing itself: the
objects are drawn by :mod:`.objects`, in the order set by :func:`.layout.generate_scene`; each
domain's :class:`SceneParams` are in :mod:`.presets`.
"""
from dataclasses import dataclass, field

import numpy as np

from .geometry import Camera, clip_to_image, convex_hull

Range = tuple  # (low, high) floats, sampled uniformly
Count = tuple  # (low, high) ints, inclusive

PART_NAMES = ('', 'window', 'lamp', 'headlight', 'taillight', 'wheel', 'signal red',
              'signal amber', 'signal green', 'signal off', 'inset', 'skin', 'shadow')
PART_CODE = {name: code for code, name in enumerate(PART_NAMES)}

SKY_DEPTH = 1000.0
SKYLINE_DEPTH = 300.0
FAR_DEPTH = 400.0  # metres: ground strips end here, a pixel or two below the horizon


@dataclass(frozen=True)
class ScenePolygon:
    """One labelled polygon, or an appearance-only part of the polygon drawn before it.

    Args:
        label: Canonical class name. For a part, the class it belongs to (its owner), or
            ``'unlabeled'`` for parts that may lie on anything (cast shadows).
        points: Integer ``(x, y)`` vertices inside the image.
        instance: Object instance id (> 0) for countable things, shared by the object's parts.
        part: ``''`` for a label polygon, else a name from :data:`PART_NAMES`.
        depth_kind: How to get per-pixel depth: ``'const'`` (``depth_value`` metres), ``'ground'``
            (from the row) or ``'facade'`` (a plane along the road at lateral ``depth_value``).
        depth_value: See ``depth_kind``.
    """

    label: str
    points: tuple
    instance: int = 0
    part: str = ''
    depth_kind: str = 'const'
    depth_value: float = SKY_DEPTH


@dataclass(frozen=True)
class Scene:
    """A camera and the polygons seen through it, back to front."""

    camera: Camera
    polygons: tuple

    def labelled(self) -> list:
        """The label polygons (no parts), in drawing order: what an annotation file holds."""
        return [p for p in self.polygons if not p.part]


@dataclass(frozen=True)
class SceneParams:
    """How a domain's streets are laid out. Ranges are sampled uniformly per frame.

    Probabilities are per frame (or per side of the road where noted); counts are inclusive ranges.
    ``featured`` is cycled by frame index by the writers and forces its class into that frame.
    """

    # camera
    focal: Range = (0.95, 1.1)               # focal length / image width
    mount_height: Range = (1.2, 1.6)         # metres
    horizon: Range = (0.42, 0.5)             # horizon row / image height
    yaw: Range = (-0.06, 0.06)               # vanishing point shift / image width
    # road
    lanes: Count = (2, 4)
    lane_width: Range = (3.0, 3.6)
    road_offset: Range = (-0.25, 0.25)       # camera position across the road / road width
    left_hand_traffic: bool = False
    lane_markings: float = 0.8
    crosswalk: float = 0.2
    edge_jitter: float = 0.0                 # metres: ragged road and verge edges (unpaved roads)
    # verges, per side, from the road outwards
    parking: float = 0.15
    curb: float = 0.0
    mud: float = 0.0                         # 'ground' strip (IDD 'drivable fallback')
    sidewalk: float = 0.9
    sidewalk_width: Range = (2.0, 4.5)
    terrain: float = 0.4
    terrain_width: Range = (1.0, 5.0)
    base: str = 'ground'                     # fills the ground plane beyond the verges
    setback: Range = (0.0, 3.0)              # metres between verges and buildings
    # roadside structures, per side
    buildings: float = 0.9
    building_height: Range = (8.0, 25.0)
    building_gap: float = 0.15
    wall: float = 0.25
    fence: float = 0.3
    hedge: float = 0.2
    guard_rail: float = 0.05
    billboard: float = 0.0
    trees: Count = (1, 5)
    skyline: tuple = ('building', 'vegetation')
    # street furniture
    poles: Count = (2, 6)
    pole_sign: float = 0.5
    pole_light: float = 0.3
    pole_lamp: float = 0.4
    polegroup: float = 0.0
    mast_light: float = 0.15                 # traffic light hanging over the road
    # traffic
    cars: Count = (2, 7)
    parked: float = 0.4                      # fraction of cars parked at the road edge
    trucks: Count = (0, 1)
    buses: Count = (0, 1)
    train: float = 0.1
    persons: Count = (1, 5)
    persons_on_road: float = 0.1
    cyclists: Count = (0, 2)
    motorcyclists: Count = (0, 1)
    parked_bicycles: Count = (0, 1)
    parked_motorcycles: Count = (0, 1)
    autorickshaws: Count = (0, 0)
    animals: Count = (0, 0)
    vehicle_fallback: Count = (0, 0)
    # camera car
    ego_vehicle: float = 0.0
    ego_height: Range = (0.08, 0.13)         # fraction of image height
    # classes cycled over frames so every split holds them
    featured: tuple = ()
    forbidden: tuple = ()                    # classes this domain never contains


def sample_uniform(rng: np.random.Generator, bounds: Range) -> float:
    """A float drawn uniformly from ``bounds``."""
    return float(rng.uniform(bounds[0], bounds[1]))


def sample_count(rng: np.random.Generator, bounds: Count, forced: bool = False) -> int:
    """An int drawn from the inclusive ``bounds``; at least 1 if ``forced``."""
    n = int(rng.integers(bounds[0], bounds[1] + 1))
    return max(n, 1) if forced else n


def chance(rng: np.random.Generator, probability: float, forced: bool = False) -> bool:
    """True with ``probability``, or always if ``forced``."""
    # Always draw, so that forcing one class does not shift every later random number.
    draw = rng.random() < probability
    return forced or draw


def sample_camera(params: SceneParams, *, width: int, height: int,
                  rng: np.random.Generator) -> Camera:
    """A camera with this domain's focal length, mounting height, horizon and yaw."""
    return Camera(width=width, height=height, focal=sample_uniform(rng, params.focal) * width,
                  centre_x=width * (0.5 + sample_uniform(rng, params.yaw)),
                  horizon=sample_uniform(rng, params.horizon) * height,
                  mount_height=sample_uniform(rng, params.mount_height))


class SceneBuilder:
    """Collects projected, clipped polygons in drawing order and hands out instance ids."""

    def __init__(self, camera: Camera):
        self.camera = camera
        self.polygons = []
        self._instances = 0

    def new_instance(self) -> int:
        self._instances += 1
        return self._instances

    def image_polygon(self, label: str, points, **kwargs) -> None:
        clipped = clip_to_image(points, self.camera.width, self.camera.height)
        if clipped:
            self.polygons.append(ScenePolygon(label, clipped, **kwargs))

    def world_polygon(self, label: str, points, **kwargs) -> None:
        self.image_polygon(label, self.camera.project(points), **kwargs)

    def solid(self, label: str, corners, **kwargs) -> None:
        """A convex solid (union of boxes) as the hull of its projected corners."""
        self.image_polygon(label, convex_hull(self.camera.project(corners)), **kwargs)

    def ground(self, label: str, depths, inner, outer, part: str = '') -> None:
        """A strip of ground between two lateral edges, sampled at ``depths`` (near to far)."""
        depths = np.asarray(depths, dtype=float)
        edge_a = np.stack([inner, np.zeros_like(depths), depths], axis=1)
        edge_b = np.stack([outer, np.zeros_like(depths), depths], axis=1)
        self.world_polygon(label, np.concatenate([edge_a, edge_b[::-1]]), part=part,
                           depth_kind='ground', depth_value=0.0)


# ------------------------------------------------------------------------------------------------
# Road cross-section


@dataclass
class RoadSide:
    """One side of the road: edges of each verge band and where roadside things stand."""

    sign: int                    # -1 left, +1 right
    road_edge: np.ndarray        # lateral X of the road edge at each sample depth
    bands: list = field(default_factory=list)   # (label, inner, outer) from the road outwards
    kerb: float = 0.0            # lateral X where poles and pedestrians stand (mean)
    walk: tuple = (0.0, 0.0)     # lateral interval people walk in
    structure: float = 0.0       # lateral X of the building line


def _ragged(rng, depths, value, jitter):
    """A lateral edge: straight, or (unpaved roads) wandering by ``jitter`` metres."""
    if jitter <= 0:
        return np.full(len(depths), value, dtype=float)
    return value + rng.normal(0.0, jitter, len(depths))


def cross_section(params: SceneParams, rng, depths, featured):
    """The road and its verges across the street, sampled at ``depths`` (near to far).

    Returns:
        ``(lanes, lane_width, centre, road_width, sides)``: the road's lanes, their width, the
        lateral X of its centre, its width, and the left and right :class:`RoadSide`.
    """
    lanes = sample_count(rng, params.lanes)
    lane_width = sample_uniform(rng, params.lane_width)
    road_width = lanes * lane_width
    centre = -sample_uniform(rng, params.road_offset) * road_width
    sides = []
    for sign in (-1, 1):
        edge = _ragged(rng, depths, centre + sign * road_width / 2, params.edge_jitter)
        side = RoadSide(sign=sign, road_edge=edge)
        inner = edge
        wanted = [('parking', chance(rng, params.parking), (2.0, 2.5)),
                  ('curb', chance(rng, params.curb), (0.25, 0.4)),
                  ('ground', chance(rng, params.mud), (0.5, 2.5)),
                  ('sidewalk', chance(rng, params.sidewalk, featured == 'sidewalk'),
                   params.sidewalk_width),
                  ('terrain', chance(rng, params.terrain, featured == 'terrain' and sign > 0),
                   params.terrain_width)]
        for label, present, width in wanted:
            if not present or label in params.forbidden:
                continue
            outer = (_ragged(rng, depths, 0.0, params.edge_jitter / 2) + inner
                     + sign * sample_uniform(rng, width))
            side.bands.append((label, inner, outer))
            inner = outer
        walk_band = next((b for b in side.bands if b[0] == 'sidewalk'), None)
        near_edge = float(np.mean(edge))
        side.kerb = near_edge + sign * 0.5
        if walk_band is not None:
            side.walk = tuple(sorted((float(np.mean(walk_band[1])) + sign * 0.4,
                                      float(np.mean(walk_band[2])) - sign * 0.4)))
        else:
            side.walk = tuple(sorted((near_edge + sign * 0.3, near_edge + sign * 1.5)))
        side.structure = float(np.mean(inner)) + sign * sample_uniform(rng, params.setback)
        sides.append(side)
    return lanes, lane_width, centre, road_width, sides
