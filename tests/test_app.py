"""The Gradio app: event functions called directly, then the live server through gradio_client."""
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest
from conftest import ROOT
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageDraw

import genimg
import genimg.ui.common
from genimg.ui.common import EVERY_CLASS
from genimg.ui.generate import controls_for, generate_grid, manifold_map
from genimg.ui.interpolate import GIF_ZOOM, classes_for, interpolate_frames


@pytest.fixture(scope="module", autouse=True)
def app_output(output_dir):
    """Every test here writes the app's pictures to the module's private folder (conftest.output_dir)."""
    return output_dir


def frame_count(path):
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def image_format(path):
    with Image.open(path) as image:
        return image.format, image.size


# ---- event functions called directly ----------------------------------------------------------------------


@pytest.mark.usefixtures("checkpoint_dir")
class TestEventFunctions:
    @pytest.mark.parametrize("family", ["DCGAN", "Conditional GAN", "VAE", "VAE (2-D latent)", "Normalizing flow",
                                        "Flow matching"])
    def test_generate_grid(self, family, output_dir):
        shown, download, info = generate_grid(family, "MNIST", EVERY_CLASS, 3, 5, 0, 1)
        assert shown == download and Path(shown).parent == output_dir
        fmt, (width, height) = image_format(shown)
        assert fmt == "PNG"
        assert width == 2 + 5 * (4 * 28 + 2)  # 5 columns of 4x images with 2-pixel gaps
        assert "5 images, seed 3" in info and "classifier" in info

    def test_generate_grid_with_a_class_and_truncation(self):
        path, _, info = generate_grid("Conditional GAN", "Fashion-MNIST", "Sneaker", 0, 3, 0.5, 1)
        assert image_format(path)[0] == "PNG" and "cgan-fashion-mnist" in info

    def test_generate_grid_without_a_classifier_still_draws(self, dry_run_dir, tmp_path):
        for suffix in (".json", ".safetensors"):
            (tmp_path / f"vae-mnist{suffix}").write_bytes((dry_run_dir / f"vae-mnist{suffix}").read_bytes())
        genimg.set_checkpoint_dir(tmp_path)  # restored by the checkpoint_dir fixture
        path, _, info = generate_grid("VAE", "MNIST", EVERY_CLASS, 0, 2, 0, 1)
        assert Path(path).is_file() and "Labels unavailable" in info

    def test_manifold_map(self):
        path = manifold_map("Fashion-MNIST", 6)
        assert image_format(path) == ("PNG", (6 * 56, 6 * 56))

    @pytest.mark.parametrize("family, classes", [("DCGAN", (None, None)), ("Conditional GAN", ("Sneaker", "Bag")),
                                                 ("VAE", (None, None))])
    def test_interpolate_frames(self, family, classes):
        strip, gif = interpolate_frames(family, "Fashion-MNIST", 1, 2, *classes, 6, "Linear")
        assert image_format(strip) == ("PNG", (2 + 6 * (3 * 28 + 2), 2 + 3 * 28 + 2))
        fmt, size = image_format(gif)
        assert fmt == "GIF" and size == (GIF_ZOOM * 28, GIF_ZOOM * 28)
        # bounce: 6 forward + 4 back = 10 frames, though PIL merges identical neighbours (e.g. the turn)
        assert 2 <= frame_count(gif) <= 2 * 6 - 2

    def test_bounce_gif_frame_count(self, tmp_path):
        frames = [Image.new("L", (28, 28), 40 * k) for k in range(5)]  # all different
        genimg.imaging.save_gif(frames, tmp_path / "a.gif", scale=1)
        assert frame_count(tmp_path / "a.gif") == 2 * 5 - 2
        genimg.imaging.save_gif(frames, tmp_path / "b.gif", scale=1, bounce=False)
        assert frame_count(tmp_path / "b.gif") == 5

    @pytest.mark.parametrize("args, message", [
        (("GAN", "MNIST", EVERY_CLASS, 0, 4, 0, 1), "Unknown model 'GAN'"),
        (("DCGAN", "CIFAR", EVERY_CLASS, 0, 4, 0, 1), "Unknown dataset 'CIFAR'"),
        (("DCGAN", "MNIST", EVERY_CLASS, -1, 4, 0, 1), "seed"),
        (("DCGAN", "MNIST", EVERY_CLASS, 0, 0, 0, 1), "number of images"),
        (("DCGAN", "MNIST", EVERY_CLASS, 0, 4, 9, 1), "truncation"),
        (("VAE", "MNIST", EVERY_CLASS, 0, 4, 0, 7), "temperature"),
        (("Conditional GAN", "MNIST", "Sneaker", 0, 4, 0, 1), "Unknown class 'Sneaker'"),
    ])
    def test_generate_grid_errors(self, args, message):
        with pytest.raises(gr.Error, match=message):
            generate_grid(*args)

    def test_interpolate_and_manifold_errors(self):
        with pytest.raises(gr.Error, match="number of frames"):
            interpolate_frames("DCGAN", "MNIST", 1, 2, None, None, 1, "Linear")
        with pytest.raises(gr.Error, match="seed A"):
            interpolate_frames("VAE", "MNIST", "x", 2, None, None, 4, "Spherical")
        with pytest.raises(gr.Error, match="grid size"):
            manifold_map("MNIST", 0)

    def test_unavailable_model_is_a_readable_error(self, tmp_path):
        genimg.set_checkpoint_dir(tmp_path)  # empty; restored by the checkpoint_dir fixture
        with pytest.raises(gr.Error, match="No model named 'dcgan-mnist'"):
            generate_grid("DCGAN", "MNIST", EVERY_CLASS, 0, 4, 0, 1)

    def test_start_up_names_every_unusable_checkpoint(self, dry_run_dir, tmp_path):
        import json
        import shutil

        import app
        folder = tmp_path / "broken"
        shutil.copytree(dry_run_dir, folder)
        (folder / "dcgan-mnist.json").unlink()  # card missing
        (folder / "vae-mnist.safetensors").unlink()  # weights missing
        corrupt = folder / "cgan-mnist.safetensors"
        corrupt.write_bytes(corrupt.read_bytes()[:-16])
        card = json.loads((folder / "vae2d-mnist.json").read_text())
        card["config"]["width"] = 16  # the tensors are for another width
        (folder / "vae2d-mnist.json").write_text(json.dumps(card))
        genimg.set_checkpoint_dir(folder)  # restored by the checkpoint_dir fixture
        note = app.availability_note()
        for name, why in [("dcgan-mnist", "card"), ("vae-mnist", "weights"), ("cgan-mnist", "corrupt"),
                          ("vae2d-mnist", "do not match")]:
            line = next(line for line in note.splitlines() if f"`{name}`" in line)
            assert why in line, line
        assert "- `flow-mnist`" not in note and generate_grid("VAE", "Fashion-MNIST", EVERY_CLASS, 0, 4, 0, 1)

    def test_controls_follow_the_model(self):
        label, truncation, temperature, ode_box, manifold_box, count = controls_for("VAE (2-D latent)", "MNIST")
        assert (label["visible"], truncation["visible"], temperature["visible"], ode_box["visible"],
                manifold_box["visible"]) == (False, False, True, False, True) and "value" not in count
        label, truncation, temperature, ode_box, manifold_box, count = controls_for("Flow matching", "MNIST")
        assert (label["visible"], truncation["visible"], temperature["visible"], ode_box["visible"],
                manifold_box["visible"]) == (True, False, False, True, False)
        label, truncation, *_ = controls_for("Conditional GAN", "MNIST")
        assert label["visible"] and label["choices"][1] == "0" and truncation["visible"]
        label, *_, count = controls_for("Flow matching", "Emoji")  # colour emoji: two of each category
        assert label["choices"][1:] == genimg.class_names("emoji") and count["value"] == 18
        class_a, class_b = classes_for("Conditional GAN", "Fashion-MNIST")
        assert class_a["value"] == "T-shirt/top" and class_b["value"] == "Ankle boot" and class_a["visible"]


# ---- the live server ---------------------------------------------------------------------------------------




def test_api_lists_the_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/generate", "/interpolate", "/manifold"} <= set(endpoints)


def test_generate_through_the_client(client):
    # An MNIST class although the Class dropdown starts with Fashion-MNIST's choices (an API call sends no change event).
    shown, download, info = client.predict("Conditional GAN", "MNIST", "3", 5, 4, 0, 1, api_name="/generate")
    assert image_format(shown)[0] == "PNG" and image_format(download)[0] == "PNG"
    assert "cgan-mnist" in info and "4 images, seed 5" in info


@pytest.mark.parametrize("family", ["Conditional GAN", "VAE"])
def test_interpolate_through_the_client(client, family):
    strip, gif = client.predict(family, "MNIST", 1, 2, "0", "9", 4, "Spherical", api_name="/interpolate")
    assert image_format(strip) == ("PNG", (2 + 4 * (3 * 28 + 2), 2 + 3 * 28 + 2))
    assert image_format(gif)[0] == "GIF" and frame_count(gif) >= 2


def test_flow_matching_endpoints_through_the_client(client):
    shown, _, info = client.predict("Flow matching", "MNIST", "7", 2, 4, 0, 1, 3, 1.5, "Heun", api_name="/generate")
    assert image_format(shown)[0] == "PNG" and "3 Heun steps, guidance 1.5" in info
    strip, gif, info = client.predict("Flow matching", "Fashion-MNIST", "Bag", 1, 4, 2.0, "Euler",
                                      api_name="/step_through")
    assert image_format(strip)[0] == "PNG" and frame_count(gif) >= 5 and "class Bag" in info
    with pytest.raises(AppError, match=r"Steps \(noise to image\) must be a number from 1 to 100; got 0"):
        client.predict("Flow matching", "MNIST", "7", 2, 0, 2.0, "Euler", api_name="/step_through")


def test_compare_and_likelihood_through_the_client(client, tmp_path):
    gallery, table = client.predict("MNIST", 3, api_name="/compare")
    assert len(gallery) == 5 and all(image_format(item["image"])[0] == "PNG" for item in gallery)
    assert "flowmatch-mnist" in table and "flow-mnist" in table
    page = Image.new("RGB", (200, 200), "white")
    page.paste((0, 0, 0), (90, 30, 110, 170))
    page.save(tmp_path / "one.png")
    figure, seen, text = client.predict("MNIST", None, handle_file(str(tmp_path / "one.png")), api_name="/likelihood")
    assert image_format(seen)[0] == "PNG" and "bits per pixel" in text
    Image.new("RGB", (64, 64), "white").save(tmp_path / "blank.png")
    with pytest.raises(AppError, match="blank"):
        client.predict("MNIST", None, handle_file(str(tmp_path / "blank.png")), api_name="/likelihood")
    with pytest.raises(AppError, match="Draw a digit"):
        client.predict("MNIST", None, None, api_name="/likelihood")


def test_text_to_image_and_caption_through_the_client(client, tmp_path):
    gallery, info = client.predict("a 3 to the left of a sneaker", 1, 3, 2, 2.0, "Euler", api_name="/text_to_image")
    assert len(gallery) == 3 and all(image_format(item["image"]) == ("PNG", (128, 128)) for item in gallery)
    assert all(item["caption"][0] in "✓✗" for item in gallery) and "a 3 to the left of a sneaker" in info
    with pytest.raises(AppError, match="Unknown word: unicorn"):
        client.predict("a unicorn above a 3", 1, 3, 2, 2.0, "Euler", api_name="/text_to_image")
    strip, gif = client.predict("a small 4 in the centre", 0, 2, 2.0, "Heun", api_name="/text_step_through")
    assert image_format(strip)[0] == "PNG" and frame_count(gif) > 2
    page = Image.new("RGB", (200, 200), "white")
    page.paste((0, 0, 0), (30, 60, 50, 140))
    page.save(tmp_path / "scene.png")
    caption, attention, seen = client.predict(None, handle_file(str(tmp_path / "scene.png")), 2,
                                              api_name="/caption")
    assert caption.startswith("## ") and image_format(seen) == ("PNG", (128, 128))
    scene, drawn_from = client.predict(genimg.EXAMPLE_PROMPTS[1], api_name="/generated_scene")
    assert image_format(scene)[0] == "PNG" and genimg.EXAMPLE_PROMPTS[1] in drawn_from
    with pytest.raises(AppError, match="Draw a digit"):
        client.predict(None, None, 1, api_name="/caption")

def test_emoji_through_the_client(client):
    grid, _, info = client.predict("Flow matching", "Emoji", "Food & Drink", 0, 4, 0, 1, 2, 2.0, "Euler",
                                   api_name="/generate")
    assert image_format(grid)[0] == "PNG" and "flowmatch-emoji" in info
    with Image.open(grid) as picture:
        assert picture.mode == "RGB"
    with pytest.raises(AppError, match="DCGAN was not trained on Emoji; the models that were: Flow matching"):
        client.predict("DCGAN", "Emoji", EVERY_CLASS, 0, 4, 0, 1, api_name="/generate")
    strip, gif = client.predict("Flow matching", "Emoji", 1, 2, "Smileys & Emotion", "Flags", 3, "Spherical",
                                api_name="/interpolate")
    assert image_format(strip)[0] == "PNG" and frame_count(gif) >= 3


def test_sketch_to_emoji_through_the_client(client, tmp_path):
    page = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    ImageDraw.Draw(page).ellipse((30, 30, 220, 220), outline=(0, 0, 0, 255), width=6)
    page.save(tmp_path / "drawing.png")
    drawing = {"background": None, "layers": [], "composite": handle_file(str(tmp_path / "drawing.png"))}
    emoji, seen, info = client.predict(drawing, None, "Any (let the drawing decide)", api_name="/sketch_to_emoji")
    assert image_format(emoji) == ("PNG", (256, 256)) and image_format(seen) == ("PNG", (256, 256))
    assert "your drawing" in info
    photo = handle_file(str(ROOT / "examples" / "chelsea.png"))
    _, _, info = client.predict(None, photo, genimg.translation_categories()[2], api_name="/sketch_to_emoji")
    assert "the edges of your picture" in info and genimg.translation_categories()[2] in info
    _, _, info = client.predict(None, handle_file(str(tmp_path / "drawing.png")), "Any (let the drawing decide)",
                                api_name="/sketch_to_emoji")
    assert "your uploaded drawing" in info
    blank = {"background": None, "layers": [], "composite": None}
    with pytest.raises(AppError, match="Draw an emoji's outline in the box"):
        client.predict(blank, None, "Any (let the drawing decide)", api_name="/sketch_to_emoji")
    with pytest.raises(AppError, match="Category hint must be one of: Any .*; got 'Hats'"):
        client.predict(drawing, None, "Hats", api_name="/sketch_to_emoji")


def test_manifold_through_the_client(client):
    path = client.predict("MNIST", 5, api_name="/manifold")
    assert image_format(path) == ("PNG", (5 * 56, 5 * 56))


def test_errors_reach_the_client_and_the_server_keeps_answering(client):
    with pytest.raises(AppError, match="Unknown class 'Hat' for cgan-fashion-mnist; classes: T-shirt/top"):
        client.predict("Conditional GAN", "Fashion-MNIST", "Hat", 0, 4, 0, 1, api_name="/generate")
    with pytest.raises(AppError, match="number of frames must be"):
        client.predict("DCGAN", "MNIST", 1, 2, "Sneaker", "Bag", 2.5, "Linear", api_name="/interpolate")
    with pytest.raises(AppError, match="Model must be one of: DCGAN, .*; got 'Diffusion'"):
        client.predict("Diffusion", "MNIST", EVERY_CLASS, 0, 4, 0, 1, api_name="/generate")
    path = client.predict("MNIST", 4, api_name="/manifold")
    assert image_format(path)[0] == "PNG"


def test_sliders_and_messages_name_the_same_limits(client):
    """One source per limit: a value just past a slider's end gets a message quoting that slider's range, from the
    app (the slider's own check) and from the API (the same constants)."""
    import app
    demo = app.build_demo()
    sliders = {block.label: block for block in demo.blocks.values() if isinstance(block, gr.Slider)}
    for label, api_name, args, index in [
            ("Number of images", "/generate", ["DCGAN", "MNIST", EVERY_CLASS, 0, 4, 0, 1, 20, 2, "Euler"], 4),
            ("Truncation (0 = off)", "/generate", ["DCGAN", "MNIST", EVERY_CLASS, 0, 4, 0, 1, 20, 2, "Euler"], 5),
            ("Grid size", "/manifold", ["MNIST", 5], 1),
            ("Number of frames", "/interpolate", ["VAE", "MNIST", 1, 2, "0", "9", 4, "Spherical"], 6)]:
        slider = sliders[label]
        args[index] = slider.maximum + 1
        with pytest.raises(AppError, match=f"from {slider.minimum:g} to {slider.maximum:g}"):
            client.predict(*args, api_name=api_name)
    assert sliders["Number of images"].maximum == genimg.MAX_IMAGES
    assert (sliders["Grid size"].minimum, sliders["Grid size"].maximum) == (genimg.MIN_GRID, genimg.MAX_GRID)
    assert sliders["Truncation (0 = off)"].maximum == genimg.MAX_TRUNCATION
    assert sliders["Temperature"].maximum == genimg.MAX_TEMPERATURE
    assert (sliders["Number of frames"].minimum, sliders["Number of frames"].maximum) == (genimg.MIN_STEPS,
                                                                                          genimg.MAX_STEPS)
    with pytest.raises(ValueError, match=f"from {genimg.MIN_TRUNCATION} to {genimg.MAX_TRUNCATION}"):
        genimg.generate("dcgan-mnist", n=1, truncation=genimg.MAX_TRUNCATION + 1)
    with pytest.raises(ValueError, match=f"from {genimg.MIN_GRID} to {genimg.MAX_GRID}"):
        genimg.manifold("vae2d-mnist", size=genimg.MAX_GRID + 1)


def test_every_event_is_in_a_concurrency_group():
    """Cheap events never queue behind a photo: every named event is in one of the app's groups, the photo work
    one at a time."""
    import app
    from genimg.ui.common import QUEUES
    demo = app.build_demo()
    # The example rows' own events (undocumented endpoints that run a tab's function) included; their
    # load_example events only fill in the controls.
    groups = {fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in demo.fns.values()
              if fn.api_visibility != "private" and not fn.api_name.startswith("load_example")}
    assert all(group in QUEUES and limit == QUEUES[group] for group, limit in groups.values()), groups
    assert groups["generate"][0] == groups["generate_grid"][0] == "light"
    heavy = {name for name, (group, _) in groups.items() if group == "heavy"}
    assert {"upscale", "inpaint", "stylize", "compare", "compare_1"} <= heavy and QUEUES["heavy"] == 1

    # Photo work runs at lower priority, so a light event arriving during one gets the cores first.
    light = {fn.fn for fn in demo.fns.values() if fn.concurrency_id == "light"}
    photo = [fn.fn for fn in demo.fns.values() if fn.concurrency_id in ("heavy", "optimise")]
    assert photo and all(getattr(fn, "in_background", False) for fn in photo)
    assert not any(getattr(fn, "in_background", False) for fn in light)


def test_background_work_runs_at_lower_priority_with_the_callers_context():
    import contextvars
    import os
    import threading
    from genimg.ui.common import BACKGROUND_NICE, in_background
    request = contextvars.ContextVar("request")
    request.set("alice")

    def where(x):
        return x, request.get(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def steps(n):
        for i in range(n):
            yield where(i)
        raise ValueError("stopped")

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert in_background(where)(3) == (3, "alice", max(mine, BACKGROUND_NICE))
    got = []
    with pytest.raises(ValueError, match="stopped"):
        for value in in_background(steps)(2):
            got.append(value)
    assert got == [(0, "alice", max(mine, BACKGROUND_NICE)), (1, "alice", max(mine, BACKGROUND_NICE))]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the caller's own is untouched


def test_app_help_lists_the_options():
    result = subprocess.run([sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--share", "--checkpoints"):
        assert option in result.stdout


def test_one_click_examples_run(checkpoint_dir):
    """Generate's and Interpolate's example rows are valid inputs of their tab functions."""
    from genimg.ui import generate as generate_tab, interpolate as interpolate_tab
    for row in generate_tab.example_rows():
        picture, _, info = generate_tab.generate_grid(*row)
        assert Path(picture).is_file() and "images" in info
    for row in interpolate_tab.example_rows():
        strip, gif = interpolate_tab.interpolate_frames(*row)
        assert Path(strip).is_file() and Path(gif).is_file()


def test_a_visitors_mistake_is_a_message_not_a_logged_traceback(checkpoint_dir):
    """gr.Error(print_exception=False): the server log stays readable under a public link's wrong inputs."""
    from genimg.ui import generate as generate_tab
    with pytest.raises(gr.Error) as raised:
        generate_tab.generate_grid("Conditional GAN", "MNIST", "Dog", 0, 4, 0, 1)  # unknown class: a ValueError
    assert raised.value.print_exception is False
    with pytest.raises(gr.Error) as raised:
        generate_tab.generate_grid("No such model", "MNIST", None, 0, 4, 0, 1)  # the tab's own gr.Error
    assert raised.value.print_exception is False


def test_old_files_are_swept_and_kept_ones_stay(tmp_path):
    """The sweeper's rule: files older than the limit go, with the folders they leave empty; fresh files and the
    ones gradio keeps for good (examples) stay."""
    import os
    import time

    from genimg.ui import common
    now = time.time()
    (tmp_path / ("a" * 64)).mkdir()
    old, example, fresh = tmp_path / ("a" * 64) / "old.png", tmp_path / "example.png", tmp_path / "fresh.png"
    for path in (old, example, fresh):
        path.write_bytes(b"x")
    for path in (old, example):
        os.utime(path, (now - 3600, now - 3600))
    assert common.sweep(tmp_path, 600, frozenset({str(example)}), now) == 1
    assert not old.exists() and not old.parent.exists() and example.exists() and fresh.exists()
    assert Path(common.output_path(".png")).parent == common.OUTPUT_DIR


@pytest.mark.parametrize("call", [lambda: genimg.upscale(None, 2), lambda: genimg.inpaint(None, None),
                                  lambda: genimg.stylize(None, genimg.styles()[0]["name"])])
def test_no_image_is_a_value_error(call):
    from genimg import checkpoints
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(checkpoints.DEFAULT_DIR)  # the shipped photo models
    try:
        with pytest.raises(ValueError, match="missing"):
            call()
    finally:
        genimg.set_checkpoint_dir(previous)


# ---- the training lab ------------------------------------------------------------------------------------------

def test_train_streams_through_the_client_and_stop_still_returns_the_checkpoint(client, tmp_path):
    from test_lab import pictures
    files = [handle_file(p) for p in pictures(tmp_path, 16)]
    job = client.submit("vae", "My images", files, 28, "Automatic", 10, 2e-3, 16, True, True, "hinge", 0,
                        api_name="/train")
    first = next(iter(job))
    assert "steps in" in first[0] and Path(first[1]).is_file() and first[3] is None
    assert client.predict(api_name="/stop_training") == "Stopping after this step…"
    status, grid, plot, checkpoint, *_ = job.result()
    assert "Training stopped" in status and Path(checkpoint).name == "lab-vae-own.safetensors"
    assert image_format(grid)[0] == "PNG" and image_format(plot)[0] == "PNG"
    assert client.predict(api_name="/stop_training") == "No run of yours is training."
    with pytest.raises(AppError, match="add 16 to 2,000 pictures"):
        client.predict("dcgan", "My images", [], 28, "Automatic", 10, 5e-4, 64, True, True, "hinge", 0,
                       api_name="/train")
    with pytest.raises(AppError, match="at least 16"):
        client.predict("dcgan", "My images", files[:3], 28, "Automatic", 10, 5e-4, 64, True, True, "hinge", 0,
                       api_name="/train")


def test_a_trained_model_is_offered_in_generate_and_interpolate_then_deleted_with_its_session(tmp_path):
    import types

    from test_lab import pictures

    from genimg.ui import train
    from genimg.ui.common import checkpoint_name
    session = types.SimpleNamespace(session_hash="test-session-1")
    folder = train.session_folder(session)
    *_, last = genimg.train_live("dcgan", pictures(tmp_path, 16, colour=False), seconds=60, max_steps=3,
                                 batch_size=16, out=folder)
    path = str(last.checkpoint)
    family, dataset, *_, note = train.use_trained(path, tabs=2)
    assert family["value"] == "DCGAN" and dataset["value"] == path and "Generate" in note
    assert dataset["choices"][-1][0].startswith("Trained here: DCGAN on your images, 3 steps")
    assert checkpoint_name("DCGAN", path) == path
    with pytest.raises(gr.Error, match="is a DCGAN"):
        checkpoint_name("VAE", path)
    picture, _, info = generate_grid("DCGAN", path, EVERY_CLASS, 1, 4, 0, 1)
    assert image_format(picture)[0] == "PNG" and "lab-dcgan-own" in info
    strip, gif = interpolate_frames("DCGAN", path, 1, 2, "0", "9", 4, "Spherical")
    assert image_format(gif)[0] == "GIF"
    outside = tmp_path / "elsewhere.safetensors"
    with pytest.raises(gr.Error, match="Unknown dataset"):
        checkpoint_name("DCGAN", str(outside))  # only the lab's own folder is read
    train.forget_session(session)
    assert not folder.exists()
    with pytest.raises(gr.Error, match="deleted with its session"):
        generate_grid("DCGAN", path, EVERY_CLASS, 1, 4, 0, 1)
