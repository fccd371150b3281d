"""The benchmarks, split by task as the API is (`python -m genimg.bench --help`; the CLI is __main__.py):

common.py      timing, the speed photo, the app's start-up time, writing results
generation.py  quality (Fréchet distances, class agreement, near-copies) and speed of the generators and the app
upscale.py     PSNR/SSIM of the upscalers vs bicubic, their speed, a comparison figure
inpaint.py     the photo inpainter vs Telea per mask share, its speed, a comparison grid
style.py       the style presets vs Gatys' optimisation, their speed, the README grid
docs.py        docs/results.md and README's list of models, from the cards

Every measured figure reaches a card through checkpoints.record_metrics (with --update-cards).
"""
from .common import app_startup_seconds, median_ms, speed_photo
from .docs import docs
from .generation import quality, sample_images, speed
from .inpaint import inpaint_figure, inpaint_quality, inpaint_speed
from .style import style_grid, style_quality, style_speed
from .upscale import sr_figure, sr_quality, sr_speed, upscalers


def __getattr__(name):
    # bench.main: the CLI, imported on first use so that `python -m genimg.bench` runs __main__ only once.
    if name == "main":
        from .__main__ import main
        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["main", "quality", "speed", "sample_images", "sr_quality", "sr_speed", "sr_figure", "upscalers",
           "inpaint_quality", "inpaint_speed", "inpaint_figure", "style_quality", "style_speed", "style_grid",
           "docs", "median_ms", "app_startup_seconds", "speed_photo"]
