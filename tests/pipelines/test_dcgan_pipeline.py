import numpy as np
import PIL.Image
import pytest
import torch
from diffusers import ImagePipelineOutput

from hfgan import DCGANGenerator, DCGANPipeline
from hfgan.utils import make_image_grid


@pytest.fixture
def pipe():
    torch.manual_seed(0)
    pipe = DCGANPipeline(generator=DCGANGenerator(latent_dim=8, base_channels=4, image_size=16))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def test_output_types(pipe):
    pil = pipe(num_images=3, generator=seeded()).images
    assert len(pil) == 3 and all(isinstance(im, PIL.Image.Image) and im.size == (16, 16) for im in pil)
    arr = pipe(num_images=3, generator=seeded(), output_type="np").images
    assert isinstance(arr, np.ndarray) and arr.shape == (3, 16, 16, 3) and 0 <= arr.min() and arr.max() <= 1
    pt = pipe(num_images=3, generator=seeded(), output_type="pt").images
    assert isinstance(pt, torch.Tensor) and pt.shape == (3, 3, 16, 16)
    np.testing.assert_allclose(pt.permute(0, 2, 3, 1).numpy(), arr)
    np.testing.assert_array_equal(np.asarray(pil[0]), (arr[0] * 255).round().astype(np.uint8))


def test_return_dict(pipe):
    assert isinstance(pipe(num_images=2), ImagePipelineOutput)
    out = pipe(num_images=2, return_dict=False)
    assert isinstance(out, tuple) and len(out) == 1 and len(out[0]) == 2


def test_seeded_determinism_and_chunking(pipe):
    a = pipe(num_images=10, generator=seeded(3), output_type="pt").images
    b = pipe(num_images=10, generator=seeded(3), output_type="pt", max_batch_size=3).images
    c = pipe(num_images=10, generator=seeded(4), output_type="pt").images
    torch.testing.assert_close(a, b)  # same images whatever the chunking
    assert not torch.allclose(a, c)


def test_samples_in_eval_mode_without_changing_training_state(pipe):
    pipe.generator.train()
    alone = pipe(num_images=4, generator=seeded(1), output_type="pt").images
    with_mates = pipe(num_images=8, generator=seeded(1), output_type="pt").images[:4]
    # In train mode, BatchNorm would normalise over the batch and the first 4 images would change
    torch.testing.assert_close(alone, with_mates)
    assert pipe.generator.training


def test_batch_size_alias_and_latents(pipe):
    assert len(pipe(batch_size=5).images) == 5
    latents = torch.randn(4, 8, generator=seeded(2))
    from_latents = pipe(latents=latents, output_type="pt").images
    expected = (pipe.generator.eval()(latents).sample / 2 + 0.5).clamp(0, 1)
    torch.testing.assert_close(from_latents, expected)
    with pytest.raises(ValueError, match="disagree"):
        pipe(num_images=3, batch_size=4)
    with pytest.raises(ValueError, match="latents"):
        pipe(num_images=3, latents=latents)


@pytest.mark.parametrize("shape", [(4, 7), (4, 8, 1, 1), (8,)])
def test_wrong_latent_shape(pipe, shape):
    with pytest.raises(ValueError, match="latents must have shape"):
        pipe(latents=torch.randn(*shape))


def test_unknown_output_type_lists_allowed(pipe):
    with pytest.raises(ValueError, match="'pil', 'np', 'pt'"):
        pipe(num_images=1, output_type="latent")


@pytest.mark.parametrize("kwargs", [dict(num_images=0), dict(num_images=2.0), dict(max_batch_size=0)])
def test_bad_counts(pipe, kwargs):
    with pytest.raises(ValueError):
        pipe(**kwargs)


def test_save_load_round_trip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    assert (tmp_path / "model_index.json").is_file()
    assert (tmp_path / "generator" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = DCGANPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert isinstance(loaded.generator, DCGANGenerator)
    torch.testing.assert_close(
        loaded(num_images=4, generator=seeded(), output_type="pt").images,
        pipe(num_images=4, generator=seeded(), output_type="pt").images,
        rtol=0,
        atol=0,
    )


def test_from_pretrained_dtype_and_device(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    loaded = DCGANPipeline.from_pretrained(tmp_path, torch_dtype=torch.float64).to("cpu")
    assert loaded.generator.dtype == torch.float64
    assert loaded(num_images=2, output_type="pt").images.dtype == torch.float32  # outputs are float in [0, 1]


def test_from_pretrained_errors(pipe, tmp_path):
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        DCGANPipeline.from_pretrained(tmp_path)
    pipe.save_pretrained(tmp_path)
    (tmp_path / "generator" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="diffusion_pytorch_model.safetensors"):
        DCGANPipeline.from_pretrained(tmp_path)


def test_make_image_grid(pipe):
    images = pipe(num_images=16).images
    grid = make_image_grid(images, rows=4, cols=4)
    assert grid.size == (64, 64)
    # the tile at row 1, column 2 is image 6
    np.testing.assert_array_equal(np.asarray(grid)[16:32, 32:48], np.asarray(images[6]))
    assert make_image_grid(pipe(num_images=5, output_type="pt").images).size == (48, 32)  # 3 columns, 2 rows
    assert make_image_grid(images, padding=2).size == (4 * 16 + 6, 4 * 16 + 6)
    with pytest.raises(ValueError, match="cannot hold"):
        make_image_grid(images, rows=2, cols=2)
