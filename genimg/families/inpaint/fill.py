"""Running the inpainting network on real images, a classical fill to compare it with, and the measurements.

- `fill_array` runs the network at a bounded resolution: an image whose longer side exceeds `max_side` is
  shrunk for the network (its mask shrunk so that any partly-masked pixel counts as masked), padded to a
  multiple of 8, filled, and the fill is enlarged back and composited at full resolution. It runs at that size,
  at half and at a quarter of it, and each hole pixel gets a mean of the three weighted by its depth (`PASSES`).
  Known pixels are returned exactly as they came in; only masked pixels change. On a CPU that computes bfloat16
  natively (AVX512-BF16 or AMX) the network runs in bfloat16: its pass on a 512x512 photo took 0.43 s instead of
  0.75 s (2 threads), for the same hole PSNR to 0.001 dB on the first 8 Kodak photos in every mask bucket (the
  push-pull start it corrects and the composite stay float32).
- `classical_fill` is OpenCV's Telea fast-marching inpainting (Telea 2004), an optional dependency of the
  benchmark only (`pip install opencv-python-headless`).
- `measure` gives PSNR/SSIM (on Y, as for super-resolution) and L1 on the filled region and the whole image.
"""
import numpy as np
import torch
from torch.nn import functional as F

from ... import hardware, photos
from . import texture
from .network import composite

MAX_SIDE = 768  # the network works on at most 768 px on the longer side (Kodak photos run at full size)


def network_size(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


# The network runs at these fractions of its working size (at most MAX_SIDE), and each hole pixel gets a weighted
# mean of the passes: (scale, weight at the hole's rim, weight from DEEP_FROM pixels deep on), the weights going
# linearly from one to the other with the pixel's depth (its distance to the nearest known pixel, at the working
# size). Near the rim the full-size pass keeps the detail of the edge it continues; deep inside, the smaller
# passes see a large hole's far edges closer together (at half size alone the network beat the full size in the
# 40-50 % bucket). Chosen on photos the network never trained on and Kodak24 never saw, scikit-image's 11
# samples (side script, 2 masks per photo and bucket): over the plain mean of the full and half pass (the
# previous release) +0.10 / +0.10 / +0.10 / +0.11 dB hole PSNR (thresholds of 48 and 64 px: +0.07 to +0.11;
# 16 px: +0.03 to +0.07); the mean itself was +0.08 / +0.11 / +0.17 / +0.21 dB over the full pass alone. On
# Kodak24, over the same mean: the 256-pixel network -0.005 / -0.04 / -0.01 / +0.11 dB, the shipped
# squared-error one +0.04 / +0.05 / +0.03 / +0.15 (README, Inpainting).
PASSES = ((1.0, 0.75, 0.0), (0.5, 0.25, 0.5), (0.25, 0.0, 0.5))
DEEP_FROM = 32
ONE_PASS = ((1.0, 1.0, 1.0),)  # the network alone at its working size (training's validation)


def passes_record(passes=PASSES) -> dict:
    """The blend of passes, as cards and the bench record it."""
    return {"scale_rim_deep": [list(p) for p in passes], "deep_from_px": DEEP_FROM}


def passes_text(passes=PASSES) -> str:
    scales = ", ".join(f"{scale:g}" for scale, _, _ in passes)
    rim = "/".join(f"{rim:g}" for _, rim, _ in passes)
    deep = "/".join(f"{d:g}" for _, _, d in passes)
    return f"passes at {scales} of its size, weighted {rim} at the hole's rim, {deep} from {DEEP_FROM} px deep"


def hole_depth(hole, cap: int):
    """(1, 1, H, W) hole (1 = fill) -> each pixel's distance in pixels to the nearest known pixel, capped at `cap`
    (0 on known pixels). Erosions by a 3x3 square and a 3x3 cross in turn: an octagonal distance, at most 13 %
    short of the Euclidean one (the blend scored within 0.03 dB for thresholds from 32 to 64 px, see PASSES);
    outside the image counts as hole, so a hole at the border is as deep as it looks."""
    depth, inside = torch.zeros_like(hole), hole.clone()
    for step in range(cap):
        depth += inside
        if not bool(inside.any()):
            break
        if step % 2 == 0:
            inside = -F.max_pool2d(-inside, 3, 1, 1)  # min over the 3x3 square (padding never wins a max)
        else:
            padded = F.pad(inside, (1, 1, 1, 1), value=1.0)
            inside = torch.minimum(torch.minimum(padded[..., 1:-1, :-2], padded[..., 1:-1, 2:]),
                                   torch.minimum(padded[..., :-2, 1:-1], padded[..., 2:, 1:-1])).minimum(inside)
    return depth


def work_hole(hole, size: tuple[int, int]):
    """The hole at the network's working size: a pixel any part of which is masked is masked."""
    return hole if tuple(hole.shape[-2:]) == size else (F.interpolate(hole, size, mode="area") > 0).float()


def network_pass(module, image, hole, size: tuple[int, int]):
    """One pass of the network at `size` ((h, w)) on (1, 3, H, W) image and (1, 1, H, W) hole tensors -> its
    (1, 3, H, W) output, enlarged back to the image's size (bicubic) where it ran smaller."""
    height, width = hole.shape[-2:]
    small_h, small_w = size
    device = next(module.parameters()).device
    if (small_h, small_w) != (height, width):
        small_image = F.interpolate(image, (small_h, small_w), mode="area")
        small_hole = work_hole(hole, (small_h, small_w))  # its area average would mix in hole pixels
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
def fill_array(module, rgb: np.ndarray, mask: np.ndarray, max_side: int = MAX_SIDE, passes=PASSES) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] and an (H, W) bool mask -> (H, W, 3) float32, known pixels unchanged.
    The hole gets the depth-weighted mean of the network's `passes` (see PASSES)."""
    height, width = mask.shape
    image = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]
    hole = torch.from_numpy(np.ascontiguousarray(mask, np.float32))[None, None]
    work_h, work_w = network_size(height, width, max_side)
    # How deep each pixel is, as a share of DEEP_FROM (working-size pixels), at full resolution (bilinear); only
    # where a weight depends on it (0.1 s for a 512x512 photo).
    deep = 0.0
    if any(rim_weight != deep_weight for _, rim_weight, deep_weight in passes):
        deep = hole_depth(work_hole(hole, (work_h, work_w)), DEEP_FROM) / DEEP_FROM
        if (work_h, work_w) != (height, width):
            deep = F.interpolate(deep, (height, width), mode="bilinear", align_corners=False).clamp(0, 1)
    filled = torch.zeros_like(image)
    for scale, rim_weight, deep_weight in passes:
        size = (max(1, round(work_h * scale)), max(1, round(work_w * scale)))
        filled += network_pass(module, image, hole, size) * (rim_weight + (deep_weight - rim_weight) * deep)
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
                     passes=PASSES) -> np.ndarray:
    return photos.to_uint8(fill_array(module, original_uint8.astype(np.float32) / 255, mask, max_side, passes))


# The texture fill (texture.py): the network runs once, at most GUIDE_SIDE long, as the guide (the synthesis reads
# it at its coarser levels only), and the synthesis works at most TEXTURE_SIDE long; a bigger photo gets the
# rebuilt hole enlarged (bicubic) into its full-size known pixels.
GUIDE_SIDE = 384
TEXTURE_SIDE = 768


@torch.no_grad()
def texture_fill_array(module, rgb: np.ndarray, mask: np.ndarray, seed: int = 0) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] and an (H, W) bool mask -> (H, W, 3) float32: the hole rebuilt from the
    photo's own patches, chosen to agree with the network's fill (texture.synthesize); known pixels unchanged."""
    height, width = mask.shape
    work_h, work_w = network_size(height, width, TEXTURE_SIDE)
    image = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]
    hole = torch.from_numpy(np.ascontiguousarray(mask, np.float32))[None, None]
    if (work_h, work_w) != (height, width):
        small = F.interpolate(image, (work_h, work_w), mode="area")[0].permute(1, 2, 0).numpy()
        small_mask = work_hole(hole, (work_h, work_w))[0, 0].numpy() > 0.5
    else:
        small, small_mask = np.asarray(rgb, np.float32), mask
    guide = fill_array(module, small, small_mask, max_side=GUIDE_SIDE, passes=ONE_PASS)
    rebuilt = texture.synthesize(small, small_mask, guide, seed=seed)
    if (work_h, work_w) != (height, width):
        big = F.interpolate(torch.from_numpy(rebuilt).permute(2, 0, 1)[None], (height, width), mode="bicubic",
                            align_corners=False).clamp(0, 1)
        rebuilt = composite(image, big, hole)[0].permute(1, 2, 0).numpy()
    out = np.ascontiguousarray(rebuilt, np.float32).copy()
    out[~mask] = rgb[~mask]
    return out


# The texture measure (bench): VGG16 relu3_3 statistics of 32x32 patches that lie mostly inside the hole, in the
# fill and in the original at the same places; the Fréchet distance between the two sets says how far the fill's
# textures are from the real ones (a smooth smear has none of their spread), whatever their exact position.
TEXTURE_PATCH = 32


def hole_patches(mask: np.ndarray, side: int = TEXTURE_PATCH, inside: float = 0.75) -> list:
    """(top, left) of the side x side squares, on a half-overlapping grid, that are at least `inside` hole."""
    height, width = mask.shape
    step = side // 2
    return [(y, x) for y in range(0, height - side + 1, step) for x in range(0, width - side + 1, step)
            if mask[y:y + side, x:x + side].mean() >= inside]


@torch.no_grad()
def texture_features(vgg, image_uint8: np.ndarray, boxes: list, side: int = TEXTURE_PATCH) -> torch.Tensor:
    """(len(boxes), 512): per patch, the mean and standard deviation of each relu3_3 channel over its positions."""
    if not boxes:
        return torch.zeros(0, 512, dtype=torch.float64)
    crops = np.stack([image_uint8[y:y + side, x:x + side] for y, x in boxes])
    batch = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255)
    features = torch.cat([vgg(chunk, ("relu3_3",))["relu3_3"] for chunk in batch.split(256)])
    return torch.cat([features.mean((2, 3)), features.std((2, 3))], 1).double()
