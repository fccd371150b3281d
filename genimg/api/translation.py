"""Sketch to emoji: a line drawing in, a colour emoji out (pix2pix, genimg/families/pix2pix.py).

    genimg.translate("cat.png")                          # a 64x64 PIL image
    genimg.translate(drawing, category="Animals & Nature")
    genimg.sketch_of("photo.jpg")                         # the edges of any picture, as a drawing to translate

A drawing is read the way the training drawings were made: dark strokes on a light page (transparency is
paper), cropped to what is drawn, centred on a square page with a small margin and shrunk to 64x64.
"""
import numpy as np
import torch
from PIL import Image

from .. import photos, registry
from ..families.pix2pix import edge_strength
from .models import Model, load

INK_LEVEL = 60  # grey levels below paper that count as ink
MAX_INK_SHARE = 0.45  # a drawing leaves most of its page blank; a photo does not
MARGIN = 0.04  # of the page, around what is drawn: the emoji fill their canvas nearly to the edge


def translator(model=None) -> Model:
    """The sketch-to-emoji model: `model` (a name or a loaded Model), or the released one."""
    names = registry.releases("translator")
    if model is None:
        if not names:
            raise ValueError("No sketch-to-emoji model is released.")
        model = names[0]
    model = load(model)
    if model.kind != "translator":
        raise ValueError(f"{model.name} does not translate drawings; the models that do: {', '.join(names)}.")
    return model


def categories(model=None) -> list:
    """The category hints a translator knows (the emoji categories)."""
    return list(translator(model).classes)


def paper(image) -> Image.Image:
    """Any image (path, bytes, PIL, array) -> a PIL image on white: transparency becomes paper."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    image = photos.open_image(image, "The drawing", task="translate")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image


def drawing_ink(sketch, side: int = 64) -> torch.Tensor:
    """A drawing (path, PIL, array) -> ink (1, 1, side, side) in [0, 1], 1 = a line: dark strokes on a light page,
    cropped to what is drawn, centred on a square page with a margin, shrunk with area averaging.

    ValueError for a blank page, and for a picture that is not a line drawing (most of it dark or coloured: a
    photo), with what to do instead."""
    image = paper(sketch)
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    if np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])) < 128:
        gray = 255 - gray  # light strokes on a dark page: a drawing all the same
    ink = gray < 255 - INK_LEVEL
    if not ink.any():
        raise ValueError("The drawing is empty: draw an emoji's outline (a face, an animal, a flag...) first.")
    colourful = (rgb.max(-1) - rgb.min(-1)) > 60
    if ink.mean() > MAX_INK_SHARE or colourful.mean() > 0.25:
        raise ValueError(f"This looks like a photo or a painted picture ({100 * ink.mean():.0f} % of it is dark, "
                         f"{100 * colourful.mean():.0f} % coloured), not a line drawing. Draw the outlines, or turn "
                         f"the picture into a drawing of its edges first (genimg.sketch_of; the app's upload does it "
                         f"for you).")
    rows, cols = np.where(ink.any(1))[0], np.where(ink.any(0))[0]
    crop = 255 - gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    size = int(round(max(crop.shape) * (1 + 2 * MARGIN)))
    page = np.zeros((size, size), np.float32)
    top, left = (size - crop.shape[0]) // 2, (size - crop.shape[1]) // 2
    page[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
    small = torch.from_numpy(page)[None, None] / 255
    small = torch.nn.functional.interpolate(small, size=(side, side), mode="area") if size > side else \
        torch.nn.functional.interpolate(small, size=(side, side), mode="nearest")
    # A thin pen shrunk a lot leaves faint grey: bring its darkest strokes back to full ink.
    return (small / small.max().clamp_min(1e-6)).clamp(0, 1)


def ink_picture(ink: torch.Tensor) -> Image.Image:
    """Ink (H, W) in [0, 1] as black lines on white paper (grey, PIL)."""
    return Image.fromarray((255 - ink * 255).round().byte().cpu().numpy(), "L")


def drawing_as_read(sketch) -> Image.Image:
    """The drawing as the translator reads it: drawing_ink's 64x64 page, black on white (the same ValueErrors)."""
    return ink_picture(drawing_ink(sketch)[0, 0])


def translate(sketch, category: str | None = None, model=None) -> Image.Image:
    """A line drawing -> a 64x64 colour emoji (PIL). `category`: one of `categories()` to steer the colours, or
    None to let the drawing decide."""
    net = translator(model)
    names = categories(net)
    if category in (None, "", "Any"):
        label = None
    elif category in names:
        label = torch.tensor([names.index(category)])
    else:
        raise ValueError(f"Unknown category {category!r}; categories: {', '.join(names)} (or none).")
    ink = drawing_ink(sketch, net.module.side)
    with torch.no_grad():
        module = net.net()
        device = next(module.parameters()).device
        out = module(ink.to(device), None if label is None else label.to(device))
    array = out[0].permute(1, 2, 0).mul(255).round().clamp(0, 255).byte().cpu().numpy()
    return Image.fromarray(array, "RGB")


def sketch_of(picture, side: int = 64, ink_share: float = 0.12) -> Image.Image:
    """The edges of any picture as a drawing to translate: the picture fitted on a white square page, shrunk to
    side x side, and its thin colour edges drawn in black, as the training drawings were made; the threshold is
    chosen so that about `ink_share` of the page is ink."""
    image = paper(picture).convert("RGB")
    scale = side / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.LANCZOS)
    page = Image.new("RGB", (side, side), "white")
    page.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    x = torch.from_numpy(np.asarray(page, dtype=np.float32) / 255).permute(2, 0, 1)[None]
    strength = edge_strength(x)[0, 0]
    if strength.max() < 0.05:
        raise ValueError("The picture is flat (no edges to draw): upload a picture with shapes in it.")
    threshold = max(float(torch.quantile(strength.flatten(), 1 - ink_share)), 0.05)
    return ink_picture(((strength - threshold) / 0.1 + 0.5).clamp(0, 1))
