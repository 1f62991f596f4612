"""The ceiling of `carry_rate.py`'s metric on the real scenes: compose fresh scenes the way `hfgan prepare-scenes`
does, move each true object right by DX of the width (a perfect "blob" that carries exactly its object), and score
the move with carry_rate.py's own criterion (objects = connected components of |scene - bare background| > THRESHOLD,
an object carried if at least half of it arrives and at least half of what it leaves is cleared).

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/carry_ceiling.py [N=500] > carry_ceiling.json

If objects that touch merge into one component, moving one true object moves only part of that component, and the
metric counts it as not carried: the score of a perfect model is then below 100%, and this script says how far.
An object moved past the right edge is cut off there. Needs scipy; run from the repository root.
"""
import json
import sys

import numpy as np
from scipy import ndimage

from hfgan.data.scenes.backgrounds import make_background
from hfgan.data.scenes.compose import _place_objects
from hfgan.data.scenes.objects import object_cutouts
from hfgan.data.scenes.settings import SceneSettings

sys.path.insert(0, "docs/research/blobgan-dead-blobs")
from carry_rate import DX, MIN_AREA, THRESHOLD, shifted  # noqa: E402  the metric's own constants and shift


def paint(background, placed, move=None, px=0):
    """The scene (H, W, 3) in [-1, 1], with object `move` shifted right by `px` pixels (what leaves the frame is
    cut off, as a generator draws a blob moved past the edge)."""
    size = background.shape[0]
    canvas = np.concatenate([background, np.repeat(background[:, -1:], px, axis=1)], axis=1)  # room on the right
    for depth, (_, x, y, rgb, alpha, _) in enumerate(placed):
        h, w = alpha.shape
        x = x + px if depth == move else x
        region = canvas[y:y + h, x:x + w]
        region += (rgb - region) * alpha[..., None]
    return canvas[:, :size] / 127.5 - 1


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    settings = SceneSettings()
    cutouts = object_cutouts("emoji", "train", max_side=settings.max_cutout_side)
    rng = np.random.default_rng(0)
    px = round(DX * settings.size)
    true_objects = components = carried = merged_scenes = 0
    for _ in range(n):
        kind = "textured" if rng.random() < settings.textured_fraction else "plain"
        background, _ = make_background(rng, settings.size, kind, settings.white_fraction)
        count = int(rng.integers(settings.min_objects, settings.max_objects + 1))
        placed = _place_objects(rng, cutouts, settings.size, count, settings)
        if placed is None:
            continue
        bare = background / 127.5 - 1

        def mask(image):
            return np.abs(image - bare).mean(-1) > THRESHOLD

        objects = mask(paint(background, placed))
        moved = [mask(paint(background, placed, k, px)) for k in range(len(placed))]
        labels, num = ndimage.label(objects)
        comps = [labels == j for j in range(1, num + 1) if (labels == j).sum() >= MIN_AREA]
        true_objects += len(placed)
        components += len(comps)
        merged_scenes += len(comps) < len(placed)
        for comp in comps:
            target = shifted(comp[None], px)[0]
            left = comp & ~target
            for m in moved:  # some true object's move carries the component
                arrives = (m & target).sum() / max(target.sum(), 1) >= 0.5
                leaves = left.sum() == 0 or (m & left).sum() / left.sum() <= 0.5
                if arrives and leaves:
                    carried += 1
                    break
    print(json.dumps({
        "scenes": n, "threshold": THRESHOLD, "min_area": MIN_AREA, "dx": DX,
        "true_objects_per_scene": round(true_objects / n, 3),
        "components_per_scene": round(components / n, 3),
        "scenes_with_merged_objects": round(merged_scenes / n, 3),
        "carried_share_of_components": round(carried / max(components, 1), 3),
    }, indent=1))


if __name__ == "__main__":
    main()
