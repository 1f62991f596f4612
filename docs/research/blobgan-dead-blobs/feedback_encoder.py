"""An encoder that sees its own reconstruction (ReStyle's idea, Alaluf et al. 2021), against the same encoder trained
on for the same time: does feedback fit real scenes better than one more hour of the single pass?

    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/feedback_encoder.py OUT --iterations 2 \
        [--release zoo/blobgan-emoji-scenes-inversion] [--minutes 60] > out.json
    OMP_NUM_THREADS=1 python docs/research/blobgan-dead-blobs/feedback_encoder.py OUT --iterations 0 ...  # control

The release's encoder E answers beta_0 = E(x). With `--iterations T > 0`, a second network F (E's architecture with
six input channels: the image and the current reconstruction) corrects it T times,

    beta_{t+1} = beta_t + F(x, G(beta_t)),    t = 0 .. T-1

F starts as E's backbone (the reconstruction's input weights zero) with a zero head, so at step 0 every beta_t is E's
answer; E is frozen and only F trains, on train_inversion.py's loss at every t >= 1 (emoji-cnn-distance + L2 on the
real and the generated half, + 10 x the latent L2 on the generated half; G(beta_t) is not differentiated into the
next pass, ReStyle's way). With `--iterations 0` E itself trains on that loss (the control: the zoo encoder's
recipe, continued). Both: batch 16 + 16, Adam lr 1e-3 (0.9, 0.99), `--minutes` of wall time.

Printed: PSNR on the first 256 held-out scenes every `--every` steps (with T passes, and E's alone), then at the end
evaluate_inversion's numbers (PSNR, objects hit, visible blobs, reconstruction FD) on the emoji and icons test sets
for 0 .. T + 2 passes, and carry_rate.py's editability on the first 64 emoji scenes at T passes. F's weights go to
OUT/feedback.safetensors (E's, for the control, to OUT/encoder.safetensors).
"""
import argparse
import json
import math
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

torch.set_num_threads(1)
from hfgan import BlobGANEncoder, BlobGANPipeline  # noqa: E402
from hfgan.losses import inversion_loss  # noqa: E402
from hfgan.metrics import load_backbone  # noqa: E402
from hfgan.metrics.inversion import evaluate_inversion, psnr, scenes_with_boxes  # noqa: E402
from hfgan.models.blobgan.encoder import BlobGANEncoderOutput  # noqa: E402
from hfgan.models.layers.stylegan2 import EqualConv2d, EqualLinear, ResidualBackbone  # noqa: E402
from hfgan.perceptual import perceptual_distance  # noqa: E402
from carry_rate import carry_stats  # noqa: E402  (this folder)

SCENES = {"emoji": "data/scenes/scenes-64-test.parquet", "icons": "data/icons/scenes-64-test.parquet"}


class FeedbackEncoder(BlobGANEncoder):
    """E (this class's own backbone and head, the release's weights) followed by `iterations` passes of F; a
    BlobGANEncoder to the pipeline, so pipe.invert and evaluate_inversion run it as they run any encoder."""

    def __init__(self, encoder: BlobGANEncoder, generator, iterations: int):
        super().__init__(**{k: v for k, v in encoder.config.items() if not k.startswith("_")})
        self.load_state_dict(encoder.state_dict())
        c = self.config
        self.feedback = ResidualBackbone(c.image_size, c.channel_base, c.channel_max, c.mbstd_group_size)
        self.feedback.load_state_dict(self.backbone.state_dict())
        from_rgb = EqualConv2d(6, self.feedback.from_rgb.weight.shape[0], 1)
        with torch.no_grad():  # the image's weights as E's (the equalised scale is 1/sqrt(6) now), the rest zero
            from_rgb.weight.zero_()[:, :3] = self.backbone.from_rgb.weight * math.sqrt(6 / 3)
            from_rgb.bias.copy_(self.backbone.from_rgb.bias)
        self.feedback.from_rgb = from_rgb
        self.feedback_head = EqualLinear(self.backbone.out_features, self.raw_dim, weight_init=0.0)
        self.render = lambda raw: generator(self.decode(raw), noise_mode="const").sample  # not a submodule
        self.iterations = iterations

    def answers(self, images: torch.Tensor, iterations: int, train_first: bool = False) -> list[torch.Tensor]:
        """[beta_0, ..., beta_iterations] for images (B, 3, S, S) in [-1, 1]; each pass's gradient stays its own."""
        with torch.set_grad_enabled(train_first and torch.is_grad_enabled()):
            raws = [self.head(self.backbone(images))]  # (B, raw_dim)
        for _ in range(iterations):
            with torch.no_grad():
                reconstruction = self.render(raws[-1])  # (B, 3, S, S)
            delta = self.feedback_head(self.feedback(torch.cat([images, reconstruction], 1)))
            raws.append(raws[-1].detach() + delta)
        return raws

    def forward(self, images: torch.Tensor, return_dict: bool = True):
        raw = self.answers(images, self.iterations)[-1]
        layout = self.decode(raw)
        return BlobGANEncoderOutput(raw=raw, layout=layout) if return_dict else (raw, layout)


@torch.no_grad()
def draw_fakes(net, gen, b: int, draws: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The recipe's generated half: raw layouts beta_fake (b, raw_dim) at truncation psi ~ U[0.5, 1], one psi per
    image, and their renderings (b, 3, S, S) with the generator's fixed noise."""
    z = torch.randn(b, net.config.latent_dim, generator=draws)
    psi = 0.5 + 0.5 * torch.rand(b, generator=draws)
    beta_fake = net.truncate(net.raw(z), psi)
    return beta_fake, gen(net.decode(beta_fake), noise_mode="const").sample


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--release", default="zoo/blobgan-emoji-scenes-inversion")
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-eval", type=int, default=1000, help="test scenes per set at the end")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = BlobGANPipeline.from_pretrained(args.release)
    pipe.set_progress_bar_config(disable=True)
    net, gen = pipe.layout_net.eval().requires_grad_(False), pipe.generator.eval().requires_grad_(False)
    encoder = FeedbackEncoder(pipe.encoder, gen, args.iterations)
    pipe.encoder = encoder
    trained = encoder.parameters() if args.iterations == 0 else [
        *encoder.feedback.parameters(), *encoder.feedback_head.parameters()]
    optimizer = torch.optim.Adam(trained, lr=args.lr, betas=(0.9, 0.99))  # train_inversion.py's
    perceptual = perceptual_distance("emoji-cnn-distance")
    size = gen.config.image_size
    train = scenes_with_boxes("data/scenes/scenes-64-train.parquet", image_size=size)[0]  # uint8 (N, 3, S, S)
    probe = scenes_with_boxes(SCENES["emoji"], image_size=size)[0][:256].float() / 127.5 - 1
    draws = torch.Generator().manual_seed(args.seed)
    b = 16

    def probe_psnr(iterations: int) -> float:
        with torch.no_grad():
            raw = encoder.answers(probe, iterations)[-1]
            return psnr((encoder.render(raw).clamp(-1, 1) + 1) / 2, (probe + 1) / 2).mean().item()

    curve = [{"step": 0, "minutes": 0.0, "psnr": probe_psnr(args.iterations), "psnr_first_pass": probe_psnr(0)}]
    start, step = time.time(), 0
    encoder.train()
    while time.time() - start < args.minutes * 60:
        real = train[torch.randint(len(train), (b,), generator=draws)].float() / 127.5 - 1  # (B, 3, S, S)
        beta_fake, fake = draw_fakes(net, gen, b, draws)
        images = torch.cat([real, fake])
        raws = encoder.answers(images, args.iterations, train_first=args.iterations == 0)
        losses = []
        for raw in raws[1:] if args.iterations else raws:
            reconstruction = encoder.render(raw)
            losses.append(inversion_loss(real, reconstruction[:b], fake, reconstruction[b:], beta_fake, raw[b:],
                                         perceptual)["loss"])
        loss = torch.stack(losses).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.every == 0:
            encoder.eval()
            curve.append({"step": step, "minutes": round((time.time() - start) / 60, 2),
                          "psnr": probe_psnr(args.iterations), "psnr_first_pass": probe_psnr(0)})
            encoder.train()
            print(json.dumps(curve[-1]), flush=True)
    encoder.eval()
    weights = encoder.state_dict() if args.iterations == 0 else {
        **{f"feedback.{k}": v for k, v in encoder.feedback.state_dict().items()},
        **{f"feedback_head.{k}": v for k, v in encoder.feedback_head.state_dict().items()}}
    save_file({k: v.contiguous() for k, v in weights.items()},
              out / ("encoder.safetensors" if args.iterations == 0 else "feedback.safetensors"))

    backbone = load_backbone("emoji-cnn")
    results = []
    for name, scenes in SCENES.items():
        images, boxes = scenes_with_boxes(scenes, image_size=size)
        for iterations in range(0, args.iterations + 3 if args.iterations else 1):
            encoder.iterations = iterations
            numbers = evaluate_inversion(pipe, images[: args.num_eval], boxes[: args.num_eval], backbone=backbone)
            results.append({"scenes": name, "passes": iterations, **numbers})
    encoder.iterations = args.iterations
    first = scenes_with_boxes(SCENES["emoji"], image_size=size)[0][: min(64, args.num_eval)].float() / 255
    layout = pipe.invert(first, output_type="pt").layouts
    print(json.dumps({"release": args.release, "iterations": args.iterations, "minutes": args.minutes,
                      "steps": step, "curve": curve, "results": results,
                      "carry_64_emoji": carry_stats(gen, layout)}, indent=1))


if __name__ == "__main__":
    main()
