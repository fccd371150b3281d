"""Upscaling: photos made x2 or x4 larger by the super-resolution networks, bicubic beside them, and the
paper protocol's measurement (shrink, restore, compare)."""
from PIL import Image

from .. import photos, registry
from ..families.sr import upscaling
from .models import Model, load


def upscaler(model: str | None = None) -> Model:
    """A super-resolution model by short name ('quality', 'fast') or checkpoint name; None: the first released
    one that loads (the quality network, then the fast one)."""
    short = upscaler_names()
    if model is None:
        errors = []
        for name in short.values():
            try:
                return upscaler(name)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("No upscaling model is available: " + " ".join(errors))
    model = load(short.get(model, model) if isinstance(model, str) else model)
    if model.kind != "upscaler":
        raise ValueError(f"{model.name} is a {model.kind}, not an upscaling model; use {' or '.join(map(repr, short))}.")
    return model


def upscaler_names() -> dict:
    """{short name: checkpoint} of the released upscalers in RELEASES order (the default first)."""
    return {registry.family_of(name).short_name: name for name in registry.releases("upscaler")}


def upscale_factor(scale, model: Model | None = None) -> int:
    """2 or 4 (ints, integral floats, '4' or 'x4'); a clear ValueError otherwise."""
    text = str(scale).strip().lower().lstrip("x") if isinstance(scale, str) else scale
    scales = model.module.scales if model is not None else (2, 4)
    try:
        number = float(text)
    except (TypeError, ValueError):
        number = None
    if number is None or number not in scales:
        raise ValueError(f"scale must be {' or '.join(str(s) for s in scales)}, got {scale!r}.")
    return int(number)


def load_image(source, task: str = "upscale") -> Image.Image:
    """Open an image file (path, bytes or PIL image) as upscale() does: one still frame, EXIF orientation
    applied, a clear ValueError for anything else (not an image, truncated, animated, too large); `task` names
    what the image is for in those messages ("upscale", "inpaint", ...)."""
    return photos.open_image(source, task=task)


def check_image_file(source) -> None:
    """load_image's checks that need no decoding (file size, format, pixel count, frames), with its messages, for
    a path or bytes: the app runs them on every upload before gradio decodes it."""
    photos.check_header(source)


def upscale(image: Image.Image, scale: int, model: str | None = None) -> Image.Image:
    """`image` made `scale` (2 or 4) times larger by a super-resolution network: exactly (width*scale, height*scale).

    model: 'quality' (the default when shipped), 'fast', or a checkpoint name. Also takes a path or bytes.
    Any size runs in bounded memory (overlapping tiles); the output is capped at 64 megapixels. Alpha is
    kept (upscaled with bicubic); grayscale stays grayscale (L/LA), palette and CMYK come back RGB(A), 16-bit
    comes back 8-bit; a photo's EXIF orientation is applied first (width and height are as displayed).
    ValueError with a readable message for anything that is not a single still image of a sane size.
    """
    model = upscaler(model)
    scale = upscale_factor(scale, model)
    return upscaling.upscale_image(model.net(), photos.open_image(image), scale)


def upscale_bicubic(image: Image.Image, scale: int) -> Image.Image:
    """The baseline: MATLAB-compatible bicubic resizing, with upscale()'s size, checks and channel handling."""
    return upscaling.upscale_image(None, photos.open_image(image), upscale_factor(scale))


def measure_upscale(image: Image.Image, scale: int, model: str | None = None) -> dict:
    """How well bicubic and the model restore `image` after it is shrunk `scale` times (the paper protocol).

    Returns {"bicubic": {"psnr", "ssim"}, "model": {...}, "model_name": str, "images": {"original", "low",
    "bicubic", "model"}} with the images as RGB PIL images (the original mod-cropped to a multiple of scale).
    """
    model = upscaler(model)
    scale = upscale_factor(scale, model)
    image = photos.open_image(image)
    upscaling.check_output_size(*image.size, 1)
    rgb, _, _ = photos.split_channels(image)
    result = upscaling.measure(model.net(), photos.to_uint8(rgb), scale)
    result["images"] = {k: Image.fromarray(v) for k, v in result["images"].items()}
    result["model_name"] = model.name
    return result
