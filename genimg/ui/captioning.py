"""Image to text tab: a scene drawn, uploaded or generated is described in words, and for each word the class
sees where the captioner looked."""
from pathlib import Path

import gradio as gr
from PIL import Image

import genimg

from .common import drawing_pad, drawn_image, gpu, queue, save_png, tab_figure, user_errors

ZOOM = 4
EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "scenes"  # real test scenes (bench text)

SUMMARY = """Draw a scene (one or two digits or pieces of clothing), upload one, or take one the text-to-image model
drew, and the captioner writes what it sees. For each word it wrote, the picture shows where it was looking
(red) when it chose that word: watch it look left for the left item and right for the right one."""

HOW_IT_WORKS = r"""
**Seeing.** A small convolutional network turns the 32x32 picture into an 8x8 grid of feature vectors, each one
describing a patch of the picture and told where it is.

**Writing.** A recurrent network (a GRU) writes one word at a time. Before each word it scores every patch
against what it has written so far and turns the scores into weights that sum to 1 (**attention**, Bahdanau et
al. 2015; *Show, Attend and Tell*, Xu et al. 2015); it reads the weighted average of the patches and picks the
next word. Those weights are the red maps.

**Greedy or beam.** Greedy decoding takes the most likely word each time. Beam search keeps the few most likely
beginnings of the sentence at every step and returns the most likely whole sentence: sometimes better when the
first word is a close call.

**What it was taught.** Scenes we made from MNIST and Fashion-MNIST test images it never saw in training, with
one caption each; the left (or upper) item is always named first. Some pairs were never shown one above the
other; the bench measures those separately.
"""


def card_line() -> str:
    names = [name for name, entry in genimg.models(check=False).items() if entry["kind"] == "captioner"]
    try:
        metrics = genimg.load(names[0]).card.get("metrics", {})
    except (IndexError, ValueError):
        return "The captioner is not available."
    measured = metrics.get("captioning")
    if not measured:
        return ""
    return (f"Measured by the bench on {measured['n']} test scenes: exact caption **{100 * measured['exact']:.1f} %**,"
            f" BLEU-4 {measured['bleu4']:.3f}; held-out pairs: exact {100 * measured['held_out_exact']:.1f} % "
            f"(`{measured['command']}`).")


@gpu
@user_errors
def describe(drawing, upload, beam_width):
    """Write a caption for a scene of digits and garments, with the captioner's attention for each word.

    Args:
        drawing: a Sketchpad value (dark strokes on white are fine); ignored when an upload is given.
        upload: an image file (any size: it is fitted to 32x32, light items on black as the scenes are).
        beam_width: 1 for greedy decoding, up to 8 for beam search.
    Returns:
        the caption (markdown), the attention strip (PNG file), what the captioner sees (PNG file).
    """
    image = drawn_image(drawing, upload)
    text, attention = genimg.caption(image, beam_width=beam_width)
    seen_image = genimg.scene_image(genimg.as_scene(image))
    strip = genimg.attention_strip(seen_image, attention, scale=ZOOM)
    return (f"## {text}", save_png(strip),
            save_png(seen_image.resize((32 * ZOOM, 32 * ZOOM), Image.Resampling.NEAREST)))


@gpu
@user_errors
def generated_scene(prompt, seed):
    """A scene drawn by the text-to-image model, to be captioned.

    Args:
        prompt: what to draw (any prompt the Text to image tab takes).
        seed: a whole number >= 0 (the tab counts up, so each click draws another).
    Returns:
        the scene as a PNG file, and the prompt it was drawn from (markdown).
    """
    [image], _ = genimg.text_to_image(prompt, n=1, seed=seed)
    return (save_png(image.resize((32 * ZOOM, 32 * ZOOM), Image.Resampling.NEAREST)),
            f"Drawn from *{prompt}* (seed {seed}).")


def build_tab():
    with gr.Tab("Image to text", id="captioning"):
        gr.Markdown(SUMMARY)
        tab_figure("captioning")
        with gr.Row():
            with gr.Column(scale=1):
                drawing = drawing_pad("Draw a scene (one or two things)")
                upload = gr.Image(label="...or upload a scene (used instead of the drawing)", type="filepath",
                                  sources=["upload", "clipboard"],
                                  height=180)
                counter = gr.State(0)
                prompt = gr.Dropdown(genimg.EXAMPLE_PROMPTS, value=genimg.EXAMPLE_PROMPTS[0],
                                     allow_custom_value=True, label="...or a scene the model draws from")
                take = gr.Button("Take it")
                drawn_from = gr.Markdown()
                beam = gr.Slider(1, genimg.MAX_BEAM, value=1, step=1, label="Beam width (1 = greedy)")
                button = gr.Button("Describe", variant="primary")
            with gr.Column(scale=2):
                caption = gr.Markdown()
                strip = gr.Image(label="Where it looked for each word", format="png", type="filepath",
                                 buttons=["download", "fullscreen"], elem_classes=["wide-grid"])
                seen = gr.Image(label="What the captioner sees (32x32)", format="png", type="filepath", height=150)
        gr.Markdown(card_line())
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS)
        button.click(describe, [drawing, upload, beam], [caption, strip, seen], api_name="caption",
                     **queue("light"), show_progress="minimal", scroll_to_output=True)
        take.click(generated_scene, [prompt, counter], [upload, drawn_from], api_name="generated_scene",
                   **queue("light"), show_progress="minimal").then(
            lambda k: k + 1, counter, counter, api_visibility="private", queue=False)
        examples = sorted(EXAMPLE_DIR.glob("*.png"))
        if examples:
            gr.Examples([[str(p)] for p in examples], inputs=[upload], label="Real test scenes (click one)")
