"""Running a super-resolution network on real images: any size in bounded memory, any Pillow mode, and the
measurements (PSNR/SSIM on Y) that the benchmark, the training cards and the app's "measure" option share.

Large images go through in overlapping tiles. A network's output pixel depends only on the input pixels
within its receptive radius (see network.py), so each tile is cut with that much extra context on every
side and only its centre is kept: the stitched result equals the untiled one up to float rounding, while
memory holds one tile's activations at a time plus the 8-bit output.

A network's answer for a tile may average several views of it (`inference_views` in network.py): the tile
as given and reflected across its anti-diagonal (turned a quarter, then mirrored), the second answer
reflected back. This is the cheap end of EDSR's "geometric self-ensemble" (Lim et al. 2017, 8 views): a
network's mistakes on a picture and on its reflection, whose rows are the picture's columns, are partly
independent, so their mean is closer to the truth. On a CPU that computes bfloat16 natively (AVX512-BF16 or
AMX) each pass runs in bfloat16, about half the time of float32 for 0.001 dB; the bicubic base and the
averaging stay float32.
"""
import numpy as np
import torch
from PIL import Image

from ... import hardware, photos

TILE = 256  # low-resolution pixels per tile side: a 256x256 input runs as one tile (the speed benchmark's case)
VIEWS = ((0, False), (1, True))  # (quarter turns, mirrored): the photo as given, then reflected diagonally


def views_of(module) -> tuple:
    """The views whose answers `module`'s output averages: the first `inference_views` of VIEWS."""
    return VIEWS[:module.inference_views]


def inference_setup(module) -> dict:
    """How upscale_array runs `module` here, for benchmark reports and cards: views averaged, number format."""
    return {"views": len(views_of(module)), "dtype": hardware.inference_dtype()}


def network_output(module, x: torch.Tensor, scale: int) -> torch.Tensor:
    """(1, 3, h, w) -> (1, 3, h*scale, w*scale) float32: the mean of the network's answers over its views."""
    views = views_of(module)
    total = None
    for turns, mirrored in views:
        view = torch.rot90(x, turns, (2, 3))
        view = view.flip(3) if mirrored else view
        with hardware.inference_autocast(x.device):
            answer = module(view, scale).float()
        answer = torch.rot90(answer.flip(3) if mirrored else answer, -turns, (2, 3))
        total = answer if total is None else total + answer
    return total / len(views)


@torch.no_grad()
def upscale_array(module, rgb: np.ndarray, scale: int, tile: int = TILE) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] -> (H*scale, W*scale, 3) uint8, tile by tile."""
    module.check_scale(scale)
    height, width = rgb.shape[:2]
    margin = module.receptive_radius
    device = next(module.parameters()).device  # tiles go to the network's device (a GPU while training on one)
    x = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]
    out = np.empty((height * scale, width * scale, 3), np.uint8)
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            top, left = max(0, y0 - margin), max(0, x0 - margin)
            bottom, right = min(height, y1 + margin), min(width, x1 + margin)
            result = network_output(module, x[:, :, top:bottom, left:right].to(device), scale)[0].cpu()
            centre = result[:, (y0 - top) * scale:(y1 - top) * scale, (x0 - left) * scale:(x1 - left) * scale]
            out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = photos.to_uint8(centre.permute(1, 2, 0).numpy())
    return out


def check_output_size(width: int, height: int, scale: int, limit: int = photos.MAX_OUTPUT_PIXELS) -> None:
    pixels = width * scale * height * scale
    if pixels > limit:
        raise ValueError(f"The result would be {width * scale}x{height * scale} ({pixels / 1e6:.1f} megapixels), over "
                         f"the limit of {limit / 1e6:.1f} megapixels; choose x2 or a smaller image.")


def upscale_image(module, image: Image.Image, scale: int, tile: int = TILE,
                  limit: int = photos.MAX_OUTPUT_PIXELS) -> Image.Image:
    """A loaded PIL image -> the image `scale` times larger, in the matching mode (L, LA, RGB or RGBA).

    module=None gives the MATLAB-compatible bicubic baseline, with the same channel handling.
    Alpha is upscaled separately with bicubic: a constant (opaque) alpha stays exactly constant, and
    the networks were trained on colour photos, not masks.
    """
    check_output_size(*image.size, scale, limit)
    rgb, alpha, mode = photos.split_channels(image)
    if module is None:
        upscaled = photos.to_uint8(photos.imresize(rgb, scale))
    else:
        upscaled = upscale_array(module, rgb, scale, tile)
    del rgb
    if alpha is not None:
        alpha = photos.to_uint8(photos.imresize(alpha, scale))
    return photos.join_channels(upscaled, alpha, mode)


def min_measure_side(scale: int) -> int:
    """Measuring shaves `scale` pixels per border and uses an 11x11 SSIM window: the low-resolution
    image needs some pixels left. 8 low-resolution pixels a side is the least that means anything."""
    return 8 * scale


def measure(module, hr_uint8: np.ndarray, scale: int) -> dict:
    """The paper protocol on one image: MATLAB-bicubic downscale, upscale back with bicubic and with the
    network, PSNR/SSIM on Y against the original with `scale` pixels shaved at each border.

    Returns the numbers and the (uint8 RGB) images: original (mod-cropped), low-res, bicubic, model.
    """
    hr = photos.modcrop(hr_uint8, scale)
    side = min_measure_side(scale)
    if min(hr.shape[:2]) < side:
        raise ValueError(f"Measuring at x{scale} needs an image at least {side}x{side} pixels "
                         f"(it is shrunk {scale} times first); this one is {hr.shape[1]}x{hr.shape[0]}.")
    low = photos.imresize(hr, 1 / scale)
    bicubic = photos.imresize(low, scale)
    upscaled = upscale_array(module, low.astype(np.float32) / 255, scale)
    return {
        "bicubic": {"psnr": photos.psnr_y(bicubic, hr, scale), "ssim": photos.ssim_y(bicubic, hr, scale)},
        "model": {"psnr": photos.psnr_y(upscaled, hr, scale), "ssim": photos.ssim_y(upscaled, hr, scale)},
        "images": {"original": hr, "low": low, "bicubic": bicubic, "model": upscaled},
    }


def evaluate(module, images: list, scale: int) -> dict:
    """Mean PSNR/SSIM-Y of bicubic and of the network over a list of uint8 RGB images (the paper tables' way:
    the mean of per-image PSNRs)."""
    rows = [measure(module, image, scale) for image in images]
    result = {}
    for who in ("model", "bicubic"):
        result[who] = {metric: float(np.mean([row[who][metric] for row in rows])) for metric in ("psnr", "ssim")}
    result["gain_db"] = result["model"]["psnr"] - result["bicubic"]["psnr"]
    result["images"] = len(rows)
    return result
