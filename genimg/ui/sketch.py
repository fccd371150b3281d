"""Sketch to emoji tab: what a person draws (or the edges of a picture they upload) painted as a colour emoji by
the pix2pix network, with the drawing as the network read it."""
from pathlib import Path

import gradio as gr
from PIL import Image

import genimg

from .common import drawing_pad, drawn_image, gpu, queue, save_png, tab_figure, user_errors

ZOOM = 4  # the 64x64 pictures are shown at 256x256
ANY = "Any (let the drawing decide)"
EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "sketches"  # drawn by hand in the app

SUMMARY = """Draw the outline of an emoji (a face, a heart, an animal, a house...) and the network paints it in
colour. Or upload any picture: its edges become the drawing. The shapes you draw decide the colours; the category
hint is only a nudge."""

HOW_IT_WORKS = """
**Image-to-image translation** (pix2pix, Isola et al. 2017). A U-Net reads the 64x64 drawing, squeezes it to a
4x4 summary of what is where, and paints it back up to 64x64; skip connections hand each level the drawing's
detail at that size, so the colours stay inside the lines.

**Two teachers.** An L1 loss pulls each painted pixel towards the real emoji's. Alone it would paint the average of
everything that could be there: brown mush. A second network, the *PatchGAN discriminator*, looks at 34x34 patches
of (drawing, emoji) pairs and tells real from painted; the painter learns to fool it, so it commits to one
plausible colouring with clean, flat colours.

**Where the drawings come from.** Nobody drew 6,000 emoji for us: each training drawing is made from an emoji (its
colour edges, one pixel thin) and roughened the way people draw: strokes 1-3 px wide, a wobble, parts left out,
a stray line or two. A new drawing is made at every step, so the network never sees the same one twice.

**What it cannot do.** It paints what emoji look like: a drawing of a car gets emoji colours, not a photo's. Where a
shape could be many colours (a heart is red, pink, green, purple... among the emoji) it hedges towards a muted
average, the trace of the L1 loss. The category hint (one of the nine emoji categories) was dropped in half of
training and the network learned to lean on the drawing instead: it changes the colours a little, not a lot.
"""


def card_line() -> str:
    try:
        card = genimg.translator().card
    except ValueError as error:
        return str(error)
    metrics = card.get("metrics", {})
    line = (f"Trained {card['steps']:,} steps ({card['wall_time_s'] / 60:.0f} min, {card['device']}) on "
            f"Twemoji and Noto emoji.")
    if "test_psnr" in metrics:
        line += (f" On the held-out emoji, from their drawings: PSNR {metrics['test_psnr']:.1f} dB, L1 "
                 f"{metrics['test_l1']:.3f}.")
    measured = metrics.get("translation")
    if measured:
        line += (f" Fréchet distance of its emoji {measured['fd']:.1f} ({measured['fd'] / measured['floor']:.1f}x "
                 f"the real-vs-real floor; the blurred real emoji: {measured['blur']:.1f}); one translation in "
                 f"{1000 * measured['seconds']:.0f} ms (`{measured['command']}`).")
    return line


@gpu
@user_errors
def paint(drawing, picture, category):
    """Paint a colour emoji from a line drawing, or from the edges of an uploaded picture.

    Args:
        drawing: a Sketchpad value (dark strokes on a light or transparent page); ignored when a picture is given.
        picture: an image file: a line drawing is painted as it is, any other picture as its edges
            (genimg.sketch_of).
        category: one of the emoji categories, or "Any" to let the drawing decide.
    Returns:
        the emoji (PNG file, 256x256), the drawing as the network read it (PNG file, 256x256), and a line on what
        was done (markdown).
    """
    hint = None if category in (None, "", ANY) else category
    if picture is not None:
        try:  # an uploaded line drawing is read as one; any other picture is drawn as its edges
            seen = genimg.drawing_as_read(picture)
            sketch, source = picture, "your uploaded drawing"
        except ValueError:
            sketch, source = genimg.sketch_of(picture), "the edges of your picture"
            seen = genimg.drawing_as_read(sketch)
    else:
        sketch, source = drawn_image(drawing, None, "an emoji's outline"), "your drawing"
        seen = genimg.drawing_as_read(sketch)
    emoji = genimg.translate(sketch, category=hint)
    big = (256, 256)
    return (save_png(emoji.resize(big, Image.Resampling.LANCZOS)),
            save_png(seen.resize(big, Image.Resampling.NEAREST)),
            f"Painted from {source}, hint: {hint or 'none'}.")


def build_tab():
    with gr.Tab("Sketch to emoji", id="sketch"):
        gr.Markdown(SUMMARY)
        tab_figure("sketch")
        with gr.Row():
            with gr.Column(scale=1):
                drawing = drawing_pad("Draw an emoji: pick the pen (left), then draw", pen=4)
                picture = gr.Image(label="...or upload a drawing, or any picture: its edges are drawn",
                                   type="filepath", image_mode="RGBA", sources=["upload", "clipboard"], height=160)
                try:
                    hints = genimg.translation_categories()
                except ValueError:
                    hints = []
                category = gr.Dropdown([ANY, *hints], value=ANY, label="Category hint")
                button = gr.Button("Paint it", variant="primary")
            with gr.Column(scale=1):
                emoji = gr.Image(label="The emoji (64x64, shown 4x)", format="png", type="filepath", height=280,
                                 buttons=["download", "fullscreen"])
                seen = gr.Image(label="The drawing as the network reads it (64x64)", format="png",
                                type="filepath", height=180)
                info = gr.Markdown()
        gr.Markdown(card_line())
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS)
        button.click(paint, [drawing, picture, category], [emoji, seen, info], api_name="sketch_to_emoji",
                     **queue("light"), show_progress="minimal", scroll_to_output=True)
        examples = sorted(EXAMPLE_DIR.glob("*.png"))
        if examples:
            gr.Examples([[str(p)] for p in examples], inputs=[picture],
                        label="Drawings made by hand in this tab (click one, then Paint it)")
