"""DiscriminatorClassifierPipeline: transformers-style predictions, input kinds, errors, saving and the Hub."""

import ast
import json

import numpy as np
import PIL.Image
import pytest
import torch
import transformers
import yaml

from hfgan import DCGANDiscriminator, DCGANGenerator, DiscriminatorClassifierPipeline, HfGanPipeline
from hfgan.cards import render_model_card
from hfgan.pipelines.pipeline_utils import pipeline_for

LABELS = ["cat", "dog", "fox", "owl", "yak"]
SIZE = 16


@pytest.fixture(scope="module")
def pipe(tiny_classifier):
    return tiny_classifier(LABELS)


def random_pixels(h, w, c=3, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, c) if c else (h, w), dtype=np.uint8)


def rgb(h=SIZE, w=SIZE, seed=0):
    return PIL.Image.fromarray(random_pixels(h, w, seed=seed))


def scores(predictions):
    return {p["label"]: p["score"] for p in predictions}


def assert_same_predictions(a, b, atol=1e-6):
    assert [p["label"] for p in a] == [p["label"] for p in b]
    np.testing.assert_allclose([p["score"] for p in a], [p["score"] for p in b], rtol=0, atol=atol)


def test_one_image_gives_a_sorted_list_of_label_score_dicts(pipe):
    everything = pipe(rgb(), top_k=None)
    assert [sorted(p) for p in everything] == [["label", "score"]] * len(LABELS)
    assert sorted(p["label"] for p in everything) == sorted(LABELS)
    assert all(isinstance(p["score"], float) for p in everything)
    values = [p["score"] for p in everything]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert sum(values) == pytest.approx(1, abs=1e-6)  # softmax of the class logits
    logits = pipe.discriminator.eval()(torch.from_numpy(random_pixels(SIZE, SIZE)).permute(2, 0, 1)[None] / 127.5 - 1)
    expected = dict(zip(LABELS, logits.class_logits.softmax(-1)[0].tolist()))
    assert scores(everything) == pytest.approx(expected, abs=1e-6)

    assert pipe(rgb()) == everything[:5]  # top_k defaults to 5, as in transformers
    assert pipe(rgb(), top_k=2) == everything[:2]
    assert pipe(rgb(), top_k=100) == everything  # more than there are classes: all of them


@pytest.mark.parametrize("top_k", [0, -1, 1.5, True, "3"])
def test_top_k_must_be_a_positive_int(pipe, top_k):
    with pytest.raises(ValueError, match="top_k must be a positive int"):
        pipe(rgb(), top_k=top_k)


def test_lists_and_batches_give_one_list_per_image_whatever_the_chunking(pipe):
    arrays = [random_pixels(SIZE, SIZE, seed=s) for s in range(5)]
    one_by_one = [pipe(PIL.Image.fromarray(a), top_k=None) for a in arrays]
    pipe.discriminator.train()  # BatchNorm in train mode would mix the images of a batch: the pipeline uses eval mode
    from_list = pipe([PIL.Image.fromarray(a) for a in arrays], top_k=None)
    assert pipe.discriminator.training  # and gives the mode back
    pipe.discriminator.eval()
    assert len(from_list) == 5 and all(len(p) == len(LABELS) for p in from_list)
    batch_np = pipe(np.stack(arrays), top_k=None)  # (N, H, W, C)
    batch_pt = pipe(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2), top_k=None)  # (N, C, H, W)
    chunked = pipe(np.stack(arrays), top_k=None, max_batch_size=2)
    single_chunks = pipe(np.stack(arrays), top_k=None, max_batch_size=1)
    for i in range(5):
        for other in (from_list, batch_np, batch_pt, chunked, single_chunks):
            assert_same_predictions(other[i], one_by_one[i])
    assert len(pipe([rgb()])) == 1 and isinstance(pipe([rgb()])[0], list)  # a list of one: still a list of lists


def test_input_kinds_agree(pipe):
    pixels = random_pixels(SIZE, SIZE)
    reference = pipe(PIL.Image.fromarray(pixels), top_k=None)
    chw = torch.from_numpy(pixels).permute(2, 0, 1)
    for same in (pixels, chw, chw.float() / 255, pixels.astype(np.float64) / 255):
        assert_same_predictions(pipe(same, top_k=None), reference, atol=1e-5)
    assert_same_predictions(pipe((chw / 255).half(), top_k=None), reference, atol=1e-3)  # float16 pixels round

    gray = random_pixels(SIZE, SIZE, c=None)
    gray_reference = pipe(PIL.Image.fromarray(gray).convert("RGB"), top_k=None)
    for same in (PIL.Image.fromarray(gray), gray, gray[:, :, None], torch.from_numpy(gray)[None], gray / 255.0):
        assert_same_predictions(pipe(same, top_k=None), gray_reference, atol=1e-5)

    palette = PIL.Image.fromarray(pixels).convert("P")
    assert_same_predictions(pipe(palette, top_k=None), pipe(palette.convert("RGB"), top_k=None))

    rgba = random_pixels(SIZE, SIZE, c=4)
    # a PIL image loses its alpha channel (PIL's convert("RGB"), as transformers' load_image does) ...
    assert_same_predictions(pipe(PIL.Image.fromarray(rgba), top_k=None), pipe(rgba[..., :3], top_k=None))
    # ... an RGBA array is composited on white (as transformers' image processor does for arrays)
    alpha = rgba[..., 3:] / 255
    on_white = rgba[..., :3] / 255 * alpha + (1 - alpha)
    assert_same_predictions(pipe(rgba / 255, top_k=None), pipe(on_white, top_k=None), atol=1e-5)


def test_other_sizes_are_resized_to_the_model_size(pipe):
    pixels = random_pixels(50, 37)  # (H, W): neither side the model's, aspect ratio not kept
    image = PIL.Image.fromarray(pixels)
    assert image.size == (37, 50)
    predictions = pipe(image, top_k=None)
    assert_same_predictions(pipe(pixels, top_k=None), predictions)
    assert_same_predictions(pipe(torch.from_numpy(pixels).permute(2, 0, 1), top_k=None), predictions)
    assert pipe(rgb(4, 5), top_k=1)[0]["label"] in LABELS
    assert len(pipe([rgb(8, 64), rgb(SIZE, SIZE), PIL.Image.new("L", (3, 3))])) == 3  # mixed sizes in one call


@pytest.mark.parametrize(
    "images, message",
    [
        ("cat.png", "images: expected a PIL image, a numpy array or a torch tensor, got str"),
        (None, "got NoneType"),
        ([], "images is empty"),
        (np.zeros((0, SIZE, SIZE, 3), np.uint8), "images is empty"),
        ([rgb(), 3], r"images\[1\]: expected a PIL image"),
        (np.zeros((SIZE, SIZE, 2), np.uint8), r"a numpy image must have shape \(H, W\) or \(H, W, C\)"),
        (np.zeros((2, 2, SIZE, SIZE, 3), np.uint8), "a numpy image must have shape"),
        (np.zeros(SIZE, np.uint8), "a numpy image must have shape"),
        (torch.zeros(SIZE, SIZE), r"a tensor image must have shape \(C, H, W\)"),
        (torch.zeros(SIZE, SIZE, 3), r"a tensor image must have shape \(C, H, W\)"),
        (np.zeros((SIZE, SIZE, 3), np.int64), "pixel values must be uint8 .* or floats in .0, 1., got int64"),
        (np.zeros((SIZE, SIZE, 3), bool), "got bool"),
        (torch.zeros(3, SIZE, SIZE, dtype=torch.int32), "got torch.int32"),
        (np.zeros((0, SIZE, 3), np.uint8), "has no pixels"),
        (torch.full((3, SIZE, SIZE), float("nan")), "non-finite"),
        ([rgb(), torch.full((3, SIZE, SIZE), float("inf"))], r"images\[1\] has non-finite"),
        (torch.rand(3, SIZE, SIZE) * 2 - 1, r"float pixel values must lie in \[0, 1\]"),
        (np.full((SIZE, SIZE, 3), 255.0), r"float pixel values must lie in \[0, 1\], got values in \[255, 255\]"),
    ],
)
def test_bad_inputs_are_clear_errors(pipe, images, message):
    with pytest.raises(ValueError, match=message):
        pipe(images)


def test_max_batch_size_is_checked(pipe):
    with pytest.raises(ValueError, match="max_batch_size must be a positive int"):
        pipe(rgb(), max_batch_size=0)


def test_a_discriminator_without_classes_is_refused_and_pipeline_for_picks_by_classes():
    plain = DCGANDiscriminator(base_channels=4, image_size=8)
    with pytest.raises(ValueError, match=r"has no classes \(num_classes=None\)"):
        DiscriminatorClassifierPipeline(discriminator=plain)
    gray = DCGANDiscriminator(base_channels=4, image_size=8, num_channels=1, num_classes=2)
    with pytest.raises(ValueError, match="classifies RGB images.*num_channels=1"):
        DiscriminatorClassifierPipeline(discriminator=gray)

    assert pipeline_for(plain) is None and pipeline_for(gray) is None
    classifier = DCGANDiscriminator(base_channels=4, image_size=8, num_classes=2)
    pipe = pipeline_for(classifier)
    assert type(pipe) is DiscriminatorClassifierPipeline and pipe.discriminator is classifier
    assert pipeline_for(classifier, task="unconditional-image-generation") is None
    generator = DCGANGenerator(latent_dim=8, base_channels=4, image_size=8)
    assert type(pipeline_for(generator, task="unconditional-image-generation")).__name__ == "DCGANPipeline"


@pytest.mark.parametrize("classifier", ["logits", "probe"])
def test_save_and_load_keep_labels_and_scores(tmp_path, classifier, tiny_classifier):
    pipe = tiny_classifier(LABELS, classifier)
    pipe.save_pretrained(tmp_path / "p")
    folder = tmp_path / "p"
    # a diffusers-style pipeline folder and a transformers model folder at once
    assert {p.name for p in folder.iterdir()} == {
        "model_index.json", "discriminator", "config.json", "model.safetensors", "preprocessor_config.json",
    }
    assert (folder / "model.safetensors").stat().st_mode & 0o044 == 0o044  # readable like any saved file
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "hfgan_dcgan_discriminator"
    assert config["architectures"] == ["DCGANDiscriminatorForImageClassification"]
    assert config["id2label"] == {str(i): name for i, name in enumerate(LABELS)}
    assert config["label2id"] == {name: i for i, name in enumerate(LABELS)}
    assert config["classifier"] == classifier and config["image_size"] == SIZE
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["image_processor_type"] == "ViTImageProcessor"
    assert processor["size"] == {"height": SIZE, "width": SIZE} and processor["image_mean"] == [0.5] * 3

    images = [rgb(seed=1), rgb(40, 24, seed=2), PIL.Image.new("L", (9, 9), 200)]
    for cls in (HfGanPipeline, DiscriminatorClassifierPipeline):
        loaded = cls.from_pretrained(folder)  # the top-level config.json does not confuse diffusers
        assert type(loaded) is DiscriminatorClassifierPipeline
        assert loaded.discriminator.labels == LABELS
        assert loaded(images, top_k=None) == pipe(images, top_k=None)


def test_push_to_hub_uploads_both_file_sets_and_loads_by_repo_id(hub, tmp_path, tiny_classifier):
    pipe = tiny_classifier(LABELS)
    repo_id = hub.new_repo_id("classifier")
    pipe.push_to_hub(repo_id, token=hub.token)
    files = set(hub.api.list_repo_files(repo_id))
    assert {"model_index.json", "README.md", "config.json", "model.safetensors", "preprocessor_config.json"} <= files
    assert {"discriminator/config.json", "discriminator/diffusion_pytorch_model.safetensors"} <= files
    images = [rgb(), rgb(20, 30)]
    loaded = HfGanPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "cache")
    assert type(loaded) is DiscriminatorClassifierPipeline
    assert loaded(images, top_k=None) == pipe(images, top_k=None)
    classifier = transformers.pipeline("image-classification", model=repo_id)  # transformers, by repo id too
    for ours, theirs in zip(pipe(images, top_k=None), classifier(images, top_k=None)):
        assert_same_predictions(ours, theirs, atol=1e-5)


def test_model_card_usage_runs_both_pipelines(tmp_path, monkeypatch, capsys, tiny_classifier):
    pipe = tiny_classifier(LABELS)
    pipe.save_pretrained(tmp_path / "classifier")
    card = str(render_model_card(pipe, str(tmp_path / "classifier")))
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["pipeline_tag"] == "image-classification" and meta["library_name"] == "hfgan"
    snippet = card.split("```python")[1].split("```")[0]
    assert 'pipeline("image-classification"' in snippet
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "classifier card usage", "exec"), {})  # noqa: S102 - our own card, a local folder
    ours, theirs = map(ast.literal_eval, capsys.readouterr().out.strip().splitlines()[-2:])
    assert len(ours) == 3
    assert_same_predictions(ours, theirs, atol=1e-5)  # hfgan's and transformers' pipelines agree


def test_sampling_tools_refuse_a_classifier_with_a_clear_error(pipe, tmp_path):
    from hfgan.metrics import Evaluator

    classifier = pipe.discriminator
    evaluator = Evaluator.__new__(Evaluator)  # only the sampling step is exercised: no reference statistics needed
    evaluator.num_samples, evaluator.batch_size, evaluator.seed = 2, 2, 0
    for model in (pipe, classifier):
        with pytest.raises(TypeError, match="does not generate images|cannot sample"):
            next(evaluator._chunks(model))
    pipe.save_pretrained(tmp_path / "classifier")
    from hfgan.cli import main

    assert main(["sample", "--model", str(tmp_path / "classifier"), "--out", str(tmp_path / "s.png")]) == 2
    assert not (tmp_path / "s.png").exists()
