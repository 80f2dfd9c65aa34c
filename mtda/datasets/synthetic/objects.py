"""The things a street scene is made of, and the functions that draw them into a scene.

Outlines of upright things (:data:`PERSON`, :data:`RIDER`, :data:`ANIMAL`, two-wheelers, sign
shapes...) and one drawer per group of things, sharing a :class:`DrawContext` (the camera, the
:class:`~.scene.SceneBuilder` and the road's cross-section). :func:`.layout.generate_scene` calls
them back to front:

    sky and distant skyline -> lane markings / crosswalk / rail track -> buildings (and their cast
    shadows) -> walls, fences, hedges, guard rails -> upright things far to near (trees, poles with
    signs, lights and lamps, billboards, people, two-wheelers with riders, vehicles, animals,
    trains) -> ego vehicle

Static things draw from the layout random generator, traffic and people from the dynamic one;
upright things return a ``draw`` closure with their depth, so that they can be sorted far to near
after all their random numbers have been drawn.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .geometry import Camera, box_corners, ellipse_outline, upright_outline
from .scene import (FAR_DEPTH, SKY_DEPTH, SKYLINE_DEPTH, RoadSide, SceneBuilder, SceneParams,
                    chance, sample_count, sample_uniform)
from .vocabulary import BACKGROUND

# ------------------------------------------------------------------------------------------------
# Outlines of upright things, (u, v) with u across in [-0.5, 0.5] and v up in [0, 1].

PERSON = ((0.0, 1.0), (0.13, 0.97), (0.15, 0.9), (0.1, 0.85), (0.45, 0.8), (0.5, 0.45),
          (0.36, 0.45), (0.32, 0.52), (0.3, 0.0), (0.07, 0.0), (0.0, 0.44), (-0.07, 0.0),
          (-0.3, 0.0), (-0.32, 0.52), (-0.36, 0.45), (-0.5, 0.45), (-0.45, 0.8), (-0.1, 0.85),
          (-0.15, 0.9), (-0.13, 0.97))
RIDER = ((0.05, 0.0), (0.2, 0.0), (0.3, 0.35), (0.48, 0.52), (0.42, 0.6), (0.15, 0.7),
         (0.2, 0.82), (0.14, 1.0), (-0.04, 1.0), (-0.1, 0.86), (-0.06, 0.76), (-0.32, 0.58),
         (-0.3, 0.4), (0.04, 0.3))
ANIMAL = ((-0.42, 0.0), (-0.33, 0.0), (-0.3, 0.42), (0.2, 0.42), (0.23, 0.0), (0.32, 0.0),
          (0.33, 0.5), (0.5, 0.72), (0.47, 0.88), (0.34, 0.9), (0.28, 0.98), (0.24, 0.82),
          (-0.4, 0.8), (-0.5, 0.62))
HEAD = ellipse_outline(8)


def _two_wheeler(heavy: bool) -> tuple:
    """Side-view outline of a bicycle (light) or a motorcycle (heavy): both wheels and the frame."""
    wheel_u, wheel_v = (0.19, 0.34) if not heavy else (0.16, 0.28)
    rear, front = -0.5 + wheel_u + 0.02, 0.5 - wheel_u - 0.02

    def arc(centre, start, stop):
        angles = np.radians(np.linspace(start, stop, 6))
        return [(centre + wheel_u * np.cos(a), wheel_v + wheel_v * np.sin(a)) for a in angles]

    points = arc(rear, 90, 330) + arc(front, 210, 450)
    if heavy:
        points += [(0.36, 0.8), (0.22, 1.0), (0.12, 0.82), (-0.22, 0.78), (-0.45, 0.72)]
    else:
        points += [(0.34, 1.0), (0.22, 1.0), (0.1, 0.72), (-0.16, 0.95), (-0.26, 0.95)]
    return tuple(points)


BICYCLE = _two_wheeler(heavy=False)
MOTORCYCLE = _two_wheeler(heavy=True)
RECT = ((-0.5, 0.0), (0.5, 0.0), (0.5, 1.0), (-0.5, 1.0))
SIGN_SHAPES = (ellipse_outline(12), ((0.0, 1.0), (0.5, 0.0), (-0.5, 0.0)), RECT,
               ((0.0, 0.0), (0.5, 0.5), (0.0, 1.0), (-0.5, 0.5)), ellipse_outline(8))

# Vehicle sizes in metres: width, length, height.
_VEHICLES = {'car': (1.8, 4.4, 1.5), 'truck': (2.5, 8.0, 3.7), 'bus': (2.55, 11.5, 3.1),
             'autorickshaw': (1.4, 2.7, 1.75), 'vehicle fallback': (2.0, 4.5, 2.4)}


def _scaled(outline, scale_u: float, scale_v: float, shift_u: float = 0.0, shift_v: float = 0.0):
    return tuple((shift_u + u * scale_u, shift_v + v * scale_v) for u, v in outline)


def _lamp_post(height: float, arm: float, direction: int) -> tuple:
    """An L-shaped post in metres: a 0.3 m pole with an arm of ``arm`` metres at the top."""
    outline = ((-0.15, 0.0), (0.15, 0.0), (0.15, height - 0.25), (arm, height - 0.25),
               (arm, height), (-0.15, height))
    return tuple((direction * u, v) for u, v in outline)


# ------------------------------------------------------------------------------------------------
# The static street: sky, markings, rail track, buildings, roadside structures, trees, poles


@dataclass
class DrawContext:
    """What every drawer shares: the domain, the camera, the builder and the cross-section."""

    params: SceneParams
    camera: Camera
    builder: SceneBuilder
    sides: list
    centre: float
    road_width: float
    lanes: int
    lane_width: float
    nearest: float               # depth of the lowest visible ground row (above the ego vehicle)
    featured: Optional[str]

    def allowed(self, label: str) -> bool:
        return label not in self.params.forbidden

    def forced(self, label: str) -> bool:
        return self.featured == label

    def farthest(self, size_m: float, min_fraction: float, cap: float = 70.0) -> float:
        """Depth beyond which an object ``size_m`` tall gets smaller than ``min_fraction`` of H."""
        return min(cap, self.camera.depth_for_pixel_size(size_m, min_fraction * self.camera.height))

    def depth(self, rng, size_m: float, min_fraction: float, low: float = 0.0) -> Optional[float]:
        """A log-uniform depth at which the object is fully above the image bottom and not tiny."""
        lo, hi = max(self.nearest, low), self.farthest(size_m, min_fraction)
        if hi <= lo:
            return None
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def sky_and_skyline(ctx: DrawContext, rng) -> None:
    """The sky above the horizon and a distant skyline of roofs and tree tops along it."""
    cam, b = ctx.camera, ctx.builder
    b.image_polygon('sky', [(0, 0), (cam.width - 1, 0), (cam.width - 1, cam.horizon + 1),
                            (0, cam.horizon + 1)], depth_value=SKY_DEPTH)
    x = 0.0
    while x < cam.width:
        step = cam.width * rng.uniform(0.08, 0.25)
        label = ctx.params.skyline[int(rng.integers(len(ctx.params.skyline)))]
        top = cam.horizon - cam.height * rng.uniform(0.02, 0.1)
        if label == 'vegetation':  # tree tops are bumpy, roofs are flat
            xs = np.linspace(x, x + step, 6)
            tops = top + cam.height * rng.uniform(-0.02, 0.02, len(xs))
        else:
            xs, tops = np.array([x, x + step]), np.array([top, top])
        outline = [(xs[0], cam.horizon + 1)] + list(zip(xs, tops)) + [(xs[-1], cam.horizon + 1)]
        b.image_polygon(label, outline, depth_value=SKYLINE_DEPTH)
        x += step


def markings(ctx: DrawContext, rng) -> None:
    """Lane lines (dashed between lanes, solid at the edges) and sometimes a zebra crossing."""
    p, b = ctx.params, ctx.builder
    if not chance(rng, p.lane_markings):
        return
    left = ctx.centre - ctx.road_width / 2
    line = 0.15
    for k in range(1, ctx.lanes):
        x = left + k * ctx.lane_width
        z = ctx.nearest * rng.uniform(0.3, 1.0)
        while z < 120.0:
            b.ground('lane marking', [z, z + 3.0], [x - line / 2] * 2, [x + line / 2] * 2)
            z += 9.0
    for x in (left + 0.3, left + ctx.road_width - 0.3):
        b.ground('lane marking', [ctx.nearest * 0.3, FAR_DEPTH], [x - line / 2] * 2,
                 [x + line / 2] * 2)
    if chance(rng, p.crosswalk):
        z = rng.uniform(ctx.nearest * 1.5, ctx.nearest * 4.0)
        x = left + 0.4
        while x < left + ctx.road_width - 0.6:
            b.ground('lane marking', [z, z + 3.0], [x, x], [x + 0.5, x + 0.5])
            x += 1.0


def rail_track(ctx: DrawContext, rng) -> Optional[float]:
    """A level crossing: rails across the street where a train or tram passes (static layout)."""
    if not ctx.allowed('train') or not chance(rng, ctx.params.train, ctx.forced('train')):
        return None
    z = ctx.depth(rng, 3.8, 0.12, low=ctx.nearest * 3.0)
    if z is None:
        return None
    ctx.builder.ground('rail track', [z - 0.6, z + 3.8], [-80.0, -80.0], [80.0, 80.0])
    return z


def _window_grid(ctx: DrawContext, x: float, z0: float, z1: float, height: float, rng) -> None:
    """Windows on a facade along the road (the plane X = x), skipping sub-pixel ones."""
    cam = ctx.camera
    floor_h = rng.uniform(2.8, 3.6)
    spacing = rng.uniform(2.2, 3.5)
    rows = np.arange(1.2, height - 1.5, floor_h)
    cols = np.arange(z0 + 0.8, z1 - 1.2, spacing)
    if not len(rows) or not len(cols):
        return
    zz, yy = np.meshgrid(cols, rows)
    zz, yy = zz.ravel(), yy.ravel()
    w, h = 1.0, 1.5
    quads = np.stack([np.stack([np.full_like(zz, x), yy, zz], 1),
                      np.stack([np.full_like(zz, x), yy, zz + w], 1),
                      np.stack([np.full_like(zz, x), yy + h, zz + w], 1),
                      np.stack([np.full_like(zz, x), yy + h, zz], 1)], axis=1)
    projected = cam.project(quads.reshape(-1, 3)).reshape(-1, 4, 2)
    extent = projected.max(axis=1) - projected.min(axis=1)
    for quad, (dx, dy) in zip(projected, extent):
        if dx >= 1.5 and dy >= 1.5:
            ctx.builder.image_polygon('building', quad, part='window', depth_kind='facade',
                                      depth_value=x)


def buildings(ctx: DrawContext, rng) -> None:
    """Blocks along both building lines, and the shadow they throw onto the street."""
    p, b = ctx.params, ctx.builder
    blocks = []
    sunny_side = int(rng.choice([-1, 1]))
    for side in ctx.sides:
        if not chance(rng, p.buildings):
            continue
        z = rng.uniform(1.0, ctx.nearest)
        x_line = side.structure + side.sign * rng.uniform(0.0, 1.5)
        while z < 160.0:
            length = rng.uniform(8.0, 25.0)
            if rng.random() >= p.building_gap:
                height = sample_uniform(rng, p.building_height)
                blocks.append((z, side, x_line, z + length, height))
            z += length
        if side.sign == sunny_side:
            shadow = rng.uniform(1.0, 6.0)
            b.ground(BACKGROUND, [1.0, 160.0], [x_line] * 2, [x_line - side.sign * shadow] * 2,
                     part='shadow')
    # Far blocks first; both sides interleaved so that nearer walls cover farther ones.
    for z0, side, x_line, z1, height in sorted(blocks, key=lambda blk: -blk[0]):
        x_far = x_line + side.sign * 15.0
        b.solid('building', box_corners(min(x_line, x_far), max(x_line, x_far), 0.0, height,
                                        z0, z1), depth_kind='facade', depth_value=x_line)
        _window_grid(ctx, x_line, z0, z1, height, rng)


def roadside(ctx: DrawContext, rng, items) -> None:
    """Walls, fences, hedges and guard rails along the verge; trees and billboards as items."""
    p, b = ctx.params, ctx.builder
    for side in ctx.sides:
        for label, probability, height in (('wall', p.wall, (1.0, 2.5)),
                                           ('fence', p.fence, (1.0, 2.0)),
                                           ('vegetation', p.hedge, (0.8, 1.8))):
            forced = ctx.forced(label) and side.sign > 0
            if not ctx.allowed(label) or not chance(rng, probability, forced):
                continue
            x = side.structure - side.sign * rng.uniform(0.0, 0.6)
            z0 = rng.uniform(ctx.nearest * 0.6, ctx.nearest * 2.5)
            z1 = z0 + rng.uniform(10.0, 40.0)
            h = sample_uniform(rng, height)
            b.solid(label, box_corners(x - 0.15, x + 0.15, 0.0, h, z0, z1), depth_kind='facade',
                    depth_value=x)
        if chance(rng, p.guard_rail):
            x = float(np.mean(side.road_edge)) + side.sign * 0.3
            b.solid('guard rail', box_corners(x - 0.1, x + 0.1, 0.4, 0.8, ctx.nearest * 0.5, 150),
                    depth_kind='facade', depth_value=x)
    for _ in range(sample_count(rng, p.trees)):
        side = ctx.sides[int(rng.integers(2))]
        z = ctx.depth(rng, 5.0, 0.2)
        if z is None:
            continue
        x = side.structure - side.sign * rng.uniform(0.5, 2.0)
        items.append((z, _tree_drawer(ctx, rng, x, z)))
    if chance(rng, p.billboard, ctx.forced('billboard')):
        side = ctx.sides[int(rng.integers(2))]
        z = ctx.depth(rng, 3.0, 0.15)
        if z is not None:
            x = side.structure + side.sign * 1.0
            items.append((z, _billboard_drawer(ctx, rng, x, z)))


def _tree_drawer(ctx, rng, x: float, z: float) -> Callable[[], None]:
    trunk_h = rng.uniform(1.5, 3.0)
    crown_w, crown_h = rng.uniform(2.5, 5.0), rng.uniform(3.0, 6.0)
    radii = rng.uniform(0.8, 1.1, 14)
    crown = tuple((0.5 * r * np.cos(a), 0.5 + 0.5 * r * np.sin(a))
                  for r, a in zip(radii, np.linspace(0, 2 * np.pi, 14, endpoint=False)))

    def draw():
        b = ctx.builder
        b.world_polygon('vegetation', upright_outline(RECT, x=x, z=z, width=0.35,
                                                      height=trunk_h + 0.5), depth_value=z)
        b.world_polygon('vegetation', upright_outline(crown, x=x, z=z, width=crown_w,
                                                      height=crown_h, base=trunk_h),
                        depth_value=z)
    return draw


def _billboard_drawer(ctx, rng, x: float, z: float) -> Callable[[], None]:
    width, height, base = rng.uniform(3.0, 7.0), rng.uniform(1.5, 3.0), rng.uniform(2.0, 4.0)
    label = 'billboard' if ctx.allowed('billboard') else 'building'

    def draw():
        b = ctx.builder
        for leg in (-0.35, 0.35):
            b.world_polygon('pole', upright_outline(RECT, x=x + leg * width, z=z,
                                                    width=0.25, height=base + 0.2),
                            depth_value=z)
        b.world_polygon(label, upright_outline(RECT, x=x, z=z, width=width,
                                               height=height, base=base), depth_value=z)
        b.world_polygon(label, upright_outline(RECT, x=x, z=z - 0.01, width=width * 0.8,
                                               height=height * 0.6, base=base + height * 0.2),
                        part='inset', depth_value=z)
    return draw


def poles(ctx: DrawContext, rng, items) -> None:
    """Poles at the kerb, each carrying a sign, a traffic light or a street lamp (or nothing)."""
    p = ctx.params
    n = sample_count(rng, p.poles, ctx.forced('pole') or ctx.forced('traffic light')
                     or ctx.forced('traffic sign'))
    for k in range(n):
        side = ctx.sides[int(rng.integers(2))]
        z = ctx.depth(rng, 4.0, 0.2)
        if z is None:
            continue
        first = k == 0
        kinds = dict(sign=chance(rng, p.pole_sign, first and ctx.forced('traffic sign')),
                     light=chance(rng, p.pole_light, first and ctx.forced('traffic light')),
                     lamp=chance(rng, p.pole_lamp),
                     group=chance(rng, p.polegroup, first and ctx.forced('polegroup')),
                     mast=chance(rng, p.mast_light))
        items.append((z, _pole_drawer(ctx, rng, side, side.kerb, z, kinds)))


def _pole_drawer(ctx, rng, side: RoadSide, x: float, z: float, kinds: dict) -> Callable[[], None]:
    towards_road = -side.sign
    height = rng.uniform(5.0, 8.0) if kinds['lamp'] or kinds['mast'] else rng.uniform(2.8, 4.0)
    arm = rng.uniform(1.2, 2.0) if kinds['lamp'] else (rng.uniform(3.0, 5.0) if kinds['mast']
                                                        else 0.0)
    sign_shape = SIGN_SHAPES[int(rng.integers(len(SIGN_SHAPES)))]
    sign_size = rng.uniform(0.6, 0.9)
    signal = ('signal red', 'signal amber', 'signal green')[int(rng.integers(3))]

    def traffic_light(xc, base):
        b = ctx.builder
        inst = b.new_instance()
        b.world_polygon('traffic light', upright_outline(RECT, x=xc, z=z - 0.05,
                                                         width=0.4, height=1.0, base=base),
                        instance=inst, depth_value=z)
        for k, name in enumerate(('signal red', 'signal amber', 'signal green')):
            lit = name == signal
            b.world_polygon('traffic light', upright_outline(
                HEAD, x=xc, z=z - 0.1, width=0.24, height=0.24, base=base + 0.68 - 0.3 * k),
                part=name if lit else 'signal off', instance=inst, depth_value=z)

    def draw():
        b = ctx.builder
        label = 'polegroup' if kinds['group'] and ctx.allowed('polegroup') else 'pole'
        offsets = (0.0, 0.45 * side.sign, 0.9 * side.sign) if label == 'polegroup' else (0.0,)
        for dx in offsets:
            # the first post of a lamp or mast carries an arm reaching over the road
            with_arm = arm and dx == 0.0
            outline = _lamp_post(height, arm, towards_road) if with_arm else _scaled(RECT, 0.3,
                                                                                      height)
            b.world_polygon(label, upright_outline(outline, x=x + dx, z=z, width=1.0, height=1.0),
                            depth_value=z)
        if kinds['lamp'] and arm:  # the lamp head hangs under the arm's end
            head = dict(x=x + towards_road * (arm - 0.3), z=z - 0.05)
            b.world_polygon('pole', upright_outline(HEAD, width=0.7, height=0.3,
                                                    base=height - 0.45, **head), depth_value=z)
            b.world_polygon('pole', upright_outline(HEAD, width=0.5, height=0.14,
                                                    base=height - 0.43, **head),
                            part='lamp', depth_value=z)
        if kinds['mast'] and not kinds['lamp'] and ctx.allowed('traffic light'):
            traffic_light(x + towards_road * (arm - 0.4), height - 1.3)
        if kinds['light'] and ctx.allowed('traffic light'):
            traffic_light(x, min(height, 3.2) - 1.0 if not arm else 2.4)
        if kinds['sign'] and ctx.allowed('traffic sign'):
            inst = b.new_instance()
            base = 2.0 if not kinds['light'] else 1.2
            b.world_polygon('traffic sign', upright_outline(
                sign_shape, x=x, z=z - 0.05, width=sign_size, height=sign_size, base=base),
                instance=inst, depth_value=z)
            b.world_polygon('traffic sign', upright_outline(
                _scaled(sign_shape, 0.6, 0.6, shift_v=0.2 if sign_shape is not SIGN_SHAPES[1]
                        else 0.12), x=x, z=z - 0.1, width=sign_size, height=sign_size,
                base=base), part='inset', instance=inst, depth_value=z)
    return draw


# ------------------------------------------------------------------------------------------------
# Traffic and people


def traffic(ctx: DrawContext, rng, items, train_depth: Optional[float]) -> None:
    """Vehicles in lanes or parked, then people, two-wheelers and animals, then the train."""
    p = ctx.params
    occupied = {}  # lane key -> list of (z0, z1)

    def free(lane, z0, z1):
        spans = occupied.setdefault(lane, [])
        if any(z0 < b1 + 1.0 and b0 < z1 + 1.0 for b0, b1 in spans):
            return False
        spans.append((z0, z1))
        return True

    left = ctx.centre - ctx.road_width / 2
    for kind, count in (('truck', p.trucks), ('bus', p.buses), ('car', p.cars),
                        ('autorickshaw', p.autorickshaws),
                        ('vehicle fallback', p.vehicle_fallback)):
        if not ctx.allowed(kind):
            continue
        width, length, height = _VEHICLES[kind]
        for k in range(sample_count(rng, count, ctx.forced(kind))):
            parked = kind == 'car' and rng.random() < p.parked
            for _ in range(6):
                if parked:
                    side = ctx.sides[int(rng.integers(2))]
                    lane = ('parked', side.sign)
                    xc = float(np.mean(side.road_edge)) - side.sign * (width / 2 + 0.2)
                else:
                    index = int(rng.integers(ctx.lanes))
                    lane = ('lane', index)
                    xc = left + (index + 0.5) * ctx.lane_width + rng.uniform(-0.4, 0.4)
                # big vehicles keep some distance, or one of them would fill the frame
                low = ctx.nearest * (1.25 if kind in ('car', 'autorickshaw') else 1.8)
                z = ctx.depth(rng, height, 0.06, low=low)
                if z is not None and free(lane, z, z + length):
                    away = (xc > ctx.centre) != p.left_hand_traffic
                    items.append((z, _vehicle_drawer(ctx, rng, kind, xc, z, away or parked)))
                    break
    _people(ctx, rng, items)
    if train_depth is not None:
        items.append((train_depth, _train_drawer(ctx, rng, train_depth)))


def _vehicle_drawer(ctx, rng, kind: str, xc: float, z0: float, away: bool):
    width, length, height = _VEHICLES[kind]
    if kind == 'truck':
        length *= rng.uniform(0.85, 1.2)
        height *= rng.uniform(0.9, 1.08)
    x0, x1, z1 = xc - width / 2, xc + width / 2, z0 + length
    visible_side = x0 if x0 > 0 else (x1 if x1 < 0 else None)

    def face(xa, xb, ya, yb, z, part, inst):
        ctx.builder.world_polygon(kind, [(xa, ya, z), (xb, ya, z), (xb, yb, z), (xa, yb, z)],
                                  part=part, instance=inst, depth_value=z0)

    def side_quad(za, zb, ya, yb, part, inst):
        if visible_side is not None:
            ctx.builder.world_polygon(kind, [(visible_side, ya, za), (visible_side, ya, zb),
                                             (visible_side, yb, zb), (visible_side, yb, za)],
                                      part=part, instance=inst, depth_value=z0)

    def draw():
        b = ctx.builder
        inst = b.new_instance()
        b.ground(BACKGROUND, [z0 - 0.3, z1 + 0.2], [x0 - 0.2] * 2, [x1 + 0.5] * 2, part='shadow')
        if kind == 'car':
            corners = np.concatenate([box_corners(x0, x1, 0.0, 0.95, z0, z1),
                                      box_corners(x0 + 0.12, x1 - 0.12, 0.95, height,
                                                  z0 + 1.0, z1 - 1.1)])
            cabin_z = z0 + 1.0
        elif kind == 'truck':
            cab, box = (z0, z0 + 2.2), (z0 + 2.4, z1)
            if away:
                cab, box = (z1 - 2.2, z1), (z0, z1 - 2.4)
            corners = np.concatenate([box_corners(x0, x1, 0.0, 2.9, *cab),
                                      box_corners(x0, x1, 0.0, height, *box)])
            cabin_z = z0
        else:
            corners = box_corners(x0, x1, 0.0, height, z0, z1)
            cabin_z = z0
        b.solid(kind, corners, instance=inst, depth_value=z0)
        # near face: windscreen or rear window, lamps, tyres
        glass = {'car': (1.0, height - 0.07), 'truck': (1.7, 2.6), 'bus': (1.3, 2.8),
                 'autorickshaw': (0.8, 1.5), 'vehicle fallback': (1.4, 2.2)}[kind]
        inset = 0.22 if kind == 'car' else 0.15
        if kind != 'truck' or not away:
            face(x0 + inset, x1 - inset, glass[0], glass[1], cabin_z, 'window', inst)
        lamp_y = 0.65 if kind in ('car', 'autorickshaw') else 0.8
        for xa, xb in ((x0 + 0.08, x0 + 0.4), (x1 - 0.4, x1 - 0.08)):
            face(xa, xb, lamp_y, lamp_y + 0.18, z0, 'taillight' if away else 'headlight', inst)
            face(xa + 0.02, xb - 0.02, 0.0, 0.3, z0, 'wheel', inst)
        # side: wheels and, for buses and cars, a band of windows
        for za in (z0 + 0.5, z1 - 1.3):
            side_quad(za, za + 0.8, 0.0, 0.7, 'wheel', inst)
        if kind in ('bus', 'car'):
            band = (1.2, 2.6) if kind == 'bus' else (1.0, height - 0.08)
            side_quad(cabin_z + 0.3 if kind == 'car' else z0 + 1.0,
                      z1 - (1.2 if kind == 'car' else 1.0), *band, 'window', inst)
    return draw


def _train_drawer(ctx, rng, z0: float):
    start = rng.uniform(-3.0, 0.0)

    def draw():
        b = ctx.builder
        inst = b.new_instance()
        b.solid('train', box_corners(-60.0, 60.0, 0.3, 3.9, z0, z0 + 3.1), instance=inst,
                depth_value=z0)
        for x in np.arange(-60.0 + start, 60.0, 2.6):
            b.world_polygon('train', [(x, 1.6, z0), (x + 1.5, 1.6, z0), (x + 1.5, 2.7, z0),
                                      (x, 2.7, z0)], part='window', instance=inst,
                            depth_value=z0)
    return draw


def _people(ctx: DrawContext, rng, items) -> None:
    p = ctx.params
    left, right = ctx.centre - ctx.road_width / 2, ctx.centre + ctx.road_width / 2
    for _ in range(sample_count(rng, p.persons, ctx.forced('person'))):
        side = ctx.sides[int(rng.integers(2))]
        on_road = rng.random() < p.persons_on_road
        x = rng.uniform(left + 0.5, right - 0.5) if on_road else rng.uniform(*side.walk)
        z = ctx.depth(rng, 1.75, 0.12, low=ctx.nearest * 1.2)
        if z is not None:
            items.append((z, _person_drawer(ctx, rng, x, z)))
    for kind, count, parked in (('bicycle', p.cyclists, False),
                                ('motorcycle', p.motorcyclists, False),
                                ('bicycle', p.parked_bicycles, True),
                                ('motorcycle', p.parked_motorcycles, True)):
        forced = not parked and (ctx.forced(kind) or (ctx.forced('rider') and kind == 'bicycle'))
        if not ctx.allowed(kind):
            continue
        for _ in range(sample_count(rng, count, forced)):
            side = ctx.sides[int(rng.integers(2))]
            if parked:
                x, yaw = rng.uniform(*side.walk), 0.0
            else:
                x = rng.uniform(left + 0.6, right - 0.6) if rng.random() < 0.7 else side.kerb
                yaw = rng.uniform(-1.0, 1.0)
            z = ctx.depth(rng, 1.7, 0.12, low=ctx.nearest * 1.3)
            if z is not None:
                rider = not parked and ctx.allowed('rider')
                items.append((z, _two_wheeler_drawer(ctx, rng, kind, x, z, yaw, rider)))
    for _ in range(sample_count(rng, p.animals, ctx.forced('animal'))):
        side = ctx.sides[int(rng.integers(2))]
        x = rng.uniform(left, right) if rng.random() < 0.5 else rng.uniform(*side.walk)
        scale = 1.0 if rng.random() < 0.6 else 0.45  # cows and dogs
        z = ctx.depth(rng, 1.4 * scale, 0.08)
        if z is not None:
            yaw = rng.uniform(-0.6, 0.6)

            def draw(x=x, z=z, yaw=yaw, scale=scale):
                ctx.builder.world_polygon('animal', upright_outline(
                    ANIMAL, x=x, z=z, width=2.0 * scale, height=1.45 * scale, yaw=yaw),
                    instance=ctx.builder.new_instance(), depth_value=z)
            items.append((z, draw))


def _person_drawer(ctx, rng, x: float, z: float):
    height = rng.uniform(1.55, 1.9)
    width = rng.uniform(0.5, 0.65)

    def draw():
        b = ctx.builder
        inst = b.new_instance()
        b.world_polygon('person', upright_outline(PERSON, x=x, z=z, width=width, height=height),
                        instance=inst, depth_value=z)
        b.world_polygon('person', upright_outline(HEAD, x=x, z=z - 0.05, width=0.2,
                                                  height=0.2, base=height * 0.88),
                        part='skin', instance=inst, depth_value=z)
    return draw


def _two_wheeler_drawer(ctx, rng, kind: str, x: float, z: float, yaw: float, rider: bool):
    heavy = kind == 'motorcycle'
    length, height = (2.1, 1.2) if heavy else (1.75, 1.05)
    rider_h = rng.uniform(1.35, 1.5)

    def draw():
        b = ctx.builder
        inst = b.new_instance()
        place = dict(x=x, z=z, width=length, height=height, yaw=yaw)
        b.world_polygon(kind, upright_outline(MOTORCYCLE if heavy else BICYCLE, **place),
                        instance=inst, depth_value=z)
        wheel_u = 0.19 if not heavy else 0.16
        for centre in (-0.5 + wheel_u + 0.02, 0.5 - wheel_u - 0.02):
            tyre = _scaled(HEAD, 2 * wheel_u, 0.68 if not heavy else 0.56, shift_u=centre)
            b.world_polygon(kind, upright_outline(tyre, **place), part='wheel', instance=inst,
                            depth_value=z)
        if heavy:
            b.world_polygon(kind, upright_outline(_scaled(HEAD, 0.08, 0.12, 0.4, 0.68), **place),
                            part='headlight', instance=inst, depth_value=z)
        if rider:
            rider_inst = b.new_instance()
            spot = dict(x=x, z=z - 0.02, width=0.9, height=rider_h, yaw=yaw,
                        base=0.25 if not heavy else 0.3)
            b.world_polygon('rider', upright_outline(RIDER, **spot), instance=rider_inst,
                            depth_value=z)
            b.world_polygon('rider', upright_outline(_scaled(HEAD, 0.2, 0.15, 0.05, 0.85),
                                                     **spot),
                            part='skin', instance=rider_inst, depth_value=z)
    return draw


def ego_vehicle(builder: SceneBuilder, width: int, height: int, rows: float) -> None:
    """The camera car's bonnet: a low arc across the bottom of the image."""
    xs = np.linspace(0, width - 1, 9)
    bulge = 1.0 - 0.45 * ((xs - width / 2) / (width / 2)) ** 2
    tops = height - 1 - rows * bulge
    outline = [(0, height - 1)] + list(zip(xs, tops)) + [(width - 1, height - 1)]
    builder.image_polygon('ego vehicle', outline, depth_value=1.0)
