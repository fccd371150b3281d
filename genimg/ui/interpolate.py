"""Interpolate tab: walk the latent space between two seeds (and two classes) as a strip and a GIF."""
import gradio as gr

import genimg

from .common import (tab_figure, GENERATOR_DATASETS, checkpoint_name, conditional_label, generator_entry, generator_families, gpu,
                     lab_checkpoint, output_path, queue, user_errors)

GIF_ZOOM = 12  # 28x28 frames shown at 336x336 (nearest neighbour: the pixels stay visible)

SUMMARY = """Every picture a generator draws comes from a list of random numbers, its code. Walking step by step from one
code to another turns one picture smoothly into the other, which shows that the network has learned a map of its
pictures, not a list."""  # on top of the tab, for a school class

HOW_IT_WORKS = r"""
Every image a generator makes comes from a code $z$. Two seeds give two codes $z_A$ and $z_B$; the frames
decode points on a path between them. A smooth morph means the model has learned a continuous space of
images rather than memorising separate ones.

*Linear*: $z(t) = (1-t)\,z_A + t\,z_B$. Halfway, the code is shorter than typical Gaussian codes, so midpoints
can look faint or generic. *Spherical* (slerp) follows the arc between the codes and keeps their length:
$$z(t) = \frac{\sin((1-t)\,\Omega)}{\sin \Omega} z_A + \frac{\sin(t\,\Omega)}{\sin \Omega} z_B, \quad \cos\Omega = \frac{z_A \cdot z_B}{|z_A||z_B|}$$
For the **conditional GAN** the class moves too: the per-class scale and shift of its batch norm are mixed
from class A's to class B's, so you can watch a 3 turn into an 8 or a sneaker into an ankle boot.
"""


@gpu
@user_errors
def interpolate_frames(family_label, dataset_label, seed_a, seed_b, class_a, class_b, steps, mode):
    """Morph between two generated images: decode codes on the path from seed A's latent code to seed B's (and, for
    the conditional GAN, from class A to class B), as a strip of frames and an animated GIF.

    Args:
        family_label: the generator, by its menu name (the conditional GAN also morphs the class).
        dataset_label: "Fashion-MNIST" (clothes) or "MNIST" (handwritten digits).
        seed_a: the seed of the first frame (a whole number >= 0).
        seed_b: the seed of the last frame.
        class_a: conditional GAN only: the class of the first frame ("Sneaker", "3", ...); other models ignore it.
        class_b: conditional GAN only: the class of the last frame.
        steps: the number of frames, 2 to 64.
        mode: "Spherical" (follows the arc between the codes; midpoints look like real samples) or "Linear".
    Returns:
        the frames side by side as a PNG file, and the animation as a GIF file.
    """
    model = genimg.load(checkpoint_name(family_label, dataset_label))
    labels = (class_a, class_b) if model.conditional else (None, None)
    frames = genimg.interpolate(model, seed_a=seed_a, seed_b=seed_b, steps=steps,
                                mode="linear" if str(mode).lower().startswith("linear") else "spherical",
                                label_a=labels[0], label_b=labels[1])
    strip_path, gif_path = output_path(".png"), output_path(".gif")
    genimg.grid(frames, columns=min(8, len(frames)), scale=3).save(strip_path)
    genimg.save_gif(frames, gif_path, scale=GIF_ZOOM)
    return strip_path, gif_path


def example_rows() -> list:
    """One click each: a sneaker turning into an ankle boot, a 1 into a 7, and an unconditional model's walk."""
    conditional = conditional_label()
    rows = [[conditional, "Fashion-MNIST", 1, 2, "Sneaker", "Ankle boot", 16, "Spherical"],
            [conditional, "MNIST", 4, 9, "1", "7", 16, "Spherical"]]
    others = [label for label in generator_families() if label != conditional]
    if others:
        rows.append([others[0], "MNIST", 3, 5, "0", "9", 24, "Spherical"])
    return rows


def classes_for(family_label, dataset_label):
    names = genimg.class_names(GENERATOR_DATASETS.get(dataset_label, "fashion-mnist"))
    visible = generator_entry(family_label)["kind"] == "conditional-generator" and not lab_checkpoint(dataset_label)
    return (gr.update(choices=names, value=names[0], visible=visible),
            gr.update(choices=names, value=names[-1], visible=visible))


def build_tab():
    names = genimg.class_names("fashion-mnist")
    with gr.Tab("Interpolate", id="interpolate"):
        gr.Markdown(SUMMARY)
        tab_figure("interpolate")
        with gr.Row():
            with gr.Column(scale=1):
                family = gr.Dropdown(choices=list(generator_families()), value=conditional_label(), label="Model")
                dataset = gr.Dropdown(choices=list(GENERATOR_DATASETS), value="Fashion-MNIST", label="Dataset")
                with gr.Row():
                    seed_a = gr.Number(value=1, precision=0, label="Seed A", minimum=0, maximum=genimg.MAX_SEED)
                    seed_b = gr.Number(value=2, precision=0, label="Seed B", minimum=0, maximum=genimg.MAX_SEED)
                with gr.Row():
                    # allow_custom_value: API calls for MNIST name digits, not the Fashion-MNIST choices shown first.
                    class_a = gr.Dropdown(choices=names, value=names[7], label="Class A", allow_custom_value=True)
                    class_b = gr.Dropdown(choices=names, value=names[9], label="Class B", allow_custom_value=True)
                steps = gr.Slider(minimum=genimg.MIN_STEPS, maximum=genimg.MAX_STEPS, value=16, step=1,
                                  label="Number of frames")
                mode = gr.Radio(choices=["Spherical", "Linear"], value="Spherical", label="Path")
                button = gr.Button("Interpolate", variant="primary")
            with gr.Column(scale=2):
                strip = gr.Image(label="Frames", format="png", type="filepath", buttons=["download"],
                                 elem_classes=["wide-grid"])
                animation = gr.Image(label="Animation (GIF)", type="filepath", buttons=["download"])
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        inputs = [family, dataset, seed_a, seed_b, class_a, class_b, steps, mode]
        button.click(interpolate_frames, inputs, [strip, animation], api_name="interpolate", **queue("light"),
                     show_progress="minimal", scroll_to_output=True)
        gr.Examples(example_rows(), inputs=inputs, outputs=[strip, animation], fn=interpolate_frames,
                    run_on_click=True, cache_examples=False, label="Examples (one click)")
        for control in (family, dataset):
            control.change(classes_for, [family, dataset], [class_a, class_b], api_visibility="private")
    return family, dataset
