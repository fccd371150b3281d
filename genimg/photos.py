"""Photos: opening them safely, MATLAB-compatible bicubic resizing, and PSNR/SSIM as the SR papers measure them.

Everything the super-resolution code needs that is not a network:

- `open_image` turns a path, bytes or PIL image into one displayable frame, with a clear ValueError for
  anything that is not (not an image, truncated, animated, too large); `split_channels` / `join_channels`
  take any Pillow mode apart into RGB + alpha floats and put the result back together.
- `imresize` reproduces MATLAB's `imresize(img, scale)` (bicubic, antialiased when shrinking). The paper
  tables make their low-resolution inputs and their bicubic baselines with it; PIL's bicubic differs by up
  to ~0.3 dB, so training pairs and evaluation both use this one.
- `psnr_y` / `ssim_y`: on the Y channel of YCbCr (BT.601), `scale` pixels shaved at each border.
- `PhotoFolder`: the training and validation photos for train.py.
"""
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.nn import functional as F

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".gif")
MAX_OUTPUT_PIXELS = 8192 * 8192  # 64 Mpx: a 2000x2000 photo at x4 fits; 192 MB as 8-bit RGB
MAX_INPUT_PIXELS = MAX_OUTPUT_PIXELS // 4  # the largest input any scale (x2) can take
MAX_INPUT_BYTES = 20 * 1024 * 1024  # a file (the app's upload limit is this too)
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


# ----------------------------------------------------------------------------------------------
# Opening images, and taking their channels apart


def open_image(source, what: str = "The image", task: str = "upscale") -> Image.Image:
    """A path, bytes, file object or PIL image -> one loaded frame with its EXIF orientation applied.

    ValueError (with a message for the person who gave the file) for: nothing given, not an image, a truncated or
    corrupt file, an animated image, a file over MAX_INPUT_BYTES or an image over MAX_INPUT_PIXELS (this includes
    decompression bombs: the size is checked from the header, before any pixel is decoded). This is the one
    policy for every image that enters genimg: the API opens images with it, and the app runs `check_header` on
    each upload before gradio decodes it.
    """
    image, what = _open_checked(source, what, task)
    try:
        image.load()  # decode now, so a truncated file fails here with a clear message
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{what} is truncated or corrupt ({error}).") from None
    try:
        image = ImageOps.exif_transpose(image)  # phone photos: rotate as a viewer shows them
    except Exception:  # a broken EXIF block: keep the pixels as stored rather than fail
        pass
    return image


def check_header(source, what: str = "The image", task: str = "use") -> None:
    """open_image's checks that need no decoding (file size, format, pixel count, frames), for a file (path or
    bytes) that something else will decode; ValueError with the same messages."""
    image, _ = _open_checked(source, what, task)
    image.close()


def _open_checked(source, what: str, task: str) -> tuple[Image.Image, str]:
    """The image opened lazily (header only) and checked, and the name messages call it by."""
    if source is None:
        raise ValueError(f"{what} is missing: give an image (a path, bytes or a PIL image).")
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, (bytes, bytearray)):
            size = len(source)
            source = io.BytesIO(source)
        elif isinstance(source, (str, os.PathLike)):
            if not Path(source).is_file():
                raise ValueError(f"No image file at {source}.")
            what, size = Path(source).name, Path(source).stat().st_size
        elif hasattr(source, "read"):  # an open file: its size shows only as it is read
            size = 0
        else:
            raise ValueError(f"{what} must be an image: a path, bytes or a PIL image, not {type(source).__name__}.")
        if size > MAX_INPUT_BYTES:
            raise ValueError(f"{what} is {size / 2**20:.1f} MB; the largest file accepted is "
                             f"{MAX_INPUT_BYTES / 2**20:.0f} MB.")
        try:
            with warnings.catch_warnings():  # over 89 megapixels Pillow warns; the size check below refuses it
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(source)
        except UnidentifiedImageError:
            raise ValueError(f"{what} is not an image Pillow can read "
                             f"(use PNG, JPEG, WebP, BMP, TIFF or GIF).") from None
        except Image.DecompressionBombError:
            raise ValueError(f"{what} is far too large to {task} (its header claims more than "
                             f"{Image.MAX_IMAGE_PIXELS * 2 / 1e6:.0f} megapixels).") from None
        except OSError as error:
            raise ValueError(f"{what} is truncated or corrupt: Pillow cannot read it ({error}).") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError(f"{what} is empty ({width}x{height}).")
    if width * height > MAX_INPUT_PIXELS:
        limit = ("upscaling takes at most {:.1f} megapixels (4096x4096 at x2, 2048x2048 at x4)" if task == "upscale"
                 else "the largest image accepted is {:.1f} megapixels").format(MAX_INPUT_PIXELS / 1e6)
        raise ValueError(f"{what} is {width}x{height} ({width * height / 1e6:.1f} megapixels); {limit}.")
    if getattr(image, "n_frames", 1) > 1:
        raise ValueError(f"{what} is animated ({image.n_frames} frames); {task} a single frame (a still image).")
    return image, what


def split_channels(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Any Pillow mode -> (RGB float32 (H, W, 3) in [0, 1], alpha float32 (H, W) or None, output mode).

    The output mode says how to give the result back: "L"/"LA" for grayscale input (16-bit included),
    "RGB"/"RGBA" for everything else (palette, CMYK, YCbCr, ...). Grayscale is upscaled as RGB with three
    equal channels, since the networks were trained on colour photos.
    """
    mode = image.mode
    if mode in HIGH_BIT_MODES:  # 16-bit and 32-bit grayscale: rescale to [0, 1] (convert("L") would clip at 255)
        values = np.asarray(image).astype(np.float64)
        if mode.startswith("I;16"):
            top = 65535.0
        elif mode == "F":
            top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
        else:  # "I": 16-bit PNGs open as "I"; 8-bit data stored as "I" stays below 256
            top = 65535.0 if values.max(initial=0) > 255 else 255.0
        gray = np.clip(values / top, 0, 1).astype(np.float32)
        return np.repeat(gray[..., None], 3, axis=2), None, "L"
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in image.info
        image, mode = image.convert("RGBA" if has_alpha else "RGB"), "RGBA" if has_alpha else "RGB"
    elif mode == "1":
        image, mode = image.convert("L"), "L"
    elif mode == "La":
        image, mode = image.convert("LA"), "LA"
    elif mode == "RGBa":
        image, mode = image.convert("RGBA"), "RGBA"
    elif mode not in ("L", "LA", "RGB", "RGBA"):  # CMYK, YCbCr, LAB, HSV, RGBX: Pillow's conversion to RGB
        image, mode = image.convert("RGB"), "RGB"
    array = np.asarray(image).astype(np.float32) / 255
    if mode == "L":
        return np.repeat(array[..., None], 3, axis=2), None, "L"
    if mode == "LA":
        return np.repeat(array[..., :1], 3, axis=2), array[..., 1], "LA"
    if mode == "RGBA":
        return np.ascontiguousarray(array[..., :3]), array[..., 3], "RGBA"
    return array, None, "RGB"


def to_uint8(array: np.ndarray) -> np.ndarray:
    return (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)


def join_channels(rgb: np.ndarray, alpha: np.ndarray | None, mode: str) -> Image.Image:
    """The inverse of split_channels: uint8 or float [0, 1] arrays -> a PIL image of `mode`."""
    rgb = rgb if rgb.dtype == np.uint8 else to_uint8(rgb)
    if mode == "RGB" and alpha is None:
        return Image.fromarray(rgb, "RGB")  # no re-stacking: at 64 megapixels every copy is 192 MB
    if mode in ("L", "LA"):
        # The three channels are nearly equal; their rounded mean is the gray value.
        gray = ((rgb[..., 0].astype(np.uint16) + rgb[..., 1] + rgb[..., 2] + 1) // 3).astype(np.uint8)
        channels = [gray]
    else:
        channels = [rgb[..., 0], rgb[..., 1], rgb[..., 2]]
    if alpha is not None:
        channels.append(alpha if alpha.dtype == np.uint8 else to_uint8(alpha))
    array = np.stack(channels, axis=2) if len(channels) > 1 else channels[0]
    return Image.fromarray(array, mode)


def load_rgb(path) -> np.ndarray:
    """A photo file -> (H, W, 3) uint8 RGB (for training and evaluation; alpha dropped)."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        return np.asarray(image.convert("RGB"))


def list_images(folder) -> list:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


# ----------------------------------------------------------------------------------------------
# MATLAB-compatible bicubic resizing (a port of imresize's contributions(); antialiased when shrinking)


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's; PyTorch's bicubic uses a = -0.75)."""
    ax = np.abs(x)
    ax2, ax3 = ax ** 2, ax ** 3
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) +
            (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def resize_weights(in_length: int, out_length: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel: the input pixels it reads (0-based) and their weights, as MATLAB computes them.

    When shrinking, the kernel is stretched by 1/scale (antialiasing: each output averages over the
    input pixels it covers). Borders are mirrored ("symmetric" padding), as in MATLAB.
    """
    kernel_width = 4.0 / scale if scale < 1 else 4.0
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # the output pixel's centre in input coordinates (1-based)
    left = np.floor(u - kernel_width / 2)
    taps = int(np.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    distance = u[:, None] - indices
    weights = scale * cubic(distance * scale) if scale < 1 else cubic(distance)
    weights /= weights.sum(1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    used = np.any(weights != 0, axis=0)  # MATLAB drops taps that are zero for every output pixel
    return indices[:, used], weights[:, used].astype(np.float32)


def _resize_axis(array: np.ndarray, axis: int, scale: float, out_length: int) -> np.ndarray:
    indices, weights = resize_weights(array.shape[axis], out_length, scale)
    moved = np.moveaxis(array, axis, 0)
    out = np.zeros((out_length,) + moved.shape[1:], np.float32)
    shape = (-1,) + (1,) * (moved.ndim - 1)
    for k in range(weights.shape[1]):  # one tap at a time: memory stays at one output-sized array
        out += weights[:, k].reshape(shape) * moved[indices[:, k]]
    return np.moveaxis(out, 0, axis)


def imresize(array: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB `imresize(array, scale)` (bicubic) of an (H, W) or (H, W, C) array.

    uint8 in -> uint8 out (rounded, as MATLAB does); float in -> float32 out, unclipped.
    Output size: ceil(H * scale) x ceil(W * scale), MATLAB's rule.
    """
    is_uint8 = array.dtype == np.uint8
    out = array.astype(np.float32)
    height, width = array.shape[:2]
    out = _resize_axis(out, 0, scale, int(np.ceil(height * scale - 1e-9)))  # rows first, as MATLAB does
    out = _resize_axis(out, 1, scale, int(np.ceil(width * scale - 1e-9)))
    if is_uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out


def modcrop(array: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom and right so both sides divide by `scale` (the papers' first step)."""
    height, width = array.shape[:2]
    return array[:height - height % scale, :width - width % scale]


def degrade(hr_uint8: np.ndarray, scale: int) -> np.ndarray:
    """The low-resolution input of the paper tables: MATLAB bicubic downscaling of the mod-cropped image, in uint8."""
    return imresize(modcrop(hr_uint8, scale), 1 / scale)


# ----------------------------------------------------------------------------------------------
# PSNR and SSIM on Y


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of 0..255 RGB, in 16..235 (MATLAB's rgb2ycbcr), as float64."""
    rgb = rgb.astype(np.float64)
    return 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255


def _shave(y: np.ndarray, border: int) -> np.ndarray:
    return y[border:-border, border:-border] if border > 0 else y


def psnr_y(a: np.ndarray, b: np.ndarray, border: int) -> float:
    """PSNR in dB between two uint8 RGB images, on Y, with `border` pixels cropped at each side."""
    ya, yb = _shave(rgb_to_y(a), border), _shave(rgb_to_y(b), border)
    mse = np.mean((ya - yb) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255 ** 2 / mse))


def ssim_y(a: np.ndarray, b: np.ndarray, border: int) -> float:
    """SSIM (Wang et al. 2004, the reference MATLAB code: 11x11 Gaussian window, sigma 1.5, valid region) on Y."""
    ya = torch.from_numpy(_shave(rgb_to_y(a), border))[None, None]
    yb = torch.from_numpy(_shave(rgb_to_y(b), border))[None, None]
    g = torch.exp(-(torch.arange(11, dtype=torch.float64) - 5) ** 2 / (2 * 1.5 ** 2))
    g = g / g.sum()

    def blur(x):  # separable Gaussian, 'valid' convolution
        return F.conv2d(F.conv2d(x, g.view(1, 1, 11, 1)), g.view(1, 1, 1, 11))

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(ya), blur(yb)
    var_a = blur(ya * ya) - mu_a ** 2
    var_b = blur(yb * yb) - mu_b ** 2
    cov = blur(ya * yb) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


# ----------------------------------------------------------------------------------------------
# Photo folders for training


@dataclass
class PhotoFolder:
    """Training photos held in memory as uint8 arrays, and the validation photos (or None)."""
    train: list
    val: list
    source: str
    val_source: str
    classes: list = field(default_factory=list)  # train() asks every dataset for its classes; photos have none


def find_photos(data=None) -> tuple[Path, Path | None]:
    """(train folder, val folder or None) from --data or GENIMG_DATA: a folder with train/ (and val/),
    or one that has them under photos/. One clear error naming every place looked."""
    places = []
    if data:
        places.append(("--data", Path(data)))
    if os.environ.get("GENIMG_DATA"):
        places.append(("GENIMG_DATA", Path(os.environ["GENIMG_DATA"])))
    looked = []
    for label, root in places:
        for folder in (root, root / "photos"):
            train = folder / "train"
            if train.is_dir() and list_images(train):
                val = folder / "val"
                return train, (val if val.is_dir() and list_images(val) else None)
        looked.append(f"{label}: {root} (and {root / 'photos'})")
    where = "\n  ".join(looked) if looked else "nowhere: neither --data nor GENIMG_DATA was given"
    raise FileNotFoundError(
        f"Could not find training photos. Looked in:\n  {where}\n"
        f"Provide them with --data PATH (or GENIMG_DATA=PATH): a folder with train/ (and optionally val/) "
        f"holding photos ({', '.join(IMAGE_SUFFIXES)}), e.g. --data ../shared/datasets/photos.")


def shrink_to(array: np.ndarray, max_side: int) -> np.ndarray:
    """Antialiased MATLAB-bicubic downscale so the longer side is at most max_side (large wallpapers)."""
    longest = max(array.shape[:2])
    if longest <= max_side:
        return array
    return imresize(array, max_side / longest)


def load_photos(data=None, max_side: int = 2048, val_count: int = 10) -> PhotoFolder:
    """Decode every training photo once (about 350 MB for photos/train). Without a val/ folder, the last
    `val_count` training photos are held out for validation instead."""
    train_dir, val_dir = find_photos(data)
    train = [shrink_to(load_rgb(p), max_side) for p in list_images(train_dir)]
    if val_dir is not None:
        val, val_source = [load_rgb(p) for p in list_images(val_dir)], str(val_dir)
    else:
        train, val = train[:-val_count], train[-val_count:]
        val_source = f"the last {val_count} photos of {train_dir} (no val/ folder)"
    return PhotoFolder(train, val, str(train_dir), val_source)


def synthetic_photos(n_train: int = 12, n_val: int = 2, size: int = 96, seed: int = 0) -> PhotoFolder:
    """Tiny made-up 'photos' (smooth colour gradients, discs and stripes) for --dry-run and tests."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size

    def make():
        image = np.stack([rng.uniform(0.2, 0.8) + rng.uniform(-0.3, 0.3) * (xx if c % 2 else yy) for c in range(3)], 2)
        cy, cx, r = rng.uniform(0.2, 0.8, 3)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < (r * 0.3) ** 2] = rng.uniform(0, 1, 3)
        stripes = np.sin(2 * np.pi * rng.uniform(3, 12) * (xx + rng.uniform(-1, 1) * yy)) > 0
        image[stripes & (yy > 0.6)] *= 0.5
        return (np.clip(image, 0, 1) * 255).astype(np.uint8)

    return PhotoFolder([make() for _ in range(n_train)], [make() for _ in range(n_val)],
                       "synthetic", "synthetic")
