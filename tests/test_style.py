"""Style transfer: shapes, blending, strength, original colours, the own-style mode without VGG weights, bad
input, training details, the bench, and the app through gradio_client. Uses a dry-run style network made in
conftest.py (never the shipped one) and never downloads VGG16."""
import sys
from contextlib import nullcontext

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import ROOT, free_port
from PIL import Image

import genimg
import genimg.api
from genimg import vgg as vgg_lib
from genimg.families.style import losses as styling
from genimg.families.style import network as network_layers
from genimg.families.style.network import StyleNetwork
from genimg.families.style.trainer import StyleCrops, StyleTrainer
from genimg.registry import FAMILIES
from genimg.registry import RECIPES as MODELS


def photo(width=37, height=29, mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                    rng.integers(0, 256, (height, width))], 2).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    return image.convert(mode) if mode != "RGB" else image


def pixels(image) -> np.ndarray:
    return np.asarray(image, np.int16)


# ----------------------------------------------------------------------------------------------
# The network


@pytest.mark.parametrize("norm", StyleNetwork.NORMS)
@pytest.mark.parametrize("layout", StyleNetwork.LAYOUTS)
@pytest.mark.parametrize("size", [(1, 1), (5, 3), (37, 29), (64, 64), (8, 100)])
def test_network_keeps_the_size(size, layout, norm):
    network = StyleNetwork(["a", "b"], width=8, blocks=1, layout=layout, norm=norm).eval()
    x = torch.rand(2, 3, size[1], size[0])
    with torch.no_grad():
        y = network(x, network.one_hot(torch.tensor([0, 1])))
    assert y.shape == x.shape
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_the_full_layout_works_at_full_resolution_and_an_unknown_one_is_refused():
    network = StyleNetwork(["a"], width=8, blocks=1, layout="full")
    assert network.down[0].conv.in_channels == 3 and network.to_rgb.kernel_size == (5, 5)
    assert StyleNetwork(["a"], width=8, blocks=1).down[0].conv.in_channels == 12  # space-to-depth
    with pytest.raises(ValueError, match="layouts are half, full"):
        StyleNetwork(["a"], layout="quarter")
    with pytest.raises(ValueError, match="norms are instance, demodulated"):
        StyleNetwork(["a"], norm="batch")


def test_a_demodulated_layer_is_local_and_ignores_the_scale_of_its_style():
    """Instance norm: a spike painted in one corner changes every pixel (through the statistics), the mechanism of
    the blobs. Demodulated: pixels out of the spike's reach stay exactly as they were, and scaling a style's
    gamma changes nothing (the weights are renormalised)."""
    torch.manual_seed(0)
    x = torch.randn(1, 4, 16, 16)
    spiked = x.clone()
    spiked[..., :2, :2] += 50
    weights = torch.tensor([[1.0, 0.0]])
    instance = network_layers.ConvNorm(4, 4, 3, 2)
    demodulated = network_layers.ModulatedConv(4, 4, 3, 2, relu=False)
    with torch.no_grad():
        far = (..., slice(8, None), slice(8, None))
        assert not torch.allclose(instance(x, weights)[far], instance(spiked, weights)[far])
        assert torch.equal(demodulated(x, weights)[far], demodulated(spiked, weights)[far])
        before = demodulated(x, weights)
        demodulated.gamma[0] *= 10
        assert torch.allclose(demodulated(x, weights), before, atol=1e-5)
        # Unit variance in, about unit variance out, whatever the weights' scale.
        demodulated.conv.weight *= 7
        out = demodulated(torch.randn(8, 4, 32, 32), weights.expand(8, -1))
        assert 0.5 < float(out.var()) < 1.5
    network = StyleNetwork(["a"], width=8, blocks=1, layout="full", norm="demodulated")
    kinds = [type(m).__name__ for m in network.modules() if type(m).__name__ in ("ConvNorm", "ModulatedConv")]
    assert kinds[0] == "ConvNorm" and set(kinds[1:]) == {"ModulatedConv"}  # only the photo's own layer normalises


def test_style_parameters_are_all_that_differ_between_styles():
    """Conditional instance norm: the convolutions are shared; each style adds a gamma and beta per channel."""
    one, seven = StyleNetwork(["a"]), StyleNetwork(list("abcdefg"))
    norms = [m for m in seven.modules() if isinstance(m, type(seven.down[0].norm))]
    per_style = sum(m.gamma.shape[1] + m.beta.shape[1] for m in norms)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(seven) - count(one) == 6 * per_style


@pytest.mark.parametrize("norm", StyleNetwork.NORMS)
def test_blending_endpoints_equal_the_single_styles_exactly(norm):
    torch.manual_seed(0)
    network = StyleNetwork(["a", "b", "c"], width=8, blocks=2, norm=norm).eval()
    for m in network.modules():  # distinct styles (a fresh network has every gamma 1 and beta 0)
        if hasattr(m, "gamma"):
            m.gamma.data.normal_(1, 0.3)
            m.beta.data.normal_(0, 0.3)
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        a, b = (network(x, network.one_hot(torch.tensor([i]))) for i in (0, 1))
        start, middle, end = (network(x, torch.tensor([[1 - t, t, 0.0]])) for t in (0.0, 0.5, 1.0))
    assert torch.equal(start, a) and torch.equal(end, b)
    assert not torch.allclose(a, b, atol=1e-3)
    assert not torch.allclose(middle, a, atol=1e-3) and not torch.allclose(middle, b, atol=1e-3)


def test_training_first_reproduces_photos_then_paints_with_fresh_adam_moments():
    """Phase 1 (reconstruction_steps): pixel L1 to the photo, no VGG. Phase 2: the perceptual loss, and Adam's
    moments start again (the L1 phase's would scale the first perceptual steps wildly)."""
    torch.manual_seed(0)
    spec = dict(MODELS["style"], dry_run=True, reconstruction_steps=2)
    folder = genimg.photos.synthetic_photos()
    folder.paintings = [("x", np.random.default_rng(0).random((32, 32, 3), np.float32)),
                        ("y", np.random.default_rng(1).random((32, 32, 3), np.float32))]
    trainer = StyleTrainer(spec, FAMILIES["style"], folder, torch.device("cpu"), 1)
    x, styles = torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    adam = trainer.optimizers["opt"]
    for step in (0, 1):
        trainer.current_step = step
        with torch.no_grad():
            expected = (trainer.model(x, trainer.model.one_hot(styles)) - x).abs().mean().item()
        losses = trainer.step(x, styles, nullcontext())
        assert set(losses) == {"loss", "reconstruction_l1"}
        assert losses["loss"] == pytest.approx(expected, rel=1e-5)
    assert all(state["step"] == 2 for state in adam.state.values())
    trainer.current_step = 2
    losses = trainer.step(x, styles, nullcontext())
    assert {"content", "style", "tv"} <= set(losses)
    assert all(state["step"] == 1 for state in adam.state.values())  # cleared, then one step


def test_our_vgg16_layers_are_torchvisions():
    """VGG16's features are built here (without torchvision's classifier); a weights file for torchvision's
    vgg16().features must fit them: the same modules, keys and shapes."""
    from torchvision.models import vgg16
    with torch.device("meta"):  # no memory, no initialisation
        theirs = vgg16().features[:vgg_lib.LAYERS["relu4_3"] + 1]
    ours = vgg_lib.VGGFeatures().features
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    with pytest.raises(ValueError, match="not 40"):
        vgg_lib.vgg16_features(40)


def test_style_losses_under_bfloat16_match_float32():
    """Training runs the frozen VGG in bfloat16 on a CPU; the Gram matrices must still be float32 sums."""
    torch.manual_seed(0)
    vgg = vgg_lib.VGGFeatures()
    content, output = torch.rand(2, 3, 48, 48), torch.rand(2, 3, 48, 48)
    grams = styling.style_grams(vgg, torch.rand(1, 3, 64, 64))
    exact = styling.perceptual_losses(vgg, output, content, grams)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert vgg_lib.gram_matrix(torch.rand(1, 4, 8, 8)).dtype == torch.float32
        mixed = styling.perceptual_losses(vgg, output, content, grams)
    for name in ("content", "style"):
        assert mixed[name].dtype == torch.float32
        assert torch.allclose(mixed[name], exact[name], rtol=0.05), name


# ----------------------------------------------------------------------------------------------
# The API


def test_styles_lists_the_presets(style_dir):
    names = [s["name"] for s in genimg.styles()]
    assert names == ["synthetic-0", "synthetic-1", "synthetic-2"]


@pytest.mark.parametrize("mode, out_mode", [("RGB", "RGB"), ("L", "RGB"), ("P", "RGB"), ("CMYK", "RGB"),
                                            ("RGBA", "RGBA"), ("LA", "RGBA"), ("I", "RGB")])
def test_stylize_shapes_and_modes(style_dir, mode, out_mode):
    image = photo(mode=mode)
    result = genimg.stylize(image, "synthetic-1")
    assert isinstance(result, Image.Image)
    assert result.size == image.size and result.mode == out_mode


def test_large_photos_are_bounded(style_dir):
    result = genimg.stylize(photo(1500, 300), "synthetic-0")
    assert result.size == (1024, 205)
    assert genimg.stylize(photo(300, 200), "synthetic-0", max_side=100).size == (100, 67)


def test_api_blending_endpoints_equal_the_single_styles(style_dir):
    image = photo()
    a, b = genimg.stylize(image, "synthetic-0"), genimg.stylize(image, "synthetic-2")
    assert np.array_equal(pixels(genimg.stylize(image, {"synthetic-0": 1, "synthetic-2": 0})), pixels(a))
    assert np.array_equal(pixels(genimg.stylize(image, {"synthetic-0": 0, "synthetic-2": 1})), pixels(b))
    # weights are normalised: 2 and 2 is the same blend as 0.5 and 0.5
    assert np.array_equal(pixels(genimg.stylize(image, {"synthetic-0": 2, "synthetic-2": 2})),
                          pixels(genimg.stylize(image, {"synthetic-0": 0.5, "synthetic-2": 0.5})))


def test_strength_zero_returns_the_input_and_one_the_painting(style_dir):
    image = photo()
    assert np.array_equal(pixels(genimg.stylize(image, "synthetic-1", strength=0)), pixels(image))
    full = pixels(genimg.stylize(image, "synthetic-1", strength=1))
    half = pixels(genimg.stylize(image, "synthetic-1", strength=0.5))
    assert np.abs(half - (full + pixels(image)) / 2).max() <= 1
    assert np.abs(full - pixels(image)).mean() > 1  # the (dry-run) network does change the photo


def test_keep_colours_keeps_the_chroma_and_takes_the_brightness(style_dir):
    image = photo()
    painted = np.asarray(genimg.stylize(image, "synthetic-1"), np.float32) / 255
    kept = np.asarray(genimg.stylize(image, "synthetic-1", keep_colours=True), np.float32) / 255
    original = np.asarray(image, np.float32) / 255
    y = lambda a: styling.rgb_to_ycbcr(a)[..., 0]  # noqa: E731
    chroma = lambda a: styling.rgb_to_ycbcr(a)[..., 1:]  # noqa: E731
    inside = (kept > 0.02).all(-1) & (kept < 0.98).all(-1)  # clipped pixels cannot keep both exactly
    assert np.abs(y(kept) - y(painted))[inside].max() < 0.02
    assert np.abs(chroma(kept) - chroma(original))[inside].max() < 0.02
    assert np.abs(chroma(painted) - chroma(original)).max() > 0.05  # without the option the colours do change


def test_ycbcr_round_trip():
    rgb = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    assert np.abs(styling.ycbcr_to_rgb(styling.rgb_to_ycbcr(rgb)) - rgb).max() < 1e-4


@pytest.mark.parametrize("call, message", [
    (lambda: genimg.stylize(photo(), "monet"), "Unknown style 'monet'; presets: synthetic-0"),
    (lambda: genimg.stylize(photo(), {"synthetic-0": 0}), "all zero"),
    (lambda: genimg.stylize(photo(), {"synthetic-0": -1}), "weight of synthetic-0 must be from 0"),
    (lambda: genimg.stylize(photo(), 3), "preset name or a"),
    (lambda: genimg.stylize(photo(), "synthetic-0", strength=1.5), "strength must be from 0"),
    (lambda: genimg.stylize(photo(), "synthetic-0", strength="a lot"), "strength must be a number"),
    (lambda: genimg.stylize(photo(), "synthetic-0", max_side=5000), "max_side must be from 16 to 1024"),
    (lambda: genimg.stylize(b"not an image", "synthetic-0"), "not an image"),
    (lambda: genimg.stylize("/no/such/photo.png", "synthetic-0"), "No image file"),
])
def test_bad_input_is_a_clear_value_error(style_dir, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_huge_image_is_refused_before_decoding(style_dir):
    from test_upscale import png_with_header_size
    with pytest.raises(ValueError, match="far too large to stylise|megapixels"):
        genimg.stylize(png_with_header_size(30000, 30000), "synthetic-0")


def test_no_style_network_is_a_clear_error(tmp_path):
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(tmp_path)
    try:
        with pytest.raises(ValueError, match="No model named 'style-photos'"):
            genimg.stylize(photo(), "udnie")
        with pytest.raises(ValueError, match="No model named 'style-photos'"):
            genimg.styles()
    finally:
        genimg.set_checkpoint_dir(previous)


# ----------------------------------------------------------------------------------------------
# Your own style image: Gatys' optimisation, which needs VGG16


def test_own_style_without_vgg_says_so_plainly_and_presets_keep_working(style_dir):
    assert "No VGG16 weights" in genimg.api.vgg_status()
    with pytest.raises(vgg_lib.VGGUnavailable, match="need VGG16 features, and none are available.*--vgg-weights"):
        genimg.stylize_with_image(photo(), photo(seed=1), steps=10)
    assert genimg.stylize(photo(), "synthetic-0").size == photo().size


def test_own_style_with_a_missing_or_pickled_weights_file(style_dir, tmp_path):
    genimg.set_vgg_weights(tmp_path / "nothing.safetensors")
    assert "does not exist" in genimg.api.vgg_status()
    assert str(tmp_path) not in genimg.api.vgg_status()  # visitors see the sentence; no server path in it
    with pytest.raises(ValueError, match="does not exist"):
        genimg.stylize_with_image(photo(), photo(seed=1), steps=10)
    pickle = tmp_path / "vgg16.pth"
    pickle.write_bytes(b"\x80\x04not really")
    genimg.set_vgg_weights(pickle)
    with pytest.raises(ValueError, match="never a pickle"):
        genimg.stylize_with_image(photo(), photo(seed=1), steps=10)


def test_own_style_with_weights_runs_and_streams(style_dir, tmp_path):
    """A VGG16 with random weights saved as safetensors: the optimisation runs and yields as it goes."""
    torch.manual_seed(0)
    path = tmp_path / "vgg.safetensors"
    from safetensors.torch import save_file
    save_file({f"features.{k}": v.contiguous() for k, v in vgg_lib.VGGFeatures().features.state_dict().items()},
              str(path))
    genimg.set_vgg_weights(path)
    steps = list(genimg.api.stylize_with_image_steps(photo(128, 100), photo(seed=1), steps=10, size=64, every=4))
    assert [s for s, _, _ in steps] == [4, 8, 10]
    assert all(total == 10 and image.size == (64, 50) for _, total, image in steps)
    with pytest.raises(ValueError, match="steps must be from 10 to 1000"):
        genimg.stylize_with_image(photo(), photo(seed=1), steps=0)
    with pytest.raises(ValueError, match="size must be from 64 to 512"):
        genimg.stylize_with_image(photo(), photo(seed=1), size=4096)


def test_gatys_lowers_the_style_loss():
    torch.manual_seed(0)
    vgg = vgg_lib.VGGFeatures()
    content, style = torch.rand(1, 3, 32, 32) * 0.5, torch.rand(1, 3, 32, 32)
    grams = styling.style_grams(vgg, style)
    before = styling.perceptual_losses(vgg, content, content, grams)["style"].item()
    result = styling.gatys(vgg, content, style, steps=20)
    assert result["style"] < before and result["content"] > 0 and result["image"].shape == content.shape


# ----------------------------------------------------------------------------------------------
# Training


def test_style_batches_are_a_pure_function_of_seed_and_step():
    folder = genimg.photos.synthetic_photos()
    crops = StyleCrops(folder, 3, 32, 4, seed=0, rank=0, world=1)
    x1, s1 = crops(5)
    x2, s2 = crops(5)
    assert torch.equal(x1, x2) and torch.equal(s1, s2) and x1.shape == (4, 3, 32, 32)
    assert not torch.equal(crops(6)[0], x1)
    assert crops(0)[1].tolist() == [0, 1, 2, 0] and crops(1)[1].tolist() == [1, 2, 0, 1]  # styles take turns


def test_the_checkpoint_holds_only_the_transformation_network(style_checkpoint_dir):
    from safetensors import safe_open
    with safe_open(str(style_checkpoint_dir / "style-photos.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and not any("features" in k or "vgg" in k for k in keys)
    card = genimg.checkpoints.read_card(style_checkpoint_dir, "style-photos")
    assert card["family"] == "style" and card["config"]["styles"] == ["synthetic-0", "synthetic-1", "synthetic-2"]
    assert "per_style" in card["metrics"] and "random weights" in card["metrics"]["vgg"]


def test_training_draws_a_grid_of_photos_by_styles(style_checkpoint_dir):
    """One row per validation photo (2 synthetic ones of 96 px): the photo, then each of the 3 styles."""
    grid = Image.open(style_checkpoint_dir.parent / "runs" / "style" / "samples.png")
    assert grid.size == (96 * 4, 96 * 2)


def test_real_training_needs_vgg_weights(tmp_path, monkeypatch):
    """Outside --dry-run a missing VGG file is an error, never a silent random network."""
    monkeypatch.delenv("GENIMG_VGG_WEIGHTS", raising=False)
    spec = dict(MODELS["style"], vgg_weights=str(tmp_path / "none.safetensors"))
    folder = genimg.photos.synthetic_photos()
    folder.paintings = [("x", np.zeros((8, 8, 3), np.float32))]
    with pytest.raises(vgg_lib.VGGUnavailable, match="does not exist"):
        StyleTrainer(spec, FAMILIES["style"], folder, torch.device("cpu"), 1)
    with pytest.raises(vgg_lib.VGGUnavailable, match="does not exist"):  # a dry run too, when weights were named
        StyleTrainer(dict(spec, dry_run=True), FAMILIES["style"], folder, torch.device("cpu"), 1)


def test_train_py_accepts_vgg_weights(tmp_path):
    import train
    code = train.main(["style", "--dry-run", "--out", str(tmp_path / "c"), "--run-dir", str(tmp_path / "r"),
                       "--vgg-weights", str(tmp_path / "missing.safetensors")])
    assert code == 2  # a clear error (the file does not exist), not a crash


# ----------------------------------------------------------------------------------------------
# The app


def test_tab_function_errors_are_gr_errors(style_dir, tmp_path):
    from genimg.ui import style as tab
    label = next(iter(tab.preset_choices()))
    with pytest.raises(gr.Error, match="Upload a photo"):
        tab.stylize_photo(None, label, tab.NO_BLEND, 0.5, 1, False)
    with pytest.raises(gr.Error, match="Choose a preset"):
        tab.stylize_photo(str(ROOT / "examples" / "chelsea.png"), "Mona Lisa", tab.NO_BLEND, 0.5, 1, False)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    with pytest.raises(gr.Error, match="not an image"):
        tab.stylize_photo(str(bad), label, tab.NO_BLEND, 0.5, 1, False)
    with pytest.raises(gr.Error, match="No VGG16 weights"):
        list(tab.stylize_with_own(str(ROOT / "examples" / "chelsea.png"), str(ROOT / "examples" / "rocket.jpg"),
                                  10, 64, 1, False))


def test_app_through_gradio_client(style_dir, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    sys.path.insert(0, str(ROOT))
    import app
    from genimg.ui import style as tab

    port = free_port()
    source = tmp_path / "in.png"
    photo(40, 30).save(source)
    labels = list(tab.preset_choices())
    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                            show_error=True)
    client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
    try:
        path, info = client.predict(handle_file(str(source)), labels[0], tab.NO_BLEND, 0.5, 1.0, False,
                                    api_name="/stylize")
        with Image.open(path) as image:
            assert image.size == (40, 30) and image.format == "PNG"
            single = pixels(image.convert("RGB"))
        assert "synthetic-0" in info
        path, info = client.predict(handle_file(str(source)), labels[0], labels[1], 0.0, 1.0, False,
                                    api_name="/stylize")
        with Image.open(path) as image:
            assert np.array_equal(pixels(image.convert("RGB")), single)  # blend 0 is the first preset exactly
        path, info = client.predict(handle_file(str(source)), labels[0], tab.NO_BLEND, 0.5, 0.0, True,
                                    api_name="/stylize")
        with Image.open(path) as image:
            assert np.abs(pixels(image.convert("RGB")) - pixels(Image.open(source))).max() <= 1  # strength 0
        with pytest.raises(AppError, match="No VGG16 weights"):
            client.predict(handle_file(str(source)), handle_file(str(source)), 10, 64, 1.0, False,
                           api_name="/stylize_with_image")
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"not a picture")
        with pytest.raises(AppError, match="not an image"):
            client.predict(handle_file(str(bad)), labels[0], tab.NO_BLEND, 0.5, 1.0, False, api_name="/stylize")
    finally:
        client.close()
        demo.close()
