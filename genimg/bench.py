"""Benchmarks: `python -m genimg.bench quality` and `python -m genimg.bench speed`.

quality: Fréchet distance in each dataset's classifier feature space on 10,000 samples, printed
         beside two references computed the same way (real train vs real test: the floor; real test
         images blurred with a 3x3 box filter: a mild, visible degradation), the conditional GAN's
         class agreement, and the share of samples that nearly copy a training image.
speed:   median latency of each app function on this machine, and the app's start-up time.
sr:      super-resolution: PSNR/SSIM on Y of every shipped upscaler at x2 and x4 beside bicubic, on any
         folder of high-resolution images (the paper protocol, see genimg/photos.py), and the upscaling
         speed (256x256 to x4, median and images per second).
inpaint: inpainting: PSNR/SSIM/L1 on the filled region and the whole image, per mask-ratio bucket, for the photo
         network and OpenCV's Telea fill (optional: pip install opencv-python-headless), on fixed seeded masks;
         the 512x512 fill time; and a comparison grid (input with mask, Telea, network, original).
style:   style transfer: for each preset, the style and content losses (genimg/styling.py) of the network's
         output beside those of Gatys' optimisation on the same photo, with the time each took; the median
         time of a preset on a 512x512 photo; and the README grid (rows: photos, columns: presets).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch

from PIL import Image

from . import api, checkpoints, data as datasets, hardware, inpainting, masks, metrics, photos, styling, upscaling

GENERATOR_FAMILIES = ("dcgan", "cgan", "vae", "vae2d")
# A sample "nearly copies" a training image when its RMS pixel distance to it is under this
# (0..1 scale; about 10 grey levels): far closer than two different drawings of the same class.
COPY_THRESHOLD = 0.04


@torch.no_grad()
def sample_images(model, n, seed=0, batch=1000, truncation=None):
    """n samples (and, for a conditional model, the labels asked for: an equal share of each class)."""
    z = api.latents(model, n, seed, truncation)
    labels = torch.arange(n) % len(model.classes) if model.conditional else None
    images = torch.cat([api.decode(model, z[i:i + batch], None if labels is None else labels[i:i + batch])
                        for i in range(0, n, batch)])
    return images, labels


def quality(n=10_000, data=None, update_cards=False, out=None):
    results = {}
    for dataset in datasets.DATASETS:
        try:
            classifier = api.find("classifier", dataset)
        except ValueError as error:
            print(f"{dataset}: skipped ({error})")
            continue
        real = datasets.load(dataset, data)
        test = datasets.to_float(real.test_images[:n])
        g = torch.Generator().manual_seed(0)
        train = datasets.to_float(real.train_images[torch.randperm(len(real.train_images), generator=g)[:n]])
        clf = classifier.module
        test_features = metrics.features(clf, test)
        accuracy = float((metrics.predictions(clf, datasets.to_float(real.test_images)) == real.test_labels).float().mean())
        floor = metrics.frechet_distance(metrics.features(clf, train), test_features)
        blurred = metrics.frechet_distance(metrics.features(clf, metrics.box_blur(test)), test_features)
        train_all = datasets.to_float(real.train_images)
        copies_real = float((metrics.nearest_distances(test[:2000], train_all) < COPY_THRESHOLD).float().mean())
        rows = {"classifier_test_accuracy": round(accuracy, 4), "fd_floor_train_vs_test": round(floor, 3),
                "fd_blurred_test": round(blurred, 3), "copy_share_real_test": round(copies_real, 4), "models": {}}
        print(f"\n{dataset}: classifier test accuracy {accuracy:.2%}; {n:,} samples per model")
        print(f"  {'':<24}{'FD':>9}{'x floor':>9}  {'class agreement':>38}  {'near-copies':>11}")
        print(f"  {'real train vs test':<24}{floor:>9.3f}{1:>9.1f}  {accuracy:>37.2%}   {copies_real:>10.2%}")
        print(f"  {'real test, 3x3 blur':<24}{blurred:>9.3f}{blurred / floor:>9.1f}")
        for family in GENERATOR_FAMILIES:
            try:
                model = api.find(family, dataset)
            except ValueError as error:
                print(f"  {family}: unavailable ({error})")
                continue
            images, labels = sample_images(model, n)
            fd = metrics.frechet_distance(metrics.features(clf, images), test_features)
            row = {"fd": round(fd, 3), "fd_ratio_to_floor": round(fd / floor, 2),
                   "fd_ratio_to_blurred": round(fd / blurred, 3),
                   "copy_share": round(float((metrics.nearest_distances(images[:2000], train_all) < COPY_THRESHOLD)
                                             .float().mean()), 4)}
            agreement = ""
            if labels is not None:
                row["class_agreement"] = round(float((metrics.predictions(clf, images) == labels).float().mean()), 4)
                agreement = f"{row['class_agreement']:.2%}"
                # The app's truncation control trades variety for typical samples; report what it buys.
                truncated, _ = sample_images(model, n, truncation=1.0)
                row["class_agreement_truncation_1"] = round(
                    float((metrics.predictions(clf, truncated) == labels).float().mean()), 4)
                agreement += f" ({row['class_agreement_truncation_1']:.2%} at truncation 1)"
            print(f"  {model.name:<24}{fd:>9.3f}{fd / floor:>9.1f}  {agreement:>38}  {row['copy_share']:>10.2%}")
            rows["models"][model.name] = row
            if update_cards:
                card = checkpoints.read_card(api.checkpoint_dir(), model.name)
                card["metrics"]["quality"] = {**row, "n_samples": n, "fd_floor_train_vs_test": rows["fd_floor_train_vs_test"],
                                              "fd_blurred_test": rows["fd_blurred_test"],
                                              "command": "python -m genimg.bench quality --update-cards"}
                checkpoints.write_json(api.checkpoint_dir() / f"{model.name}.json", card)
        if update_cards:
            card = checkpoints.read_card(api.checkpoint_dir(), classifier.name)
            card["metrics"]["test_accuracy"] = rows["classifier_test_accuracy"]
            checkpoints.write_json(api.checkpoint_dir() / f"{classifier.name}.json", card)
        results[dataset] = rows
    print(f"\nFD: Fréchet distance in the classifier's 128-D feature space (lower is better); 'x floor' divides by "
          f"the train-vs-test distance (the floor).\nclass agreement: the classifier's label equals the class asked for "
          f"(real test images: its test accuracy, the ceiling).\nnear-copies: share of samples within RMS "
          f"{COPY_THRESHOLD} of a training image (for the first row: of real test images).")
    if out:
        Path(out).write_text(json.dumps(results, indent=2))
    return results


# ----------------------------------------------------------------------------------------------


def median_ms(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def app_startup_seconds(checkpoint_dir):
    """Seconds from `python app.py` to the first successful HTTP answer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(root / "app.py"), "--port", str(port),
                                "--checkpoints", str(checkpoint_dir)], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the app did not answer within 120 s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def speed(repeats=20):
    from .ui import generate as generate_tab, interpolate as interpolate_tab  # the app's own functions

    print(f"torch threads: {torch.get_num_threads()}; median of {repeats} runs after one warm-up")
    cases = {
        "api.generate: 64 samples (cgan-fashion-mnist)": lambda: api.generate("cgan-fashion-mnist", n=64, seed=1),
        "api.generate: 64 samples (vae-mnist)": lambda: api.generate("vae-mnist", n=64, seed=1),
        "app /generate: 64 samples + labels + grid PNG": lambda: generate_tab.generate_grid(
            "Conditional GAN", "Fashion-MNIST", "(one of each)", 1, 64, 0, 1),
        "app /interpolate: 16 frames + strip + GIF": lambda: interpolate_tab.interpolate_frames(
            "Conditional GAN", "MNIST", 1, 2, "3", "8", 16, "Spherical"),
        "app /manifold: 20x20 map": lambda: generate_tab.manifold_map("MNIST", 20),
    }
    photo = speed_photo()
    for name in api.SR_MODELS.values():
        if name in api.models() and api.models()[name]["available"]:
            cases[f"api.upscale: 256x256 -> x4 ({name})"] = lambda name=name: api.upscale(photo, 4, name)
    results = {}
    for label, fn in cases.items():
        results[label] = median_ms(fn, repeats)
        print(f"  {label:<50} {results[label]:8.1f} ms")
    startups = [app_startup_seconds(api.checkpoint_dir()) for _ in range(3)]
    results["app start-up (s)"] = statistics.median(startups)
    print(f"  {'app start-up: python app.py to first HTTP answer':<50} {results['app start-up (s)']:8.2f} s (median of 3)")
    return results


# ----------------------------------------------------------------------------------------------
# Super-resolution


def speed_photo(size: int = 256) -> Image.Image:
    """A fixed 256x256 photo for timing (a crop of an example when present; timing does not depend on content)."""
    example = Path(__file__).resolve().parent.parent / "examples" / "chelsea.png"
    if example.is_file():
        with Image.open(example) as image:
            return image.convert("RGB").crop((0, 0, size, size))
    return Image.effect_noise((size, size), 64).convert("RGB")


def upscalers(names=None) -> list:
    """The upscaling models to measure: those named, or every available one."""
    found = []
    for name in names or list(api.SR_MODELS.values()):
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
        print(f"  {model.name}: {views} (genimg/upscaling.py), {setup['dtype']} on this CPU")
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
            card = checkpoints.read_card(api.checkpoint_dir(), model.name)
            card["metrics"]["benchmark"] = {
                "data": str(data), "images": len(images),
                "command": f"python -m genimg.bench sr --data {data} --update-cards",
                "inference": upscaling.inference_setup(model.module),
                **{scale: {"psnr": round(r[model.name]["psnr"], 3), "ssim": round(r[model.name]["ssim"], 4),
                           "gain_db": round(r[model.name]["gain_db"], 3),
                           "bicubic_psnr": round(r["bicubic"]["psnr"], 3),
                           "bicubic_ssim": round(r["bicubic"]["ssim"], 4)}
                   for scale, r in results.items() if model.name in r}}
            checkpoints.write_json(api.checkpoint_dir() / f"{model.name}.json", card)
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
            card = checkpoints.read_card(api.checkpoint_dir(), model.name)
            card["metrics"]["speed_256px"] = {**results[model.name], "threads": torch.get_num_threads(),
                                              "inference": upscaling.inference_setup(model.module),
                                              "command": "python -m genimg.bench sr --update-cards"}
            checkpoints.write_json(api.checkpoint_dir() / f"{model.name}.json", card)
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


INPAINT_KEYS = ("hole_psnr", "hole_ssim", "hole_l1", "psnr", "ssim", "l1")


def inpaint_quality(data, per_image=1, update_cards=False, figure=None, model_name=api.INPAINT_PHOTO_MODEL):
    """Network vs Telea per mask-ratio bucket on every image in `data`: `per_image` seeded masks per image and bucket."""
    files = photos.list_images(data) if data and Path(data).is_dir() else []
    if not files:
        raise SystemExit(f"error: no images ({', '.join(photos.IMAGE_SUFFIXES)}) in {data}.")
    try:
        inpainting.classical_fill(np.zeros((8, 8, 3), np.uint8), np.eye(8, dtype=bool))
        has_cv = True
    except ImportError as error:
        print(f"note: no classical baseline. {error}")
        has_cv = False
    model = api.load(model_name)
    images = [photos.load_rgb(p) for p in files]
    print(f"{model.name} on {data}: {len(images)} images, {per_image} seeded mask(s) per image and bucket; the "
          f"network's {inpainting.passes_text()}; "
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
                scores["network"].append(inpainting.measure(inpainting.model_fill_uint8(model.module, image, mask),
                                                            image, mask))
                if has_cv:
                    scores["telea"].append(inpainting.measure(inpainting.classical_fill(image, mask), image, mask))
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
        card = checkpoints.read_card(api.checkpoint_dir(), model.name)
        card["metrics"]["benchmark"] = {
            "data": str(data), "images": len(images), "masks_per_image_and_bucket": per_image,
            "passes": inpainting.passes_record(),
            "command": f"python -m genimg.bench inpaint --data {data} --model {model.name} --update-cards",
            **{bucket: {method: ({k: round(v, 4) for k, v in row.items()} if isinstance(row, dict) else round(row, 3))
                        for method, row in r.items()} for bucket, r in results.items()}}
        checkpoints.write_json(api.checkpoint_dir() / f"{model.name}.json", card)
    return results


def inpaint_figure(model, images, out, has_cv, count=4):
    """Rows of: input with the mask in white | Telea | network | original, one bucket per row (first images)."""
    rows = []
    for (low, high), k in zip(masks.BUCKETS, range(count)):
        image = images[k % len(images)]
        mask = masks.bucket_masks(k, *image.shape[:2], low, high, 1)[0]
        shown = image.copy()
        shown[mask] = (255, 255, 255)
        telea = inpainting.classical_fill(image, mask) if has_cv else np.full_like(image, 128)
        row = np.concatenate([shown, telea, inpainting.model_fill_uint8(model.module, image, mask), image], axis=1)
        if rows and row.shape[0] != rows[0].shape[0] or rows and row.shape[1] != rows[0].shape[1]:
            continue  # portrait photos would not line up with the landscape ones
        rows.append(row)
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    picture = picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.LANCZOS)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    print(f"comparison grid (input with mask | Telea | network | original; buckets 10-20% .. 40-50% by row): {out}")


def inpaint_speed(repeats=10, update_cards=False, model_name=api.INPAINT_PHOTO_MODEL):
    """Median seconds of genimg.inpaint on a 512x512 photo with a 30-40 % mask."""
    photo = speed_photo(512)
    mask = Image.fromarray(masks.bucket_masks(0, 512, 512, 0.3, 0.4, 1)[0].astype(np.uint8) * 255)
    seconds = median_ms(lambda: api.inpaint(photo, mask, model_name), repeats) / 1000
    dtype = hardware.inference_dtype()
    passes = "+".join(f"{scale:g}" for scale, _, _ in inpainting.PASSES)
    print(f"\ninpainting speed: 512x512 photo, 30-40 % mask, torch threads {torch.get_num_threads()}, network in "
          f"{dtype} at {passes} of its size, median of {repeats} after a warm-up: {seconds:.3f} s (target <= 1.5 s)")
    if update_cards:
        card = checkpoints.read_card(api.checkpoint_dir(), model_name)
        card["metrics"]["speed_512px"] = {"median_s": round(seconds, 4), "threads": torch.get_num_threads(),
                                          "dtype": dtype, "passes": inpainting.passes_record(),
                                          "command": f"python -m genimg.bench inpaint --model {model_name} "
                                                     f"--update-cards"}
        checkpoints.write_json(api.checkpoint_dir() / f"{model_name}.json", card)
    return {"median_s_512px": seconds}

def style_photo(path, side: int) -> Image.Image:
    image = Image.open(path).convert("RGB")
    scale = side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)


def style_quality(data, photo_path, size=192, gatys_steps=80, update_cards=False):
    """Per preset: losses and seconds of the network and of Gatys' optimisation on one photo at `size` px."""
    network = api.stylizer()
    vgg = api.vgg()
    paintings = styling.find_paintings(data)
    photo = style_photo(photo_path, size)
    content = styling.to_tensor(np.asarray(photo))
    print(f"\nstyle losses on {Path(photo_path).name} at {photo.width}x{photo.height} (content: {styling.CONTENT_LAYER} "
          f"MSE; style: relative Gram error summed over {', '.join(styling.STYLE_LAYERS)}; weighted total = "
          f"{styling.CONTENT_WEIGHT:g} content + {styling.STYLE_WEIGHT:g} style + {styling.TV_WEIGHT:g} TV); "
          f"Gatys: Adam on the pixels from the photo, {gatys_steps} steps; torch threads {torch.get_num_threads()}")
    print(f"  {'preset':<18} {'network: style':>14} {'content':>8} {'total':>7} {'time s':>7}   "
          f"{'Gatys: style':>12} {'content':>8} {'total':>7} {'time s':>7}")
    results = {}
    for name in network.module.styles:
        file = styling.PRESETS[name][0]
        style = styling.to_tensor(styling.load_painting(paintings / file))
        grams = styling.style_grams(vgg, style)
        start = time.perf_counter()
        output = api.stylize(photo, name, model=network.name)
        net_seconds = time.perf_counter() - start
        with torch.no_grad():
            net = {k: v.item() for k, v in styling.perceptual_losses(vgg, styling.to_tensor(np.asarray(output)),
                                                                     content, grams).items()}
        gatys = styling.gatys(vgg, content, style, steps=gatys_steps)
        with torch.no_grad():
            gatys.update(tv=styling.perceptual_losses(vgg, gatys["image"], content, grams)["tv"].item())
        total = lambda r: (styling.CONTENT_WEIGHT * r["content"] + styling.STYLE_WEIGHT * r["style"]  # noqa: E731
                           + styling.TV_WEIGHT * r["tv"])
        results[name] = {"network": {"style": round(net["style"], 4), "content": round(net["content"], 2),
                                     "total": round(total(net), 1), "seconds": round(net_seconds, 3)},
                         "gatys": {"style": round(gatys["style"], 4), "content": round(gatys["content"], 2),
                                   "total": round(total(gatys), 1), "seconds": round(gatys["seconds"], 2),
                                   "steps": gatys_steps},
                         "photo": Path(photo_path).name, "size": list(photo.size)}
        n, g = results[name]["network"], results[name]["gatys"]
        print(f"  {name:<18} {n['style']:>14.3f} {n['content']:>8.1f} {n['total']:>7.0f} {n['seconds']:>7.3f}   "
              f"{g['style']:>12.3f} {g['content']:>8.1f} {g['total']:>7.0f} {g['seconds']:>7.1f}")
    if update_cards:
        card = checkpoints.read_card(api.checkpoint_dir(), network.name)
        card["metrics"]["versus_gatys"] = {**results, "command": "python -m genimg.bench style --update-cards"}
        checkpoints.write_json(api.checkpoint_dir() / f"{network.name}.json", card)
    return results


def style_speed(repeats=10, update_cards=False):
    """Median seconds for genimg.stylize of a 512x512 photo (any preset costs the same), and at 1024x1024."""
    network = api.stylizer()
    name = network.module.styles[0]
    print(f"\nstyle transfer speed: torch threads {torch.get_num_threads()}, median of {repeats} after a warm-up")
    results = {}
    for side in (512, 1024):
        photo = speed_photo(side)
        seconds = median_ms(lambda: api.stylize(photo, name), repeats) / 1000
        results[f"{side}px"] = {"median_s": round(seconds, 3)}
        print(f"  {side}x{side}: {seconds:6.3f} s")
    if update_cards:
        card = checkpoints.read_card(api.checkpoint_dir(), network.name)
        card["metrics"]["speed"] = {**results, "threads": torch.get_num_threads(),
                                    "command": "python -m genimg.bench style --update-cards"}
        checkpoints.write_json(api.checkpoint_dir() / f"{network.name}.json", card)
    return results


def style_grid(photo_paths, out, side=192):
    """Rows: the photos; columns: the photo, then each preset (the network's output), titled."""
    from PIL import ImageDraw
    names = api.stylizer().module.styles
    rows = []
    for path in photo_paths:
        photo = style_photo(path, side)
        rows.append([photo] + [api.stylize(photo, name) for name in names])
    cell_w, cell_h = max(r[0].width for r in rows), max(r[0].height for r in rows)
    figure = Image.new("RGB", ((cell_w + 4) * (len(names) + 1), 16 + (cell_h + 4) * len(rows)), "white")
    draw = ImageDraw.Draw(figure)
    for c, title in enumerate(["photo"] + names):
        draw.text((c * (cell_w + 4) + 2, 2), title, fill="black")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            figure.paste(image, (c * (cell_w + 4) + (cell_w - image.width) // 2,
                                 16 + r * (cell_h + 4) + (cell_h - image.height) // 2))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    figure.save(out)
    print(f"\nwrote {out}: rows {', '.join(Path(p).name for p in photo_paths)}; columns: the photo, then each preset")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genimg.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality", help="Fréchet distances, class agreement, near-copies")
    q.add_argument("--n", type=int, default=10_000, help="samples per model (default 10000)")
    q.add_argument("--data", help="dataset folder (as train.py --data)")
    q.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    q.add_argument("--json", help="also write the results to this JSON file")
    s = sub.add_parser("speed", help="latency of the app functions and app start-up")
    s.add_argument("--repeats", type=int, default=20)
    r = sub.add_parser("sr", help="super-resolution: PSNR/SSIM-Y vs bicubic on a folder of photos, and speed")
    r.add_argument("--data", help="folder of high-resolution images, e.g. ../shared/datasets/photos/val (Kodak24)")
    r.add_argument("--models", nargs="*", help="checkpoint names or quality/fast (default: every upscaler)")
    r.add_argument("--repeats", type=int, default=10, help="timed runs per speed case (0: skip the speed part)")
    r.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint cards")
    r.add_argument("--json", help="also write the results to this JSON file")
    r.add_argument("--figure", help="also write a PNG comparing crops (bicubic, each model, original) to this path")
    r.add_argument("--figure-image", help="the photo for --figure (default: the first image in --data)")
    n = sub.add_parser("inpaint", help="inpainting: network vs Telea per mask-ratio bucket, speed, comparison grid")
    n.add_argument("--data", help="folder of photos, e.g. ../shared/datasets/photos/val (Kodak24)")
    n.add_argument("--model", default=api.INPAINT_PHOTO_MODEL,
                   help=f"the photo inpainter to measure (default {api.INPAINT_PHOTO_MODEL}; or inpaint-base-photos)")
    n.add_argument("--masks-per-image", type=int, default=1, help="seeded masks per image and bucket (default 1)")
    n.add_argument("--repeats", type=int, default=10, help="timed runs of the 512x512 case (0: skip)")
    n.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint card")
    n.add_argument("--json", help="also write the results to this JSON file")
    n.add_argument("--figure", default="bench_out/inpaint.png", help="where the comparison grid goes")
    t = sub.add_parser("style", help="style transfer: losses and time per preset vs Gatys' optimisation; speed; grid")
    t.add_argument("--data", help="folder with paintings/ (and photos/samples/), e.g. ../shared/datasets")
    t.add_argument("--vgg-weights", help="VGG16 features (safetensors); default $GENIMG_VGG_WEIGHTS or the download")
    t.add_argument("--photo", help="the photo for the loss comparison (default: chelsea.png in examples/)")
    t.add_argument("--size", type=int, default=192, help="long side of the photo for the loss comparison")
    t.add_argument("--gatys-steps", type=int, default=80, help="steps of Gatys' optimisation per preset")
    t.add_argument("--repeats", type=int, default=10, help="timed runs per speed case (0: skip the speed part)")
    t.add_argument("--grid", help="also write the grid of photos x presets to this PNG (e.g. docs/style_grid.png)")
    t.add_argument("--grid-photos", nargs="*", help="photos for the grid's rows (default: a few in --data "
                                                    "photos/samples)")
    t.add_argument("--update-cards", action="store_true", help="write the figures into the checkpoint card")
    t.add_argument("--json", help="also write the results to this JSON file")
    for p in (q, s, r, n, t):
        p.add_argument("--checkpoints", help="checkpoint folder (default: the shipped ones)")
    args = parser.parse_args(argv)
    if args.checkpoints:
        api.set_checkpoint_dir(args.checkpoints)
    if args.command == "style":
        if args.vgg_weights:
            api.set_vgg_weights(args.vgg_weights)
        root = Path(__file__).resolve().parent.parent
        results = {}
        if args.data:
            results["quality"] = style_quality(args.data, args.photo or root / "examples" / "chelsea.png", args.size,
                                               args.gatys_steps, args.update_cards)
        if args.repeats > 0:
            results["speed"] = style_speed(args.repeats, args.update_cards)
        if args.grid:
            samples = Path(args.data or ".") / "photos" / "samples"
            grid_photos = args.grid_photos or [samples / n for n in ("chelsea.png", "astronaut.png", "coffee.png",
                                                                     "rocket.jpg") if (samples / n).is_file()]
            style_grid(grid_photos, args.grid)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return
    if args.command == "quality":
        quality(args.n, args.data, args.update_cards, args.json)
    elif args.command == "sr":
        results = {"quality": sr_quality(args.data, args.models, args.update_cards) if args.data else None}
        if args.repeats > 0:
            results["speed"] = sr_speed(args.models, args.repeats, args.update_cards)
        if args.figure:
            image = args.figure_image or (photos.list_images(args.data)[0] if args.data else None)
            if image is None:
                raise SystemExit("error: --figure needs --figure-image or --data.")
            sr_figure(image, args.figure, args.models)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    elif args.command == "inpaint":
        results = {"quality": inpaint_quality(args.data, args.masks_per_image, args.update_cards, args.figure,
                                              args.model) if args.data else None}
        if args.repeats > 0:
            results["speed"] = inpaint_speed(args.repeats, args.update_cards, args.model)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    else:
        speed(args.repeats)


if __name__ == "__main__":
    main()
