"""Step through tab: watch a flow-matching model turn noise into an image, step by step, with its guess of the end."""
import gradio as gr

import genimg

from .common import (GENERATOR_DATASETS, EVERY_CLASS, released_generator, class_choices, generator_families, gpu, ode_controls, queue,
                     step_through_pictures, user_errors)

SUMMARY = """The model starts from pure noise and, in a few small steps, pushes every pixel towards a picture. The top row
shows the picture at each step; the bottom row shows where the model thinks it is heading, a blurry guess that
becomes sharp as the steps go on."""  # on top of the tab, for a school class

HOW_IT_WORKS = r"""
**Flow matching** (rectified flow) learns a *velocity*: for a noise image $x_0 \sim \mathcal N(0, I)$, a
training image $x_1$ and a time $t \in [0, 1]$, the point $x_t = (1-t)\,x_0 + t\,x_1$ lies on the straight line
between them, and the network $v_\theta(x_t, t, y)$ learns to point along it:
$$\mathcal L = \mathbb E_{x_0, x_1, t}\, \| v_\theta(x_t, t, y) - (x_1 - x_0) \|^2$$
To draw, start at noise and follow the velocity: $x_{t+\Delta} = x_t + \Delta\, v_\theta(x_t, t, y)$ (**Euler**;
**Heun** averages this slope with the one at the next point: two network calls per step, more accurate).

**The guess.** At time $t$, following the current velocity in a straight line to $t = 1$ would end at
$\hat x_1 = x_t + (1 - t)\, v_\theta(x_t, t, y)$: the bottom row. Early on many images are still possible, so the
guess is their average, a blur; each step commits to more detail. This is the same model as diffusion models
(DDPM, Stable Diffusion) seen from another angle: they learn to predict the noise, which is another way to
write the same velocity.

**Guidance.** One image in ten was trained without its class, so the same network also knows the
unconditional velocity. *Classifier-free guidance* pushes past the conditional one:
$v = v_{\text{uncond}} + w\,(v_{\text{cond}} - v_{\text{uncond}})$. $w = 1$ is the plain conditional model,
larger $w$ gives more typical, less varied images (and costs a second network call per step).

**Steps.** With 1 step the image is the first guess: a blurry average. A few steps already give sharp images,
because the learned paths are nearly straight.
"""


def ode_family_labels() -> list:
    return [label for label, entry in generator_families().items() if entry["ode_sampler"]]


@gpu
@user_errors
def step_through(family_label, dataset_label, class_label, seed, steps, guidance, sampler):
    """Follow a flow-matching model from noise to image: the image at evenly spaced steps (top row) and, at each,
    the model's guess of the final image (bottom row), plus an animation of the whole path.

    Args:
        family_label: the ODE-based generator, by its menu name ("Flow matching").
        dataset_label: "Fashion-MNIST" (clothes) or "MNIST" (handwritten digits).
        class_label: the class to draw ("Sneaker", "7", ...), or "(one of each)" for a random one from the seed.
        seed: a whole number >= 0: the starting noise.
        steps: ODE steps from noise to image, 1 to 100.
        guidance: classifier-free guidance scale, 0 to 8 (1 = the plain conditional model).
        sampler: "Euler" or "Heun".
    Returns:
        the strip as a PNG file, the animation as a GIF file, and a markdown line.
    """
    entry = generator_families().get(family_label)
    if entry is None or not entry["ode_sampler"]:
        raise gr.Error(f"Choose one of {', '.join(ode_family_labels())}.")
    model = released_generator(entry, dataset_label)
    seed = genimg.whole_number(seed, "seed", 0, genimg.MAX_SEED)
    label = seed % len(model.classes) if class_label in (None, "", EVERY_CLASS) else class_label
    path = genimg.trajectory(model, seed=seed, label=label, steps=steps, guidance=guidance, sampler=sampler)
    strip_path, gif_path = step_through_pictures(path)
    name = model.classes[label] if isinstance(label, int) else label
    info = (f"**{model.name}**, class {name}, seed {seed}: {len(path) - 1} {sampler} steps, guidance "
            f"{float(guidance):g}. The animation: image (left) and guess (right) at every step.")
    return strip_path, gif_path, info


def build_tab():
    labels = ode_family_labels()
    with gr.Tab("Step through", id="trajectory"):
        gr.Markdown(SUMMARY)
        with gr.Row():
            with gr.Column(scale=1):
                family = gr.Dropdown(choices=labels, value=labels[0] if labels else None, label="Model")
                dataset = gr.Dropdown(choices=list(GENERATOR_DATASETS), value="MNIST", label="Dataset")
                label = gr.Dropdown(choices=class_choices("MNIST", genimg.class_names), value="3", label="Class",
                                    allow_custom_value=True)
                seed = gr.Number(value=0, precision=0, label="Seed", minimum=0, maximum=genimg.MAX_SEED)
                steps, guidance, sampler = ode_controls()
                button = gr.Button("Step through", variant="primary")
            with gr.Column(scale=2):
                strip = gr.Image(label="From noise (left) to image (right)", format="png", type="filepath",
                                 buttons=["download", "fullscreen"], elem_classes=["wide-grid"])
                gif = gr.Image(label="The whole path (animated)", format="gif", type="filepath")
                info = gr.Markdown()
        with gr.Accordion("How it works", open=False):
            gr.Markdown(HOW_IT_WORKS, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                        {"left": "$", "right": "$", "display": False}])
        inputs = [family, dataset, label, seed, steps, guidance, sampler]
        button.click(step_through, inputs, [strip, gif, info], api_name="step_through", **queue("light"),
                     show_progress="minimal", scroll_to_output=True)
        gr.Examples([[labels[0], "MNIST", "3", 0, 20, 2.0, "Euler"], [labels[0], "Fashion-MNIST", "Sneaker", 1, 10,
                                                                      2.0, "Heun"],
                     [labels[0], "MNIST", "8", 2, 1, 1.0, "Euler"]] if labels else [],
                    inputs=inputs, outputs=[strip, gif, info], fn=step_through, run_on_click=True,
                    cache_examples=False, label="Examples (one click)")
        dataset.change(lambda d: gr.update(choices=class_choices(d, genimg.class_names), value=EVERY_CLASS),
                       dataset, label, api_visibility="private")
