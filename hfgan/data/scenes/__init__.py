"""Multi-object scenes for layout GANs (BlobGAN): 1 to 4 object cutouts at random positions and scales on a plain or
textured background, with every object's box and identity, written as train and test parquet files.

    report = prepare_scenes("emoji", "data/scenes", num_train=5000, num_test=1000, size=64, seed=0)
    print(report.summary())

The pieces work alone too:

    objects = object_cutouts("emoji", split="test")        # RGBA cutouts, with a name and a label each
    scene = compose_scene(np.random.default_rng(0), objects, size=64)
    scene.image, scene.objects[0].box, scene.objects[0].name

How a scene is drawn (its size, how many objects, their scales and visibility, the backgrounds) is one
`SceneSettings`, which `compose_scene`, `prepare_scenes` and `hfgan prepare-scenes` all read.

The modules, in the order the work is done:
- `settings`: `SceneSettings` (standard library only, for the command's `--help`);
- `matting`: cutting objects out of their images (`cut_out`, `Matting`);
- `objects`: every image of a source as a cutout with a name and a label (`object_cutouts`);
- `backgrounds`: plain and textured backgrounds (`make_background`);
- `compose`: one scene and its boxes (`compose_scene`);
- `write`: the train and test parquet files (`prepare_scenes`);
- `preview`: boxes drawn over scenes (`draw_boxes`, `scenes_preview`).
"""

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

_MODULES = {  # where each public name lives; imported on first use (the settings alone import nothing heavy)
    ".backgrounds": ["BACKGROUNDS", "TEXTURES", "make_background"],
    ".compose": ["BOX_ALPHA", "Scene", "SceneObject", "compose_scene"],
    ".matting": ["MIN_FOREGROUND_FRACTION", "Matting", "cut_out"],
    ".objects": ["NO_LABEL", "Cutout", "ObjectSet", "object_cutouts"],
    ".preview": ["BOX_COLOURS", "draw_boxes", "scenes_preview"],
    ".settings": ["MIN_SCENE_SIZE", "SceneSettings"],
    ".write": ["SPLIT_IDS", "ScenesReport", "prepare_scenes", "scene_features", "scenes_file"],
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULES)

if TYPE_CHECKING:
    from .backgrounds import BACKGROUNDS, TEXTURES, make_background
    from .compose import BOX_ALPHA, Scene, SceneObject, compose_scene
    from .matting import MIN_FOREGROUND_FRACTION, Matting, cut_out
    from .objects import NO_LABEL, Cutout, ObjectSet, object_cutouts
    from .preview import BOX_COLOURS, draw_boxes, scenes_preview
    from .settings import MIN_SCENE_SIZE, SceneSettings
    from .write import SPLIT_IDS, ScenesReport, prepare_scenes, scene_features, scenes_file
