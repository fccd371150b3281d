"""Style tab: a photo painted in a preset's manner by one network (with blending, strength and original colours),
or in the manner of any uploaded style image by Gatys' optimisation, shown as it evolves."""
import time
from pathlib import Path

import gradio as gr

import genimg

from .common import tab_figure, gpu, save_png, queue, user_errors

EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "examples"
PREVIEW_PHOTO = EXAMPLES_DIR / "chelsea.png"
PREVIEW_SIDE = 160
NO_BLEND = "(none)"

SUMMARY = """A network learned to repaint any photo with the colours and brush strokes of a famous painting. It keeps the
shapes of your photo (what is where) and takes the texture of the painting (how it looks up close). Below, any
painting of your own: in one pass, or by a slower optimisation that matches it more closely."""  # on top of the tab, for a school class

HOW_IT_WORKS = r"""
**What "style" is here** (Gatys, Ecker and Bethge 2016). Pass an image through VGG16, a network trained to
recognise objects, and look at the feature maps of a few layers. The *Gram matrix* of a layer is the
correlation of every pair of feature channels, averaged over all positions:
$G_{ij} = \frac{1}{CHW} \sum_{p} F_i(p) F_j(p)$. It forgets *where* things are and keeps *which features occur
together*: colours and grain in the first layers (relu1_2), brush strokes and repeated shapes deeper (relu4_3).
Two images with the same Gram matrices share a texture, a manner, whatever they depict. The *content* is the
feature map itself at a middle layer (relu2_2): it keeps edges and shapes in place.

**Painting by optimisation** (the *your own style* section). Start from the photo and change its pixels by
gradient descent so that its Gram matrices approach the style image's while its relu2_2 features stay near
the photo's, plus a small penalty on pixel-to-pixel jumps (total variation). Any style image works, but every
step is a pass forwards and backwards through VGG16: hundreds of them, minutes on a CPU.

**Why a network can replace the optimisation** (Johnson, Alahi and Fei-Fei 2016). Train a feed-forward
network with *the same loss* on thousands of photos: it learns to do in one pass what the optimisation does in
hundreds, because the same texture must be painted over any photo. Here one network serves every preset
(Dumoulin, Shlens and Kudlur 2017): all its convolutions are shared, and each preset is only a per-channel scale
and shift after each instance normalisation (*conditional instance norm*). Mixing two presets' scales and shifts
gives a style between them, which is what the blend slider does. The network here learned in two phases: first
to give back the photo it is shown (1,500 steps of a pixel loss), then to paint it (4,000 steps of the loss
above); trained on the painting loss from the start, its photos were still blurred after 600 steps.

**Any painting in one pass** (AdaIN, Huang and Belongie 2017). The Gram matrices above are mostly about how
much each feature occurs and how much it varies. So take the photo's VGG16 feature maps and, channel by
channel, give them the painting's mean and spread: $\mathrm{AdaIN}(x, y) = \sigma(y)\,\frac{x - \mu(x)}{\sigma(x)}
+ \mu(y)$. That is *adaptive instance normalisation*, done at three depths (relu1_2, relu2_2, relu3_3). A decoder
trained for it turns the result back into pixels. It was trained on photo crops painted in the manner of crops
of the six preset paintings and of other photos, with the style loss on means and spreads, so it never saw
most paintings it is given; one painting (Turner's *Shipwreck of the Minotaur*) is held out to check it. Its
*Strength* mixes the photo's own features back in before decoding.

**The options.** *Strength* mixes the painting with your photo pixel by pixel (0: your photo). *Keep the
original colours* keeps your photo's colours (the Cb and Cr of YCbCr) and takes only the brightness (Y) from
the painting. Photos are shrunk to at most 1024 pixels on the long side (presets) or the size you choose
(your own style).
"""


def preset_choices() -> dict:
    """{label shown: preset name}; empty when there is no style network."""
    try:
        return {f"{s['title']} ({s['artist']})" if s["artist"] else s["title"]: s["name"] for s in genimg.styles()}
    except ValueError:
        return {}


def preset_previews(choices: dict) -> list:
    """The network's own output on an example photo, one per preset (made when the tab is built)."""
    if not PREVIEW_PHOTO.is_file():
        return []
    previews = []
    for label, name in choices.items():
        previews.append((genimg.stylize(PREVIEW_PHOTO, name, max_side=PREVIEW_SIDE), label.split(" (")[0]))
    return previews


def preset_of(label, choices: dict, what: str = "a preset") -> str:
    if label not in choices:
        raise gr.Error(f"Choose {what}: {', '.join(choices) or 'no presets are available (no style network)'}.")
    return choices[label]


@gpu
@user_errors
def stylize_photo(path, preset_label, blend_label, blend, strength, keep_colours):
    """Paint a photo in the manner of a famous painting with a style-transfer network (one fast pass), optionally
    blending two presets, mixing with the photo, or keeping the photo's colours.

    Args:
        path: the photo (shrunk to at most 1024 pixels on the long side).
        preset_label: the painting, by its menu name, e.g. "The Starry Night (Vincent van Gogh, 1889)".
        blend_label: a second preset to mix in, by its menu name, or "(none)".
        blend: how much of the second preset, 0 to 1 (0: the first preset only).
        strength: 0 to 1: 0 returns the photo, 1 the full painting.
        keep_colours: true keeps the photo's colours and takes only the brightness from the painting.
    Returns:
        the result as a PNG file, and a markdown line with the mix, size and time.
    """
    # presets are read from the network at each call (tests swap folders)
    if not path:
        raise gr.Error("Upload a photo or pick an example first.")
    choices = preset_choices()
    style = preset_of(preset_label, choices)
    blend = genimg.real_number(blend, "blend", 0.0, 1.0)
    if blend_label and blend_label != NO_BLEND:
        other = preset_of(blend_label, choices, "a second preset to blend with")
        style = {style: 1 - blend, other: blend} if other != style else style
    start = time.perf_counter()
    result = genimg.stylize(path, style, strength=strength, keep_colours=bool(keep_colours))
    seconds = time.perf_counter() - start
    mix = (" and ".join(f"{weight:.0%} {name}" for name, weight in style.items())
           if isinstance(style, dict) else style)
    return save_png(result), (f"**{mix}**, strength {float(strength):.2f}"
                              f"{', original colours' if keep_colours else ''}: {result.width}x{result.height} "
                              f"in {seconds:.2f} s.")


@gpu
@user_errors
def stylize_any_image(path, style_path, strength, keep_colours):
    """Paint a photo in the manner of any style image in one pass (AdaIN: a VGG16 encoder, the painting's feature
    statistics, a trained decoder), about a second on a CPU.

    Args:
        path: the photo.
        style_path: the style image (a painting, a texture, anything).
        strength: 0 to 1: how much of the painting's statistics the photo's features take on.
        keep_colours: true keeps the photo's colours and takes only the brightness from the painting.
    Returns:
        the painted photo as a PNG file, and a markdown line with its size and time.
    """
    if not path:
        raise gr.Error("Upload the photo to paint at the top of this tab (or pick an example photo) first.")
    if not style_path:
        raise gr.Error("Upload a style image (a painting, a texture, anything) first.")
    start = time.perf_counter()
    result = genimg.stylize_any(path, style_path, strength, bool(keep_colours))
    return save_png(result), (f"Painted in one pass by **{genimg.arbitrary_stylizer().name}**: "
                              f"{result.width}x{result.height} in {time.perf_counter() - start:.2f} s.")


@gpu
def stylize_with_own(path, style_path, steps, size, strength, keep_colours, progress=gr.Progress()):
    """Paint a photo in the manner of any style image by Gatys' optimisation through VGG16 (slow: about a second per
    step at 256 pixels on a CPU), yielding the image as it evolves, every 5 steps.

    Args:
        path: the photo.
        style_path: the style image (a painting, a texture, anything).
        steps: the number of optimisation steps, 10 to 1000.
        size: the long side of the result in pixels, 64 to 512.
        strength: 0 to 1: 0 returns the photo, 1 the full painting.
        keep_colours: true keeps the photo's colours and takes only the brightness from the painting.
    Returns:
        the latest image as a PNG file, and a markdown line with the step and time.
    """
    try:
        if not path:
            raise gr.Error("Upload the photo to paint at the top of this tab (or pick an example photo) first.")
        if not style_path:
            raise gr.Error("Upload a style image (a painting, a texture, anything) first.")
        start = time.perf_counter()
        progress(0, desc="Loading VGG16")
        for step, total, image in genimg.stylize_with_image_steps(path, style_path, steps, size, strength,
                                                               bool(keep_colours), every=5):
            progress(step / total, desc=f"Optimising: step {step} of {total}")
            yield save_png(image), f"Step {step} of {total}, {time.perf_counter() - start:.0f} s."
    except gr.Error as error:
        error.print_exception = False  # a visitor's mistake, not the server's: no traceback in the log
        raise
    except genimg.VGGUnavailable:  # its message names the server's files: visitors get the status sentence
        raise gr.Error(genimg.vgg_status(), print_exception=False) from None
    except ValueError as error:
        raise gr.Error(str(error), print_exception=False) from None


def build_tab():
    choices = preset_choices()
    with gr.Tab("Style", id="style"):
        gr.Markdown(SUMMARY)
        tab_figure("style")
        if not choices:
            gr.Markdown("**No style network is available** (checkpoint `style-photos` is missing or broken), so the "
                        "presets are off. Your own style images may still work (below).")
        with gr.Row():
            with gr.Column(scale=1):
                photo = gr.Image(label="Photo", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                 elem_id="style_in")
                labels = list(choices)
                preset = gr.Dropdown(choices=labels, value=labels[0] if labels else None, label="Preset")
                blend_with = gr.Dropdown(choices=[NO_BLEND] + labels, value=NO_BLEND, label="Blend with")
                blend = gr.Slider(minimum=0, maximum=1, value=0.5, step=0.05, label="Blend",
                                  info="0: the first preset only; 1: the second only")
                strength = gr.Slider(minimum=0, maximum=1, value=1, step=0.05, label="Strength",
                                     info="0: your photo; 1: fully painted")
                keep = gr.Checkbox(value=False, label="Keep the original colours",
                                   info="Take only the brightness from the painting")
                button = gr.Button("Paint", variant="primary")
                examples = [[str(EXAMPLES_DIR / name)] for name in ("chelsea.png", "rocket.jpg", "coffee.png")
                            if (EXAMPLES_DIR / name).is_file()]
                if examples:
                    gr.Examples(examples, inputs=[photo], label="Example photos")
            with gr.Column(scale=2):
                result = gr.Image(label="Result", type="filepath", format="png", interactive=False)
                info = gr.Markdown()
        previews = preset_previews(choices)
        if previews:
            gr.Gallery(previews, label=f"The presets: the network's own output on {PREVIEW_PHOTO.name}",
                       columns=3, height="auto", object_fit="contain", allow_preview=False)
        with gr.Accordion("Your own style image: any painting", open=True):
            gr.Markdown("Paints **the photo at the top of this tab** in the manner of any style image you upload "
                        "here; *Strength* and *Keep the original colours* above apply too. **In one pass**: a "
                        "network trained for any painting, about a second. **By optimisation**: Gatys' method, "
                        "closer to the painting, a minute or more. " + genimg.vgg_status() +
                        " Each optimisation step takes about a second at 256 px on a CPU; the image updates every 5 "
                        "steps.")
            with gr.Row():
                with gr.Column(scale=1):
                    style_image = gr.Image(label="Style image", type="filepath", image_mode=None,
                                           sources=["upload", "clipboard"], elem_id="style_own")
                    steps = gr.Slider(minimum=genimg.MIN_GATYS_STEPS, maximum=genimg.MAX_GATYS_STEPS, value=150,
                                      step=10, label="Steps")
                    size = gr.Slider(minimum=genimg.MIN_GATYS_SIDE, maximum=genimg.MAX_GATYS_SIDE, value=256, step=32,
                                     label="Size (long side, pixels)")
                    with gr.Row():
                        any_button = gr.Button("Paint in one pass", variant="primary")
                        own_button = gr.Button("Paint by optimisation")
                with gr.Column(scale=2):
                    own_result = gr.Image(label="Result (the optimisation's evolves as it runs)", type="filepath", format="png",
                                          interactive=False)
                    own_info = gr.Markdown()
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        button.click(stylize_photo, [photo, preset, blend_with, blend, strength, keep], [result, info],
                     api_name="stylize", **queue("heavy"), show_progress="minimal", scroll_to_output=True)
        any_button.click(stylize_any_image, [photo, style_image, strength, keep], [own_result, own_info],
                         api_name="stylize_any", **queue("heavy"), show_progress="minimal")
        # Its own group: each runs VGG16 forward and backward hundreds of times, and must not hold up the presets.
        own_button.click(stylize_with_own, [photo, style_image, steps, size, strength, keep], [own_result, own_info],
                         api_name="stylize_with_image", **queue("optimise"))
