"""Inpainting: holes in photos filled by the photo network, or holes in a 28x28 digit or garment filled by
searching an unconditional generator's latent space for an image that matches the rest."""
import warnings

import numpy as np
import torch
from PIL import Image

from .. import photos, registry
from ..data import DATASETS
from ..families.inpaint import fill
from .models import MAX_SEED, Model, load, whole_number

PRIOR_STEPS = 250
PRIOR_RESTARTS = 8


def photo_inpainter() -> str:
    """The checkpoint name of the released photo inpainting network."""
    return registry.releases("inpainter")[0]


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


FILL_METHODS = {
    "texture": "the hole rebuilt from the photo's own patches, chosen to agree with the network's fill",
    "smooth": "the network's fill alone: the likeliest colours, smooth where the content is uncertain",
}


def inpaint(image, mask, model: str | None = None, seed: int = 0, steps: int = PRIOR_STEPS,
            progress=None, method: str = "texture") -> Image.Image:
    """Fill the pixels of `image` where `mask` is nonzero; every other pixel is returned exactly as it was.

    model: None or 'photo' -> the released photo inpainting network (another one by checkpoint name), with
    `method` 'texture' (default: texture and structure continued from the photo's own patches, guided by the
    network; `seed` picks the patch search's random tries) or 'smooth' (the network alone, highest PSNR); an
    unconditional generator ('vae-mnist', 'dcgan-fashion-mnist', 'flow-mnist', ...) -> a search of its latent space
    for the 28x28 image that best matches the unmasked pixels (Yeh et al. 2017; `seed`, `steps` and a
    `progress(fraction)` callback apply); a flow-matching model ('flowmatch-mnist') -> its RePaint-style fill
    (`seed` applies). See prior_names(). The result has the size (and for photos the mode) of `image`. An empty mask returns the image
    unchanged (with a warning); a mask covering the whole image, a mask of another size, or something that is not
    an image raise ValueError with a message.
    """
    if method not in FILL_METHODS:
        raise ValueError(f"Unknown fill method {method!r}; methods: "
                         + "; ".join(f"{name} ({what})" for name, what in FILL_METHODS.items()) + ".")
    image = photos.open_image(image)
    hole = read_mask(mask, image.size)
    if not hole.any():
        warnings.warn("The mask is empty (no nonzero pixel): nothing to fill; the image is returned unchanged.",
                      stacklevel=2)
        return image.copy()
    if hole.all():
        raise ValueError("The mask covers the whole image: no known pixel is left to fill from. "
                         "Leave some of the image unmasked.")
    chosen = load(photo_inpainter() if model in (None, "photo") else model)
    if chosen.kind == "inpainter":  # the released photo network, or another one by name
        rgb, alpha, mode = photos.split_channels(image)
        if method == "texture":
            filled = fill.texture_fill_array(chosen.net(), rgb, hole, whole_number(seed, "seed", 0, MAX_SEED))
        else:
            filled = fill.fill_array(chosen.net(), rgb, hole)
        return photos.join_channels(filled, alpha, mode)
    prior = chosen
    if prior.name not in prior_names():
        raise ValueError(f"{prior.name} is not an inpainting prior; inpaint with 'photo' or one of "
                         f"{', '.join(prior_names())}.")
    return prior_inpaint(prior, image, hole, whole_number(seed, "seed", 0, MAX_SEED),
                         whole_number(steps, "steps", 1, 2000), progress)


def prior_names() -> list:
    """The generators that can fill a 28x28 grey image (those of MNIST and Fashion-MNIST): unconditional ones by
    latent search, and those with an inpaint method of their own (flow matching's RePaint-style fill, with its
    unconditional velocity)."""
    return [name for name in registry.releases("generator", "conditional-generator")
            if registry.dataset_of(name) in DATASETS
            and (registry.family_of(name).kind == "generator" or hasattr(registry.family_of(name).network, "inpaint"))]


def prior_inpaint(prior: Model, image: Image.Image, hole: np.ndarray, seed: int, steps: int, progress=None):
    """Generative-prior inpainting: the image is shrunk to 28x28 grayscale, the latent search fills it, and the
    fill is enlarged (nearest) and composited into the image at its own size and mode."""
    gray = np.asarray(image.convert("L").resize((28, 28), Image.Resampling.BOX), np.float32) / 255
    small_hole = np.asarray(Image.fromarray(hole.astype(np.uint8) * 255).resize((28, 28), Image.Resampling.BOX)) > 0
    if small_hole.all():
        raise ValueError("At 28x28 the mask covers every pixel: leave some of the image unmasked.")
    if hasattr(prior.module, "inpaint"):
        filled = own_fill(prior, torch.from_numpy(gray), torch.from_numpy(small_hole), seed)
    else:
        filled = latent_search(prior, torch.from_numpy(gray), torch.from_numpy(small_hole), seed, steps, progress)
    big = np.asarray(Image.fromarray(photos.to_uint8(filled.numpy())).resize(image.size, Image.Resampling.NEAREST))
    rgb, alpha, mode = photos.split_channels(image)
    out = photos.to_uint8(rgb)
    out[hole] = big[hole][:, None]
    return photos.join_channels(out, alpha, mode)


def own_fill(prior: Model, target: torch.Tensor, hole: torch.Tensor, seed: int) -> torch.Tensor:
    """A generator's own inpainting method (flow matching: RePaint-style), from the noise of `seed`."""
    net = prior.net()
    device = next(net.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(1, prior.z_dim, generator=generator).to(device)
    filled = net.inpaint(target.float()[None, None].to(device), hole[None, None].to(device), z, generator=generator)
    return filled[0, 0].cpu()


def latent_search(prior: Model, target: torch.Tensor, hole: torch.Tensor, seed: int, steps: int = PRIOR_STEPS,
                  progress=None, restarts: int = PRIOR_RESTARTS, prior_weight: float = 0.01) -> torch.Tensor:
    """The 28x28 image (in [0, 1]) the generator makes from the code z whose output best matches `target` outside
    `hole`: Adam on z from `restarts` random starts, minimising the squared error on the known pixels plus
    prior_weight * |z|^2 / 2 (keeps z where the generator was trained; without it the search wanders to codes
    that match the known pixels with an implausible fill). Returns the best start's output."""
    net = prior.net()
    device = next(net.parameters()).device
    known = (~hole).float()[None, None].to(device)
    target = target.float()[None, None].to(device)
    generator = torch.Generator().manual_seed(seed)  # the starts are drawn on the CPU: the same on any device
    z = torch.randn(restarts, prior.z_dim, generator=generator).to(device).requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=0.05)

    def render(codes):  # decode() runs without gradients; the search needs them with respect to z
        return net.sample(codes)

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
        return output[int(errors.argmin())][0].clamp(0, 1).cpu()
