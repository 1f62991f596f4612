"""HfGanPipeline: dispatch on model_index.json, refusal of classes hfgan does not export, diffusers' save kwargs."""

import json

import pytest
import torch

from hfgan import DCGANGenerator, DCGANPipeline, HfGanPipeline


def tiny_pipe():
    torch.manual_seed(0)
    pipe = DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=4, image_size=8))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def samples(pipe):
    return pipe(num_images=2, generator=torch.Generator().manual_seed(0), output_type="pt").images


def edit_index(folder, **changes):
    index = json.loads((folder / "model_index.json").read_text())
    index.update(changes)
    (folder / "model_index.json").write_text(json.dumps(index))


def test_base_class_returns_the_class_model_index_names(tmp_path):
    pipe = tiny_pipe()
    pipe.save_pretrained(tmp_path / "p")
    loaded = HfGanPipeline.from_pretrained(tmp_path / "p")
    assert type(loaded) is DCGANPipeline
    torch.testing.assert_close(samples(loaded), samples(pipe), rtol=0, atol=0)


def test_base_class_dispatches_by_hub_repo_id(hub, tmp_path):
    repo_id = hub.new_repo_id("dispatch")
    tiny_pipe().push_to_hub(repo_id, token=hub.token)
    assert type(HfGanPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "cache")) is DCGANPipeline


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"generator": ["os", "DCGANGenerator"]}, "os.DCGANGenerator"),  # a foreign module, an hfgan class name
        ({"generator": ["evil_module", "Payload"]}, "evil_module.Payload"),
        ({"generator": ["diffusers", "UNet2DModel"]}, "diffusers.UNet2DModel"),
        ({"_class_name": "DDPMPipeline"}, "DDPMPipeline"),  # a pipeline class hfgan does not export
        ({"_class_name": "HfGanPipeline"}, "HfGanPipeline"),
    ],
)
def test_model_index_naming_foreign_code_is_refused(tmp_path, changes, named):
    tiny_pipe().save_pretrained(tmp_path / "p")
    edit_index(tmp_path / "p", **changes)
    for cls in (HfGanPipeline, DCGANPipeline):
        with pytest.raises(ValueError, match=named.replace(".", r"\.")) as error:
            cls.from_pretrained(tmp_path / "p")
        assert "never imports code a repository names" in str(error.value)


def test_custom_pipeline_code_is_refused(tmp_path):
    tiny_pipe().save_pretrained(tmp_path / "p")
    with pytest.raises(ValueError, match="custom_pipeline"):
        HfGanPipeline.from_pretrained(tmp_path / "p", custom_pipeline="some/repo")


def test_save_pretrained_passes_variant_and_shard_size_to_components(tmp_path):
    pipe = tiny_pipe()
    pipe.save_pretrained(tmp_path / "p", variant="fp16")
    names = sorted(p.name for p in (tmp_path / "p" / "generator").iterdir())
    assert names == ["config.json", "diffusion_pytorch_model.fp16.safetensors"]
    loaded = DCGANPipeline.from_pretrained(tmp_path / "p", variant="fp16")
    torch.testing.assert_close(samples(loaded), samples(pipe), rtol=0, atol=0)

    pipe.save_pretrained(tmp_path / "sharded", max_shard_size="1KB")
    folder = tmp_path / "sharded" / "generator"
    assert len(list(folder.glob("*.safetensors"))) > 1
    assert (folder / "diffusion_pytorch_model.safetensors.index.json").is_file()
    torch.testing.assert_close(samples(HfGanPipeline.from_pretrained(tmp_path / "sharded")), samples(pipe))


def test_save_pretrained_keeps_refusing_pickles(tmp_path):
    with pytest.raises(ValueError, match="safetensors"):
        tiny_pipe().save_pretrained(tmp_path / "p", safe_serialization=False)
    with pytest.raises(ValueError, match="safetensors"):
        tiny_pipe().generator.save_pretrained(tmp_path / "g", safe_serialization=False)


def test_the_registry_lists_every_network_and_pipeline_by_its_defining_module():
    """What a model_index.json may name (`hfgan.registry.LOADABLE`) is every network and pipeline that hfgan.models and
    hfgan.pipelines export, each under the module that defines it, and all of them are exported by `import hfgan`."""
    import hfgan
    import hfgan.models
    import hfgan.pipelines
    from hfgan.models.modeling_utils import HfGanModel
    from hfgan.registry import LOADABLE, loadable_classes

    classes = loadable_classes()
    bases = (HfGanModel, HfGanPipeline)
    exported = {
        obj
        for package in (hfgan.models, hfgan.pipelines)
        for name in package.__all__
        if isinstance(obj := getattr(package, name), type) and issubclass(obj, bases) and obj not in bases
    }
    assert set(classes.values()) == exported
    assert all(name in LOADABLE[cls.__module__] for name, cls in classes.items())
    assert set(classes) <= set(hfgan.__all__)
