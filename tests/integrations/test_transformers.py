"""A saved discriminator-classifier is a transformers model folder: after `import hfgan`, transformers' pipeline and
auto classes load it (no trust_remote_code) and agree with hfgan's pipeline."""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from transformers import AutoConfig, AutoModelForImageClassification, pipeline

from hfgan import integrations
from hfgan.integrations import DCGANDiscriminatorConfig, DCGANDiscriminatorForImageClassification

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["red", "green", "blue", "gray"]
SIZE = 16


@pytest.fixture(scope="module", params=["logits", "probe"])
def saved(request, tmp_path_factory, tiny_classifier):
    """(hfgan pipeline, the folder it was saved to)."""
    pipe = tiny_classifier(LABELS, request.param)
    folder = tmp_path_factory.mktemp(request.param) / "classifier"
    pipe.save_pretrained(folder)
    return pipe, folder


def images():
    rs = np.random.RandomState(0)
    pixels = rs.randint(0, 256, (50, 37, 4), dtype=np.uint8)
    return [
        PIL.Image.fromarray(pixels[:SIZE, :SIZE, :3]),  # the model's size
        PIL.Image.fromarray(pixels[..., :3]),  # 37x50 RGB
        PIL.Image.fromarray(pixels[:20, :30, 0]),  # grayscale
        PIL.Image.fromarray(pixels),  # RGBA: the alpha channel is dropped
        PIL.Image.fromarray(pixels[..., :3]).convert("P"),  # palette
        pixels[5:45, 3:30, :3],  # a uint8 array (H, W, C)
        pixels[:24, :24, 0],  # a grayscale array (H, W)
        pixels[:12, :40],  # an RGBA array: composited on white
    ]


def assert_same_predictions(a, b):
    assert [p["label"] for p in a] == [p["label"] for p in b]
    np.testing.assert_allclose([p["score"] for p in a], [p["score"] for p in b], rtol=0, atol=1e-5)


def test_transformers_pipeline_agrees_with_hfgan(saved):
    pipe, folder = saved
    classifier = pipeline("image-classification", model=str(folder))
    assert type(classifier.model) is DCGANDiscriminatorForImageClassification
    assert classifier.image_processor.backend == "torchvision"  # transformers' default, which hfgan mirrors
    # transformers takes a grayscale array as (H, W, 1) only; hfgan also as (H, W)
    as_transformers_takes = [im[..., None] if isinstance(im, np.ndarray) and im.ndim == 2 else im for im in images()]
    ours, theirs = pipe(images(), top_k=None), classifier(as_transformers_takes, top_k=None)
    assert len(ours) == len(theirs) == len(images())
    for a, b in zip(ours, theirs):
        assert_same_predictions(a, b)
    assert_same_predictions(pipe(images()[1]), classifier(images()[1]))  # default top_k (5 > 4 classes: all)
    assert_same_predictions(pipe(images()[1], top_k=2), classifier(images()[1], top_k=2))


def test_auto_classes_load_the_discriminator(saved):
    pipe, folder = saved
    config = AutoConfig.from_pretrained(folder)
    assert isinstance(config, DCGANDiscriminatorConfig)
    assert config.id2label == dict(enumerate(LABELS)) and config.num_labels == len(LABELS)
    model, info = AutoModelForImageClassification.from_pretrained(folder, output_loading_info=True)
    assert isinstance(model, DCGANDiscriminatorForImageClassification)
    assert not any(info.values()), info  # no missing, unexpected or mismatched weights
    ours = pipe.discriminator.state_dict()
    theirs = model.state_dict()
    assert set(theirs) == {f"discriminator.{name}" for name in ours}
    assert all(torch.equal(theirs[f"discriminator.{name}"], value) for name, value in ours.items())

    pixel_values = torch.rand(3, 3, SIZE, SIZE) * 2 - 1
    out = model.eval()(pixel_values=pixel_values, labels=torch.tensor([0, 1, 3]))
    torch.testing.assert_close(out.logits, pipe.discriminator.eval()(pixel_values).class_logits)
    assert out.loss.shape == ()  # cross-entropy with labels, for transformers' Trainer


def test_the_folder_is_written_once_for_both_libraries(saved):
    _, folder = saved
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "DiscriminatorClassifierPipeline"
    assert index["discriminator"] == ["hfgan.models.dcgan", "DCGANDiscriminator"]
    assert json.loads((folder / "config.json").read_text())["model_type"] == DCGANDiscriminatorConfig.model_type


# Registration happens when transformers imports its auto modules: during transformers' own import when hfgan came
# first, or while diffusers imports transformers (hfgan's pipelines import diffusers). A transformers imported before
# hfgan is registered with at once (test_the_import_hook_registers_after_the_module_has_run).
FLOWS = {
    "hfgan first": "import hfgan\nfrom transformers import AutoModelForImageClassification, pipeline",
    "diffusers imports transformers": (
        "from hfgan import HfGanPipeline\nfrom transformers import AutoModelForImageClassification, pipeline"
    ),
}


@pytest.mark.parametrize("flow", FLOWS)
def test_registration_in_a_fresh_interpreter(flow, tmp_path, tiny_classifier):
    pipe = tiny_classifier(LABELS)
    pipe.save_pretrained(tmp_path / "classifier")
    folder = str(tmp_path / "classifier")
    code = f"""{FLOWS[flow]}
import json
import PIL.Image
model = AutoModelForImageClassification.from_pretrained({folder!r})
assert type(model).__module__ == "hfgan.integrations.transformers", type(model)
print(json.dumps(pipeline("image-classification", model={folder!r})(PIL.Image.new("RGB", (20, 30), "teal"))))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "hfgan could not register" not in result.stderr  # a failed registration is only a warning
    assert_same_predictions(json.loads(result.stdout.splitlines()[-1]), pipe(PIL.Image.new("RGB", (20, 30), "teal")))


def test_the_import_hook_registers_after_the_module_has_run(tmp_path, monkeypatch):
    (tmp_path / "hfgan_probe_later.py").write_text("VALUE = 1\n")
    (tmp_path / "hfgan_probe_broken.py").write_text("VALUE = 2\n")
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setitem(sys.modules, "hfgan_probe_imported", types.ModuleType("hfgan_probe_imported"))
    seen = []

    def fail(module):
        raise RuntimeError("no luck")

    registrations = {
        "hfgan_probe_imported": lambda module: seen.append((module.__name__, None)),
        "hfgan_probe_later": lambda module: seen.append((module.__name__, module.VALUE)),
        "hfgan_probe_broken": fail,
    }
    monkeypatch.setattr(integrations, "_TRANSFORMERS_REGISTRATIONS", registrations)
    hook = integrations._RegisterAfterImport
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, hook)])  # hfgan's own: gone
    for name in ("hfgan_probe_later", "hfgan_probe_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    integrations.install_transformers_hook()
    integrations.install_transformers_hook()  # again: no second finder
    assert seen == [("hfgan_probe_imported", None)]  # imported before: registered at once
    assert sum(isinstance(f, hook) for f in sys.meta_path) == 1

    import hfgan_probe_later  # noqa: F401

    assert seen[-1] == ("hfgan_probe_later", 1)  # right after the module's code ran
    with pytest.warns(UserWarning, match="hfgan could not register its classes with hfgan_probe_broken"):
        import hfgan_probe_broken  # a failed registration does not fail the import
    assert hfgan_probe_broken.VALUE == 2
    assert not any(isinstance(f, hook) for f in sys.meta_path)  # nothing pending: the finder has left
    for name in ("hfgan_probe_later", "hfgan_probe_broken"):
        monkeypatch.delitem(sys.modules, name)
