"""Screenshots of each tab of the web demo in headless Chromium (Debian's package), for docs/demo.md.

    python docs/make_demo_screenshots.py                      # the zoo -> docs/images/demo_*.png
    python docs/make_demo_screenshots.py --models zoo --out /tmp/shots --classify-image cat.png --invert-image room.png

Serves the demo on a free local port, opens it in Chromium through playwright (no browser download: it drives
`--chromium`), and in each tab does what a visitor would: sample a grid; upload an image and classify it; make a
BlobGAN scene and move its largest blob; upload a scene, invert it and remove a blob; with a StyleGAN release,
upload a photo, invert it and move it along its first edit direction. Then saves a screenshot of the tab. By default the uploads are the first test images of the shipped emoji set and of the emoji scenes.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [  # as root, offline: no sandbox, no GPU, no calls home (they are refused here, many at a time)
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 120_000  # a slow CPU inverting with refinement


def first_image(parquet: Path, out: Path) -> Path:
    """The first image of one split's parquet file, written as a PNG."""
    from hfgan.data import load_image_dataset
    from hfgan.pipelines.image_processor import to_pil_images

    dataset = load_image_dataset(str(parquet), split="train")  # a single parquet file is one split, named train
    to_pil_images(dataset.uint8([0]).float() / 255)[0].save(out)
    return out


def shoot(url: str, out: Path, classify_image: Path, invert_image: Path, chromium: str) -> dict[str, Path]:
    """Drive each tab as a visitor would and screenshot it; returns the PNG of each tab."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)

        def panel():
            return page.locator("[role=tabpanel]:visible")

        def wait_for_images(count: int) -> None:
            """Until the visible tab shows `count` rendered images and nothing is running."""
            page.wait_for_function(
                """count => {
                    const panel = [...document.querySelectorAll('[role=tabpanel]')].find(p => p.offsetParent);
                    const images = [...panel.querySelectorAll('img')].filter(i => i.complete && i.naturalWidth > 0
                                                                                 && i.src.includes('file'));
                    return images.length >= count && !document.querySelector('.eta-bar, .progress-text');
                }""",
                arg=count,
            )

        def tab(name: str) -> None:
            page.get_by_role("tab", name=name).click()
            page.wait_for_timeout(300)

        def snap(name: str) -> None:
            shots[name] = out / f"demo_{name}.png"
            page.screenshot(path=shots[name], full_page=True)

        tab("Sample")
        panel().get_by_role("button", name="Sample", exact=True).click()
        wait_for_images(1)
        snap("sample")

        tab("Classify")
        panel().locator("input[type=file]").set_input_files(str(classify_image))
        wait_for_images(1)  # the preview
        panel().get_by_role("button", name="Classify").click()
        panel().locator(".confidence-set, [data-testid=label-output-value]").first.wait_for()
        snap("classify")

        tab("Blobs")
        panel().get_by_role("button", name="New scene").click()
        wait_for_images(2)
        panel().get_by_role("button", name="Apply edit").click()  # the default edit: move blob 0 right
        page.wait_for_timeout(1000)
        wait_for_images(2)
        snap("blobs")

        tab("Invert and edit")
        panel().locator("input[type=file]").set_input_files(str(invert_image))
        wait_for_images(1)
        panel().get_by_role("button", name="Invert").click()
        wait_for_images(3)
        snap("invert")

        tab("Edit a photo")
        if not panel().get_by_text("No StyleGAN release is loaded").count():  # the zoo may have none yet
            panel().locator("input[type=file]").set_input_files(str(invert_image))
            wait_for_images(1)
            panel().get_by_role("button", name="Invert").click()
            wait_for_images(2)
            panel().locator("input[type=number]").nth(1).fill("4")  # the first direction's slider (after the steps)
            panel().get_by_role("button", name="Apply the sliders").click()
            wait_for_images(3)
            snap("photo")
        browser.close()
    return shots


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[str(ROOT / "zoo")], help="as hfgan demo takes them")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--classify-image", help="default: the first test image of the shipped emoji set")
    parser.add_argument("--invert-image", help="default: the first test scene (hfgan prepare-scenes makes them)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Debian's package: apt-get install chromium")
    args = parser.parse_args()

    from hfgan.demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        classify_image = Path(args.classify_image or first_image(ROOT / "data/emoji/emoji-64-test.parquet",
                                                                 tmp / "emoji.png"))
        invert_image = Path(args.invert_image or first_image(ROOT / "data/scenes/scenes-64-test.parquet",
                                                             tmp / "scene.png"))
        demo = build_demo(args.models)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            shots = shoot(f"http://127.0.0.1:{port}/", Path(args.out), classify_image, invert_image, args.chromium)
        finally:
            demo.close()
    for name, path in shots.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
