"""Pinhole road-camera geometry for the synthetic scenes: projection, clipping, hulls.

World coordinates are metres with X to the right, Y up and Z forward; the camera looks along +Z,
level with the ground, at ``mount_height`` above it. A ground point at depth Z therefore lands on
row ``horizon + focal * mount_height / Z``: everything a driving scene needs (a road narrowing to a
vanishing point, objects shrinking with distance, a higher camera seeing more ground) follows from
that one formula, so domains can differ in viewpoint simply by using other camera parameters.
"""
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Keep every projected point in front of the camera; nearer points would explode to infinity.
MIN_DEPTH = 0.5


@dataclass(frozen=True)
class Camera:
    """A level pinhole camera over a flat ground plane.

    Args:
        width: Image width in pixels.
        height: Image height in pixels.
        focal: Focal length in pixels.
        centre_x: Column of the vanishing point (the principal point; off-centre = camera yaw).
        horizon: Row of the horizon.
        mount_height: Height of the camera above the ground in metres.
    """

    width: int
    height: int
    focal: float
    centre_x: float
    horizon: float
    mount_height: float

    def project(self, points: np.ndarray) -> np.ndarray:
        """``(N, 3)`` world points -> ``(N, 2)`` pixel coordinates (x, y), both float."""
        points = np.asarray(points, dtype=np.float64)
        depth = np.maximum(points[:, 2], MIN_DEPTH)
        x = self.centre_x + self.focal * points[:, 0] / depth
        y = self.horizon + self.focal * (self.mount_height - points[:, 1]) / depth
        return np.stack([x, y], axis=1)

    def ground_depth(self, rows: np.ndarray) -> np.ndarray:
        """Depth in metres of the ground seen at pixel ``rows`` (large at and above the horizon)."""
        below = np.maximum(np.asarray(rows, dtype=np.float64) - self.horizon, 1e-3)
        return self.focal * self.mount_height / below

    def depth_of_row(self, row: float) -> float:
        """Depth of the ground at image ``row`` (which must lie below the horizon)."""
        return float(self.focal * self.mount_height / max(row - self.horizon, 1e-3))

    def depth_for_pixel_size(self, size_m: float, pixels: float) -> float:
        """The depth at which an object ``size_m`` metres tall is ``pixels`` pixels tall."""
        return self.focal * size_m / max(pixels, 1e-3)


def _clip_half_plane(points: list, axis: int, limit: float, keep_below: bool) -> list:
    """One Sutherland-Hodgman pass: keep the part of a polygon on one side of ``coord == limit``."""
    def inside(p):
        return p[axis] <= limit if keep_below else p[axis] >= limit

    out = []
    for i, current in enumerate(points):
        previous = points[i - 1]
        if inside(current):
            if not inside(previous):
                out.append(_intersect(previous, current, axis, limit))
            out.append(current)
        elif inside(previous):
            out.append(_intersect(previous, current, axis, limit))
    return out


def _intersect(a, b, axis: int, limit: float) -> tuple:
    t = (limit - a[axis]) / (b[axis] - a[axis])
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def clip_to_image(points: np.ndarray, width: int, height: int) -> tuple:
    """Clip a polygon to the image and round it to integer pixel coordinates.

    Annotation tools store integer vertices inside the image, and both our rasteriser and
    ``cityscapesscripts`` draw exactly these vertices, so label images cannot disagree. Returns a
    tuple of ``(x, y)`` int pairs, or an empty tuple when fewer than three distinct vertices remain.
    """
    polygon = [tuple(p) for p in np.asarray(points, dtype=np.float64)]
    for axis, limit, keep_below in ((0, 0.0, False), (0, width - 1.0, True),
                                    (1, 0.0, False), (1, height - 1.0, True)):
        if not polygon:
            return ()
        polygon = _clip_half_plane(polygon, axis, limit, keep_below)
    rounded = []
    for x, y in polygon:
        vertex = (int(round(x)), int(round(y)))
        if not rounded or vertex != rounded[-1]:
            rounded.append(vertex)
    while len(rounded) > 1 and rounded[0] == rounded[-1]:
        rounded.pop()
    return tuple(rounded) if len(set(rounded)) >= 3 else ()


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (Andrew's monotone chain) of ``(N, 2)`` points, counter-clockwise, ``(M, 2)``.

    The silhouette of a convex solid (a box-shaped vehicle, a building block) is the hull of its
    projected corners, which saves modelling which faces are visible.
    """
    pts = sorted(set(map(tuple, np.asarray(points, dtype=np.float64))))
    if len(pts) < 3:
        return np.asarray(pts)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(sequence):
        chain = []
        for p in sequence:
            while len(chain) >= 2 and cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(reversed(pts))
    return np.asarray(lower[:-1] + upper[:-1])


def box_corners(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> np.ndarray:
    """The 8 corners of an axis-aligned box, ``(8, 3)``."""
    return np.array([(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)], dtype=float)


def upright_outline(outline: Sequence[tuple], *, x: float, z: float, width: float, height: float,
                    yaw: float = 0.0, base: float = 0.0) -> np.ndarray:
    """Place a flat outline standing on the ground into the world, ``(N, 3)``.

    ``outline`` holds ``(u, v)`` pairs with u in [-0.5, 0.5] across and v in [0, 1] up, scaled by
    ``width`` and ``height`` metres and lifted by ``base``. The outline stands in a vertical plane
    through ``(x, z)``; ``yaw`` (radians) turns that plane about the vertical axis: 0 keeps it
    parallel to the image (a pedestrian facing us, a bicycle crossing the road seen fully
    side-on), pi/2 turns it to run along the road (a bicycle riding away, seen edge-on).
    """
    uv = np.asarray(outline, dtype=float)
    across = uv[:, 0] * width
    return np.stack([x + across * np.cos(yaw), base + uv[:, 1] * height,
                     z + across * np.sin(yaw)], axis=1)


def ellipse_outline(vertices: int = 12) -> tuple:
    """A unit ellipse in the ``upright_outline`` convention (u in [-0.5, 0.5], v in [0, 1])."""
    angles = np.linspace(0.0, 2.0 * np.pi, vertices, endpoint=False)
    return tuple((0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a)) for a in angles)
