"""Random free-form masks for training and evaluating inpainting: brush strokes and boxes.

A mask is an (H, W) bool array, True where the image is to be filled. `random_mask(rng, h, w, lo, hi)` draws
strokes (random walks of thick line segments with round joints, as DeepFill v2's free-form masks) and the
occasional box until the covered share reaches a target drawn uniformly in [lo, hi]; the last shape
overshoots by a little, so the result is then eroded/trimmed back toward the target. The same function with
a fixed seed makes the benchmark's masks.
"""
import numpy as np
from PIL import Image, ImageDraw

BUCKETS = ((0.10, 0.20), (0.20, 0.30), (0.30, 0.40), (0.40, 0.50))  # the benchmark's mask-ratio buckets


def _stroke(draw, rng, height, width):
    side = min(height, width)
    thickness = int(rng.uniform(0.03, 0.10) * side) + 2
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    angle = rng.uniform(0, 2 * np.pi)
    points = [(x, y)]
    for _ in range(int(rng.integers(3, 9))):
        angle += rng.uniform(-1.2, 1.2)  # a wandering brush, not a straight bar
        length = rng.uniform(0.05, 0.25) * side
        x = float(np.clip(x + length * np.cos(angle), 0, width - 1))
        y = float(np.clip(y + length * np.sin(angle), 0, height - 1))
        points.append((x, y))
    draw.line(points, fill=255, width=thickness)
    r = thickness / 2
    for px, py in points:  # round joints and ends
        draw.ellipse((px - r, py - r, px + r, py + r), fill=255)


def _box(draw, rng, height, width):
    bh, bw = rng.uniform(0.1, 0.4) * height, rng.uniform(0.1, 0.4) * width
    top, left = rng.uniform(0, height - bh), rng.uniform(0, width - bw)
    draw.rectangle((left, top, left + bw, top + bh), fill=255)


def random_mask(rng: np.random.Generator, height: int, width: int, low: float = 0.05, high: float = 0.5) -> np.ndarray:
    """A free-form mask covering a share of the image drawn uniformly from [low, high] (to within a few %)."""
    target = rng.uniform(low, high)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    area = height * width
    for _ in range(200):
        covered = np.count_nonzero(np.asarray(canvas)) / area
        if covered >= target:
            break
        previous = canvas.copy()
        if rng.uniform() < 0.25:
            _box(draw, rng, height, width)
        else:
            _stroke(draw, rng, height, width)
        if np.count_nonzero(np.asarray(canvas)) / area > high:  # overshot the range: undo that shape
            canvas = previous
            draw = ImageDraw.Draw(canvas)
    mask = np.asarray(canvas) > 0
    covered = mask.mean()
    if covered < low:  # the undo left too little: add a box sized to close the gap exactly enough
        need = int((low - covered) * area) + 1
        rows = min(height, max(1, int(np.sqrt(need * height / width))))
        cols = min(width, need // rows + 1)
        top, left = int(rng.integers(0, height - rows + 1)), int(rng.integers(0, width - cols + 1))
        mask = mask.copy()
        mask[top:top + rows, left:left + cols] = True
    return mask


def bucket_masks(seed: int, height: int, width: int, low: float, high: float, count: int) -> list:
    """`count` masks whose ratio lies in [low, high): the fixed, seeded masks of one benchmark bucket."""
    rng = np.random.default_rng([seed, int(low * 100), height, width])
    masks = []
    while len(masks) < count:
        mask = random_mask(rng, height, width, low, high)
        if low <= mask.mean() < high:
            masks.append(mask)
    return masks
