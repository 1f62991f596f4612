"""hfgan models and pipelines through the real huggingface_hub client, against the local Hub server (conftest)."""

import pytest
import torch
import yaml
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from hfgan import DCGANDiscriminator, DCGANGenerator, DCGANPipeline


def tiny_pipe(seed=0):
    torch.manual_seed(seed)
    pipe = DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=4, image_size=16))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name


def card_metadata(repo_id, token, **kwargs):
    text = open(hf_hub_download(repo_id, "README.md", token=token, **kwargs)).read()
    return yaml.safe_load(text.split("---")[1]), text


def test_push_and_load_pipeline_by_repo_id(hub, tmp_path):
    pipe = tiny_pipe()
    repo_id = hub.new_repo_id("dcgan")
    pipe.push_to_hub(repo_id, token=hub.token, datasets=["hfgan-test/emoji"])

    loaded = DCGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "fresh-cache")
    assert_same_weights(loaded.generator, pipe.generator)
    seed = torch.Generator().manual_seed(0)
    torch.testing.assert_close(
        loaded(num_images=3, generator=seed, output_type="pt").images,
        pipe(num_images=3, generator=torch.Generator().manual_seed(0), output_type="pt").images,
        rtol=0,
        atol=0,
    )
    files = set(hub.api.list_repo_files(repo_id))
    assert {"model_index.json", "README.md", "generator/config.json"} <= files
    assert "generator/diffusion_pytorch_model.safetensors" in files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)

    meta, text = card_metadata(repo_id, hub.token)
    assert meta["library_name"] == "hfgan"
    assert {"gan", "dcgan", "unconditional-image-generation"} <= set(meta["tags"])
    assert meta["license"] == "apache-2.0" and meta["datasets"] == ["hfgan-test/emoji"]
    assert f'DCGANPipeline.from_pretrained("{repo_id}")' in text
    assert hub.token not in text


def test_card_usage_snippet_runs(hub, tmp_path, monkeypatch):
    repo_id = hub.new_repo_id("snippet")
    tiny_pipe().push_to_hub(repo_id, token=hub.token)
    _, text = card_metadata(repo_id, hub.token)
    snippet = text.split("```python")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "model card usage", "exec"), {})  # noqa: S102 - our own card
    assert (tmp_path / "samples.png").is_file()


def test_push_and_load_models_by_repo_id(hub, tmp_path):
    generator = DCGANGenerator(latent_dim=8, base_channels=4, image_size=16)
    discriminator = DCGANDiscriminator(base_channels=4, image_size=16)
    g_repo, d_repo = hub.new_repo_id("gen"), hub.new_repo_id("disc")
    generator.push_to_hub(g_repo, token=hub.token)
    discriminator.push_to_hub(d_repo, token=hub.token)
    assert_same_weights(DCGANGenerator.from_pretrained(g_repo, cache_dir=tmp_path), generator)
    assert_same_weights(DCGANDiscriminator.from_pretrained(d_repo, cache_dir=tmp_path), discriminator)
    meta, _ = card_metadata(d_repo, hub.token)
    assert meta["library_name"] == "hfgan"


def test_component_of_a_pushed_pipeline_loads_by_subfolder(hub, tmp_path):
    pipe = tiny_pipe()
    repo_id = hub.new_repo_id("sub")
    pipe.push_to_hub(repo_id, token=hub.token)
    generator = DCGANGenerator.from_pretrained(repo_id, subfolder="generator", cache_dir=tmp_path)
    assert_same_weights(generator, pipe.generator)


def test_second_push_and_older_revision(hub, tmp_path):
    repo_id = hub.new_repo_id("revisions")
    first, second = tiny_pipe(seed=0), tiny_pipe(seed=1)
    commit_1 = first.push_to_hub(repo_id, token=hub.token)
    second.push_to_hub(repo_id, token=hub.token, commit_message="Second version")
    assert_same_weights(DCGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path).generator, second.generator)
    old = DCGANPipeline.from_pretrained(repo_id, revision=commit_1.oid, cache_dir=tmp_path)
    assert_same_weights(old.generator, first.generator)
    assert [c.title for c in hub.api.list_repo_commits(repo_id)][0] == "Second version"


def test_save_pretrained_push_to_hub_writes_the_hfgan_card(hub, tmp_path):
    repo_id = hub.new_repo_id("save-push")
    tiny_pipe().save_pretrained(tmp_path / "local", push_to_hub=True, repo_id=repo_id, token=hub.token)
    assert (tmp_path / "local" / "model_index.json").is_file()  # the local copy is kept
    meta, _ = card_metadata(repo_id, hub.token)
    assert meta["library_name"] == "hfgan"


def test_private_repo_needs_a_token(hub, tmp_path):
    repo_id = hub.new_repo_id("private")
    tiny_pipe().push_to_hub(repo_id, token=hub.token, private=True)
    assert hub.api.model_info(repo_id).private
    with pytest.raises(RepositoryNotFoundError):
        DCGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "anon", token=False)
    loaded = DCGANPipeline.from_pretrained(repo_id, cache_dir=tmp_path / "auth", token=hub.token)
    assert isinstance(loaded.generator, DCGANGenerator)


def test_wrong_token_is_refused_with_a_clear_error(hub):
    with pytest.raises(HfHubHTTPError) as error:
        tiny_pipe().push_to_hub(hub.new_repo_id("wrong"), token=hub.invalid_token)
    assert error.value.response.status_code == 401
    assert "token" in str(error.value).lower() or "401" in str(error.value)


def test_repo_with_only_pickled_weights_is_refused(hub, tmp_path):
    repo_id = hub.new_repo_id("pickles")
    model = DCGANGenerator(latent_dim=8, base_channels=4, image_size=16)
    model.save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "diffusion_pytorch_model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "m" / "diffusion_pytorch_model.bin")
    api = HfApi(token=hub.token)
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=tmp_path / "m")
    with pytest.raises(EnvironmentError, match="safetensors"):
        DCGANGenerator.from_pretrained(repo_id, cache_dir=tmp_path / "cache")
