"""Exact likelihood under a normalizing flow: bits per dimension of any image, read as a 28x28 digit.

    genimg.log_likelihood("flow-mnist", ["digit.png"])   # -> [1.07]

Lower bits/dim means the model finds the image more likely. The card holds the test set's distribution
(measured by `python -m genimg.bench likelihood --update-cards`), so a number can be placed among the test
images'."""
import bisect

import numpy as np
import torch
from PIL import Image

from .. import photos, registry
from .models import Model, load

DEQUANTIZATION_SEED = 0  # fixed dequantization noise: the same image always gets the same number
MAX_IMAGES = 256


def likelihood_model(model) -> Model:
    model = load(model)
    if not hasattr(model.module, "bits_per_dim"):
        raise ValueError(f"{model.name} gives no exact likelihood; the models that do: "
                         f"{', '.join(likelihood_models())}.")
    return model


def likelihood_models() -> list:
    return [n for n in registry.releases("generator", "conditional-generator")
            if hasattr(registry.family_of(n).network, "bits_per_dim")]


def as_digit_image(image) -> Image.Image:
    """What the flows see of an image: the 28x28 grayscale picture of as_digit_bytes."""
    return Image.fromarray(as_digit_bytes(image).numpy(), "L")


def light_on_black(image: Image.Image) -> np.ndarray:
    """A drawing as float grey levels 0-255, light ink on black as MNIST: transparency becomes white paper, and a
    dark-on-light drawing (judged by its border) is inverted."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 255 - gray if np.median(border) > 127 else gray  # dark strokes on a light page


def as_digit_bytes(image) -> torch.Tensor:
    """An image (PIL, array or path) -> (28, 28) uint8, a light drawing on black as in MNIST.

    A 28x28 grayscale image is taken as it is. Anything else is read the way MNIST was made: transparency
    becomes white, dark-on-light drawings are inverted, the drawing is cropped to its bounding box, fitted into
    20x20 and centred by its centre of mass on the 28x28 canvas."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        image = Image.fromarray(image)
    image = photos.open_image(image, "The image", task="score")
    if image.mode == "L" and image.size == (28, 28):
        return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    gray = light_on_black(image)
    ink = gray > 30
    if not ink.any():
        raise ValueError("The image is blank: draw or upload a digit or a garment.")
    rows, cols = np.where(ink.any(1))[0], np.where(ink.any(0))[0]
    crop = Image.fromarray(gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.uint8))
    scale = 20 / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                       Image.Resampling.LANCZOS)
    small = np.asarray(crop, dtype=np.float32)
    total = small.sum()
    cy, cx = ((np.indices(small.shape) * small).reshape(2, -1).sum(1) / total) if total else (10, 10)
    top, left = int(round(14 - cy)), int(round(14 - cx))
    top, left = min(max(top, 0), 28 - small.shape[0]), min(max(left, 0), 28 - small.shape[1])
    canvas = np.zeros((28, 28), np.uint8)
    canvas[top:top + small.shape[0], left:left + small.shape[1]] = np.clip(small, 0, 255).astype(np.uint8)
    return torch.from_numpy(canvas)


@torch.no_grad()
def log_likelihood(model, images) -> list:
    """Bits per dimension of each image under a normalizing flow (lower = more likely to the model).

    images: one image or a list of them (PIL images, arrays or paths), read as as_digit_bytes describes."""
    model = likelihood_model(model)
    if images is None or (isinstance(images, (list, tuple)) and not images):
        raise ValueError("Give at least one image.")
    if not isinstance(images, (list, tuple)):
        images = [images]
    if len(images) > MAX_IMAGES:
        raise ValueError(f"At most {MAX_IMAGES} images at a time, not {len(images)}.")
    x = torch.stack([as_digit_bytes(im) for im in images])
    g = torch.Generator().manual_seed(DEQUANTIZATION_SEED)
    return [round(float(b), 4) for b in model.net().bits_per_dim(x, g)]


def test_percentile(model, bits: float) -> float | None:
    """The share of the model's own test images that the model finds less likely than `bits` (from the card's
    measured quantiles), or None when the bench has not measured them."""
    quantiles = load(model).card.get("metrics", {}).get("likelihood", {}).get("test_bpd_quantiles")
    if not quantiles:
        return None
    return 1 - bisect.bisect_left(quantiles, bits) / len(quantiles)
