"""Any style image in one pass (AdaIN): the normalisation, the network's shapes and its strength, training in two
phases, the checkpoint (it carries its encoder), the API and the tab through gradio_client. Uses the dry-run
networks of conftest.py (a random VGG16 stands in; nothing is downloaded)."""
import sys

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import ROOT, free_port
from PIL import Image
from safetensors import safe_open

import genimg
from genimg import checkpoints
from genimg.families import adain
from genimg.registry import FAMILIES


def photo(width=40, height=30, mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
    return image.convert(mode) if mode != "RGB" else image


def test_adain_gives_the_content_the_styles_mean_and_spread():
    torch.manual_seed(0)
    content, style = torch.randn(2, 5, 9, 11) * 3 + 1, torch.randn(2, 5, 7, 6) * 0.5 - 2
    out = adain.adain(content, *adain.mean_std(style))
    for got, want in zip(adain.mean_std(out), adain.mean_std(style)):
        assert torch.allclose(got, want, atol=1e-3)
    # what is normalised away is only each channel's level and scale: the pattern of the content stays
    assert torch.corrcoef(torch.stack([out[0, 0].flatten(), content[0, 0].flatten()]))[0, 1] > 0.999


@pytest.mark.parametrize("size", [(30, 40), (33, 47), (8, 8)])
def test_network_keeps_the_photos_size_and_range(size):
    net = FAMILIES["adain"].build().eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, *size), torch.rand(1, 3, 24, 20))
    assert out.shape == (1, 3, *size) and 0 <= out.min() and out.max() <= 1


def test_strength_mixes_features_zero_ignores_the_painting():
    torch.manual_seed(0)
    net = FAMILIES["adain"].build().eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        a, b = net(x, torch.rand(1, 3, 32, 32), 0.0), net(x, torch.rand(1, 3, 32, 32) * 0.2, 0.0)
        c, d = net(x, torch.rand(1, 3, 32, 32), 1.0), net(x, torch.rand(1, 3, 32, 32) * 0.2, 1.0)
    assert torch.allclose(a, b) and not torch.allclose(c, d)


def test_training_reconstructs_first_then_learns_the_style_losses(style_checkpoint_dir):
    """The dry run goes through both phases (the log has the reconstruction loss, then content and style), and
    the checkpoint carries the encoder: the loss VGG's first 16 layers, the only weights it was not trained on."""
    card = checkpoints.read_card(style_checkpoint_dir, "adain-photos")
    assert card["family"] == "adain" and card["size_bytes"] < checkpoints.MAX_BYTES
    history = card["metrics"] if "metrics" in card else {}
    assert "val_style" in history and "val_content" in history
    with safe_open(str(style_checkpoint_dir / "adain-photos.safetensors"), "pt") as f:
        names = set(f.keys())
    assert {f"encoder.{i}.weight" for i in (0, 2, 5, 7, 10, 12, 14)} <= names
    assert any(n.startswith("decoder.") for n in names) and not any("vgg" in n for n in names)


def test_stylize_any_keeps_size_mode_and_alpha(style_dir):
    out = genimg.stylize_any(photo(), photo(20, 24, seed=1))
    assert out.size == (40, 30) and out.mode == "RGB"
    rgba = photo(mode="RGBA")
    alpha = np.asarray(rgba)[..., 3].copy()
    out = genimg.stylize_any(rgba, photo(20, 24, seed=1))
    assert out.mode == "RGBA" and np.array_equal(np.asarray(out)[..., 3], alpha)
    big = genimg.stylize_any(photo(300, 100), photo(20, 24, seed=1), max_side=150)
    assert big.size == (150, 50)
    first = np.asarray(genimg.stylize_any(photo(), photo(20, 24, seed=1)))
    assert np.array_equal(first, np.asarray(genimg.stylize_any(photo(), photo(20, 24, seed=1))))  # deterministic


@pytest.mark.parametrize("call,message", [
    (lambda: genimg.stylize_any(None, photo()), "missing"),
    (lambda: genimg.stylize_any(photo(), None), "style image is missing"),
    (lambda: genimg.stylize_any(photo(), photo(10, 8)), "too small"),
    (lambda: genimg.stylize_any(photo(), photo(), strength=2), "strength"),
    (lambda: genimg.stylize_any(photo(), photo(), max_side=5000), "max_side"),
    (lambda: genimg.stylize_any(photo(), photo(), model="style-photos"), "not a network for any style image"),
])
def test_bad_input_is_a_clear_value_error(style_dir, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_tab_and_endpoint(style_dir, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    sys.path.insert(0, str(ROOT))
    import app
    from genimg.ui import style as tab

    source, painting = tmp_path / "in.png", tmp_path / "painting.png"
    photo(40, 30).save(source)
    photo(30, 30, seed=2).save(painting)
    with pytest.raises(gr.Error, match="Upload a style image"):
        tab.stylize_any_image(str(source), None, 1.0, False)
    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            show_error=True)
    client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
    try:
        path, info = client.predict(handle_file(str(source)), handle_file(str(painting)), 1.0, False,
                                    api_name="/stylize_any")
        with Image.open(path) as image:
            assert image.size == (40, 30) and image.format == "PNG"
        assert "adain-photos" in info
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"not a picture")
        with pytest.raises(AppError, match="not an image"):
            client.predict(handle_file(str(source)), handle_file(str(bad)), 1.0, False, api_name="/stylize_any")
    finally:
        client.close()
        demo.close()

