"""Upscale tab: a photo x2 or x4 by a super-resolution network, beside plain bicubic in a before/after slider."""
import time
from pathlib import Path

import gradio as gr
from PIL import Image

import genimg

from .common import tab_figure, gpu, save_png, queue, user_errors

EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "examples"
SCALE_CHOICES = {"x2": 2, "x4": 4}
MODEL_CHOICES = {"Fast (small network)": "fast", "Quality (residual network)": "quality"}
DEFAULT_MODEL = "Fast (small network)"  # about a second for a typical photo even on a busy 2-CPU server
# The app keeps results at 16 megapixels (4096x4096): a browser still shows them, and a 2-CPU Space makes them
# in seconds. `python -m genimg upscale` and genimg.upscale() go to 64 megapixels.
APP_MAX_OUTPUT_PIXELS = 4096 * 4096

SUMMARY = """Making a photo bigger means inventing pixels that were never there. A network that has seen many photos shrunk
and restored guesses sharper edges than plain resizing (bicubic, on the left of the slider)."""  # on top of the tab, for a school class

HOW_IT_WORKS = r"""
**The task.** A small image has lost detail that a larger one had; *super-resolution* guesses it back.
*Bicubic* resizing only interpolates between neighbouring pixels, so edges come out soft. A network trained on
pairs of (photo shrunk $s$ times, original photo) learns what detail usually goes with what it sees: the
sharpness of an edge, the grain of a texture.

**Sub-pixel convolution** (ESPCN, Shi et al. 2016). Every layer works on the *small* image: the last
convolution makes $3 s^2$ channels per pixel, and a *pixel shuffle* rearranges each pixel's $s \times s$ block of
values into $s \times s$ neighbouring output pixels. The network is then $s^2$ times cheaper than one that first
enlarges the image and then sharpens it.

**Residual learning** (VDSR, Kim et al. 2016; EDSR, Lim et al. 2017). The networks add their output to
bicubic upscaling, so they only learn the *difference*, the missing detail, which is small and mostly zero;
their last layer starts at zero, so before training they are exactly bicubic. Inside, the quality model is a
stack of 16 residual blocks (convolution, ReLU, convolution, plus the block's input; no batch norm, which would
flatten the contrasts an upscaler must keep). The fast model is five plain convolutions.

**Two looks at one photo** (EDSR's self-ensemble). The quality model runs twice, on your photo and on its
reflection across a diagonal (turned a quarter and mirrored), reflects the second answer back and averages the
two. The network's mistakes on the two views are partly independent, so the mean is closer to the truth, for
twice the work, paid for by computing in bfloat16 where the processor supports it.

**Why L1.** Training minimises the mean absolute error $\frac{1}{N}\sum |\hat y - y|$ rather than the squared
error. The squared error is dominated by the few large errors at edges and is minimised by averaging every
plausible detail into blur; the absolute error weighs all errors alike and gives sharper results and, in
practice (EDSR), better PSNR too.

**The numbers** (the *measure* option). Your photo is shrunk $s$ times with antialiased bicubic (exactly as
the published tables make their test inputs), enlarged back both ways, and compared with your original on
brightness (the Y of YCbCr), with $s$ pixels cut from each border. *PSNR* $= 10 \log_{10}(255^2 / \mathrm{MSE})$
in dB: higher is better; +1 dB means about 21 % less squared error. *SSIM* compares local brightness, contrast
and structure in 11x11 windows: 1 means identical. {measured} Gains are larger on sharp, detailed photos and
near zero on blurry or noisy ones.
"""


def measured_gains() -> str:
    """What the benchmark measured, read from the upscalers' cards: the PSNR gain over bicubic at x2 and x4."""
    parts = []
    for short in genimg.upscaler_names():
        try:
            benchmark = genimg.upscaler(short).card["metrics"]["benchmark"]
            parts.append(f"the {short} model gains {benchmark['x2']['gain_db']:.2f} dB over bicubic at x2 and "
                         f"{benchmark['x4']['gain_db']:.2f} dB at x4")
        except (ValueError, KeyError):  # unavailable, or not benchmarked: say nothing rather than guess
            continue
    if not parts:
        return ""
    return f"On the benchmark's {benchmark.get('images', 'test')} photos, " + "; ".join(parts) + "."


def example_rows() -> list:
    rows = [["chelsea.png", "x4", "Fast (small network)", False],
            ["rocket.jpg", "x2", "Fast (small network)", False],
            ["coins.png", "x4", "Quality (residual network)", True]]
    return [[str(EXAMPLES_DIR / name), *rest] for name, *rest in rows if (EXAMPLES_DIR / name).is_file()]


def scale_of(scale_label) -> int:
    if scale_label not in SCALE_CHOICES:
        raise gr.Error(f"Choose a scale: {', '.join(SCALE_CHOICES)}.")
    return SCALE_CHOICES[scale_label]


def model_of(model_label) -> str:
    if model_label not in MODEL_CHOICES:
        raise gr.Error(f"Choose a model: {', '.join(MODEL_CHOICES)}.")
    return MODEL_CHOICES[model_label]


# Seconds per input pixel of each (model, scale), as last measured in this process; before the first run, the
# card's benchmark (a 256x256 photo, on the machine that ran the bench) stands in.
_seconds_per_pixel: dict = {}


def seconds_per_pixel(model: str, scale: int) -> float | None:
    if (model, scale) in _seconds_per_pixel:
        return _seconds_per_pixel[model, scale]
    try:
        return genimg.upscaler(model).card["metrics"]["speed_256px"][f"x{scale}"]["median_s"] / 256 ** 2
    except (ValueError, KeyError):
        return None


def expected_time(path, scale_label, model_label) -> str:
    """A sentence shown before the person presses Upscale: how long this photo should take with each model."""
    if not path or scale_label not in SCALE_CHOICES or model_label not in MODEL_CHOICES:
        return ""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, ValueError):
        return ""
    scale = SCALE_CHOICES[scale_label]
    guesses = {label: seconds_per_pixel(short, scale) for label, short in MODEL_CHOICES.items()}
    if guesses[model_label] is None:
        return ""
    seconds = guesses[model_label] * width * height
    text = f"Expected: about **{max(seconds, 0.1):.1f} s** for this {width}x{height} photo at {scale_label}"
    others = [f"{label.split(' (')[0].lower()} model about {guess * width * height:.1f} s"
              for label, guess in guesses.items() if label != model_label and guess is not None]
    return text + (f" ({'; '.join(others)})" if others else "") + ", when no one else is using the server."


def measurement_table(result, scale) -> str:
    bicubic, model = result["bicubic"], result["model"]
    gain = model["psnr"] - bicubic["psnr"]
    return (f"**Measured on your photo** (shrunk x{scale}, then enlarged back; compared with your original):\n\n"
            f"| | PSNR (dB) | SSIM |\n|---|---|---|\n"
            f"| bicubic | {bicubic['psnr']:.2f} | {bicubic['ssim']:.4f} |\n"
            f"| {result['model_name']} | {model['psnr']:.2f} | {model['ssim']:.4f} |\n\n"
            f"The network is **{gain:+.2f} dB** over bicubic. PSNR: higher is better (+1 dB is about 21 % less "
            f"squared error). SSIM: 1 means identical structure. The slider shows both reconstructions of your "
            f"photo at its own size; see *How it works* for the protocol.")


@gpu
@user_errors
def upscale_photo(path, scale_label, model_label, measure):
    """Enlarge a photo 2x or 4x with a super-resolution network (sharper than bicubic resizing), or with measure on,
    score the network and bicubic against the photo itself (PSNR and SSIM). Results stop at 16 megapixels.

    Args:
        path: the photo (PNG, JPEG, WebP, ...).
        scale_label: "x2" or "x4".
        model_label: "Fast (small network)" (the default, about a second) or "Quality (residual network)" (sharper, slower).
        measure: false: upscale the photo; true: shrink it by the scale first, enlarge it back and compare with the original.
    Returns:
        a pair of PNG files (bicubic, network) of the same size, the network's PNG for download, and a markdown report.
    """
    if not path:
        raise gr.Error("Upload a photo or pick an example first.")
    scale, model = scale_of(scale_label), model_of(model_label)
    image = genimg.load_image(path)
    width, height = image.size
    start = time.perf_counter()
    if measure:
        if width * height > APP_MAX_OUTPUT_PIXELS:
            raise gr.Error(f"Measuring keeps your photo's size; at {width}x{height} it is over the app's "
                           f"{APP_MAX_OUTPUT_PIXELS / 1e6:.0f} megapixels. Use a smaller photo.")
        result = genimg.measure_upscale(image, scale, model)
        bicubic, upscaled = save_png(result["images"]["bicubic"]), save_png(result["images"]["model"])
        info = measurement_table(result, scale)
        return (bicubic, upscaled), upscaled, info + f"\n\nTook {time.perf_counter() - start:.1f} s."
    if width * scale * height * scale > APP_MAX_OUTPUT_PIXELS:
        raise gr.Error(f"x{scale} would make {width * scale}x{height * scale} ({width * height * scale ** 2 / 1e6:.0f} "
                       f"megapixels); the app stops at {APP_MAX_OUTPUT_PIXELS / 1e6:.0f}. "
                       f"{'Choose x2, a smaller photo' if scale > 2 else 'Choose a smaller photo'}, "
                       f"or `python -m genimg upscale` (up to 64 megapixels).")
    upscaled_image = genimg.upscale(image, scale, model)
    seconds = time.perf_counter() - start
    _seconds_per_pixel[model, scale] = seconds / (width * height)
    bicubic, upscaled = save_png(genimg.upscale_bicubic(image, scale)), save_png(upscaled_image)
    name = genimg.upscaler(model).name
    info = (f"**{name}**: {width}x{height} -> {upscaled_image.width}x{upscaled_image.height} ({upscaled_image.mode}) "
            f"in {seconds:.1f} s. Left of the slider: bicubic; right: the network. The download is a lossless PNG.")
    return (bicubic, upscaled), upscaled, info


def build_tab():
    with gr.Tab("Upscale", id="upscale"):
        gr.Markdown(SUMMARY)
        tab_figure("upscale")
        with gr.Row():
            with gr.Column(scale=1):
                photo = gr.Image(label="Photo", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                 elem_id="upscale_in")
                scale = gr.Radio(choices=list(SCALE_CHOICES), value="x4", label="Scale")
                model = gr.Radio(choices=list(MODEL_CHOICES), value=DEFAULT_MODEL, label="Model")
                measure = gr.Checkbox(value=False, label="Measure",
                                      info="Shrink my photo first, upscale it back, and score bicubic and the "
                                           "network against my original (PSNR, SSIM)")
                button = gr.Button("Upscale", variant="primary")
                estimate = gr.Markdown()
                rows = example_rows()
                if rows:
                    gr.Examples(rows, inputs=[photo, scale, model, measure], label="Examples")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(label="Bicubic (left) vs the network (right)", type="filepath",
                                        format="png", max_height=600)
                download = gr.File(label="Upscaled image (lossless PNG)")
                info = gr.Markdown()
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS.replace("{measured}", measured_gains()), latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        # In the heavy group, one at a time: each uses every core, and a 16-megapixel result holds ~0.5 GB.
        button.click(upscale_photo, [photo, scale, model, measure], [slider, download, info], api_name="upscale",
                     **queue("heavy"), show_progress="minimal", scroll_to_output=True)
        for control in (photo, scale, model):
            control.change(expected_time, [photo, scale, model], estimate, api_visibility="private",
                           queue=False, show_progress="hidden")
