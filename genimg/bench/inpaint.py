"""Inpainting: PSNR/SSIM/L1 on the filled region and the whole image, per mask-ratio bucket, for the photo
network and OpenCV's Telea fill (optional: pip install opencv-python-headless), on fixed seeded masks; the
512x512 fill time; and a comparison grid (input with mask, Telea, network, original)."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import api, checkpoints, hardware, masks, photos
from ..families.inpaint import fill
from .common import median_ms, speed_photo

INPAINT_KEYS = ("hole_psnr", "hole_ssim", "hole_l1", "psnr", "ssim", "l1")


def inpaint_quality(data, per_image=1, update_cards=False, figure=None, model_name=None):
    """Network vs Telea per mask-ratio bucket on every image in `data`: `per_image` seeded masks per image and bucket.
    model_name: the released photo inpainter when None."""
    files = photos.list_images(data) if data and Path(data).is_dir() else []
    if not files:
        raise SystemExit(f"error: no images ({', '.join(photos.IMAGE_SUFFIXES)}) in {data}.")
    try:
        fill.classical_fill(np.zeros((8, 8, 3), np.uint8), np.eye(8, dtype=bool))
        has_cv = True
    except ImportError as error:
        print(f"note: no classical baseline. {error}")
        has_cv = False
    model = api.load(model_name or api.photo_inpainter())
    images = [photos.load_rgb(p) for p in files]
    print(f"{model.name} on {data}: {len(images)} images, {per_image} seeded mask(s) per image and bucket; the "
          f"network's {fill.passes_text()}; "
          f"PSNR (dB) and SSIM on Y, L1 on RGB in [0, 1]; 'hole' = the filled pixels only (SSIM: the hole's "
          f"bounding box)")
    results = {}
    header = f"  {'bucket':<8}{'method':<10}" + "".join(f"{k:>11}" for k in INPAINT_KEYS)
    print(header)
    for low, high in masks.BUCKETS:
        bucket = f"{round(low * 100)}-{round(high * 100)}%"
        scores = {"network": [], "telea": []}
        for k, image in enumerate(images):
            for mask in masks.bucket_masks(k, *image.shape[:2], low, high, per_image):
                scores["network"].append(fill.measure(fill.model_fill_uint8(model.module, image, mask), image, mask))
                if has_cv:
                    scores["telea"].append(fill.measure(fill.classical_fill(image, mask), image, mask))
        results[bucket] = {}
        for method, rows in scores.items():
            if rows:
                results[bucket][method] = {k: float(np.mean([r[k] for r in rows])) for k in INPAINT_KEYS}
                print(f"  {bucket:<8}{method:<10}" + "".join(f"{results[bucket][method][k]:>11.4f}" for k in INPAINT_KEYS))
        if has_cv:
            gain = results[bucket]["network"]["hole_psnr"] - results[bucket]["telea"]["hole_psnr"]
            results[bucket]["hole_gain_db"] = gain
            print(f"  {bucket:<8}network - telea, hole PSNR: {gain:+.2f} dB {'(>= +1.5: met)' if gain >= 1.5 else '(< +1.5: NOT met)'}")
    if figure:
        inpaint_figure(model, images, figure, has_cv)
    if update_cards:
        checkpoints.record_metrics(api.checkpoint_dir(), model.name, "benchmark", {
            "data": str(data), "images": len(images), "masks_per_image_and_bucket": per_image,
            "passes": fill.passes_record(),
            "command": f"python -m genimg.bench inpaint --data {data} --model {model.name} --update-cards",
            **{bucket: {method: ({k: round(v, 4) for k, v in row.items()} if isinstance(row, dict) else round(row, 3))
                        for method, row in r.items()} for bucket, r in results.items()}})
    return results


def inpaint_figure(model, images, out, has_cv, count=4):
    """Rows of: input with the mask in white | Telea | network | original, one bucket per row (first images)."""
    rows = []
    for (low, high), k in zip(masks.BUCKETS, range(count)):
        image = images[k % len(images)]
        mask = masks.bucket_masks(k, *image.shape[:2], low, high, 1)[0]
        shown = image.copy()
        shown[mask] = (255, 255, 255)
        telea = fill.classical_fill(image, mask) if has_cv else np.full_like(image, 128)
        row = np.concatenate([shown, telea, fill.model_fill_uint8(model.module, image, mask), image], axis=1)
        if rows and row.shape[0] != rows[0].shape[0] or rows and row.shape[1] != rows[0].shape[1]:
            continue  # portrait photos would not line up with the landscape ones
        rows.append(row)
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    picture = picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.LANCZOS)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    print(f"comparison grid (input with mask | Telea | network | original; buckets 10-20% .. 40-50% by row): {out}")


def inpaint_speed(repeats=10, update_cards=False, model_name=None):
    """Median seconds of genimg.inpaint on a 512x512 photo with a 30-40 % mask (the released photo inpainter when
    model_name is None)."""
    model_name = model_name or api.photo_inpainter()
    photo = speed_photo(512)
    mask = Image.fromarray(masks.bucket_masks(0, 512, 512, 0.3, 0.4, 1)[0].astype(np.uint8) * 255)
    seconds = median_ms(lambda: api.inpaint(photo, mask, model_name), repeats) / 1000
    dtype = hardware.inference_dtype()
    passes = "+".join(f"{scale:g}" for scale, _, _ in fill.PASSES)
    print(f"\ninpainting speed: 512x512 photo, 30-40 % mask, torch threads {torch.get_num_threads()}, network in "
          f"{dtype} at {passes} of its size, median of {repeats} after a warm-up: {seconds:.3f} s (target <= 1.5 s)")
    if update_cards:
        checkpoints.record_metrics(api.checkpoint_dir(), model_name, "speed_512px", {
            "median_s": round(seconds, 4), "threads": torch.get_num_threads(), "dtype": dtype,
            "passes": fill.passes_record(),
            "command": f"python -m genimg.bench inpaint --model {model_name} --update-cards"})
    return {"median_s_512px": seconds}
