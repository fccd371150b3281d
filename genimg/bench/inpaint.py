"""Inpainting: PSNR/SSIM/L1 on the filled region and the whole image, per mask-ratio bucket, for the photo
network and OpenCV's Telea fill (optional: pip install opencv-python-headless), on fixed seeded masks; the
512x512 fill time; and a comparison grid (input with mask, Telea, network, original)."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import api, checkpoints, hardware, masks, metrics, photos
from ..families.inpaint import fill, texture
from . import blind
from .common import median_ms, speed_photo

INPAINT_KEYS = ("hole_psnr", "hole_ssim", "hole_l1", "psnr", "ssim", "l1")


METHODS = ("telea", "network", "texture")  # "network": the smooth fill (the network alone)
METHOD_TITLES = {"telea": "Telea", "network": "smooth (network)", "texture": "texture (network + patches)"}


def method_fill(method, model, image, mask):
    if method == "telea":
        return fill.classical_fill(image, mask)
    if method == "network":
        return fill.model_fill_uint8(model.module, image, mask)
    return photos.to_uint8(fill.texture_fill_array(model.module, image.astype(np.float32) / 255, mask))


def inpaint_quality(data, per_image=1, update_cards=False, figure=None, model_name=None, vgg=None):
    """Telea, the smooth network fill and the texture fill per mask-ratio bucket on every image in `data`
    (`per_image` seeded masks per image and bucket): PSNR/SSIM/L1 and, with a VGG16 (`vgg`), the texture FD
    (fill.texture_features). model_name: the released photo inpainter when None."""
    files = photos.list_images(data) if data and Path(data).is_dir() else []
    if not files:
        raise SystemExit(f"error: no images ({', '.join(photos.IMAGE_SUFFIXES)}) in {data}.")
    try:
        fill.classical_fill(np.zeros((8, 8, 3), np.uint8), np.eye(8, dtype=bool))
        methods = METHODS
    except ImportError as error:
        print(f"note: no classical baseline. {error}")
        methods = METHODS[1:]
    model = api.load(model_name or api.photo_inpainter())
    images = [photos.load_rgb(p) for p in files]
    print(f"{model.name} on {data}: {len(images)} images, {per_image} seeded mask(s) per image and bucket; the smooth "
          f"fill: the network's {fill.passes_text()}; PSNR (dB) and SSIM on Y, L1 on RGB in [0, 1]; 'hole' = the "
          f"filled pixels only (SSIM: the hole's bounding box)" +
          ("; texture FD: relu3_3 mean/std of 32x32 patches at least 3/4 in the hole, fill vs original" if vgg else ""))
    results = {}
    print(f"  {'bucket':<8}{'method':<10}" + "".join(f"{k:>11}" for k in INPAINT_KEYS) + ("   texture FD" if vgg else ""))
    for low, high in masks.BUCKETS:
        bucket = f"{round(low * 100)}-{round(high * 100)}%"
        scores = {method: [] for method in methods}
        features = {method: [] for method in methods}
        real = []
        for k, image in enumerate(images):
            for mask in masks.bucket_masks(k, *image.shape[:2], low, high, per_image):
                boxes = fill.hole_patches(mask) if vgg is not None else []
                if vgg is not None:
                    real.append(fill.texture_features(vgg, image, boxes))
                for method in methods:
                    result = method_fill(method, model, image, mask)
                    scores[method].append(fill.measure(result, image, mask))
                    if vgg is not None:
                        features[method].append(fill.texture_features(vgg, result, boxes))
        results[bucket] = {}
        for method in methods:
            row = {k: float(np.mean([r[k] for r in scores[method]])) for k in INPAINT_KEYS}
            if vgg is not None:
                row["texture_fd"] = metrics.frechet_distance(torch.cat(features[method]), torch.cat(real))
            results[bucket][method] = row
            print(f"  {bucket:<8}{method:<10}" + "".join(f"{row[k]:>11.4f}" for k in INPAINT_KEYS) +
                  (f"{row['texture_fd']:>13.1f}" if vgg is not None else ""))
        if vgg is not None:
            results[bucket]["texture_patches"] = int(sum(len(f) for f in real))
        if "telea" in methods:
            for method, key in (("network", "hole_gain_db"), ("texture", "texture_gain_db")):
                gain = results[bucket][method]["hole_psnr"] - results[bucket]["telea"]["hole_psnr"]
                results[bucket][key] = gain
                print(f"  {bucket:<8}{method} - telea, hole PSNR: {gain:+.2f} dB")
    if figure:
        inpaint_figure(model, images, figure, methods)
    if update_cards:
        checkpoints.record_metrics(api.checkpoint_dir(), model.name, "benchmark", {
            "data": str(data), "images": len(images), "masks_per_image_and_bucket": per_image,
            "passes": fill.passes_record(), "texture_fill": texture_record(),
            "command": f"python -m genimg.bench inpaint --data {data} --model {model.name} "
                       f"{'--vgg-weights PATH ' if vgg is not None else ''}--update-cards",
            **{bucket: {method: ({k: round(v, 4) for k, v in row.items()} if isinstance(row, dict) else
                                 (row if isinstance(row, int) else round(row, 3)))
                        for method, row in r.items()} for bucket, r in results.items()}})
    return results


def texture_record() -> dict:
    """The texture fill's settings, as the card records them."""
    return {"patch": texture.PATCH, "coarsest_px": texture.COARSEST, "guide_weight": texture.GUIDE_WEIGHT,
            "coherence": texture.COHERENCE, "guide_side": fill.GUIDE_SIDE, "work_side": fill.TEXTURE_SIDE}


def inpaint_figure(model, images, out, methods, count=4):
    """Rows of: input with the mask in white | each method | original, one bucket per row (first images)."""
    rows = []
    for (low, high), k in zip(masks.BUCKETS, range(count)):
        image = images[k % len(images)]
        mask = masks.bucket_masks(k, *image.shape[:2], low, high, 1)[0]
        shown = image.copy()
        shown[mask] = (255, 255, 255)
        row = np.concatenate([shown, *(method_fill(m, model, image, mask) for m in methods), image], axis=1)
        if rows and row.shape[0] != rows[0].shape[0] or rows and row.shape[1] != rows[0].shape[1]:
            continue  # portrait photos would not line up with the landscape ones
        rows.append(row)
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    picture = picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.LANCZOS)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    print(f"comparison grid (input with mask | {' | '.join(METHOD_TITLES[m] for m in methods)} | original; buckets "
          f"10-20% .. 40-50% by row): {out}")


def inpaint_speed(repeats=10, update_cards=False, model_name=None):
    """Median seconds of genimg.inpaint on a 512x512 photo with a 30-40 % mask, texture and smooth fills (the
    released photo inpainter when model_name is None)."""
    model_name = model_name or api.photo_inpainter()
    photo = speed_photo(512)
    mask = Image.fromarray(masks.bucket_masks(0, 512, 512, 0.3, 0.4, 1)[0].astype(np.uint8) * 255)
    dtype = hardware.inference_dtype()
    passes = "+".join(f"{scale:g}" for scale, _, _ in fill.PASSES)
    results = {}
    for method, key, how in (("texture", "texture_speed_512px", f"network once at {fill.GUIDE_SIDE} px + patches"),
                             ("smooth", "speed_512px", f"network at {passes} of its size")):
        seconds = median_ms(lambda: api.inpaint(photo, mask, model_name, method=method), repeats) / 1000
        print(f"inpainting speed, {method}: 512x512 photo, 30-40 % mask, torch threads {torch.get_num_threads()}, "
              f"{how}, network in {dtype}, median of {repeats} after a warm-up: {seconds:.3f} s (target <= 1.5 s)")
        results[key] = seconds
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), model_name, key, {
                "median_s": round(seconds, 4), "threads": torch.get_num_threads(), "dtype": dtype,
                **({"texture_fill": texture_record()} if method == "texture" else {"passes": fill.passes_record()}),
                "command": f"python -m genimg.bench inpaint --model {model_name} --update-cards"})
    return results


def inpaint_blind_pairs(data, out, model_name=None, extra=None, count=48, seed=0):
    """A blind comparison of the texture fill against the smooth one: each photo of `data` (Kodak24) with a
    30-40 % mask, then photos of the folder `extra` (the samples) with masks from every bucket, drawn at random
    up to `count` pairs; the photo with its hole in white, then the two fills as A and B."""
    model = api.load(model_name or api.photo_inpainter())
    cases = [(p, k, (0.3, 0.4)) for k, p in enumerate(photos.list_images(data))]
    if extra:
        extra = [(p, k, bucket) for k, p in enumerate(photos.list_images(extra)) for bucket in masks.BUCKETS]
        order = np.random.default_rng(seed).permutation(len(extra))
        cases += [extra[i] for i in order[:max(0, count - len(cases))]]
    pairs = []
    for path, k, (low, high) in cases[:count]:
        image = photos.load_rgb(path)
        if max(image.shape[:2]) > 768:
            image = photos.shrink_to(image, 768)
        mask = masks.bucket_masks(k, *image.shape[:2], low, high, 1)[0]
        shown = image.copy()
        shown[mask] = (255, 255, 255)
        pairs.append((f"{Path(path).name} {round(low * 100)}-{round(high * 100)}%", shown,
                      method_fill("texture", model, image, mask), method_fill("network", model, image, mask)))
    return blind.write_pairs(pairs, out, new="texture fill", old="smooth fill",
                             question="fills the white hole more convincingly: would you believe the photo was never "
                                      "edited? Look at texture, edges and seams",
                             reference_title="the photo, hole in white", seed=seed)
