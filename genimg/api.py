"""The public API: the functions the app, the tests and the benchmarks call.

    import genimg
    genimg.models()                                   # what is shipped, and what failed to load
    images = genimg.generate("cgan-mnist", n=16, seed=3, label=7)
    frames = genimg.interpolate("dcgan-fashion-mnist", seed_a=1, seed_b=2, steps=16)

Bad arguments raise ValueError with a message meant for the person who typed them.
"""
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import checkpoints, imaging, inpainting, photos, upscaling
from .data import DATASETS
from .models import FAMILIES, build
from .models.gan import truncated_normal

MAX_IMAGES = 64
MAX_STEPS = 64
MAX_SEED = 2**31 - 1
GENERATORS = ("dcgan", "cgan", "vae", "vae2d")

_checkpoint_dir = Path(os.environ.get("GENIMG_CHECKPOINTS", checkpoints.DEFAULT_DIR))
_cache: dict = {}
_lock = threading.Lock()


@dataclass
class Model:
    """A loaded checkpoint: the torch module in eval mode plus its card."""
    name: str
    family: str
    dataset: str
    classes: list
    card: dict
    module: torch.nn.Module = field(repr=False)

    @property
    def conditional(self) -> bool:
        return self.family == "cgan"

    @property
    def is_gan(self) -> bool:
        return self.family in ("dcgan", "cgan")

    @property
    def z_dim(self) -> int:
        return self.module.z_dim


def set_checkpoint_dir(path) -> None:
    """Load checkpoints from another folder (the app's --checkpoints)."""
    global _checkpoint_dir
    with _lock:
        _checkpoint_dir = Path(path)
        _cache.clear()


def checkpoint_dir() -> Path:
    return _checkpoint_dir


def load(name: str) -> Model:
    """Load (once, then from cache) the checkpoint `name`; CheckpointError (a ValueError) says what is wrong."""
    if isinstance(name, Model):
        return name
    if not isinstance(name, str) or not name:
        raise ValueError(f"A model name is a string such as 'dcgan-mnist', not {name!r}.")
    with _lock:
        if name not in _cache:
            if not (_checkpoint_dir / f"{name}.json").exists() and not (_checkpoint_dir / f"{name}.safetensors").exists():
                known = ", ".join(checkpoints.list_names(_checkpoint_dir)) or "none"
                raise ValueError(f"No model named {name!r} in {_checkpoint_dir}; available: {known}.")
            state, card = checkpoints.load(_checkpoint_dir, name)
            if card["family"] not in FAMILIES:
                raise checkpoints.CheckpointError(f"{name}: unknown family {card['family']!r} in its card.")
            try:
                module = build(card["family"], card["config"])
            except (TypeError, ValueError) as error:
                raise checkpoints.CheckpointError(f"{name}: the card's config is not valid ({error}).") from None
            checkpoints.load_into(module, state, name).eval().requires_grad_(False)
            if card["family"] == "inpaint":
                # Its weights in channels-last order: oneDNN's float32 convolutions at 512x512 took 0.84-0.91 s
                # instead of 1.08 (one pass, 2 threads, a CPU without bfloat16; the same output to 3e-7).
                module.to(memory_format=torch.channels_last)
            classes = card.get("classes") or DATASETS.get(card["dataset"], {}).get("classes", [])
            _cache[name] = Model(name, card["family"], card["dataset"], list(classes), card, module)
        return _cache[name]


def models() -> dict:
    """Every checkpoint in the folder: {name: {family, dataset, description, available, error, metrics}}."""
    result = {}
    for name in checkpoints.list_names(_checkpoint_dir):
        entry = {"family": None, "dataset": None, "description": "", "available": False, "error": None, "metrics": {}}
        try:
            model = load(name)
            entry.update(family=model.family, dataset=model.dataset, available=True,
                         description=FAMILIES[model.family][2], metrics=model.card.get("metrics", {}))
        except ValueError as error:
            entry["error"] = str(error)
        result[name] = entry
    return result


def find(family: str, dataset: str) -> Model:
    """The shipped model of a family for a dataset, e.g. find("cgan", "mnist")."""
    return load(f"{family}-{dataset}")


# ----------------------------------------------------------------------------------------------
# Checking what people type


def whole_number(value, what: str, low: int, high: int) -> int:
    """An int from an int, an integral float (gradio sends floats) or a numeric string; else a clear ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}.") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{what} must be a whole number from {low} to {high}, got {value!r}.")
    if not low <= number <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {int(number)}.")
    return int(number)


def real_number(value, what: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number from {low} to {high}, got {value!r}.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {value!r}.")
    return number


def class_index(model: Model, label) -> int:
    """A class given by index or by name ('Sneaker', '7')."""
    if isinstance(label, str) and label in model.classes:
        return model.classes.index(label)
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        label = int(label)
    if isinstance(label, str):
        raise ValueError(f"Unknown class {label!r} for {model.name}; classes: {', '.join(model.classes)}.")
    return whole_number(label, "class", 0, len(model.classes) - 1)


def generator_model(model) -> Model:
    model = load(model)
    if model.family not in GENERATORS:
        raise ValueError(f"{model.name} is a {model.family}, not a generator; pick one of the dcgan, cgan or vae models.")
    return model


# ----------------------------------------------------------------------------------------------
# Sampling


def latents(model: Model, n: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """The n latent codes of a seed: the same seed always gives the same codes (and so the same images)."""
    return truncated_normal((n, model.z_dim), truncation, torch.Generator().manual_seed(seed))


@torch.no_grad()
def decode(model: Model, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Latent codes (and labels or class weights) -> images in [0, 1], shape (N, 1, 28, 28)."""
    if model.is_gan:
        return (model.module(z, labels if model.conditional else None) + 1) / 2
    return model.module.decode(z)


def _labels(model: Model, n: int, label) -> torch.Tensor | None:
    if not model.conditional:
        return None
    if label is None:  # one of each class, in turn
        return torch.arange(n) % len(model.classes)
    return torch.full((n,), class_index(model, label), dtype=torch.long)


def _truncation(model, truncation, temperature):
    """GANs take `truncation` (None = off), VAEs take `temperature` (the prior's standard deviation)."""
    if model.is_gan and temperature is not None:
        raise ValueError(f"{model.name} is a GAN: it takes truncation, not temperature (temperature is for VAEs).")
    if not model.is_gan and truncation is not None:
        raise ValueError(f"{model.name} is a VAE: it takes temperature, not truncation (truncation is for GANs).")
    if model.is_gan:
        return None if truncation is None else real_number(truncation, "truncation", 0.1, 4.0), 1.0
    return None, real_number(1.0 if temperature is None else temperature, "temperature", 0.0, 3.0)


def generate(model, n: int = 16, seed: int = 0, label=None, truncation: float | None = None,
             temperature: float | None = None) -> list:
    """n images from a generator as 28x28 grayscale PIL images.

    label: class index or name for conditional GANs (None: cycle through the classes).
    truncation: GANs only, 0.1 to 4 (None: off). temperature: VAEs only, 0 to 3 (default 1).
    """
    model = generator_model(model)
    n = whole_number(n, "number of images", 1, MAX_IMAGES)
    seed = whole_number(seed, "seed", 0, MAX_SEED)
    if label is not None and not model.conditional:
        raise ValueError(f"{model.name} is not conditional: it takes no class. Use a cgan model to choose the class.")
    labels = _labels(model, n, label)
    truncation, temperature = _truncation(model, truncation, temperature)
    z = latents(model, n, seed, truncation) * temperature
    return imaging.to_pil(decode(model, z, labels))


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation: keeps the norm that Gaussian codes have, so midpoints look like samples."""
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if float(so.min()) < 1e-6:  # (nearly) parallel codes: linear is the same path
        return a + (b - a) * t
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / so


def interpolate(model, seed_a: int = 0, seed_b: int = 1, steps: int = 16, mode: str = "spherical",
                label_a=None, label_b=None, truncation: float | None = None,
                temperature: float | None = None) -> list:
    """Frames on the path between two latent codes (and, for conditional GANs, between two classes).

    The first frame equals generate(model, 1, seed_a, label_a)[0], the last that of seed_b.
    """
    model = generator_model(model)
    seed_a = whole_number(seed_a, "seed A", 0, MAX_SEED)
    seed_b = whole_number(seed_b, "seed B", 0, MAX_SEED)
    steps = whole_number(steps, "number of steps", 2, MAX_STEPS)
    if mode not in ("linear", "spherical"):
        raise ValueError(f"mode must be 'linear' or 'spherical', not {mode!r}.")
    if (label_a is not None or label_b is not None) and not model.conditional:
        raise ValueError(f"{model.name} is not conditional: it takes no class.")
    truncation, temperature = _truncation(model, truncation, temperature)
    z_a, z_b = latents(model, 1, seed_a, truncation), latents(model, 1, seed_b, truncation)
    t = torch.linspace(0, 1, steps)[:, None]
    z = (slerp(z_a, z_b, t) if mode == "spherical" else z_a + (z_b - z_a) * t) * temperature
    labels = None
    if model.conditional:
        k = len(model.classes)
        one_a = torch.nn.functional.one_hot(torch.tensor(class_index(model, 0 if label_a is None else label_a)), k)
        one_b = torch.nn.functional.one_hot(torch.tensor(class_index(model, 0 if label_b is None else label_b)), k)
        labels = one_a.float() * (1 - t) + one_b.float() * t  # class weights: morph one class into the other
    return imaging.to_pil(decode(model, z, labels))


def manifold(model, size: int = 20, scale: int = 1) -> Image.Image:
    """The manifold map of a 2-D-latent VAE: decode a size x size grid of latent points.

    The grid is spaced by the Gaussian's quantiles (as in Kingma & Welling's figure), so each cell
    covers equal prior probability.
    """
    model = load(model)
    if model.family != "vae2d":
        raise ValueError(f"The manifold map needs a VAE with a 2-D latent (vae2d-...), not {model.name}.")
    size = whole_number(size, "grid size", 2, 40)
    q = torch.linspace(0.5 / size, 1 - 0.5 / size, size)
    coords = torch.distributions.Normal(0, 1).icdf(q)
    z = torch.stack(torch.meshgrid(coords, coords.flip(0), indexing="xy"), -1).reshape(-1, 2)
    return imaging.grid(imaging.to_pil(decode(model, z)), columns=size, scale=scale, pad=0)


@torch.no_grad()
def classify(images: list, dataset: str) -> list:
    """(class name, confidence) for each 28x28 image, by the dataset's shipped classifier."""
    classifier = find("classifier", dataset)
    probabilities = torch.softmax(classifier.module(imaging.to_tensor(images)), 1)
    confidence, index = probabilities.max(1)
    return [(classifier.classes[i], float(c)) for i, c in zip(index.tolist(), confidence.tolist())]


# ----------------------------------------------------------------------------------------------
# Upscaling (super-resolution)

SR_FAMILIES = ("espcn", "edsr")
SR_MODELS = {"quality": "sr-quality-photos", "fast": "sr-fast-photos"}  # short names people may type


def upscaler(model: str | None = None) -> Model:
    """A super-resolution model by short name ('quality', 'fast') or checkpoint name; None: the best available."""
    if model is None:
        errors = []
        for name in SR_MODELS.values():
            try:
                return upscaler(name)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("No upscaling model is available: " + " ".join(errors))
    model = load(SR_MODELS.get(model, model) if isinstance(model, str) else model)
    if model.family not in SR_FAMILIES:
        raise ValueError(f"{model.name} is a {model.family}, not an upscaling model; use 'quality' or 'fast'.")
    return model


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


def load_image(source) -> Image.Image:
    """Open an image file (path, bytes or PIL image) as upscale() does: one still frame, EXIF orientation
    applied, a clear ValueError for anything else (not an image, truncated, animated, too large)."""
    return photos.open_image(source)


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
    return upscaling.upscale_image(model.module, photos.open_image(image), scale)


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
    result = upscaling.measure(model.module, photos.to_uint8(rgb), scale)
    result["images"] = {k: Image.fromarray(v) for k, v in result["images"].items()}
    result["model_name"] = model.name
    return result


# ----------------------------------------------------------------------------------------------
# Inpainting

INPAINT_PHOTO_MODEL = "inpaint-photos"
PRIOR_FAMILIES = ("dcgan", "vae", "vae2d")  # generators whose latent space the prior search walks (no class input)
PRIOR_STEPS = 250
PRIOR_RESTARTS = 8


def read_mask(mask, size: tuple[int, int]) -> np.ndarray:
    """A mask image (PIL, path, bytes, or a numpy array) -> (H, W) bool, True where any channel is nonzero."""
    if isinstance(mask, np.ndarray):
        array = mask
    else:
        array = np.asarray(photos.open_image(mask, "The mask"))
    if array.ndim == 3:
        array = array.any(axis=2)
    if array.ndim != 2:
        raise ValueError(f"The mask must be a 2-D image (or an image with channels), not an array of shape {array.shape}.")
    height, width = array.shape
    if (width, height) != tuple(size):
        raise ValueError(f"The mask is {width}x{height} but the image is {size[0]}x{size[1]}; "
                         f"paint the mask on the image itself, or resize it to the image's size.")
    return array != 0


def inpaint(image, mask, model: str | None = None, seed: int = 0, steps: int = PRIOR_STEPS,
            progress=None) -> Image.Image:
    """Fill the pixels of `image` where `mask` is nonzero; every other pixel is returned exactly as it was.

    model: None or 'photo' -> the photo inpainting network (another one by name: 'inpaint-base-photos'); a
    generator name ('vae-mnist', 'dcgan-fashion-mnist', ...) -> a search of its latent space for the 28x28 image
    that best matches the unmasked pixels (Yeh et al. 2017; `seed`, `steps` and a `progress(fraction)` callback
    apply). The result has the size (and for photos the mode) of `image`. An empty mask returns the image
    unchanged (with a warning); a mask covering the whole image, a mask of another size, or something that is not
    an image raise ValueError with a message.
    """
    image = photos.open_image(image)
    hole = read_mask(mask, image.size)
    if not hole.any():
        warnings.warn("The mask is empty (no nonzero pixel): nothing to fill; the image is returned unchanged.",
                      stacklevel=2)
        return image.copy()
    if hole.all():
        raise ValueError("The mask covers the whole image: no known pixel is left to fill from. "
                         "Leave some of the image unmasked.")
    chosen = load(INPAINT_PHOTO_MODEL if model in (None, "photo") else model)
    if chosen.family == "inpaint":  # the shipped photo network, or another one by name (e.g. inpaint-base-photos)
        rgb, alpha, mode = photos.split_channels(image)
        filled = inpainting.fill_array(chosen.module, rgb, hole)
        return photos.join_channels(filled, alpha, mode)
    prior = chosen
    if prior.family not in PRIOR_FAMILIES:
        raise ValueError(f"{prior.name} is a {prior.family}; inpaint with 'photo' or an unconditional generator "
                         f"({', '.join(n for n in checkpoints.list_names(_checkpoint_dir) if n.split('-')[0] in PRIOR_FAMILIES)}).")
    return prior_inpaint(prior, image, hole, whole_number(seed, "seed", 0, MAX_SEED),
                         whole_number(steps, "steps", 1, 2000), progress)


def prior_inpaint(prior: Model, image: Image.Image, hole: np.ndarray, seed: int, steps: int, progress=None):
    """Generative-prior inpainting: the image is shrunk to 28x28 grayscale, the latent search fills it, and the
    fill is enlarged (nearest) and composited into the image at its own size and mode."""
    gray = np.asarray(image.convert("L").resize((28, 28), Image.Resampling.BOX), np.float32) / 255
    small_hole = np.asarray(Image.fromarray(hole.astype(np.uint8) * 255).resize((28, 28), Image.Resampling.BOX)) > 0
    if small_hole.all():
        raise ValueError("At 28x28 the mask covers every pixel: leave some of the image unmasked.")
    filled = latent_search(prior, torch.from_numpy(gray), torch.from_numpy(small_hole), seed, steps, progress)
    big = np.asarray(Image.fromarray(photos.to_uint8(filled.numpy())).resize(image.size, Image.Resampling.NEAREST))
    rgb, alpha, mode = photos.split_channels(image)
    out = photos.to_uint8(rgb)
    out[hole] = big[hole][:, None]
    return photos.join_channels(out, alpha, mode)


def latent_search(prior: Model, target: torch.Tensor, hole: torch.Tensor, seed: int, steps: int = PRIOR_STEPS,
                  progress=None, restarts: int = PRIOR_RESTARTS, prior_weight: float = 0.01) -> torch.Tensor:
    """The 28x28 image (in [0, 1]) the generator makes from the code z whose output best matches `target` outside
    `hole`: Adam on z from `restarts` random starts, minimising the squared error on the known pixels plus
    prior_weight * |z|^2 / 2 (keeps z where the generator was trained; without it the search wanders to codes
    that match the known pixels with an implausible fill). Returns the best start's output."""
    known = (~hole).float()[None, None]
    target = target.float()[None, None]
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(restarts, prior.z_dim, generator=generator).requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=0.05)

    def render(codes):  # decode() above runs without gradients; the search needs them with respect to z
        return (prior.module(codes, None) + 1) / 2 if prior.is_gan else prior.module.decode(codes)

    for step in range(steps):
        output = render(z)
        errors = ((output - target) ** 2 * known).flatten(1).sum(1)
        loss = (errors + prior_weight * 0.5 * (z ** 2).sum(1)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if progress is not None and (step % 10 == 0 or step == steps - 1):
            progress((step + 1) / steps)
    with torch.no_grad():
        output = render(z)
        errors = ((output - target) ** 2 * known).flatten(1).sum(1)
        return output[int(errors.argmin())][0].clamp(0, 1)


# ----------------------------------------------------------------------------------------------
# Style transfer: presets by one feed-forward network, any style image by Gatys' optimisation

STYLE_MODEL = "style-photos"
MAX_STYLE_SIDE = 1024  # outputs are at most this long on the long side (larger photos are shrunk first)
MAX_GATYS_SIDE = 512  # the optimisation runs VGG forward and backward every step: bounded harder
MAX_GATYS_STEPS = 1000

_vgg = {"path": None, "download": os.environ.get("GENIMG_VGG_DOWNLOAD", "1") != "0", "model": None, "error": None}


def stylizer(model: str | None = None) -> Model:
    model = load(model or STYLE_MODEL)
    if model.family != "style":
        raise ValueError(f"{model.name} is a {model.family}, not a style-transfer model.")
    return model


def styles(model: str | None = None) -> list:
    """The presets of the style network: [{"name", "title", "artist"}], in the network's order."""
    from .styling import PRESETS
    return [{"name": name, "title": PRESETS.get(name, (None, name, ""))[1], "artist": PRESETS.get(name, ("", "", ""))[2]}
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
    from .styling import apply_strength, keep_colours as keep
    if keep_colours:
        stylised = keep(stylised, content)
    out = apply_strength(stylised, content, strength)
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
    with torch.no_grad():
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        stylised = network.module(x, weights)[0].permute(1, 2, 0).numpy()
    return _finish(stylised, rgb, alpha, strength, keep_colours)


def set_vgg_weights(path=None, download: bool | None = None) -> None:
    """Where the VGG16 features for stylize_with_image() come from (app.py --vgg-weights): a safetensors file,
    else $GENIMG_VGG_WEIGHTS, else torchvision's download (unless download=False or $GENIMG_VGG_DOWNLOAD=0)."""
    with _lock:
        _vgg.update(path=path, model=None, error=None)
        if download is not None:
            _vgg["download"] = bool(download)


def vgg_status() -> str:
    """A sentence for people: where the VGG16 weights will come from, or why there are none. Loads nothing."""
    from .vgg import ENV_VAR
    path = _vgg["path"] or os.environ.get(ENV_VAR)
    if _vgg["model"] is not None:
        return f"VGG16 loaded from {_vgg['model'].source}."
    if _vgg["error"] is not None:
        return _vgg["error"]
    if path:
        return (f"VGG16 weights: {path}." if Path(path).is_file() else
                f"VGG16 weights file {path} does not exist: your own style images cannot be used (the presets work).")
    if _vgg["download"]:
        return "VGG16 weights will be downloaded from torchvision (528 MB) on first use."
    return (f"No VGG16 weights: no --vgg-weights or ${ENV_VAR} given and downloading is off, so your own style "
            f"images cannot be used (the presets work).")


def vgg():
    """The VGG16 feature network for the optimisation, loaded once; ValueError (VGGUnavailable) saying why not."""
    from .vgg import load_vgg, VGGUnavailable
    with _lock:
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
    from .styling import STYLE_SIDE, gatys_steps
    steps = whole_number(steps, "steps", 1, MAX_GATYS_STEPS)
    size = whole_number(size, "size", 64, MAX_GATYS_SIDE)
    every = whole_number(every, "every", 1, MAX_GATYS_STEPS)
    strength = real_number(strength, "strength", 0.0, 1.0)
    rgb, alpha = _bounded_rgb(image, size)
    style_rgb, _ = _bounded_rgb(style_image, STYLE_SIDE, "The style image")
    network = vgg()
    content = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    style = torch.from_numpy(style_rgb).permute(2, 0, 1)[None]
    for step, result in gatys_steps(network, content, style, steps, every=every):
        yield step, steps, _finish(result[0].permute(1, 2, 0).numpy(), rgb, alpha, strength, keep_colours)


def stylize_with_image(image, style_image, steps: int = 150, size: int = 256, strength: float = 1.0,
                       keep_colours: bool = False) -> Image.Image:
    """`image` painted in the manner of any `style_image` by Gatys et al.'s optimisation (needs VGG16 weights:
    see set_vgg_weights; ValueError saying so when there are none). Slow: about a second per step on a CPU."""
    result = None
    for _, _, result in stylize_with_image_steps(image, style_image, steps, size, strength, keep_colours,
                                                 every=MAX_GATYS_STEPS):
        pass
    return result
