"""Style transfer: for each preset, the style and content losses (genimg/families/style/losses.py) of the
network's output beside those of Gatys' optimisation on the same photo, with the time each took; the median time
of a preset on a 512x512 and a 1024x1024 photo; and the README grid (rows: photos, columns: presets)."""
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import api, checkpoints
from ..api.styling import arbitrary_stylizer, stylizer, vgg as load_vgg
from ..families.adain import HELD_OUT_PAINTING
from ..families.style import losses
from . import blind
from .common import median_ms, speed_photo


def style_photo(path, side: int) -> Image.Image:
    """A photo scaled so that its long side is `side` pixels."""
    image = Image.open(path).convert("RGB")
    scale = side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)


def style_quality(data, photo_path, size=192, gatys_steps=80, update_cards=False, model_name=None, any_style=False):
    """Per preset: losses and seconds of the network and of Gatys' optimisation on one photo at `size` px.
    any_style: the one-pass network for any style image instead (genimg.stylize_any), on each preset's painting
    and on one it never saw (adain.HELD_OUT_PAINTING)."""
    network = arbitrary_stylizer(model_name) if any_style else stylizer(model_name)
    vgg = load_vgg()
    paintings = losses.find_paintings(data)
    photo = style_photo(photo_path, size)
    files = {name: file for name, (file, _, _) in losses.PRESETS.items()} if any_style else \
        {name: losses.PRESETS[name][0] for name in network.module.styles}
    if any_style:
        files[f"{HELD_OUT_PAINTING[0].split('.')[0]} (never seen)"] = HELD_OUT_PAINTING[0]
    content = losses.to_tensor(np.asarray(photo))
    print(f"\nstyle losses on {Path(photo_path).name} at {photo.width}x{photo.height} (content: {losses.CONTENT_LAYER} "
          f"MSE; style: relative Gram error summed over {', '.join(losses.STYLE_LAYERS)}; weighted total = "
          f"{losses.CONTENT_WEIGHT:g} content + {losses.STYLE_WEIGHT:g} style + {losses.TV_WEIGHT:g} TV); "
          f"Gatys: Adam on the pixels from the photo, {gatys_steps} steps; torch threads {torch.get_num_threads()}")
    print(f"  {'preset':<18} {'network: style':>14} {'content':>8} {'total':>7} {'time s':>7}   "
          f"{'Gatys: style':>12} {'content':>8} {'total':>7} {'time s':>7}")
    results = {}
    for name, file in files.items():
        style = losses.to_tensor(losses.load_painting(paintings / file))
        grams = losses.style_grams(vgg, style)
        start = time.perf_counter()
        if any_style:
            output = api.stylize_any(photo, paintings / file, model=network.name)
        else:
            output = api.stylize(photo, name, model=network.name)
        net_seconds = time.perf_counter() - start
        with torch.no_grad():
            net = {k: v.item() for k, v in losses.perceptual_losses(vgg, losses.to_tensor(np.asarray(output)),
                                                                    content, grams).items()}
        gatys = losses.gatys(vgg, content, style, steps=gatys_steps)
        with torch.no_grad():
            gatys.update(tv=losses.perceptual_losses(vgg, gatys["image"], content, grams)["tv"].item())
        total = lambda r: (losses.CONTENT_WEIGHT * r["content"] + losses.STYLE_WEIGHT * r["style"]  # noqa: E731
                           + losses.TV_WEIGHT * r["tv"])
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
        checkpoints.record_metrics(api.checkpoint_dir(), network.name, "versus_gatys",
                                   {**results, "command": "python -m genimg.bench style "
                                                          f"{'--any-style ' if any_style else ''}--data ../shared/datasets "
                                                          "--vgg-weights ../shared/weights/vgg16_features.safetensors "
                                                          "--update-cards"})
    return results


def style_speed(repeats=10, update_cards=False, model_name=None, any_style=False):
    """Median seconds for genimg.stylize of a 512x512 photo (any preset costs the same), and at 1024x1024; with
    any_style, genimg.stylize_any with a 512x512 style image."""
    network = arbitrary_stylizer(model_name) if any_style else stylizer(model_name)
    name = None if any_style else network.module.styles[0]
    painting = speed_photo(512)
    print(f"\nstyle transfer speed ({network.name}): torch threads {torch.get_num_threads()}, median of {repeats} "
          f"after a warm-up")
    results = {}
    for side in (512, 1024):
        photo = speed_photo(side)
        if any_style:
            run = lambda: api.stylize_any(photo, painting, model=network.name)  # noqa: E731
        else:
            run = lambda: api.stylize(photo, name, model=network.name)  # noqa: E731
        seconds = median_ms(run, repeats) / 1000
        results[f"{side}px"] = {"median_s": round(seconds, 3)}
        print(f"  {side}x{side}: {seconds:6.3f} s")
    if update_cards:
        checkpoints.record_metrics(api.checkpoint_dir(), network.name, "speed", {
            **results, "threads": torch.get_num_threads(),
            "command": f"python -m genimg.bench style {'--any-style ' if any_style else ''}--update-cards"})
    return results


def titled_grid(rows, titles, cell_w, cell_h, out):
    """Images (None: an empty cell) in rows of cells of cell_w x cell_h, each shrunk to fit and centred, under a
    line of column titles; written to `out`."""
    from PIL import ImageDraw
    figure = Image.new("RGB", ((cell_w + 4) * len(titles), 16 + (cell_h + 4) * len(rows)), "white")
    draw = ImageDraw.Draw(figure)
    for c, title in enumerate(titles):
        draw.text((c * (cell_w + 4) + 2, 2), title, fill="black")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            if image is None:
                continue
            image = image.copy()
            image.thumbnail((cell_w, cell_h))
            figure.paste(image, (c * (cell_w + 4) + (cell_w - image.width) // 2,
                                 16 + r * (cell_h + 4) + (cell_h - image.height) // 2))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    figure.save(out)


def style_grid(photo_paths, out, side=192, model_name=None):
    """Rows: the photos; columns: the photo, then each preset (the network's output), titled."""
    network = stylizer(model_name)
    names = network.module.styles
    rows = []
    for path in photo_paths:
        photo = style_photo(path, side)
        rows.append([photo] + [api.stylize(photo, name, model=network.name) for name in names])
    titled_grid(rows, ["photo"] + names, max(r[0].width for r in rows), max(r[0].height for r in rows), out)
    print(f"\nwrote {out}: rows {', '.join(Path(p).name for p in photo_paths)}; columns: the photo, then each preset")


def style_blind_pairs(data, photo_paths, out, new_model, old_model, side=384, seed=0):
    """A blind comparison of two preset networks: every photo in every preset, the painting first, then the two
    paintings of the photo as A and B."""
    paintings = losses.find_paintings(data)
    new, old = stylizer(new_model), stylizer(old_model)
    pairs = []
    for name in new.module.styles:
        reference = Image.open(paintings / losses.PRESETS[name][0]).convert("RGB")
        for path in photo_paths:
            photo = style_photo(path, side)
            ref = reference.copy()
            ref.thumbnail((photo.width, photo.height), Image.LANCZOS)
            pairs.append((f"{name} {Path(path).name}", np.asarray(ref), np.asarray(api.stylize(photo, name, model=new.name)),
                          np.asarray(api.stylize(photo, name, model=old.name))))
    return blind.write_pairs(pairs, out, new=new.name, old=old.name,
                             question="looks more like a painting in the manner of the painting on the left (its "
                                      "brush strokes, palette and texture, no grid or blotches), with the photo still "
                                      "recognisable",
                             reference_title="the painting", seed=seed)


def any_style_grid(data, photo_paths, out, side=256, model_name=None):
    """Rows: the photos; columns: each painting (the presets' and one never seen), painted by the one-pass network
    (genimg.stylize_any); a first row shows the paintings."""
    network = arbitrary_stylizer(model_name)
    paintings = losses.find_paintings(data)
    files = [file for file, _, _ in losses.PRESETS.values()] + [HELD_OUT_PAINTING[0]]
    titles = [name for name in losses.PRESETS] + ["turner (never seen)"]
    rows = [[None] + [Image.open(paintings / f).convert("RGB") for f in files]]
    for path in photo_paths:
        photo = style_photo(path, side)
        rows.append([photo] + [api.stylize_any(photo, paintings / f, model=network.name) for f in files])
    titled_grid(rows, ["photo"] + titles, side, side, out)
    print(f"\nwrote {out}: the paintings, then rows {', '.join(Path(p).name for p in photo_paths)} painted by "
          f"{network.name}")
