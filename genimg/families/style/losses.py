"""Style transfer outside the network: the presets' paintings, the perceptual losses, Gatys' optimisation,
and the pixel-level options (strength, keeping the original colours).

The losses (Gatys et al. 2016; Johnson et al. 2016), on VGG16 features of RGB images in [0, 1]:
- content: mean squared difference of relu2_2 activations between the output and the photo: the
  photo's shapes and edges, not its exact colours;
- style: for each of relu1_2, relu2_2, relu3_3 and relu4_3, the mean squared difference between Gram
  matrices (channel-by-channel correlations averaged over all positions), divided by the mean square of
  the style image's Gram matrix at that layer: a relative error. Without that division the layers differ
  by eight orders of magnitude (relu1_2's Gram entries are ~10, relu4_3's ~0.003) and relu1_2, colour
  and fine grain, drowns out the strokes and shapes of the deeper layers. A Gram matrix forgets *where*
  things are and keeps *which features occur together*: colours, brush strokes, textures at the scale
  of each layer; that is what "style" means here;
- total variation: a small penalty on differences between neighbouring pixels, against speckle.
The training loss, the benchmark's scores and Gatys' optimisation all use the same functions below.
"""
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ... import vgg as vgg_lib

CONTENT_LAYER = "relu2_2"
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
# Loss weights, shared by the training (training.py MODELS["style"]), Gatys' optimisation and the benchmark.
# Chosen by running Gatys on a 160-px photo for 80 steps with style weight 10, 100 and 1000: 10 barely changed
# it, 1000 painted the whole photo while it stayed recognisable; the network, averaging over photos, needs the
# stronger end to make the style unmistakable.
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 1.0, 600.0, 10.0
STYLE_SIDE = 256  # paintings are seen at this long side: it sets the size of the brush strokes the network learns

# The presets: distinct public-domain works from ../shared/datasets/paintings (the files are not shipped).
PRESETS = {
    "starry-night": ("vangogh_starry_night_google_art_project.jpg", "The Starry Night", "Vincent van Gogh, 1889"),
    "great-wave": ("hokusai_great_wave_crop.jpg", "The Great Wave off Kanagawa", "Katsushika Hokusai, c. 1831"),
    "the-scream": ("munch_the_scream.jpg", "The Scream", "Edvard Munch, 1893"),
    "composition-vii": ("kandinsky_composition_vii.jpg", "Composition VII", "Wassily Kandinsky, 1913"),
    "woman-with-a-hat": ("matisse_woman_with_a_hat.jpg", "Woman with a Hat", "Henri Matisse, 1905"),
    "udnie": ("picabia_udnie.jpg", "Udnie", "Francis Picabia, 1913"),
}


def find_paintings(data=None) -> Path:
    """The paintings folder: --data itself, --data/paintings, or a paintings/ folder beside --data (photos/)."""
    import os
    roots = [Path(p) for p in (data, os.environ.get("GENIMG_DATA")) if p]
    for root in roots:
        for folder in (root, root / "paintings", root.parent / "paintings", root.parent.parent / "paintings"):
            if all((folder / file).is_file() for file, _, _ in PRESETS.values()):
                return folder
    looked = ", ".join(str(r) for r in roots) or "nowhere: neither --data nor GENIMG_DATA was given"
    raise FileNotFoundError(f"Could not find the paintings ({', '.join(f for f, _, _ in PRESETS.values())}). "
                            f"Looked under: {looked}. Use --data ../shared/datasets (with paintings/ and photos/).")


def load_painting(path, side: int = STYLE_SIDE) -> np.ndarray:
    """A painting as float32 RGB (H, W, 3) in [0, 1], its long side `side` (antialiased)."""
    image = Image.open(path).convert("RGB")
    scale = side / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return np.asarray(image, np.float32) / 255


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float or uint8 -> (1, 3, H, W) float in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(rgb))
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    return x.permute(2, 0, 1)[None]


@torch.no_grad()
def style_grams(vgg, painting: torch.Tensor) -> dict:
    """The style target: the painting's Gram matrix at each style layer, each (1, C, C)."""
    features = vgg(painting, STYLE_LAYERS)
    return {k: vgg_lib.gram_matrix(v) for k, v in features.items()}


def perceptual_losses(vgg, output: torch.Tensor, content: torch.Tensor, grams: dict,
                      content_features: torch.Tensor | None = None) -> dict:
    """Per-image content, style and TV losses (each shape (N,)). grams: {layer: (N or 1, C, C)}."""
    features = vgg(output, STYLE_LAYERS)
    if content_features is None:
        with torch.no_grad():
            content_features = vgg(content, (CONTENT_LAYER,))[CONTENT_LAYER]
    content_loss = (features[CONTENT_LAYER].float() - content_features.float()).pow(2).flatten(1).mean(1)
    style = sum((vgg_lib.gram_matrix(features[k]) - grams[k]).pow(2).flatten(1).mean(1) /
                grams[k].pow(2).flatten(1).mean(1) for k in STYLE_LAYERS)
    tv = ((output[..., 1:, :] - output[..., :-1, :]).abs().flatten(1).mean(1) +
          (output[..., :, 1:] - output[..., :, :-1]).abs().flatten(1).mean(1))
    return {"content": content_loss, "style": style, "tv": tv}


# ----------------------------------------------------------------------------------------------
# Pixel-level options, shared by the presets and the upload-your-own-style mode


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.601 full-range YCbCr (JPEG's), all channels in [0, 1]."""
    m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
    out = rgb @ m.T
    out[..., 1:] += 0.5
    return out


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    y, cb, cr = ycc[..., 0], ycc[..., 1] - 0.5, ycc[..., 2] - 0.5
    return np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)


def keep_colours(stylised: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Luminance-only transfer (Gatys et al. 2016, 'Preserving colour'): the stylised image's Y with the photo's Cb/Cr."""
    ycc = rgb_to_ycbcr(content)
    ycc[..., 0] = rgb_to_ycbcr(stylised)[..., 0]
    return np.clip(ycbcr_to_rgb(ycc), 0, 1)


def apply_strength(stylised: np.ndarray, content: np.ndarray, strength: float) -> np.ndarray:
    """Pixel interpolation between the photo (strength 0: returned unchanged) and the painting (1)."""
    if strength >= 1:
        return stylised
    if strength <= 0:
        return content
    return content + strength * (stylised - content)


# ----------------------------------------------------------------------------------------------
# Gatys et al.: optimise the pixels themselves


def gatys_steps(vgg, content: torch.Tensor, style: torch.Tensor, steps: int = 200, every: int = 10,
                style_weight: float = STYLE_WEIGHT, content_weight: float = CONTENT_WEIGHT,
                tv_weight: float = TV_WEIGHT, lr: float = 0.03):
    """Gatys et al.: optimise an image, starting from the photo, so its VGG Gram matrices match the style
    image's while its relu2_2 features stay near the photo's. Adam on the pixels, clamped to [0, 1].

    content, style: (1, 3, H, W) in [0, 1]. A generator: yields (step, image tensor) every `every` steps and
    after the last one, so a caller can show the image as it evolves, or stop early.
    """
    grams = style_grams(vgg, style)
    with torch.no_grad():
        content_features = vgg(content, (CONTENT_LAYER,))[CONTENT_LAYER]
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    for step in range(steps):
        losses = perceptual_losses(vgg, image, content, grams, content_features)
        total = (content_weight * losses["content"] + style_weight * losses["style"] + tv_weight * losses["tv"]).sum()
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        if (step + 1) % every == 0 or step + 1 == steps:
            yield step + 1, image.detach()


def gatys(vgg, content: torch.Tensor, style: torch.Tensor, steps: int = 200, **options) -> dict:
    """Gatys' optimisation run to the end: {"image", "content", "style" (final losses), "seconds", "steps"}."""
    start = time.time()
    image = content
    for _, image in gatys_steps(vgg, content, style, steps, every=steps, **options):
        pass
    seconds = time.time() - start
    with torch.no_grad():
        final = perceptual_losses(vgg, image, content, style_grams(vgg, style))
    return {"image": image, "content": final["content"].item(), "style": final["style"].item(),
            "seconds": seconds, "steps": steps}
