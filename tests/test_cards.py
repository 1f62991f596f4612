"""Model cards fit the task of what they describe: pipeline_tag, model-index task and a usage snippet that runs."""

import pytest
import torch
import yaml

from hfgan import DCGANDiscriminator, DCGANGenerator, DCGANPipeline, EmojiFeatureNet
from hfgan.cards import TASKS, render_model_card, to_model_index
from hfgan.models.modeling_utils import HfGanModel


def tiny(kind):
    torch.manual_seed(0)
    if kind == "pipeline":
        pipe = DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=4, image_size=8))
        pipe.set_progress_bar_config(disable=True)
        return pipe
    if kind == "generator":
        return DCGANGenerator(latent_dim=8, base_channels=4, image_size=8)
    if kind == "discriminator":
        return DCGANDiscriminator(base_channels=4, image_size=8)
    return EmojiFeatureNet(num_groups=2, num_subgroups=3, base_channels=4, image_size=16)


def split_card(card):
    text = str(card)
    return yaml.safe_load(text.split("---")[1]), text, text.split("```python")[1].split("```")[0]


@pytest.mark.parametrize(
    "kind, task",
    [
        ("pipeline", "unconditional-image-generation"),
        ("generator", "unconditional-image-generation"),
        ("discriminator", "image-classification"),
        ("feature-net", "image-feature-extraction"),
    ],
)
def test_card_of_each_task_kind(kind, task, tmp_path, monkeypatch):
    obj = tiny(kind)
    obj.save_pretrained(tmp_path / "model")
    metrics = to_model_index({"fd_emoji_cnn": 3.25, "accuracy": 0.5})
    card = render_model_card(obj, str(tmp_path / "model"), metrics=metrics, dataset_name="tiny-set")
    meta, text, snippet = split_card(card)
    assert meta["pipeline_tag"] == task and task in meta["tags"] and meta["library_name"] == "hfgan"
    result = meta["model-index"][0]["results"][0]
    assert result["task"] == {"type": task, "name": TASKS[task].name}
    assert [m["type"] for m in result["metrics"]] == ["fd_emoji_cnn", "accuracy"]
    assert TASKS[task].summary in text and type(obj).__name__ in snippet
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(snippet, f"{kind} card usage", "exec"), namespace)  # noqa: S102 - our own card, a local folder
    if kind == "pipeline":
        assert (tmp_path / "samples.png").is_file()
    if kind == "generator":
        assert namespace["images"].shape == (16, 3, 8, 8)
    if kind == "discriminator":
        assert namespace["logits"].shape == (4,)
    if kind == "feature-net":
        assert namespace["features"].shape == (4, 32)


def test_a_class_without_a_task_is_an_error():
    class Untasked(HfGanModel):
        pass

    with pytest.raises(ValueError, match="Untasked declares no model card task"):
        render_model_card(Untasked(), "user/x")


def test_class_usage_snippets_follow_the_class_and_its_optional_components():
    """A class's own snippet (`CLASS_USAGE`) goes to its subclasses too; a pipeline's optional component adds its lines
    (`COMPONENT_USAGE`) only when the pipeline has it."""
    from hfgan import BlobGANEncoder, BlobGANGenerator, BlobGANPipeline, BlobLayoutNet
    from hfgan.cards import CLASS_USAGE, COMPONENT_USAGE, card_usage

    class MyGenerator(DCGANGenerator):
        pass

    assert card_usage(MyGenerator(latent_dim=8, base_channels=4, image_size=8)) == CLASS_USAGE["DCGANGenerator"]
    assert card_usage(tiny("pipeline")) == TASKS["unconditional-image-generation"].pipeline_usage
    sizes = dict(num_blobs=3, structure_dim=4, style_dim=4)
    parts = dict(layout_net=BlobLayoutNet(latent_dim=8, hidden_dim=16, num_layers=2, **sizes),
                 generator=BlobGANGenerator(image_size=16, input_size=4, structure_dim=4, style_dim=4, channel_base=64,
                                            channel_max=8))
    encoder = BlobGANEncoder(image_size=16, channel_base=64, channel_max=8, **sizes)
    assert card_usage(BlobGANPipeline(**parts)) == CLASS_USAGE["BlobGANPipeline"]
    assert card_usage(BlobGANPipeline(**parts, encoder=encoder)) == (
        CLASS_USAGE["BlobGANPipeline"] + COMPONENT_USAGE["BlobGANPipeline", "encoder"]
    )
    # a pipeline with the task's generic snippet gets its component's lines too
    from hfgan import StyleGAN2Generator, StyleGANEncoder, StyleGANPipeline

    stylegan = StyleGAN2Generator(z_dim=8, w_dim=8, img_resolution=16, mapping_layers=2, channel_base=64,
                                  channel_max=8)
    generic = TASKS["unconditional-image-generation"].pipeline_usage
    assert card_usage(StyleGANPipeline(generator=stylegan)) == generic
    with_encoder = StyleGANPipeline(generator=stylegan, encoder=StyleGANEncoder.for_generator(
        stylegan, channel_base=64, channel_max=8))
    assert card_usage(with_encoder) == generic + COMPONENT_USAGE["StyleGANPipeline", "encoder"]


def test_training_facts_show_no_local_folders(tmp_path, monkeypatch):
    # a published card names the run's folders relative to where it ran, or under ~, never the trainer's full paths
    home, work = tmp_path / "home" / "alice", tmp_path / "home" / "alice" / "project"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    training = {
        "command": f"`python training/train_dcgan.py output_dir={work}/outputs/run-1`",
        "config": f"output_dir: {work}/outputs/run-1\ndata:\n  source: {home}/photos\n",
        "images seen": "1,024",
    }
    text = str(render_model_card(tiny("generator"), "alice/run-1", training=training))
    assert str(home) not in text
    assert "`python training/train_dcgan.py output_dir=outputs/run-1`" in text
    assert "output_dir: outputs/run-1" in text and "source: ~/photos" in text and "1,024" in text
