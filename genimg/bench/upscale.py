"""Super-resolution: PSNR/SSIM on Y of every released upscaler at x2 and x4 beside bicubic, on any folder of
high-resolution images (the paper protocol, see genimg/photos.py), the upscaling speed (256x256 to x2 and x4,
median and images per second), and a figure of crops to look at."""
import time
from pathlib import Path

import torch
from PIL import Image

from .. import api, checkpoints, photos
from ..families.sr import upscaling
from .common import median_ms, speed_photo


def upscalers(names=None) -> list:
    """The upscaling models to measure: those named, or every available one."""
    found = []
    for name in names or list(api.upscaler_names().values()):
        try:
            found.append(api.upscaler(name))
        except ValueError as error:
            print(f"  {name}: unavailable ({error})")
    return found


def sr_quality(data, names=None, update_cards=False):
    """PSNR/SSIM-Y of bicubic and each model over every image in `data` (a folder), at each scale."""
    files = photos.list_images(data)
    if not files:
        raise SystemExit(f"error: no images ({', '.join(photos.IMAGE_SUFFIXES)}) in {data}.")
    images, skipped = [], []
    for path in files:
        try:
            image = photos.load_rgb(path)
        except OSError as error:
            skipped.append(f"{path.name} (unreadable: {error})")
            continue
        if min(image.shape[:2]) < upscaling.min_measure_side(4):
            skipped.append(f"{path.name} (smaller than {upscaling.min_measure_side(4)} pixels a side)")
            continue
        images.append(image)
    if skipped:
        print(f"skipped {len(skipped)}: {', '.join(skipped)}")
    if not images:
        raise SystemExit(f"error: no usable images in {data}.")
    models = upscalers(names)
    print(f"{data}: {len(images)} images; PSNR (dB) / SSIM on Y with `scale` pixels shaved at each border; "
          f"inputs made by MATLAB-compatible bicubic downscaling")
    for model in models:
        setup = upscaling.inference_setup(model.module)
        views = "the photo and its diagonal reflection, averaged" if setup["views"] == 2 else "one pass"
        print(f"  {model.name}: {views} (genimg/families/sr/upscaling.py), {setup['dtype']} on this CPU")
    results = {}
    for scale in (2, 4):
        rows = {}
        for model in models:
            if scale not in model.module.scales:
                continue
            start = time.perf_counter()
            rows[model.name] = upscaling.evaluate(model.module, images, scale)
            rows[model.name]["seconds"] = time.perf_counter() - start
        if not rows:
            continue
        bicubic = next(iter(rows.values()))["bicubic"]
        print(f"\n  x{scale}{'':<22}{'PSNR':>8}{'SSIM':>9}{'vs bicubic':>12}")
        print(f"  {'bicubic':<24}{bicubic['psnr']:>8.2f}{bicubic['ssim']:>9.4f}")
        for name, row in rows.items():
            print(f"  {name:<24}{row['model']['psnr']:>8.2f}{row['model']['ssim']:>9.4f}{row['gain_db']:>+10.2f} dB"
                  f"   ({row['seconds']:.0f} s)")
        results[f"x{scale}"] = {"bicubic": bicubic, **{name: row["model"] | {"gain_db": row["gain_db"]}
                                                      for name, row in rows.items()}}
    if update_cards:
        for model in models:
            checkpoints.record_metrics(api.checkpoint_dir(), model.name, "benchmark", {
                "data": str(data), "images": len(images),
                "command": f"python -m genimg.bench sr --data {data} --update-cards",
                "inference": upscaling.inference_setup(model.module),
                **{scale: {"psnr": round(r[model.name]["psnr"], 3), "ssim": round(r[model.name]["ssim"], 4),
                           "gain_db": round(r[model.name]["gain_db"], 3),
                           "bicubic_psnr": round(r["bicubic"]["psnr"], 3),
                           "bicubic_ssim": round(r["bicubic"]["ssim"], 4)}
                   for scale, r in results.items() if model.name in r}})
    return results


def sr_speed(names=None, repeats=10, update_cards=False):
    """Median seconds for genimg.upscale of a 256x256 photo at x2 and x4, and images per second."""
    photo = speed_photo()
    print(f"\nupscaling speed: 256x256 photo, torch threads {torch.get_num_threads()}, "
          f"median of {repeats} after a warm-up")
    results = {}
    for model in upscalers(names):
        results[model.name] = {}
        for scale in model.module.scales:
            seconds = median_ms(lambda: api.upscale(photo, scale, model), repeats) / 1000
            results[model.name][f"x{scale}"] = {"median_s": round(seconds, 4), "images_per_s": round(1 / seconds, 2)}
            print(f"  {model.name:<24} x{scale}: {seconds:7.3f} s  ({1 / seconds:6.2f} images/s)")
        if update_cards:
            checkpoints.record_metrics(api.checkpoint_dir(), model.name, "speed_256px", {
                **results[model.name], "threads": torch.get_num_threads(),
                "inference": upscaling.inference_setup(model.module),
                "command": "python -m genimg.bench sr --update-cards"})
    return results


def sr_figure(image_path, out, names=None, crop=128, zoom=2):
    """A picture to look at: for x2 and x4, the same crop of one photo as bicubic, each model, and the original."""
    from PIL import ImageDraw

    hr = photos.load_rgb(image_path)
    models = upscalers(names)
    crop = min(crop, *photos.modcrop(hr, 4).shape[:2])
    top, left = (hr.shape[0] - crop) // 2 // 4 * 4, (hr.shape[1] - crop) // 2 // 4 * 4
    rows = []
    for scale in (2, 4):
        result = None
        tiles = []
        for model in models:
            result = upscaling.measure(model.module, hr, scale)
            tiles.append((f"{model.name} x{scale} {result['model']['psnr']:.2f} dB", result["images"]["model"]))
        if result is None:
            break
        tiles.insert(0, (f"bicubic x{scale} {result['bicubic']['psnr']:.2f} dB", result["images"]["bicubic"]))
        tiles.append(("original", result["images"]["original"]))
        row = []
        for caption, image in tiles:
            piece = Image.fromarray(image[top:top + crop, left:left + crop]).resize((crop * zoom, crop * zoom),
                                                                                    Image.NEAREST)
            canvas = Image.new("RGB", (piece.width, piece.height + 16), "white")
            canvas.paste(piece, (0, 16))
            ImageDraw.Draw(canvas).text((2, 2), caption, fill="black")
            row.append(canvas)
        rows.append(row)
    width = sum(tile.width + 4 for tile in rows[0])
    figure = Image.new("RGB", (width, sum(row[0].height + 4 for row in rows)), "white")
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            figure.paste(tile, (c * (tile.width + 4), r * (tile.height + 4)))
    figure.save(out)
    print(f"\nwrote {out}: centre crop of {Path(image_path).name}, whole-image PSNR-Y in the captions")
