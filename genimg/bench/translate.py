"""Sketch to emoji: how close the translations of held-out emoji's drawings come to the real emoji (L1, PSNR),
how emoji-like they look (Fréchet distance in the emoji classifier's features, beside the real-vs-real floor and
the blurred test emoji), how often they are of the drawing's category, and how long one translation takes.

The drawings are made from the 760 test emoji (never seen in training, under either artist) by the same
line_drawing the trainer uses, with a fixed seed."""
import torch
from PIL import Image, ImageDraw
from torch.nn import functional as F

from .. import api, checkpoints, metrics
from .. import data as datasets
from ..families.pix2pix import line_drawing
from ..imaging import grid, to_pil
from ..training import SAMPLE_SEED
from .common import median_ms, write_results
from .generation import references

COMMAND = "python -m genimg.bench translate --update-cards"


def translate_batch(model, ink, labels=None, batch=128):
    net = model.net()
    device = next(net.parameters()).device
    with torch.no_grad():
        hints = labels.split(batch) if labels is not None else [None] * len(ink.split(batch))
        return torch.cat([net(drawing.to(device), None if hint is None else hint.to(device)).cpu()
                          for drawing, hint in zip(ink.split(batch), hints)])


def hand_drawn_smiley(side: int = 256) -> Image.Image:
    """A smiley in black pen on a transparent page, as the Sketchpad sends it (for timing)."""
    page = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    pen = ImageDraw.Draw(page)
    pen.ellipse((20, 20, side - 20, side - 20), outline=(0, 0, 0, 255), width=6)
    for x in (0.35, 0.65):
        pen.ellipse((x * side - 10, 0.38 * side - 14, x * side + 10, 0.38 * side + 14), fill=(0, 0, 0, 255))
    pen.arc((0.28 * side, 0.4 * side, 0.72 * side, 0.78 * side), 20, 160, fill=(0, 0, 0, 255), width=6)
    return page


def translate_quality(data=None, update_cards=False, out=None, figure=None, repeats=20):
    model = api.translator()
    side = model.module.side
    real = datasets.load_emoji(data, side=side)
    test = datasets.to_float(real.test_images)
    ink = line_drawing(test, torch.Generator().manual_seed(SAMPLE_SEED))
    results = {"model": model.name, "n_test": len(test)}
    classifier = api.find_kind("classifier", "emoji")
    clf = classifier.module
    small = datasets.load("emoji", data)  # the classifier's 32x32 emoji
    _, test_features, floor, blurred = references(clf, small, len(small.test_images))
    print(f"{model.name}: {len(test)} held-out emoji, their drawings (seed {SAMPLE_SEED}) translated")
    print(f"  {'':<22}{'L1':>8}{'PSNR dB':>9}{'FD':>9}{'x floor':>9}{'category':>10}")
    print(f"  {'real train vs test':<22}{'':>8}{'':>9}{floor:>9.2f}{1:>9.1f}")
    print(f"  {'real test, 3x3 blur':<22}{'':>8}{'':>9}{blurred:>9.2f}{blurred / floor:>9.1f}")
    for name, labels in (("no hint", None), ("category hint", real.test_labels)):
        out_images = translate_batch(model, ink, labels)
        l1 = (out_images - test).abs().mean().item()
        mse = (out_images - test).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        psnr = (10 * torch.log10(1 / mse)).mean().item()
        shrunk = F.interpolate(out_images, size=small.test_images.shape[1:3], mode="area")
        fd = metrics.frechet_distance(metrics.features(clf, shrunk), test_features)
        category = (metrics.predictions(clf, shrunk) == real.test_labels).float().mean().item()
        print(f"  {name:<22}{l1:>8.4f}{psnr:>9.2f}{fd:>9.2f}{fd / floor:>9.1f}{category:>10.1%}")
        results["hint" if labels is not None else "no_hint"] = {
            "l1": round(l1, 4), "psnr": round(psnr, 2), "fd": round(fd, 2), "category_agreement": round(category, 4)}
    results.update(floor=round(floor, 2), blur=round(blurred, 2))
    drawing = hand_drawn_smiley()
    seconds = median_ms(lambda: api.translate(drawing), repeats) / 1000 if repeats else None
    if seconds is not None:
        results["seconds"] = round(seconds, 4)
        print(f"  one translation of a 256x256 drawing (reading it included): {1000 * seconds:.0f} ms median of "
              f"{repeats}")
    print("category: the emoji classifier's category of the translation equals the real emoji's (its own test "
          "accuracy is the ceiling).")
    if update_cards:
        card = {**results["no_hint"], "hint": results["hint"], "floor": results["floor"], "blur": results["blur"],
                "n": results["n_test"], "seconds": results.get("seconds"), "command": COMMAND}
        checkpoints.record_metrics(api.checkpoint_dir(), model.name, "translation", card)
    if figure:
        translation_figure(model, real, test, ink, figure)
    write_results(out, results)
    return results


def translation_figure(model, real, test, ink, path, per_category: int = 2):
    """Rows of (drawing, translation, real emoji), `per_category` held-out emoji of each category."""
    chosen = []
    for k in range(len(real.classes)):
        index = (real.test_labels == k).nonzero().flatten()
        chosen += index[torch.linspace(0, len(index) - 1, per_category).long()].tolist()
    chosen = torch.tensor(chosen)
    outputs = translate_batch(model, ink[chosen])
    tiles = torch.cat([(1 - ink[chosen]).expand(-1, 3, -1, -1), outputs, test[chosen]])
    picture = grid(to_pil(tiles), columns=len(chosen), scale=2, background=255)
    picture.save(path)
    print(f"wrote {path}: rows drawing, translation (no hint), real; {per_category} held-out emoji per category")
