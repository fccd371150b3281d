"""Upscaling: output shapes for every scale, model and image mode, tiling, bad inputs, the CLI, the bench,
and the app through gradio_client. Uses dry-run SR checkpoints made here (never the shipped ones)."""
import io
import struct
import subprocess
import sys
import zlib

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import ROOT, free_port
from PIL import Image

import genimg
import genimg.api
from genimg import bench, hardware, photos
from genimg.__main__ import main as cli
from genimg.families.sr import upscaling
from genimg.families.sr.network import EDSR, ESPCN, deepen
from genimg.families.sr.trainer import SRTrainer
from genimg.registry import FAMILIES, RECIPES as MODELS
from genimg.training import train

SR_MODELS = ("fast", "quality")


@pytest.fixture(scope="module")
def sr_dir(tmp_path_factory):
    """Dry-run checkpoints of both upscalers (seconds), with the API pointed at them for this module."""
    root = tmp_path_factory.mktemp("sr")
    for model in ("sr-fast", "sr-quality"):
        train(model, "photos", dry_run=True, out=root / "checkpoints", run_dir=root / "runs" / model, quiet=True)
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(root / "checkpoints")
    yield root / "checkpoints"
    genimg.set_checkpoint_dir(previous)


def photo(width=23, height=17, mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
    return rgb.convert(mode) if mode != "RGB" else rgb


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_with_header_size(width: int, height: int) -> bytes:
    """A valid tiny PNG whose header claims width x height (a decompression bomb's first bytes)."""
    data = bytearray(png_bytes(Image.new("L", (1, 1))))
    ihdr = data[12:29]  # chunk type + 13 bytes of header
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


# ----------------------------------------------------------------------------------------------
# Shapes and modes


@pytest.mark.parametrize("model", SR_MODELS)
@pytest.mark.parametrize("scale", (2, 4))
@pytest.mark.parametrize("mode, out_mode", [("RGB", "RGB"), ("RGBA", "RGBA"), ("L", "L"), ("LA", "LA"),
                                            ("P", "RGB"), ("1", "L"), ("CMYK", "RGB"), ("YCbCr", "RGB"),
                                            ("I", "L"), ("F", "L")])
def test_shape_and_mode(sr_dir, model, scale, mode, out_mode):
    image = photo(mode=mode)
    result = genimg.upscale(image, scale, model)
    assert result.size == (image.width * scale, image.height * scale)
    assert result.mode == out_mode


@pytest.mark.parametrize("scale", (2, 4))
def test_one_pixel_and_thin_images(sr_dir, scale):
    for size in ((1, 1), (1, 9), (13, 1)):
        assert genimg.upscale(photo(*size), scale).size == (size[0] * scale, size[1] * scale)


def test_accepts_paths_and_bytes_and_scale_spellings(sr_dir, tmp_path):
    path = tmp_path / "in.png"
    photo().save(path)
    assert genimg.upscale(str(path), 2).size == (46, 34)
    assert genimg.upscale(path.read_bytes(), "x4", "fast").size == (92, 68)
    assert genimg.upscale(photo(), 2.0, "sr-quality-photos").size == (46, 34)


def test_bicubic_baseline_has_the_same_size_and_handling(sr_dir):
    image = photo(mode="RGBA")
    assert genimg.upscale_bicubic(image, 4).size == genimg.upscale(image, 4).size
    assert genimg.upscale_bicubic(image, 4).mode == "RGBA"


def test_alpha_is_kept(sr_dir):
    image = photo(30, 20, "RGBA")
    alpha = np.zeros((20, 30), np.uint8)
    alpha[:, 15:] = 255
    image.putalpha(Image.fromarray(alpha))
    result = np.asarray(genimg.upscale(image, 2))
    assert (result[:, :20, 3] == 0).all() and (result[:, 40:, 3] == 255).all()  # away from the edge: exact
    opaque = photo(30, 20, "RGBA")  # convert("RGBA") makes alpha 255 everywhere
    assert (np.asarray(genimg.upscale(opaque, 4))[..., 3] == 255).all()


def test_palette_with_transparency_gives_rgba(sr_dir):
    image = photo(mode="P")
    image.info["transparency"] = 0
    assert genimg.upscale(image, 2).mode == "RGBA"


def test_sixteen_bit_is_rescaled_not_clipped(sr_dir):
    values = np.full((16, 16), 30000, np.uint16)  # 30000/65535 of full scale: mid-gray, not white
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    result = np.asarray(genimg.upscale(image, 2))
    assert abs(int(np.median(result)) - round(30000 / 65535 * 255)) <= 2


def test_grayscale_stays_gray(sr_dir):
    image = photo(mode="L")
    result = genimg.upscale(image, 4)
    assert result.mode == "L"
    bicubic = np.asarray(genimg.upscale_bicubic(image, 4), np.float64)
    assert np.abs(np.asarray(result, np.float64) - bicubic).mean() < 20  # a picture of the input, not noise


def test_exif_orientation_is_applied(sr_dir):
    image = photo(30, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert genimg.upscale(buffer.getvalue(), 2).size == (40, 60)  # displayed as 20x30


# ----------------------------------------------------------------------------------------------
# Tiling


@pytest.mark.parametrize("network", [EDSR(width=8, blocks=2), ESPCN(width=8, depth=2)], ids=["edsr", "espcn"])
@pytest.mark.parametrize("scale", (2, 4))
def test_tiling_equals_untiled(network, scale):
    """Tiles overlap by the receptive radius, so the stitched output equals the untiled one up to float
    rounding. The only allowed difference is 1 grey level where a value lies within ~1e-5 of a rounding
    boundary (convolutions sum in a different order on different tile shapes): at most 1, and rarely."""
    torch.manual_seed(0)
    for conv in network.heads.convs.values():  # zero-initialised heads would make this test trivially pass
        torch.nn.init.normal_(conv.weight, std=0.1)
    network.eval()
    rgb = np.random.default_rng(1).random((45, 38, 3), dtype=np.float32)
    whole = upscaling.upscale_array(network, rgb, scale, tile=10_000)
    tiled = upscaling.upscale_array(network, rgb, scale, tile=16)
    difference = np.abs(whole.astype(int) - tiled.astype(int))
    assert difference.max() <= 1
    assert (difference > 0).mean() < 1e-3


def test_tiling_test_would_catch_too_little_overlap(monkeypatch):
    """The same comparison fails when tiles overlap less than the receptive field: the test is sensitive."""
    torch.manual_seed(0)
    network = EDSR(width=8, blocks=2)
    for conv in network.heads.convs.values():
        torch.nn.init.normal_(conv.weight, std=0.1)
    network.eval()
    rgb = np.random.default_rng(1).random((45, 38, 3), dtype=np.float32)
    whole = upscaling.upscale_array(network, rgb, 2, tile=10_000)
    monkeypatch.setattr(EDSR, "receptive_radius", property(lambda self: 1))
    tiled = upscaling.upscale_array(network, rgb, 2, tile=16)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() > 1


def random_edsr():
    torch.manual_seed(0)
    network = EDSR(width=8, blocks=2)
    for conv in network.heads.convs.values():  # zero-initialised heads would make the network plain bicubic
        torch.nn.init.normal_(conv.weight, std=0.1)
    return network.eval()


def reflect(t):
    """Reflection across the anti-diagonal: pixel (i, j) of an H x W image goes to (W-1-j, H-1-i)."""
    return t.flip(2, 3).transpose(2, 3)


@torch.no_grad()
def test_quality_network_averages_the_photo_and_its_reflection(monkeypatch):
    """EDSR answers with the mean of its output on the tile and on the diagonally reflected tile, reflected
    back. Checked in float32: it equals that mean computed by hand, and it commutes with the reflection (the
    2-view mean is exactly equivariant to it; one view of a random network is not)."""
    monkeypatch.setattr(hardware, "cpu_computes_bf16", lambda: False)
    network = random_edsr()
    x = torch.rand(1, 3, 13, 17)
    by_hand = (network(x, 2) + reflect(network(reflect(x), 2))) / 2
    assert torch.allclose(upscaling.network_output(network, x, 2), by_hand, atol=1e-6)
    assert torch.allclose(upscaling.network_output(network, reflect(x), 2),
                          reflect(upscaling.network_output(network, x, 2)), atol=1e-6)
    assert not torch.allclose(network(reflect(x), 2), reflect(network(x, 2)), atol=1e-3)
    assert upscaling.inference_setup(network) == {"views": 2, "dtype": "float32"}
    assert upscaling.inference_setup(ESPCN(width=8, depth=2))["views"] == 1


@torch.no_grad()
def test_bfloat16_inference_stays_close_to_float32(monkeypatch):
    """Where the CPU has bfloat16 the network runs in it: within 2 grey levels of float32 on a photo-like input
    (bfloat16 keeps 8 significant bits; the bicubic base it adds to stays float32)."""
    network = random_edsr()
    rgb = np.random.default_rng(2).random((24, 20, 3), dtype=np.float32) * 0.5 + 0.25
    monkeypatch.setattr(hardware, "cpu_computes_bf16", lambda: False)
    exact = upscaling.upscale_array(network, rgb, 4).astype(int)
    monkeypatch.setattr(hardware, "cpu_computes_bf16", lambda: True)
    fast = upscaling.upscale_array(network, rgb, 4).astype(int)
    assert np.abs(exact - fast).max() <= 2
    assert (exact != fast).any()  # bfloat16 did run


def test_float32_can_be_forced(monkeypatch):
    monkeypatch.setenv("GENIMG_FLOAT32", "1")
    hardware.cpu_computes_bf16.cache_clear()
    try:
        assert hardware.cpu_computes_bf16() is False
    finally:
        hardware.cpu_computes_bf16.cache_clear()


def test_large_input_memory_is_bounded(sr_dir):
    """2000x2000 at x4 (an 8000x8000 result) stays under 2 GB resident, measured in a fresh process."""
    script = (
        "import re, sys, genimg, numpy as np; from PIL import Image; import torch; torch.set_num_threads(1);"
        f"genimg.set_checkpoint_dir({str(sr_dir)!r});"
        "rng = np.random.default_rng(0);"
        "image = Image.fromarray(rng.integers(0, 256, (2000, 2000, 3), dtype=np.uint8));"
        "out = genimg.upscale(image, 4, 'fast'); assert out.size == (8000, 8000);"
        # VmHWM is this process's own peak; ru_maxrss can carry over the parent's (pytest's) size across exec.
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip().splitlines()[-1]) < 2048  # MB


# ----------------------------------------------------------------------------------------------
# Bad input: a clear ValueError (gr.Error in the app), never a crash


def bad_inputs(tmp_path):
    frames = [photo(8, 8, seed=i).convert("P") for i in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    jpeg = io.BytesIO()
    photo(64, 64).save(jpeg, "JPEG")
    return {
        "not an image": (b"this is a text file, not a picture\n" * 10, "not an image"),
        "truncated png": (png_bytes(photo(64, 64))[:300], "truncated or corrupt"),
        "truncated jpeg": (jpeg.getvalue()[:600], "truncated or corrupt"),
        "decompression bomb": (png_with_header_size(20000, 20000), "too large"),
        "too many pixels": (png_with_header_size(5000, 5000), "megapixels"),
        "animated gif": (gif.getvalue(), "animated"),
        "empty file": (b"", "not an image"),
    }


@pytest.mark.parametrize("case", ["not an image", "truncated png", "truncated jpeg", "decompression bomb",
                                  "too many pixels", "animated gif", "empty file"])
def test_bad_files_give_clear_errors(sr_dir, tmp_path, case):
    data, message = bad_inputs(tmp_path)[case]
    with pytest.raises(ValueError, match=message):
        genimg.upscale(data, 2)
    path = tmp_path / "upload.png"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        genimg.upscale(str(path), 2)


def test_bad_arguments(sr_dir):
    with pytest.raises(ValueError, match="scale must be 2 or 4"):
        genimg.upscale(photo(), 3)
    with pytest.raises(ValueError, match="scale must be"):
        genimg.upscale(photo(), "big")
    with pytest.raises(ValueError, match="No model named"):
        genimg.upscale(photo(), 2, "nonexistent")
    with pytest.raises(ValueError, match="No image file"):
        genimg.upscale("/no/such/file.png", 2)
    with pytest.raises(ValueError, match="over the limit"):
        genimg.upscale(Image.new("L", (2100, 2100)), 4)  # 8400x8400 = 70.6 megapixels


def test_missing_checkpoints_are_a_clear_error(tmp_path):
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(tmp_path)
    try:
        with pytest.raises(ValueError, match="No upscaling model is available"):
            genimg.upscale(photo(), 2)
    finally:
        genimg.set_checkpoint_dir(previous)


# ----------------------------------------------------------------------------------------------
# Training


def test_sr_training_draws_a_comparison_grid(sr_dir):
    assert (sr_dir.parent / "runs" / "sr-fast" / "samples.png").is_file()  # bicubic | network | original, per scale


def test_deepen_starts_as_the_shallow_network_and_its_new_blocks_learn():
    """The grown network computes what the shallow one did (new blocks pass their input through), and one
    backward pass reaches the new blocks' zeroed convolutions, so training can use the extra depth."""
    torch.manual_seed(0)
    shallow = EDSR(width=8, blocks=3)
    for parameter in shallow.parameters():  # every weight random, heads too (zero heads would make both bicubic)
        torch.nn.init.normal_(parameter, std=0.1)
    deep = deepen(shallow, 7)
    assert len(deep.features.blocks) == 7 and deep.config["blocks"] == 7
    low = torch.rand(2, 3, 12, 12)
    for scale in (2, 4):
        assert torch.allclose(deep(low, scale), shallow(low, scale), atol=1e-6)
    new_blocks = [b for b in deep.features.blocks if not b.conv2.weight.any()]
    assert len(new_blocks) == 4
    deep(low, 4).square().mean().backward()
    assert all(b.conv2.weight.grad.abs().sum() > 0 for b in new_blocks)
    with pytest.raises(ValueError, match="fewer than the 3"):
        deepen(shallow, 2)


def test_quality_model_grows_from_the_base_checkpoint(sr_dir, tmp_path):
    """sr-quality is EDSR-baseline's 16 blocks grown from sr-quality-base; without that checkpoint the error says
    which command makes it."""
    card = genimg.load("sr-quality-photos").card
    assert card["config"]["blocks"] == 16 and card["grown_from"]["name"] == "untrained (--dry-run)"
    spec = dict(MODELS["sr-quality"], grow_from_dir=str(tmp_path))
    with pytest.raises(ValueError, match="python train.py sr-quality-base --dataset photos"):
        SRTrainer.grown(spec, FAMILIES["edsr"])


def test_scale_turns_give_each_scale_its_share_of_batches():
    """sr-quality's scale_turns [2, 4, 4]: x4 gets two batches in three, each pair aligned at its own scale."""
    from genimg.families.sr.trainer import PhotoPairs

    pairs = PhotoPairs(photos.synthetic_photos(), [2, 4, 4], patch=8, batch_size=2, seed=0, rank=0, world=1)
    for step, expected in enumerate([2, 4, 4, 2, 4, 4]):
        batch, _labels = pairs(step)
        (scale, (low, high)), = batch.items()
        assert scale == expected
        assert low.shape == (2, 3, 8, 8) and high.shape == (2, 3, 8 * scale, 8 * scale)
    assert sorted(pairs.low) == [2, 4]  # each scale's shrunk photos made once


def test_sr_models_train_on_photos_only(tmp_path):
    with pytest.raises(ValueError, match="trains on photos"):
        train("sr-fast", "mnist", dry_run=True, out=tmp_path, run_dir=tmp_path / "run", quiet=True)


def test_missing_photos_name_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIMG_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError) as error:
        photos.load_photos(tmp_path / "nowhere")
    assert "--data: " in str(error.value) and "GENIMG_DATA: " in str(error.value)


def test_parameter_budgets():
    """The issue's limits: the fast model at most 100 K parameters, the quality model about 2 M at most."""
    from genimg.registry import build

    assert sum(p.numel() for p in build("espcn").parameters()) <= 100_000
    assert sum(p.numel() for p in build("edsr", MODELS["sr-quality"]["config"]).parameters()) <= 2_000_000


# ----------------------------------------------------------------------------------------------
# Measuring, the benchmark and the command line


def test_measure_reports_both_and_needs_a_big_enough_image(sr_dir):
    result = genimg.measure_upscale(photo(64, 48), 4, "fast")
    assert set(result) >= {"bicubic", "model", "images", "model_name"}
    assert result["images"]["model"].size == result["images"]["original"].size == (64, 48)
    assert 0 < result["bicubic"]["ssim"] <= 1 and result["model"]["psnr"] > 0
    with pytest.raises(ValueError, match="at least 32x32"):
        genimg.measure_upscale(photo(20, 40), 4)


def test_bench_sr_runs_on_a_folder(sr_dir, tmp_path, capsys):
    for i in range(2):
        photo(48, 40, seed=i).save(tmp_path / f"p{i}.png")
    results = bench.sr_quality(tmp_path)
    assert set(results) == {"x2", "x4"} and "sr-quality-photos" in results["x4"]
    speed = bench.sr_speed(repeats=1)
    assert speed["sr-fast-photos"]["x4"]["images_per_s"] > 0
    assert "bicubic" in capsys.readouterr().out
    figure = tmp_path / "figure.png"
    bench.main(["sr", "--data", str(tmp_path), "--repeats", "0", "--figure", str(figure), "--checkpoints", str(sr_dir)])
    with Image.open(figure) as image:
        assert image.width > image.height > 0


def test_cli_upscale(sr_dir, tmp_path, capsys):
    source, out = tmp_path / "in.png", tmp_path / "out.png"
    photo(20, 10, "RGBA").save(source)
    assert cli(["upscale", str(source), str(out), "--scale", "4", "--checkpoints", str(sr_dir)]) == 0
    with Image.open(out) as result:
        assert result.size == (80, 40) and result.mode == "RGBA"
    (tmp_path / "bad.png").write_bytes(b"nope")
    assert cli(["upscale", str(tmp_path / "bad.png"), str(out), "--checkpoints", str(sr_dir)]) == 2
    assert "not an image" in capsys.readouterr().err


def test_matlab_bicubic_properties():
    """Constant images stay constant both ways; a ramp stays a ramp away from the borders (cubic kernels
    reproduce linear functions); shrinking a pixel checkerboard gives its mean (MATLAB antialiases when shrinking,
    where a plain 4-tap bicubic would alias it into a pattern)."""
    flat = np.full((8, 8), 77, np.uint8)
    assert (photos.imresize(flat, 0.25) == 77).all() and (photos.imresize(flat, 4) == 77).all()
    ramp = np.tile(np.arange(16, dtype=np.float32), (16, 1))
    up = photos.imresize(ramp, 2)
    assert up.shape == (32, 32)
    np.testing.assert_allclose(np.diff(up[8, 6:26]), 0.5, atol=1e-4)
    checkerboard = (np.indices((64, 64)).sum(0) % 2 * 255).astype(np.uint8)
    assert np.abs(photos.imresize(checkerboard, 0.25)[2:-2, 2:-2].astype(int) - 128).max() <= 1


KODAK = ROOT.parent / "shared" / "datasets" / "photos" / "val"


@pytest.mark.skipif(not KODAK.is_dir(), reason="needs ../shared/datasets/photos/val (Kodak24)")
def test_bicubic_on_kodak_reproduces_the_reference_numbers():
    """REFERENCE.md measured bicubic on Kodak24 by the paper protocol: x2 30.86 / .8702, x4 27.23 / .7195.
    Matching them checks the MATLAB-compatible resize, the Y conversion, the border crop, PSNR and SSIM at once."""
    images = [photos.load_rgb(p) for p in photos.list_images(KODAK)]
    for scale, psnr, ssim in ((2, 30.86, 0.8702), (4, 27.23, 0.7195)):
        rows = []
        for hr in images:
            hr = photos.modcrop(hr, scale)
            bicubic = photos.imresize(photos.degrade(hr, scale), scale)
            rows.append((photos.psnr_y(bicubic, hr, scale), photos.ssim_y(bicubic, hr, scale)))
        assert abs(np.mean([r[0] for r in rows]) - psnr) < 0.01
        assert abs(np.mean([r[1] for r in rows]) - ssim) < 0.0005


# ----------------------------------------------------------------------------------------------
# The app


def test_tab_function_errors_are_gr_errors(sr_dir, tmp_path):
    from genimg.ui import upscale as tab
    with pytest.raises(gr.Error, match="Upload a photo"):
        tab.upscale_photo(None, "x4", "Fast (small network)", False)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    with pytest.raises(gr.Error, match="not an image"):
        tab.upscale_photo(str(bad), "x4", "Fast (small network)", False)
    big = tmp_path / "big.png"
    Image.new("L", (1100, 1100)).save(big)
    with pytest.raises(gr.Error, match="app stops at"):
        tab.upscale_photo(str(big), "x4", "Fast (small network)", False)


def test_the_tab_defaults_to_the_fast_model_and_says_how_long_before_it_starts(sr_dir, tmp_path):
    """The default answers in about a second; the time shown before pressing Upscale comes from the card's bench
    until this server has run the model, then from the last run (seconds per input pixel)."""
    from genimg.ui import upscale as tab
    assert tab.MODEL_CHOICES[tab.DEFAULT_MODEL] == "fast"
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(path)
    tab._seconds_per_pixel.clear()
    assert tab.expected_time(None, "x2", tab.DEFAULT_MODEL) == ""
    before = tab.expected_time(str(path), "x2", tab.DEFAULT_MODEL)
    assert "for this 80x60 photo at x2" in before or before == ""  # dry-run cards carry no speed figure
    tab.upscale_photo(str(path), "x2", tab.DEFAULT_MODEL, False)
    measured = tab._seconds_per_pixel["fast", 2]
    after = tab.expected_time(str(path), "x2", tab.DEFAULT_MODEL)
    assert f"about **{max(measured * 80 * 60, 0.1):.1f} s** for this 80x60 photo at x2" in after


def test_app_through_gradio_client(sr_dir, tmp_path):

    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    sys.path.insert(0, str(ROOT))
    import app

    port = free_port()
    source = tmp_path / "in.png"
    photo(40, 30, "RGBA").save(source)
    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                            show_error=True)
    client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
    try:
        (before, after), download, info = client.predict(handle_file(str(source)), "x2", "Fast (small network)", False,
                                                         api_name="/upscale")
        for path in (before, after, download):
            with Image.open(path) as image:
                assert image.size == (80, 60) and image.format == "PNG"
        with Image.open(download) as image:
            assert image.mode == "RGBA"
        assert "sr-fast-photos" in info
        big = tmp_path / "big.png"
        photo(64, 64).save(big)
        (before, after), download, info = client.predict(handle_file(str(big)), "x4", "Quality (residual network)",
                                                         True, api_name="/upscale")
        assert "PSNR" in info and "bicubic" in info
        with Image.open(after) as image:
            assert image.size == (64, 64)
        # Bad files reach the client as the API's own words, including those gradio's upload step cannot open.
        for case in ("animated gif", "not an image", "decompression bomb", "truncated png"):
            data, message = bad_inputs(tmp_path)[case]
            bad = tmp_path / f"{case.replace(' ', '_')}.{'gif' if 'gif' in case else 'png'}"
            bad.write_bytes(data)
            with pytest.raises(AppError, match=message):
                client.predict(handle_file(str(bad)), "x2", "Fast (small network)", False, api_name="/upscale")
    finally:
        client.close()
        demo.close()
