"""The picture on top of each tab: an annotated example, made by the shipped models themselves, of what the tab
does, as a strip of panels joined by arrows (`python -m genimg.bench figures` writes docs/figures/<tab>.png)."""
import textwrap
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from .. import api, registry
from ..imaging import _font
from .common import ROOT

PANEL = 150  # panel side in pixels
GAP = 56  # room for an arrow between panels
CAPTION = 44


def box(text: str, colour=(235, 240, 250)) -> Image.Image:
    """A panel that stands for a network: its name in a rounded box."""
    image = Image.new("RGB", (PANEL, PANEL), "white")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([6, 30, PANEL - 6, PANEL - 30], radius=14, fill=colour, outline=(90, 100, 140), width=2)
    font = _font(15)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((PANEL - width) / 2, PANEL / 2 - 10 * len(lines) + 20 * i), line, fill=(20, 30, 60), font=font)
    return image


def code_strip(seed: int, length: int = 64) -> Image.Image:
    """Random numbers drawn as a grid of grey squares: what a seed turns into."""
    values = torch.randn(length, generator=torch.Generator().manual_seed(seed)).numpy()
    cells = np.clip(127 + 60 * values, 0, 255).astype(np.uint8).reshape(8, 8)
    return Image.fromarray(cells, "L").resize((PANEL - 20, PANEL - 20), Image.NEAREST)


def fit(image: Image.Image) -> Image.Image:
    image = image.convert("RGB")
    resample = Image.NEAREST if max(image.size) <= 64 else Image.LANCZOS
    scale = (PANEL - 10) / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), resample)


def strip(panels: list, plain_last: bool = False) -> Image.Image:
    """(image, caption) panels left to right, an arrow between neighbours (with plain_last, none before the last
    panel: it is shown for comparison, not made from the one before)."""
    width = len(panels) * PANEL + (len(panels) - 1) * GAP + 20
    canvas = Image.new("RGB", (width, PANEL + CAPTION + 10), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font(13)
    for i, (image, caption) in enumerate(panels):
        x = 10 + i * (PANEL + GAP)
        shown = image if image.size == (PANEL, PANEL) else fit(image)
        canvas.paste(shown, (x + (PANEL - shown.width) // 2, 5 + (PANEL - shown.height) // 2))
        for k, line in enumerate(caption.split("\n")):
            w = draw.textlength(line, font=font)
            draw.text((x + (PANEL - w) / 2, PANEL + 8 + 16 * k), line, fill="black", font=font)
        if i and not (plain_last and i == len(panels) - 1):
            y = 5 + PANEL // 2
            draw.line([x - GAP + 8, y, x - 10, y], fill=(90, 100, 140), width=3)
            draw.polygon([(x - 8, y), (x - 18, y - 7), (x - 18, y + 7)], fill=(90, 100, 140))
    return canvas


def generate_figure() -> Image.Image:
    name = registry.releases("conditional-generator", dataset="mnist")[0]
    image = api.generate(name, n=1, seed=3, label=7)[0]
    label, confidence = api.classify([image], "mnist")[0]
    return strip([(code_strip(3), "seed 3 ->\nrandom numbers"), (box("generator\n+ class 7"), "the network"),
                  (image, "a new drawing"), (box("classifier"), "a second network"),
                  (box(f"\"{label}\"\n{confidence:.0%} sure", (245, 245, 235)), "what it sees")])


def interpolate_figure() -> Image.Image:
    name = registry.releases("conditional-generator", dataset="fashion-mnist")[0]
    frames = api.interpolate(name, seed_a=1, seed_b=2, steps=5, label_a="Sneaker", label_b="Ankle boot")
    captions = ["code A (sneaker)", "1/4 of the way", "halfway", "3/4 of the way", "code B (ankle boot)"]
    return strip(list(zip(frames, captions)))


def likelihood_figure() -> Image.Image:
    name = api.likelihood_models()[0]
    page = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(page).line([(150, 40), (120, 240)], fill="black", width=22)
    seen = api.as_digit_image(page)
    bits = api.log_likelihood(name, [seen])[0]
    return strip([(page, "your drawing"), (seen, "what the flow sees\n(28x28, like MNIST)"),
                  (box("flow f\n(invertible)"), "the network"), (code_strip(0), "its code z"),
                  (box(f"{bits:.2f} bits\nper pixel", (245, 245, 235)), "how likely\n(lower = more)")])


def text_figures() -> dict:
    """Text to image (sentence, text encoder, U-Net, scene) and back (scene, captioner, attention, caption)."""
    prompt = api.EXAMPLE_PROMPTS[0]
    [scene], _ = api.text_to_image(prompt, n=1, seed=0)
    text, attention = api.caption(scene)
    item_words = {word for item in api.SCENE_ITEMS for word in item.split()}
    looked = ([(word, weights) for word, weights in attention if word in item_words] + attention)[:2]
    first, second = (api.attention_strip(scene, [pair], scale=4) for pair in looked)
    wrap = lambda text: "\n".join(textwrap.wrap(f'"{text}"', 16))  # noqa: E731
    return {"text_to_image": strip([(box(wrap(prompt), (245, 245, 235)), "your words"),
                                    (box("text encoder\n(transformer)"), "words to vectors"),
                                    (box("U-Net\n(20 steps from\nnoise)"), "listens to the\nwords at each place"),
                                    (scene, "the scene")]),
            "captioning": strip([(scene, "a scene"), (box("captioner\n(CNN + GRU)"), "looks, then writes"),
                                 (first, f"looking for\n\"{looked[0][0]}\""),
                                 (second, f"looking for\n\"{looked[1][0]}\""),
                                 (box(wrap(text), (245, 245, 235)), "its caption")])}


def sketch_figure() -> Image.Image:
    from .translate import hand_drawn_smiley
    drawing = Image.alpha_composite(Image.new("RGBA", (256, 256), "white"), hand_drawn_smiley())
    return strip([(drawing, "your drawing"), (api.drawing_as_read(drawing), "what it reads\n(64x64)"),
                  (box("U-Net\n(pix2pix)"), "paints inside\nthe lines"),
                  (api.translate(drawing).resize((PANEL - 10, PANEL - 10), Image.LANCZOS), "an emoji")])


def photo_figures() -> dict:
    photo = api.load_image(ROOT / "examples" / "chelsea.png").convert("RGB")
    crop = photo.crop((photo.width // 2 - 64, photo.height // 2 - 64, photo.width // 2 + 64, photo.height // 2 + 64))
    small = crop.resize((32, 32), Image.BICUBIC)
    figures = {"upscale": strip([(small.resize((PANEL - 10, PANEL - 10), Image.NEAREST), "a small photo\n(32x32)"),
                                 (box("network"), "learned sharpening"),
                                 (api.upscale(small, 4, "fast"), "x4 (128x128)"),
                                 (api.upscale_bicubic(small, 4), "plain resizing,\nfor comparison")],
                                plain_last=True)}
    mask = np.zeros((photo.height, photo.width), np.uint8)
    mask[photo.height // 2 - 30:photo.height // 2 + 30, photo.width // 2 - 60:photo.width // 2 + 60] = 255
    holed = np.asarray(photo).copy()
    holed[mask > 0] = 255
    figures["inpaint"] = strip([(photo, "a photo"), (Image.fromarray(holed), "painted over"),
                                (box("network"), "fills from\nthe surroundings"),
                                (api.inpaint(photo, mask), "filled")])
    style = api.styles()[0]
    figures["style"] = strip([(photo, "a photo"), (box(f"network\n({style['name']})"), "one network,\nsix paintings"),
                              (api.stylize(photo, style["name"]), f"in the manner of\n{style['artist']}")])
    return figures


def figures(out: str | Path | None = None) -> dict:
    """Write each tab's picture into `out` (default docs/figures); returns {tab: path}."""
    folder = Path(out or ROOT / "docs" / "figures")
    folder.mkdir(parents=True, exist_ok=True)
    made = {"generate": generate_figure(), "interpolate": interpolate_figure(), "likelihood": likelihood_figure(),
            **text_figures(), "sketch": sketch_figure(), **photo_figures()}
    paths = {}
    for tab, image in made.items():
        paths[tab] = folder / f"{tab}.png"
        image.save(paths[tab], optimize=True)
        print(f"{paths[tab]}: {image.width}x{image.height}")
    return paths
