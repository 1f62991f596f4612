"""Image classification with a DCGAN discriminator-classifier; transformers' pipeline loads the same folder."""

from __future__ import annotations

import functools

import torch
from diffusers import DiffusionPipeline

from ..integrations.transformers import image_processor, save_transformers_files
from ..models import DCGANDiscriminator
from .image_processor import image_inputs
from .pipeline_utils import HfGanPipeline


class DiscriminatorClassifierPipeline(HfGanPipeline):
    r"""
    Pipeline for image classification with a [`DCGANDiscriminator`] that has classes (`num_classes`): the softmax of
    its class logits.

    It returns what transformers' image-classification pipeline returns, and `save_pretrained` (and so
    `push_to_hub`) writes, beside `model_index.json` and `discriminator/`, the files transformers reads
    (`config.json`, `model.safetensors`, `preprocessor_config.json`): after `import hfgan`,
    `transformers.pipeline("image-classification", model=folder_or_repo_id)` loads the same classifier and gives the
    same labels and scores. Both resize with transformers' default (torchvision) image processor.

    This class inherits from [`HfGanPipeline`] and so from diffusers' [`DiffusionPipeline`] (saving, loading by folder
    or Hub repo id, `.to(device)`, progress bars); `push_to_hub` writes an hfgan model card.

    Parameters:
        discriminator ([`DCGANDiscriminator`]): a discriminator-classifier (`num_classes` set) of RGB images
            (`num_channels=3`); its `id2label` names the classes.
    """

    model_cpu_offload_seq = "discriminator"
    _hub_tags = ["dcgan"]
    _card_task = "image-classification"

    def __init__(self, discriminator: DCGANDiscriminator):
        super().__init__()
        problem = self.incompatibility(discriminator)
        if problem is not None:
            raise ValueError(problem)
        self.register_modules(discriminator=discriminator)

    @classmethod
    def incompatibility(cls, model: DCGANDiscriminator) -> str | None:
        if model.config.num_classes is None:
            return (
                f"{cls.__name__} needs a discriminator-classifier, but this DCGANDiscriminator has no classes "
                "(num_classes=None): it only tells real from generated images"
            )
        if model.config.num_channels != 3:
            return (
                f"{cls.__name__} classifies RGB images, as transformers' image processors give them; this "
                f"discriminator takes num_channels={model.config.num_channels}"
            )
        return None

    @functools.wraps(DiffusionPipeline.save_pretrained)  # diffusers' signature and arguments
    def save_pretrained(self, save_directory, *args, **kwargs):
        # diffusers' folder (model_index.json, discriminator/), then transformers' files beside it; push_to_hub saves
        # through this method too, so a pushed repo has both
        result = super().save_pretrained(save_directory, *args, **kwargs)
        save_transformers_files(self.discriminator, save_directory)
        return result

    @torch.no_grad()
    def __call__(self, images, top_k: int | None = 5, max_batch_size: int = 256) -> list[dict] | list[list[dict]]:
        r"""
        Classify images.

        Args:
            images (`PIL.Image.Image`, `np.ndarray`, `torch.Tensor`, or a list of them):
                One image or several. A PIL image of any mode is converted to RGB with PIL (as transformers does: an
                alpha channel is dropped, so composite transparent images on white first, as hfgan's datasets do
                with `hfgan.data.images.to_rgb`); a numpy array is `(H, W)` or `(H, W, C)` (or a batch `(N, H, W, C)`) and
                a tensor `(C, H, W)` (or a batch `(N, C, H, W)`), with C = 1 (grayscale), 3 (RGB) or 4 (RGBA,
                composited on white, as transformers does for arrays), uint8 in 0-255 or floats in [0, 1]. Every
                image is resized to the discriminator's `image_size` (bilinear with antialiasing, aspect ratio not
                kept), as transformers' image processor does.
            top_k (`int`, *optional*, defaults to 5):
                How many labels to return per image, best first; more than there are classes gives all of them, and
                so does None.
            max_batch_size (`int`, defaults to 256):
                Largest chunk sent through the discriminator at once; bounds memory for many images.

        Example:

        ```py
        >>> import PIL.Image
        >>> from hfgan import DCGANDiscriminator, DiscriminatorClassifierPipeline

        >>> labels = ["cat", "dog", "fox"]
        >>> discriminator = DCGANDiscriminator(base_channels=8, image_size=16, num_classes=3, id2label=labels)
        >>> pipe = DiscriminatorClassifierPipeline(discriminator=discriminator)
        >>> # pipe = DiscriminatorClassifierPipeline.from_pretrained("user/dcgan-emoji-classifier")  # a trained one
        >>> predictions = pipe(PIL.Image.new("RGB", (40, 30), "white"), top_k=2)  # one image: a list of dicts
        >>> len(predictions), sorted(predictions[0]), predictions[0]["score"] >= predictions[1]["score"]
        (2, ['label', 'score'], True)
        >>> len(pipe([PIL.Image.new("L", (16, 16)), PIL.Image.new("RGBA", (8, 8))]))  # a list: one list per image
        2
        ```

        Returns:
            `list[dict]` for one image, `list[list[dict]]` for a list or batch of images (as transformers'
            image-classification pipeline): `{"label": str, "score": float}` dicts, by descending score (the
            softmax of the class logits).
        """
        # 0. Check the request
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
        self.check_max_batch_size(max_batch_size)
        pixels, single = image_inputs(images)
        labels = self.discriminator.labels
        processor = image_processor(self.discriminator.config.image_size)
        device, dtype = self._execution_device, self.discriminator.dtype

        # 1. Resize and scale to [-1, 1] as transformers' processor does, and classify in chunks, in eval mode
        scores = []
        with self.eval_mode():
            for start, stop in self.chunks(len(pixels), max_batch_size):
                pixel_values = preprocess(processor, pixels[start:stop]).to(device=device, dtype=dtype)
                scores += self.discriminator(pixel_values).class_logits.float().softmax(dim=-1).tolist()

        self.maybe_free_model_hooks()

        # 2. Labels by descending score
        predictions = [top_labels(labels, row, top_k) for row in scores]
        return predictions[0] if single else predictions


def top_labels(labels: list[str], scores: list[float], top_k: int | None) -> list[dict]:
    """`{"label", "score"}` dicts by descending score, `top_k` of them (all for None); a stable sort, so ties keep
    the class order, as in transformers' pipeline."""
    predictions = [{"label": label, "score": score} for label, score in zip(labels, scores)]
    return sorted(predictions, key=lambda p: p["score"], reverse=True)[:top_k]


def preprocess(processor, images: list[torch.Tensor]) -> torch.Tensor:
    """Images `(C, H, W)` (uint8 in 0-255 or floats in [0, 1]) as the processor's `pixel_values` `(N, 3, S, S)`.

    uint8 images go through the processor as transformers' pipeline sends them (resized as uint8, then rescaled);
    float ones are already in [0, 1], so the processor does not rescale them.
    """
    pixel_values: list[torch.Tensor | None] = [None] * len(images)
    for is_uint8 in (True, False):
        indices = [i for i, image in enumerate(images) if (image.dtype == torch.uint8) == is_uint8]
        if not indices:
            continue
        values = processor(
            [images[i] for i in indices], do_rescale=is_uint8, input_data_format="channels_first", return_tensors="pt"
        ).pixel_values
        for i, value in zip(indices, values):
            pixel_values[i] = value
    return torch.stack(pixel_values)
