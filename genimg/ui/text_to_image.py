"""Text to image tab: type a sentence, get scenes of digits and garments drawn by a flow-matching model that reads
it; the captioner reads each picture back, so the class sees which ones came out as asked."""
import gradio as gr
from PIL import Image

import genimg

from .common import gpu, ode_controls, queue, save_png, step_through_pictures, tab_figure, user_errors

ZOOM = 4  # 32x32 scenes shown at 128x128

SUMMARY = """Type a sentence such as *a 3 to the left of a sneaker* and the model draws it, starting from noise. It
learned from scenes we made by placing MNIST digits and Fashion-MNIST clothes on a small canvas and describing
where they are. Under each picture: what the captioner (the next tab) reads in it, ✓ when that is what you asked
for."""

HOW_IT_WORKS = r"""
**The words.** A small transformer (2 layers) reads the sentence, word by word, after a *summary* token. Each
word becomes a vector that knows its neighbours: in *a 3 to the left of a sneaker*, "3" knows it is the one on
the left.

**The picture.** The same flow-matching U-Net as in *Step through*, for 32x32 scenes: it starts from noise and
follows a learned velocity to a picture. The sentence steers it twice: the summary vector scales and shifts
every block (as the class does in the class model), and at the 16x16 and 8x8 levels every position of the image
*attends* to the words (**cross-attention**, as in Stable Diffusion): the left half of the canvas learns to listen
to "3", the right half to "sneaker".

**Guidance.** One sentence in ten was left out in training, so the model also knows how to draw "any scene";
classifier-free guidance pushes away from that towards the sentence:
$v = v_{\text{any}} + w\,(v_{\text{sentence}} - v_{\text{any}})$.

**Held-out pairs.** Some pairs of items were never shown one *above* the other in training (they were shown side
by side). Whether the model can still draw them is the test of whether it *composes* what it learned; the bench
measures it separately (see the numbers below).

**The data.** Mansimov et al. (2016) made captioned scenes from MNIST for alignDRAW the same way; we add
Fashion-MNIST and let the two mix.
"""


def card_line() -> str:
    """The measured quality of the shipped text-to-image model, read from its card."""
    names = [name for name, entry in genimg.models(check=False).items() if entry["kind"] == "text-to-image"]
    try:
        measured = genimg.load(names[0]).card.get("metrics", {}).get("text_to_image")
    except (IndexError, ValueError):
        return "The text-to-image model is not available."
    if not measured:
        return ""
    return (f"Measured by the bench: the captioner reads **{100 * measured['correct']:.0f} %** of the pictures as "
            f"the prompt asked on test prompts, {100 * measured['held_out_correct']:.0f} % on held-out pairs "
            f"(`{measured['command']}`).")


def captioned_grid(images: list, scene) -> tuple:
    """The pictures with the captioner's reading under each, and how many match the prompt's scene."""
    wanted = genimg.canonical_caption(scene)
    readings = [genimg.caption(image)[0] for image in images]
    matches = [reading == wanted for reading in readings]
    captions = [("✓ " if ok else "✗ ") + reading for reading, ok in zip(readings, matches)]
    return captions, sum(matches)


@gpu
@user_errors
def draw_from_text(prompt, seed, n, steps, guidance, sampler):
    """Draw scenes of digits and garments from a sentence, each read back by the captioner.

    Args:
        prompt: e.g. "a 3 to the left of a sneaker", "a small 4 in the centre", "a bag above the digit 7".
        seed: a whole number >= 0: the starting noise.
        n: how many pictures, 1 to 64.
        steps: ODE steps from noise to image, 1 to 100.
        guidance: classifier-free guidance scale, 0 to 8 (1 = the plain model).
        sampler: "Euler" or "Heun".
    Returns:
        the pictures as a gallery of (PNG file, caption read back), and a markdown line.
    """
    images, scene = genimg.text_to_image(prompt, n=n, seed=seed, steps=steps, guidance=guidance, sampler=sampler)
    captions, right = captioned_grid(images, scene)
    gallery = [(save_png(image.resize((32 * ZOOM, 32 * ZOOM), Image.Resampling.NEAREST)), caption)
               for image, caption in zip(images, captions)]
    held = " (a held-out pair: never shown this way in training)" if genimg.is_held_out(scene) else ""
    info = (f"Read as **{genimg.canonical_caption(scene)}**{held}. The captioner reads {right} of {len(images)} "
            f"pictures that way.")
    return gallery, info


@gpu
@user_errors
def step_through_text(prompt, seed, steps, guidance, sampler):
    """Follow the model from noise to one scene: the picture at evenly spaced steps and the model's guess of the
    end at each, plus an animation of the whole path.

    Args:
        prompt: the sentence, as for draw_from_text.
        seed: a whole number >= 0 (the first picture of draw_from_text's grid for the same seed).
        steps: ODE steps, 1 to 100.
        guidance: classifier-free guidance scale, 0 to 8.
        sampler: "Euler" or "Heun".
    Returns:
        the strip as a PNG file and the animation as a GIF file.
    """
    path = genimg.text_trajectory(prompt, seed=seed, steps=steps, guidance=guidance, sampler=sampler)
    strip_path, gif_path = step_through_pictures(path)
    return strip_path, gif_path


def build_tab():
    with gr.Tab("Text to image", id="text_to_image"):
        gr.Markdown(SUMMARY)
        tab_figure("text_to_image")
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(value=genimg.EXAMPLE_PROMPTS[0], label="Describe a scene", max_lines=1,
                                    max_length=genimg.MAX_PROMPT_CHARS)
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=genimg.MAX_SEED)
                n = gr.Slider(1, genimg.MAX_TEXT_IMAGES, value=12, step=1, label="Number of pictures")  # two rows of 6
                steps, guidance, sampler = ode_controls()
                button = gr.Button("Draw", variant="primary")
                through = gr.Button("Step through the first one")
                gr.Markdown(f"Words it knows: items {', '.join(genimg.SCENE_ITEMS)}; places left, right, top, "
                            f"bottom, centre; relations left of, right of, above, below; sizes small, large.")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Drawn from your words (under each: what the captioner reads)",
                                     columns=6, height="auto", object_fit="contain", allow_preview=True)
                info = gr.Markdown()
                strip = gr.Image(label="From noise (left) to picture (right)", format="png", type="filepath",
                                 buttons=["download", "fullscreen"], elem_classes=["wide-grid"])
                gif = gr.Image(label="The whole path (animated)", format="gif", type="filepath")
        gr.Markdown(card_line())
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        inputs = [prompt, seed, n, steps, guidance, sampler]
        button.click(draw_from_text, inputs, [gallery, info], api_name="text_to_image", **queue("light"),
                     show_progress="minimal", scroll_to_output=True)
        prompt.submit(draw_from_text, inputs, [gallery, info], api_visibility="private", **queue("light"),
                      show_progress="minimal")
        through.click(step_through_text, [prompt, seed, steps, guidance, sampler], [strip, gif],
                      api_name="text_step_through", **queue("light"), show_progress="minimal")
        gr.Examples([[p, 0, 12, 20, 2.0, "Euler"] for p in genimg.EXAMPLE_PROMPTS], inputs=inputs,
                    outputs=[gallery, info], fn=draw_from_text, run_on_click=True, cache_examples=False,
                    label="Examples (one click)")
