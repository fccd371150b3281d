"""Turning tensors into pictures: PIL images, labelled grids, strips, GIFs and loss curves (PIL only)."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


def to_pil(images: torch.Tensor) -> list:
    """(N, 1, H, W) floats in [0, 1] -> list of grayscale PIL images ((N, 3, H, W) -> colour ones)."""
    array = (images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy())
    if array.shape[1] == 3:
        return [Image.fromarray(a.transpose(1, 2, 0), "RGB") for a in array]
    return [Image.fromarray(a[0], "L") for a in array]


def to_tensor(images: list) -> torch.Tensor:
    """List of PIL images -> (N, 1, H, W) floats in [0, 1]; (N, 3, H, W) when the first is in colour."""
    if images and images[0].mode == "RGB":
        return torch.from_numpy(np.stack([np.asarray(im.convert("RGB")) for im in images])).permute(0, 3, 1, 2).float() / 255
    return torch.from_numpy(np.stack([np.asarray(im.convert("L")) for im in images])).unsqueeze(1).float() / 255


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def grid(images: list, columns: int | None = None, scale: int = 1, captions: list | None = None,
         pad: int = 2, background: int = 0) -> Image.Image:
    """Tile images in rows (a colour grid when any image has colour); optional caption under each (the caption
    band is drawn white on dark)."""
    n = len(images)
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    w, h = images[0].size
    w, h = w * scale, h * scale
    caption_h = 14 if captions else 0
    mode = "RGB" if any(image.mode == "RGB" for image in images) else "L"
    canvas = Image.new(mode, (columns * (w + pad) + pad, rows * (h + caption_h + pad) + pad),
                       background if mode == "L" else (background,) * 3)
    draw = ImageDraw.Draw(canvas)
    font = _font(10)
    for i, image in enumerate(images):
        x = pad + (i % columns) * (w + pad)
        y = pad + (i // columns) * (h + caption_h + pad)
        canvas.paste(image.convert(mode).resize((w, h), Image.NEAREST), (x, y))
        if captions:
            draw.text((x + 1, y + h + 1), captions[i], fill=255 if mode == "L" else (255,) * 3, font=font)
    return canvas


def attention_strip(image: Image.Image, attention: list, scale: int = 4) -> Image.Image:
    """For each (word, map) of a caption, the image with the map laid over it in red (bright where the model
    looked), the word beneath: the lesson of attention, one word at a time. Maps of any size are stretched."""
    base = image.convert("L")
    w, h = base.width * scale, base.height * scale
    gray = np.asarray(base.resize((w, h), Image.NEAREST), dtype=np.float32)
    font = _font(12)
    caption_h, pad = 18, 4
    canvas = Image.new("RGB", (max(1, len(attention)) * (w + pad) + pad, h + caption_h + 2 * pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, (word, weights) in enumerate(attention):
        weights = np.asarray(weights, dtype=np.float32)
        heat = Image.fromarray((255 * weights / max(float(weights.max()), 1e-8)).astype(np.uint8), "L")
        heat = np.asarray(heat.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255
        rgb = np.stack([gray * 0.45 + 255 * heat * 0.55, gray * 0.45, gray * 0.45 + 60 * heat], axis=-1)
        x = pad + i * (w + pad)
        canvas.paste(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB"), (x, pad))
        draw.text((x + 2, h + pad + 2), word, fill=(0, 0, 0), font=font)
    return canvas

def save_gif(frames: list, path: Path, duration_ms: int = 80, scale: int = 4, bounce: bool = True) -> Path:
    """An endlessly looping GIF (grey, or colour when the frames are: each gets its own 256-colour palette); with
    bounce the frames play forwards then backwards."""
    mode = "RGB" if any(f.mode == "RGB" for f in frames) else "L"
    frames = [f.convert(mode).resize((f.width * scale, f.height * scale), Image.NEAREST) for f in frames]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0, optimize=False)
    return Path(path)


def line_plot(series: dict, title: str = "", size=(640, 360)) -> Image.Image:
    """A small line chart of named series (each a list of (x, y)); enough for a loss curve without matplotlib."""
    colours = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]
    width, height = size
    left, right, top, bottom = 60, 20, 30, 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = _font(12)
    points = [p for values in series.values() for p in values]
    draw.text((left, 8), title, fill="black", font=font)
    if not points:
        return image
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = float(np.percentile(ys, 1)), float(np.percentile(ys, 99))  # ignore rare spikes
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1, y1 + 1

    def to_px(x, y):
        y = min(max(y, y0), y1)
        return (left + (x - x0) / (x1 - x0) * (width - left - right),
                height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))

    draw.rectangle([left, top, width - right, height - bottom], outline=(160, 160, 160))
    for k in range(5):  # horizontal grid lines with their values
        y = y0 + (y1 - y0) * k / 4
        _, py = to_px(x0, y)
        draw.line([left, py, width - right, py], fill=(230, 230, 230))
        draw.text((4, py - 6), f"{y:.3g}", fill="black", font=font)
    draw.text((left, height - bottom + 6), f"{x0:g}", fill="black", font=font)
    draw.text((width - right - 60, height - bottom + 6), f"step {x1:g}", fill="black", font=font)
    for i, (name, values) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        if len(values) > 1:
            draw.line([to_px(x, y) for x, y in values], fill=colour, width=2)
        elif values:  # one point so far: a dot, so a curve that has just begun shows
            px, py = to_px(*values[0])
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        draw.text((left + 10 + 130 * i, top + 4), name, fill=colour, font=font)
    return image


def histogram_plot(edges: list, series: dict, marker: tuple | None = None, title: str = "",
                   size=(640, 300)) -> Image.Image:
    """Overlaid histograms (each series: counts per bin between `edges`, shown as shares of its total) and an
    optional vertical marker (x, label); enough for the likelihood tab without matplotlib."""
    colours = [(31, 119, 180), (214, 39, 40), (44, 160, 44)]
    width, height = size
    left, right, top, bottom = 40, 20, 56, 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = _font(12)
    draw.text((left + 160, 6), title, fill="black", font=font)  # clear of the label the app puts top-left
    x0, x1 = edges[0], edges[-1]
    if marker is not None:
        x0, x1 = min(x0, marker[0]), max(x1, marker[0])
    shares = {name: np.asarray(counts, float) / max(1, sum(counts)) for name, counts in series.items()}
    top_share = max(float(s.max()) for s in shares.values()) or 1.0

    def px(x):
        return left + (x - x0) / max(x1 - x0, 1e-9) * (width - left - right)

    base = height - bottom
    draw.line([left, base, width - right, base], fill=(120, 120, 120))
    for i, (name, share) in enumerate(shares.items()):
        colour = colours[i % len(colours)]
        for k, value in enumerate(share):
            if value > 0:
                h = value / top_share * (base - top)
                box = [px(edges[k]), base - h, px(edges[k + 1]) - 1, base]
                draw.rectangle(box, outline=colour)
        draw.text((left + 160 + 220 * i, 24), name, fill=colour, font=font)
    for k in range(5):
        x = x0 + (x1 - x0) * k / 4
        draw.text((px(x) - 10, base + 6), f"{x:.2f}", fill="black", font=font)
    draw.text((width - right - 90, base + 22), "bits per pixel", fill="black", font=font)
    if marker is not None:
        x = px(marker[0])
        draw.line([x, top, x, base], fill=(0, 0, 0), width=3)
        draw.text((min(x + 4, width - 150), top + 4), marker[1], fill="black", font=font)
    return image
