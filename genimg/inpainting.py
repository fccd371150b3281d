"""Running the inpainting network on real images, a classical fill to compare it with, and the measurements.

- `fill_array` runs the network at a bounded resolution: an image whose longer side exceeds `max_side` is
  shrunk for the network (its mask shrunk so that any partly-masked pixel counts as masked), padded to a
  multiple of 8, filled, and the fill is enlarged back and composited at full resolution. It runs twice, at
  that size and at half of it, and the hole gets the mean of the two (`VIEW_SCALES`). Known pixels are
  returned exactly as they came in; only masked pixels change. On a CPU that computes bfloat16 natively
  (AVX512-BF16 or AMX) the network runs in bfloat16: its pass on a 512x512 photo took 0.43 s instead of 0.75 s
  (2 threads), for the same hole PSNR to 0.001 dB on the first 8 Kodak photos in every mask bucket (the
  push-pull start it corrects and the composite stay float32).
- `classical_fill` is OpenCV's Telea fast-marching inpainting (Telea 2004), an optional dependency of the
  benchmark only (`pip install opencv-python-headless`).
- `measure` gives PSNR/SSIM (on Y, as for super-resolution) and L1 on the filled region and the whole image.
"""
import numpy as np
import torch
from torch.nn import functional as F

from . import hardware, photos
from .models.inpaint import composite

MAX_SIDE = 768  # the network works on at most 768 px on the longer side (Kodak photos run at full size)


def network_size(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


# The fill is the mean of the network's passes at these fractions of its working size (at most MAX_SIDE): the
# full size keeps the detail near the hole's edge, the half-size pass sees a large hole's far edges closer
# together. Measured on Kodak24 with the 12,000-step 256-pixel network (side script, hole PSNR over the
# full-size pass alone, 10-20 % .. 40-50 % masks): full + half +0.13 / +0.08 / +0.06 / +0.21 dB; full + 2/3
# +0.10 / +0.08 / +0.02 / +0.13; full + 2/3 + half no better than full + half. The gain grows with the hole's
# depth (largest distance to a known pixel): +0.04 dB below 60 px, +0.21 above 100 px.
VIEW_SCALES = (1.0, 0.5)


def network_pass(module, image, hole, size: tuple[int, int]):
    """One pass of the network at `size` ((h, w)) on (1, 3, H, W) image and (1, 1, H, W) hole tensors -> its
    (1, 3, H, W) output, enlarged back to the image's size (bicubic) where it ran smaller."""
    height, width = hole.shape[-2:]
    small_h, small_w = size
    device = next(module.parameters()).device
    if (small_h, small_w) != (height, width):
        small_image = F.interpolate(image, (small_h, small_w), mode="area")
        # A low-resolution pixel any part of which is masked is masked: its average mixes in hole pixels.
        small_hole = (F.interpolate(hole, (small_h, small_w), mode="area") > 0).float()
    else:
        small_image, small_hole = image, hole
    multiple = module.multiple
    pad_h, pad_w = (-small_h) % multiple, (-small_w) % multiple
    if pad_h or pad_w:  # replicate the border: a mirror would copy hole pixels too, and zeros look like an edge
        small_image = F.pad(small_image, (0, pad_w, 0, pad_h), mode="replicate")
        small_hole = F.pad(small_hole, (0, pad_w, 0, pad_h), mode="replicate")
    with hardware.inference_autocast(device):
        filled = module(small_image.to(device), small_hole.to(device)).float().cpu()[:, :, :small_h, :small_w]
    if (small_h, small_w) != (height, width):
        filled = F.interpolate(filled, (height, width), mode="bicubic", align_corners=False).clamp(0, 1)
    return filled


@torch.no_grad()
def fill_array(module, rgb: np.ndarray, mask: np.ndarray, max_side: int = MAX_SIDE,
               scales=VIEW_SCALES) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] and an (H, W) bool mask -> (H, W, 3) float32, known pixels unchanged.
    The hole gets the mean of the network's passes at `scales` times its working size (see VIEW_SCALES)."""
    height, width = mask.shape
    image = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]
    hole = torch.from_numpy(np.ascontiguousarray(mask, np.float32))[None, None]
    work_h, work_w = network_size(height, width, max_side)
    sizes = [(max(1, round(work_h * s)), max(1, round(work_w * s))) for s in scales]
    filled = sum(network_pass(module, image, hole, size) for size in sizes) / len(sizes)
    out = composite(image, filled, hole)[0].permute(1, 2, 0).numpy()
    out[~mask] = rgb[~mask]  # exactly the input's values (no float round trip) where nothing was masked
    return out


def classical_fill(rgb_uint8: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """OpenCV's Telea inpainting of a uint8 RGB image; ImportError with the install command if OpenCV is missing."""
    try:
        import cv2
    except ImportError:
        raise ImportError("The classical baseline is OpenCV's Telea inpainting, an optional benchmark dependency: "
                          "pip install opencv-python-headless") from None
    return cv2.inpaint(np.ascontiguousarray(rgb_uint8), mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)


def masked_l1(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """Mean absolute difference in [0, 1] units over the pixels of `region` (all three channels)."""
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64))[region].mean() / 255)


def masked_psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """PSNR on Y (BT.601, as psnr_y) over the pixels of `region`."""
    mse = np.mean((photos.rgb_to_y(a)[region] - photos.rgb_to_y(b)[region]) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255 ** 2 / mse))


def hole_ssim(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """SSIM on Y over the bounding box of the filled region (SSIM needs windows; the box holds the hole)."""
    rows, cols = np.any(region, 1).nonzero()[0], np.any(region, 0).nonzero()[0]
    top, bottom = max(0, rows[0] - 5), min(region.shape[0], rows[-1] + 6)
    left, right = max(0, cols[0] - 5), min(region.shape[1], cols[-1] + 6)
    if bottom - top < 11 or right - left < 11:
        return photos.ssim_y(a, b, 0) if min(a.shape[:2]) >= 11 else float("nan")
    return photos.ssim_y(a[top:bottom, left:right], b[top:bottom, left:right], 0)


def measure(result_uint8: np.ndarray, original_uint8: np.ndarray, mask: np.ndarray) -> dict:
    """Hole and whole-image scores of one filled image against the original."""
    everywhere = np.ones_like(mask)
    return {"hole_psnr": masked_psnr(result_uint8, original_uint8, mask),
            "hole_ssim": hole_ssim(result_uint8, original_uint8, mask),
            "hole_l1": masked_l1(result_uint8, original_uint8, mask),
            "psnr": masked_psnr(result_uint8, original_uint8, everywhere),
            "ssim": photos.ssim_y(result_uint8, original_uint8, 0),
            "l1": masked_l1(result_uint8, original_uint8, everywhere)}


def model_fill_uint8(module, original_uint8: np.ndarray, mask: np.ndarray, max_side: int = MAX_SIDE,
                     scales=VIEW_SCALES) -> np.ndarray:
    return photos.to_uint8(fill_array(module, original_uint8.astype(np.float32) / 255, mask, max_side, scales))
