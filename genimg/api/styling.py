"""Style transfer: presets by one feed-forward network (blendable), any style image by Gatys' optimisation."""
import os
import threading
from pathlib import Path

import torch
from PIL import Image

from .. import hardware, photos, registry
from ..families.style import losses
from ..vgg import ENV_VAR, VGGUnavailable, load_vgg
from .models import Model, load, real_number, whole_number

MAX_STYLE_SIDE = 1024  # outputs are at most this long on the long side (larger photos are shrunk first)
MIN_GATYS_SIDE, MAX_GATYS_SIDE = 64, 512  # the optimisation runs VGG forward and backward every step: bounded harder
MIN_GATYS_STEPS, MAX_GATYS_STEPS = 10, 1000

_vgg_lock = threading.Lock()
_vgg = {"path": None, "download": os.environ.get("GENIMG_VGG_DOWNLOAD", "1") != "0", "model": None, "error": None}


def stylizer(model: str | None = None) -> Model:
    model = load(model or registry.releases("stylizer")[0])
    if model.kind != "stylizer":
        raise ValueError(f"{model.name} is a {model.kind}, not a style-transfer model.")
    return model


def styles(model: str | None = None) -> list:
    """The presets of the style network: [{"name", "title", "artist"}], in the network's order."""
    return [{"name": name, "title": losses.PRESETS.get(name, (None, name, ""))[1], "artist": losses.PRESETS.get(name, ("", "", ""))[2]}
            for name in stylizer(model).module.styles]


def style_weights(model: Model, style) -> torch.Tensor:
    """A preset name, or {preset: weight} to blend presets (weights >= 0, normalised to sum 1) -> (1, styles)."""
    names = model.module.styles
    if isinstance(style, str):
        style = {style: 1.0}
    if not isinstance(style, dict) or not style:
        raise ValueError(f"style must be a preset name or a {{preset: weight}} dict; presets: {', '.join(names)}.")
    weights = torch.zeros(1, len(names))
    for name, weight in style.items():
        if name not in names:
            raise ValueError(f"Unknown style {name!r}; presets: {', '.join(names)}.")
        weights[0, names.index(name)] += real_number(weight, f"weight of {name}", 0.0, 1e6)
    if float(weights.sum()) <= 0:
        raise ValueError("The style weights are all zero: give at least one preset a positive weight.")
    return weights / weights.sum()


def _bounded_rgb(image, max_side: int, what: str = "The photo"):
    """Open any image (path, bytes, PIL) -> (RGB float32 array no longer than max_side, alpha or None)."""
    image = photos.open_image(image, what, task="stylise")
    longest = max(image.size)
    if longest > max_side:
        scale = max_side / longest
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.LANCZOS) if image.mode in ("RGB", "RGBA", "L", "LA") else \
            image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB").resize(size, Image.LANCZOS)
    rgb, alpha, _ = photos.split_channels(image)
    return rgb, alpha


def _finish(stylised, content, alpha, strength, keep_colours):
    if keep_colours:
        stylised = losses.keep_colours(stylised, content)
    out = losses.apply_strength(stylised, content, strength)
    return photos.join_channels(out, alpha, "RGBA" if alpha is not None else "RGB")


def stylize(image, style, strength: float = 1.0, keep_colours: bool = False, max_side: int = MAX_STYLE_SIDE,
            model: str | None = None) -> Image.Image:
    """`image` painted in a preset's manner by the style network (well under a second for 512x512 on a CPU).

    style: a preset name (see styles()), or {preset: weight, ...} to blend presets (the network mixes their
      normalisation parameters; {a: 1, b: 0} is exactly preset a).
    strength: 0 to 1, how far from the photo (0: the photo itself) to the painting (1).
    keep_colours: keep the photo's colours and take only the brightness from the painting.
    max_side: the photo is shrunk (if needed) so its long side is at most this (16 to 1024).
    Returns RGB (RGBA when the photo has transparency). ValueError with a readable message for bad input.
    For a style image of your own, use stylize_with_image().
    """
    network = stylizer(model)
    weights = style_weights(network, style)
    strength = real_number(strength, "strength", 0.0, 1.0)
    max_side = whole_number(max_side, "max_side", 16, MAX_STYLE_SIDE)
    rgb, alpha = _bounded_rgb(image, max_side)
    net = network.net()
    device = next(net.parameters()).device
    with torch.no_grad():
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
        stylised = net(x, weights.to(device))[0].permute(1, 2, 0).cpu().numpy()
    return _finish(stylised, rgb, alpha, strength, keep_colours)


ANY_STYLE_SIDE = 512  # a style image for stylize_any is read at this long side: it sets the size of its strokes


def arbitrary_stylizer(model: str | None = None) -> Model:
    """The released one-pass network for any style image (AdaIN), or the one named."""
    releases = registry.releases("arbitrary-stylizer")
    if model is None and not releases:
        raise ValueError("No network for any style image is installed; use stylize_with_image (the optimisation).")
    model = load(model or releases[0])
    if model.kind != "arbitrary-stylizer":
        raise ValueError(f"{model.name} is a {model.kind}, not a network for any style image.")
    return model


def stylize_any(image, style_image, strength: float = 1.0, keep_colours: bool = False,
                max_side: int = MAX_STYLE_SIDE, model: str | None = None) -> Image.Image:
    """`image` painted in the manner of any `style_image` in one pass (AdaIN: about a second for 512x512 on a CPU,
    where stylize_with_image's optimisation takes a minute; it matches the painting less closely).

    strength: 0 to 1, how much of the painting's statistics the photo's features take on (0: the photo as the
      network redraws it; the mix is of features, not pixels).
    keep_colours: keep the photo's colours and take only the brightness from the painting.
    max_side: the photo is shrunk (if needed) so its long side is at most this (16 to 1024); the style image is
      read at ANY_STYLE_SIDE pixels on its long side.
    Returns RGB (RGBA when the photo has transparency). ValueError with a readable message for bad input."""
    network = arbitrary_stylizer(model)
    strength = real_number(strength, "strength", 0.0, 1.0)
    max_side = whole_number(max_side, "max_side", 16, MAX_STYLE_SIDE)
    rgb, alpha = _bounded_rgb(image, max_side)
    style_rgb, _ = _bounded_rgb(style_image, ANY_STYLE_SIDE, "The style image")
    if min(style_rgb.shape[:2]) < 16:
        raise ValueError(f"The style image is {style_rgb.shape[1]}x{style_rgb.shape[0]} pixels: too small to show a "
                         f"style; give one at least 16 pixels on each side.")
    net = network.net()
    device = next(net.parameters()).device
    with torch.no_grad(), hardware.inference_autocast(device):
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
        style = torch.from_numpy(style_rgb).permute(2, 0, 1)[None].to(device)
        stylised = net(x, style, strength).float()[0].permute(1, 2, 0).cpu().numpy()
    return _finish(stylised, rgb, alpha, 1.0, keep_colours)


def set_vgg_weights(path=None, download: bool | None = None) -> None:
    """Where the VGG16 features for stylize_with_image() come from (app.py --vgg-weights): a safetensors file,
    else $GENIMG_VGG_WEIGHTS, else torchvision's download (unless download=False or $GENIMG_VGG_DOWNLOAD=0)."""
    with _vgg_lock:
        _vgg.update(path=path, model=None, error=None)
        if download is not None:
            _vgg["download"] = bool(download)


def vgg_status() -> str:
    """A sentence for the people using the app: whether VGG16 weights are there, or why not. Loads nothing, and
    names no file or folder of the server (the log and set_vgg_weights' caller know those)."""
    path = _vgg["path"] or os.environ.get(ENV_VAR)
    if _vgg["model"] is not None:
        return "VGG16 loaded."
    if path and not Path(path).is_file():
        return ("The VGG16 weights file the server was given does not exist: the optimisation cannot paint with your "
                "own style images (the presets and the one-pass painting work).")
    if not path and not _vgg["download"]:
        return (f"No VGG16 weights: no --vgg-weights or ${ENV_VAR} given and downloading is off, so the optimisation "
                f"cannot paint with your own style images (the presets and the one-pass painting work).")
    if _vgg["error"] is not None:
        return ("VGG16 weights could not be loaded, so the optimisation cannot paint with your own style images (the "
                "presets and the one-pass painting work).")
    if path:
        return "VGG16 weights are ready (loaded on first use)."
    return "VGG16 weights will be downloaded from torchvision (528 MB) on first use."


def vgg():
    """The VGG16 feature network for the optimisation, loaded once; ValueError (VGGUnavailable) saying why not."""
    with _vgg_lock:
        if _vgg["model"] is None:
            try:
                _vgg["model"] = load_vgg(_vgg["path"], download=_vgg["download"])
            except VGGUnavailable as error:
                _vgg["error"] = f"Your own style images need VGG16 features, and none are available. {error}"
                raise VGGUnavailable(_vgg["error"]) from None
        return _vgg["model"]


def stylize_with_image_steps(image, style_image, steps: int = 150, size: int = 256, strength: float = 1.0,
                             keep_colours: bool = False, every: int = 10):
    """Gatys' optimisation toward any style image, as a generator of (step, steps, PIL image) every `every`
    steps and at the end (the app shows the image as it evolves). size: the long side the photo is optimised
    at (64 to 512); the style image is seen at 256 px on its long side, as the presets' paintings were."""
    steps = whole_number(steps, "steps", MIN_GATYS_STEPS, MAX_GATYS_STEPS)
    size = whole_number(size, "size", MIN_GATYS_SIDE, MAX_GATYS_SIDE)
    every = whole_number(every, "every", 1, MAX_GATYS_STEPS)
    strength = real_number(strength, "strength", 0.0, 1.0)
    rgb, alpha = _bounded_rgb(image, size)
    style_rgb, _ = _bounded_rgb(style_image, losses.STYLE_SIDE, "The style image")
    device = hardware.inference_device()
    network = vgg().to(device)
    content = torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)
    style = torch.from_numpy(style_rgb).permute(2, 0, 1)[None].to(device)
    for step, result in losses.gatys_steps(network, content, style, steps, every=every):
        yield step, steps, _finish(result[0].permute(1, 2, 0).cpu().numpy(), rgb, alpha, strength, keep_colours)


def stylize_with_image(image, style_image, steps: int = 150, size: int = 256, strength: float = 1.0,
                       keep_colours: bool = False) -> Image.Image:
    """`image` painted in the manner of any `style_image` by Gatys et al.'s optimisation (needs VGG16 weights:
    see set_vgg_weights; ValueError saying so when there are none). Slow: about a second per step on a CPU."""
    result = None
    for _, _, result in stylize_with_image_steps(image, style_image, steps, size, strength, keep_colours,
                                                 every=MAX_GATYS_STEPS):
        pass
    return result
