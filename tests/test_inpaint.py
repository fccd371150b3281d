"""Inpainting: free-form masks, the photo network through genimg.inpaint (known pixels unchanged, sizes, modes,
bad input), the generative-prior search, the training step, the tab's functions and the app through
gradio_client. Uses the dry-run checkpoints of conftest.py (never the shipped ones)."""
import sys
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from conftest import ROOT, free_port
from PIL import Image
from safetensors import safe_open

import genimg
from genimg import hardware, masks
from genimg.families.inpaint import fill as inpainting
from genimg.families.inpaint.network import GatedUNet

pytestmark = pytest.mark.usefixtures("checkpoint_dir")


def photo(width=40, height=30, mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}[mode]
    array = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode)


def box_mask(width=40, height=30, top=5, left=8, bottom=20, right=30) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[top:bottom, left:right] = 255
    return mask


# ----------------------------------------------------------------------------------------------
# Masks


@pytest.mark.parametrize("low,high", masks.BUCKETS)
def test_bucket_masks_lie_in_their_bucket_and_are_seeded(low, high):
    first = masks.bucket_masks(3, 64, 96, low, high, 5)
    assert all(low <= m.mean() < high and m.shape == (64, 96) for m in first)
    again = masks.bucket_masks(3, 64, 96, low, high, 5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_training_masks_cover_5_to_50_percent():
    rng = np.random.default_rng(0)
    ratios = [masks.random_mask(rng, 96, 96, 0.05, 0.5).mean() for _ in range(300)]
    assert min(ratios) >= 0.05 and max(ratios) <= 0.5
    assert np.percentile(ratios, 90) - np.percentile(ratios, 10) > 0.2  # the whole range is used, not one ratio


# ----------------------------------------------------------------------------------------------
# The photo network through the API


@pytest.mark.parametrize("low,high", masks.BUCKETS + ((0.0, 0.01), (0.5, 0.95)))
def test_known_pixels_unchanged_and_size_kept_at_every_ratio(low, high):
    image = photo(48, 36)
    rng = np.random.default_rng(int(high * 100))
    mask = masks.random_mask(rng, 36, 48, low, high) if low > 0 else box_mask(48, 36, 10, 10, 11, 11) > 0
    if high > 0.5:
        mask = np.ones((36, 48), bool)
        mask[:3, :3] = False  # 99.5 % masked: a few known pixels remain
    out = genimg.inpaint(image, mask.astype(np.uint8) * 255)
    assert out.size == image.size and out.mode == "RGB"
    assert np.array_equal(np.asarray(out)[~mask], np.asarray(image)[~mask])


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_modes_are_kept_and_alpha_is_untouched(mode):
    image = photo(33, 21, mode)
    mask = box_mask(33, 21, 3, 3, 12, 20)
    out = genimg.inpaint(image, Image.fromarray(mask))
    assert out.mode == mode and out.size == (33, 21)
    known = mask == 0
    assert np.array_equal(np.asarray(out)[known], np.asarray(image)[known])
    if mode in ("RGBA", "LA"):
        assert np.array_equal(np.asarray(out)[..., -1], np.asarray(image)[..., -1])


def test_large_image_runs_at_bounded_resolution_and_keeps_full_resolution_pixels():
    image = photo(1000, 120)
    mask = np.zeros((120, 1000), bool)
    mask[40:80, 300:700] = True
    out = genimg.inpaint(image, mask)
    assert out.size == (1000, 120)
    assert np.array_equal(np.asarray(out)[~mask], np.asarray(image)[~mask])
    assert inpainting.network_size(120, 1000) == (92, 768)


def test_mask_is_any_nonzero_pixel_of_any_mode():
    image = photo()
    painted = np.zeros((30, 40, 4), np.uint8)
    painted[2:6, 2:6, 3] = 1  # only alpha set: still nonzero, so masked
    out = genimg.inpaint(image, Image.fromarray(painted, "RGBA"))
    assert np.array_equal(np.asarray(out)[10:, 10:], np.asarray(image)[10:, 10:])
    assert genimg.api.inpainting.read_mask(Image.fromarray(painted, "RGBA"), (40, 30)).sum() == 16


def test_empty_mask_returns_the_image_unchanged_and_says_so():
    image = photo()
    with pytest.warns(UserWarning, match="mask is empty"):
        out = genimg.inpaint(image, np.zeros((30, 40), np.uint8))
    assert out.size == image.size and np.array_equal(np.asarray(out), np.asarray(image))


@pytest.mark.parametrize("model", [None, "vae-mnist"])
def test_full_mask_is_refused_with_a_message(model):
    with pytest.raises(ValueError, match="covers the whole image"):
        genimg.inpaint(photo(28, 28), np.full((28, 28), 255, np.uint8), model)


def test_mask_of_another_size_is_refused_with_both_sizes():
    with pytest.raises(ValueError, match="mask is 41x30 but the image is 40x30"):
        genimg.inpaint(photo(), np.ones((30, 41), np.uint8))


@pytest.mark.parametrize("bad_image,bad_mask,message", [
    (b"not an image at all", None, "not an image"),
    (None, b"nor this", "The mask is not an image"),
    ("/no/such/file.png", None, "No image file"),
])
def test_not_an_image_gives_a_clear_message(bad_image, bad_mask, message):
    image = photo() if bad_image is None else bad_image
    mask = box_mask() if bad_mask is None else bad_mask
    with pytest.raises(ValueError, match=message):
        genimg.inpaint(image, mask)


def test_unknown_or_wrong_kind_of_model_is_refused():
    with pytest.raises(ValueError, match="No model named"):
        genimg.inpaint(photo(), box_mask(), "no-such-model")
    with pytest.raises(ValueError, match="cgan-mnist is not an inpainting prior; inpaint with 'photo' or one of"):
        genimg.inpaint(photo(28, 28), box_mask(28, 28, 2, 2, 9, 9), "cgan-mnist")


def test_another_photo_network_by_name():
    """model="inpaint-base-photos" (what the shipped network was fine-tuned from) fills like the default one."""
    image, mask = photo(), box_mask()
    out = genimg.inpaint(image, mask, model="inpaint-base-photos")
    known = mask == 0
    assert out.size == image.size and np.array_equal(np.asarray(out)[known], np.asarray(image)[known])
    assert not np.array_equal(np.asarray(out)[~known], np.asarray(genimg.inpaint(image, mask))[~known])


def test_bench_measures_a_named_network_on_a_folder(tmp_path, capsys):
    """python -m genimg.bench inpaint --model NAME: every bucket scored, the speed case timed, the grid written
    (Telea only where OpenCV is installed: it is an optional benchmark dependency)."""
    from genimg import bench
    for k in range(2):
        photo(96, 64, seed=k).save(tmp_path / f"p{k}.png")
    figure = tmp_path / "grid.png"
    bench.main(["inpaint", "--data", str(tmp_path), "--model", "inpaint-base-photos", "--repeats", "1",
                "--figure", str(figure)])
    printed = capsys.readouterr().out
    assert "inpaint-base-photos on" in printed
    assert "inpainting speed, texture: 512x512" in printed and "inpainting speed, smooth: 512x512" in printed
    for bucket in ("10-20%", "20-30%", "30-40%", "40-50%"):
        for method in ("network", "texture"):
            assert any(line.split()[:2] == [bucket, method] for line in printed.splitlines()), (bucket, method)
    assert Image.open(figure).size[0] > 0


def test_blind_pairs_hide_the_key_and_score_the_answers(tmp_path, capsys):
    """bench inpaint --blind-pairs writes pairs whose sides follow a seeded coin, the key outside the folder;
    blind-score counts the judge's choices of the new method and refuses an incomplete answer sheet."""
    from genimg import bench
    from genimg.bench import blind
    import json
    for k in range(3):
        photo(64, 48, seed=k).save(tmp_path / f"p{k}.png")
    pairs = tmp_path / "pairs"
    bench.main(["inpaint", "--data", str(tmp_path), "--model", "inpaint-base-photos", "--repeats", "0",
                "--figure", str(pairs.parent / "figure" / "grid.png"), "--blind-pairs", str(pairs)])
    assert sorted(p.name for p in pairs.glob("pair_*.png")) == ["pair_00.png", "pair_01.png", "pair_02.png"]
    assert not list(pairs.glob("*key*")) and (tmp_path / "pairs.key.json").is_file()
    key = json.loads((tmp_path / "pairs.key.json").read_text())["pairs"]
    new_sides = [key[f"pair_{i:02d}"]["new_is"] for i in range(3)]
    answers = tmp_path / "answers.txt"
    answers.write_text(f"pair_00 {new_sides[0]}\npair_01 {new_sides[1]}\npair_02 {'A' if new_sides[2] == 'B' else 'B'}\n")
    result = blind.score(pairs, answers, "a test")
    assert result["new_preferred"] == 2 and result["share"] == round(2 / 3, 4) and result["lost"] == ["p2.png 30-40%"]
    answers.write_text("pair_00 A\n")
    with pytest.raises(SystemExit, match="pair_01"):
        blind.score(pairs, answers, "a test")


# ----------------------------------------------------------------------------------------------
# The texture fill (network + patches)


def striped(width=96, height=64, period=6) -> np.ndarray:
    """Vertical stripes with noise: a texture whose continuation a smooth fill cannot paint."""
    x = np.arange(width)
    stripes = np.where((x // (period // 2)) % 2 == 0, 40, 215)[None, :, None]
    rng = np.random.default_rng(0)
    return np.clip(stripes + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)


def test_texture_fill_continues_a_texture_the_smooth_fill_smears():
    """On stripes, the texture fill's hole keeps the stripes' contrast (its spread is close to the original's) and
    its error is far below what a smear gives; known pixels are exactly kept; a seed repeats, another one differs."""
    image = Image.fromarray(striped())
    mask = np.zeros((64, 96), bool)
    mask[20:44, 30:66] = True
    texture = np.asarray(genimg.inpaint(image, mask, seed=1))
    smooth = np.asarray(genimg.inpaint(image, mask, method="smooth"))
    image = np.asarray(image)
    assert np.array_equal(texture[~mask], image[~mask]) and np.array_equal(smooth[~mask], image[~mask])
    spread = image[mask].astype(float).std()
    assert texture[mask].astype(float).std() > 0.8 * spread
    assert inpainting.masked_psnr(texture, image, mask) > 15  # the stripes line up, not just any texture
    again = [np.asarray(genimg.inpaint(Image.fromarray(image), mask, seed=seed)) for seed in (1, 2)]
    assert np.array_equal(texture, again[0]) and not np.array_equal(texture, again[1])


@pytest.mark.parametrize("mode", ["RGBA", "L", "LA"])
def test_texture_fill_keeps_modes_and_alpha(mode):
    image = photo(48, 36, mode)
    mask = box_mask(48, 36, 8, 10, 24, 30) > 0
    out = genimg.inpaint(image, mask)
    assert out.mode == image.mode and out.size == image.size
    assert np.array_equal(np.asarray(out)[~mask], np.asarray(image)[~mask])
    if "A" in mode:
        assert np.array_equal(np.asarray(out)[..., -1], np.asarray(image)[..., -1])


def test_texture_fill_of_a_hole_with_no_whole_patch_around_it_is_the_networks():
    """Too few whole known patches to copy from (a thin frame of known pixels): the network's fill is kept."""
    image = photo(40, 30)
    mask = np.ones((30, 40), bool)
    mask[:2] = False
    out = np.asarray(genimg.inpaint(image, mask))
    assert np.array_equal(out[~mask], np.asarray(image)[~mask]) and out.shape == (30, 40, 3)


def test_a_big_photo_is_rebuilt_at_bounded_size_and_keeps_its_pixels():
    mask = np.zeros((200, 1100), bool)
    mask[50:120, 400:700] = True
    out = np.asarray(genimg.inpaint(photo(1100, 200), mask))
    image = np.asarray(photo(1100, 200))
    assert out.shape == image.shape and np.array_equal(out[~mask], image[~mask])


def test_unknown_fill_method_names_the_methods():
    with pytest.raises(ValueError, match="texture .*smooth"):
        genimg.inpaint(photo(), box_mask(), method="magic")


def test_texture_measure_patches_lie_in_the_hole():
    from genimg.vgg import VGGFeatures
    mask = np.zeros((64, 96), bool)
    mask[8:56, 16:80] = True
    boxes = inpainting.hole_patches(mask)
    assert boxes and all(mask[y:y + 32, x:x + 32].mean() >= 0.75 for y, x in boxes)
    features = inpainting.texture_features(VGGFeatures(), striped(), boxes)
    assert features.shape == (len(boxes), 512)
    assert inpainting.hole_patches(np.zeros((64, 96), bool)) == []


def test_smooth_fill_keeps_known_pixels_and_fills_from_them():
    import torch

    from genimg.families.inpaint.network import smooth_fill
    rng = np.random.default_rng(1)
    image = torch.from_numpy(rng.random((2, 3, 37, 50), dtype=np.float32))
    mask = torch.from_numpy(np.stack(masks.bucket_masks(0, 37, 50, 0.4, 0.5, 2)).astype(np.float32))[:, None]
    filled = smooth_fill(image, mask)
    assert torch.allclose(filled[mask.expand_as(image) == 0], image[mask.expand_as(image) == 0], atol=1e-5)
    hidden = image.clone()
    hidden[mask.expand_as(image) == 1] = 99.0  # the hole's true values must not matter
    assert torch.allclose(smooth_fill(hidden, mask), filled, atol=1e-5)
    flat = torch.full((1, 3, 20, 30), 0.3)
    hole = torch.zeros(1, 1, 20, 30)
    hole[..., 4:16, 5:25] = 1
    assert torch.allclose(smooth_fill(flat, hole), flat, atol=1e-5)  # a flat image is filled with its own colour
    left_right = torch.linspace(0, 1, 30).expand(1, 3, 20, 30).contiguous()
    middle = smooth_fill(left_right, hole)[0, 0, 10, 5:25]
    assert bool((middle[1:] >= middle[:-1] - 1e-3).all())  # a left-to-right ramp stays a ramp across the hole


def test_an_untrained_network_is_the_smooth_fill():
    """The correction starts at zero: before training, the network returns the classical fill exactly."""
    import torch

    from genimg.families.inpaint.network import smooth_fill
    model = GatedUNet(width=4, dilations=[2]).eval()
    image = torch.rand(1, 3, 32, 32)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 4:30] = 1
    with torch.no_grad():
        assert torch.allclose(model(image, mask), smooth_fill(image, mask).clamp(0, 1), atol=1e-6)


def test_odd_sizes_are_padded_for_the_network():
    model = GatedUNet(width=4, dilations=[2])
    for height, width in [(1, 1), (7, 13), (9, 8)]:
        rgb = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
        mask = np.zeros((height, width), bool)
        mask[0, 0] = True
        out = inpainting.fill_array(model, rgb, mask)
        assert out.shape == rgb.shape and np.array_equal(out[~mask], rgb[~mask])


def test_bfloat16_fill_stays_close_to_float32_and_keeps_known_pixels(monkeypatch):
    """Where the CPU has bfloat16 the network runs in it: the fill within 0.02 of float32's (the correction it
    adds to the float32 push-pull start keeps 8 significant bits), the known pixels exactly the input's."""
    import torch
    torch.manual_seed(0)
    model = GatedUNet(width=4, dilations=[2]).eval()
    torch.nn.init.normal_(model.to_rgb.weight, std=0.3)  # a network that corrects the smooth fill
    rgb = np.random.default_rng(1).random((24, 32, 3), dtype=np.float32) * 0.5 + 0.25
    mask = np.zeros((24, 32), bool)
    mask[6:18, 5:27] = True
    monkeypatch.setattr(hardware, "cpu_computes_bf16", lambda: False)
    exact = inpainting.fill_array(model, rgb, mask)
    monkeypatch.setattr(hardware, "cpu_computes_bf16", lambda: True)
    fast = inpainting.fill_array(model, rgb, mask)
    assert np.abs(exact - fast).max() <= 0.02
    assert (exact != fast).any()  # bfloat16 did run
    assert np.array_equal(fast[~mask], rgb[~mask]) and np.array_equal(exact[~mask], rgb[~mask])


def test_loaded_photo_network_runs_channels_last_with_the_same_fill():
    """genimg.load keeps the photo network's weights in channels-last order (faster float32 convolutions on a
    CPU); its fill matches that of the same weights in the default order."""
    import torch
    loaded = genimg.load("inpaint-psnr-photos").module
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in loaded.parameters() if p.dim() == 4)
    plain = GatedUNet(**loaded.config).eval()
    plain.load_state_dict({k: v.contiguous() for k, v in loaded.state_dict().items()})
    assert not plain.enc1.conv.weight.is_contiguous(memory_format=torch.channels_last)
    rgb = np.random.default_rng(2).random((40, 56, 3), dtype=np.float32)
    mask = np.zeros((40, 56), bool)
    mask[8:30, 10:40] = True
    assert np.abs(inpainting.fill_array(loaded, rgb, mask) - inpainting.fill_array(plain, rgb, mask)).max() < 1e-4


def test_hole_depth_is_the_distance_to_the_nearest_known_pixel():
    import torch
    bar = torch.zeros(1, 1, 41, 41)
    bar[..., 10:31, :] = 1  # rows 10-30 across the whole width: outside the image counts as hole
    depth = inpainting.hole_depth(bar, 40)[0, 0]
    assert depth[20].eq(11).all() and depth[10].eq(1).all() and depth[30].eq(1).all() and depth[9].eq(0).all()
    assert inpainting.hole_depth(bar, 4)[0, 0].max() == 4  # capped
    lone = torch.ones(1, 1, 61, 61)
    lone[..., 30, 30] = 0  # one known pixel: depth ~ Euclidean distance from it (octagonal, <= 13 % short)
    depth = inpainting.hole_depth(lone, 60)[0, 0]
    assert depth[30, 50] == 20 and 0.87 * 200 ** 0.5 <= float(depth[40, 40]) <= 200 ** 0.5


def test_fill_blends_the_passes_by_the_pixels_depth(monkeypatch):
    """The shipped inference (PASSES): deep in a hole the mean of the half and quarter-size passes, at its rim
    mostly the full-size pass, the weights linear in the depth in between; known pixels exact."""
    import torch
    monkeypatch.setattr(hardware, "cpu_computes_bf16", lambda: False)  # float32: the blend is then exact to 1e-6
    torch.manual_seed(0)
    model = GatedUNet(width=4, dilations=[2]).eval()
    torch.nn.init.normal_(model.to_rgb.weight, std=0.3)
    rgb = np.random.default_rng(2).random((160, 192, 3), dtype=np.float32)
    mask = np.zeros((160, 192), bool)
    mask[20:140, 40:160] = True  # 120 px square: its centre is 60 px deep, beyond DEEP_FROM
    assert inpainting.PASSES == ((1.0, 0.75, 0.0), (0.5, 0.25, 0.5), (0.25, 0.0, 0.5)) and inpainting.DEEP_FROM == 32
    blend = inpainting.fill_array(model, rgb, mask)
    full, half, quarter = (inpainting.fill_array(model, rgb, mask, passes=((s, 1.0, 1.0),)) for s in (1, 0.5, 0.25))
    assert np.abs(full - half)[mask].max() > 0.01 and np.abs(half - quarter)[mask].max() > 0.01
    assert np.allclose(blend[80, 100], (half[80, 100] + quarter[80, 100]) / 2, atol=1e-6)  # deep
    t = 1 / 32  # the rim row is 1 px deep
    rim = 0.75 * (1 - t) * full[20, 100] + (0.25 + 0.25 * t) * half[20, 100] + 0.5 * t * quarter[20, 100]
    assert np.allclose(blend[20, 100], rim, atol=1e-6)
    t = 16 / 32  # 16 px in from the top edge, far from the sides
    mid = 0.75 * (1 - t) * full[35, 100] + (0.25 + 0.25 * t) * half[35, 100] + 0.5 * t * quarter[35, 100]
    assert np.allclose(blend[35, 100], mid, atol=1e-6)
    assert np.allclose(inpainting.fill_array(model, rgb, mask, passes=inpainting.ONE_PASS), full)
    for out in (blend, full, half, quarter):
        assert np.array_equal(out[~mask], rgb[~mask])


# ----------------------------------------------------------------------------------------------
# The generative prior


@pytest.mark.parametrize("model", ["vae-mnist", "dcgan-fashion-mnist"])
def test_prior_fills_only_the_hole_reproducibly_with_progress(model):
    image = genimg.generate("vae-mnist", n=1, seed=1)[0]
    mask = box_mask(28, 28, 10, 0, 18, 28)
    seen = []
    out = genimg.inpaint(image, mask, model, seed=4, steps=12, progress=seen.append)
    assert out.size == (28, 28) and out.mode == "L"
    assert np.array_equal(np.asarray(out)[mask == 0], np.asarray(image)[mask == 0])
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    again = genimg.inpaint(image, mask, model, seed=4, steps=12)
    assert np.array_equal(np.asarray(out), np.asarray(again))


@pytest.mark.parametrize("model", ["flowmatch-mnist", "flow-mnist"])
def test_flow_priors_fill_only_the_hole_reproducibly(model):
    image = genimg.generate("vae-mnist", n=1, seed=1)[0]
    mask = box_mask(28, 28, 10, 0, 18, 28)
    out = genimg.inpaint(image, mask, model, seed=4, steps=3)
    assert out.size == (28, 28) and out.mode == "L"
    assert np.array_equal(np.asarray(out)[mask == 0], np.asarray(image)[mask == 0])
    assert np.array_equal(np.asarray(out), np.asarray(genimg.inpaint(image, mask, model, seed=4, steps=3)))
    assert model in genimg.inpaint_priors()


def test_prior_search_lowers_the_error_on_known_pixels():
    model = genimg.load("vae-mnist")
    target = genimg.generate("vae-mnist", n=1, seed=9)[0]
    target = np.asarray(target, np.float32) / 255
    import torch
    hole = torch.zeros(28, 28, dtype=torch.bool)
    hole[:, 14:] = True
    known = ~hole.numpy()

    def error(steps):
        out = genimg.api.inpainting.latent_search(model, torch.from_numpy(target), hole, seed=0, steps=steps).numpy()
        return float(((out - target) ** 2)[known].mean())

    assert error(60) < error(1)


def test_prior_on_a_larger_image_keeps_its_size():
    image = photo(56, 84, "RGB")
    mask = box_mask(56, 84, 20, 10, 50, 40)
    out = genimg.inpaint(image, mask, "vae-mnist", steps=3)
    assert out.size == (56, 84) and np.array_equal(np.asarray(out)[mask == 0], np.asarray(image)[mask == 0])


# ----------------------------------------------------------------------------------------------
# Training: the checkpoint holds the network only (never the VGG)


def test_checkpoint_has_no_vgg_weights_and_a_card(checkpoint_dir):
    path = Path(checkpoint_dir) / "inpaint-psnr-photos.safetensors"
    with safe_open(str(path), "pt") as f:
        keys = list(f.keys())
    assert keys and not any("vgg" in k or k.startswith("features.") for k in keys)
    card = genimg.api.load("inpaint-psnr-photos").card
    assert card["family"] == "inpaint" and "10-20%" in card["metrics"]
    assert path.stat().st_size < 10e6


def test_training_batches_are_a_pure_function_of_seed_and_step():
    from genimg import photos
    from genimg.families.inpaint.trainer import PhotoCrops
    folder = photos.synthetic_photos()
    a, b = PhotoCrops(folder, 32, 4, 0, 0, 1), PhotoCrops(folder, 32, 4, 0, 0, 1)
    (ia, ma), _ = a(7)
    (ib, mb), _ = b(7)
    assert np.array_equal(ia.numpy(), ib.numpy()) and np.array_equal(ma.numpy(), mb.numpy())
    (ic, _), _ = a(8)
    assert not np.array_equal(ia.numpy(), ic.numpy())
    assert ma.shape == (4, 1, 32, 32) and 0.05 <= float(ma.mean()) <= 0.5


def test_training_masks_cover_the_share_the_recipe_asks_for():
    """mask_ratio (low, high) bounds every training mask: the shipped fine-tunes draw 10-50 %, their base 5-50 %."""
    from genimg import photos
    from genimg.families.inpaint.trainer import PhotoCrops
    from genimg.registry import RECIPES as MODELS
    assert tuple(MODELS["inpaint-psnr"]["mask_ratio"]) == (0.1, 0.5)
    (images, holes), _ = PhotoCrops(photos.synthetic_photos(), 64, 6, 0, 0, 1, mask_ratio=(0.3, 0.5))(3)
    shares = holes.mean(dim=(1, 2, 3))
    assert holes.shape == (6, 1, 64, 64) and images.shape == (6, 3, 64, 64)
    assert bool(((shares >= 0.3) & (shares <= 0.5)).all()), shares


def test_recipes_fine_tune_the_base_network_in_turn(tmp_path):
    """MODELS["inpaint-256"] starts from inpaint-base's trained weights (a dry-run base here), and says so in its
    card; without the base checkpoint the error names the command that makes it. inpaint-l2 grows from
    inpaint-256 in turn, and the shipped recipe from inpaint-l2."""
    import torch

    from genimg import checkpoints
    from genimg.families.inpaint.trainer import InpaintTrainer
    from genimg.registry import FAMILIES
    from genimg.registry import RECIPES as MODELS
    from genimg.training import train
    assert MODELS["inpaint-psnr"]["grow_from"] == "inpaint-l2" and MODELS["inpaint-l2"]["grow_from"] == "inpaint-256"
    assert MODELS["inpaint-256"]["grow_from"] == "inpaint-base"
    spec = dict(MODELS["inpaint-256"], grow_from_dir=str(tmp_path))
    with pytest.raises(ValueError, match="python train.py inpaint-base --dataset photos"):
        InpaintTrainer(spec, FAMILIES["inpaint"], None, torch.device("cpu"), 1)
    train("inpaint-base", "photos", dry_run=True, out=tmp_path, run_dir=tmp_path / "run", quiet=True)
    trainer = InpaintTrainer(spec, FAMILIES["inpaint"], None, torch.device("cpu"), 1)
    base, card = checkpoints.load(tmp_path, "inpaint-base-photos")
    assert trainer.card_extras["grown_from"]["name"] == "inpaint-base-photos"
    assert trainer.card_extras["grown_from"]["sha256"] == card["sha256"]
    weights = trainer.model.state_dict()
    assert weights.keys() == base.keys() and all(torch.equal(weights[k], v) for k, v in base.items())
    with pytest.raises(ValueError, match="python train.py inpaint-256 --dataset photos"):
        InpaintTrainer(dict(MODELS["inpaint-l2"], grow_from_dir=str(tmp_path)), FAMILIES["inpaint"], None, torch.device("cpu"), 1)
    with pytest.raises(ValueError, match="python train.py inpaint-l2 --dataset photos"):
        InpaintTrainer(dict(MODELS["inpaint-psnr"], grow_from_dir=str(tmp_path)), FAMILIES["inpaint"], None, torch.device("cpu"), 1)
    shipped_card = genimg.load("inpaint-psnr-photos").card  # the conftest dry run of the last stage
    assert shipped_card["grown_from"]["name"] == "untrained (--dry-run)"


@pytest.mark.parametrize("pixel_loss", ["l1", "l2", "psnr"])
def test_pixel_loss_is_the_weighted_absolute_or_squared_error_or_per_photo_psnr(pixel_loss):
    """The step's loss is hole_weight x the hole's error + valid_weight x the rest's, both as means over all
    pixels: absolute for l1, squared for l2; for psnr (the shipped recipe's last stage) the hole's term is each
    photo's 10 log10 of its hole's mean squared error (minus its hole PSNR), averaged over the batch. Checked
    through the gradient the optimiser receives: plain SGD at lr 1 moves the last layer's bias by minus the loss's
    gradient."""
    import torch

    from genimg.families.inpaint.network import GatedUNet
    from genimg.families.inpaint.trainer import InpaintTrainer
    from genimg.registry import FAMILIES
    from genimg.registry import RECIPES as MODELS
    # valid_weight 0.5: the last stage's is 0 (the composite drops those pixels), but the term must count right
    spec = dict(MODELS["inpaint-psnr"], pixel_loss=pixel_loss, valid_weight=0.5, dry_run=True)
    trainer = InpaintTrainer(spec, FAMILIES["inpaint"], None, torch.device("cpu"), 1)
    trainer.optimizers["opt"] = torch.optim.SGD(trainer.model.parameters(), lr=1.0)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 16, 16, generator=generator)
    holes = (torch.rand(2, 1, 16, 16, generator=generator) > 0.6).float()
    reference = GatedUNet(**trainer.model.config)
    reference.load_state_dict(trainer.model.state_dict())
    error = reference.train()(images, holes) - images
    term = error.abs() if pixel_loss == "l1" else error ** 2
    if pixel_loss == "psnr":
        hole_term = torch.stack([10 * torch.log10(term[i][holes[i].expand(3, -1, -1) > 0].mean()
                                                  + InpaintTrainer.PSNR_CAP_MSE) for i in range(2)]).mean()
    else:
        hole_term = (holes * term).mean()
    loss = spec["hole_weight"] * hole_term + spec["valid_weight"] * ((1 - holes) * term).mean()
    loss.backward()
    before = trainer.model.to_rgb.bias.detach().clone()
    losses = trainer.step((images, holes), None, torch.autocast("cpu", enabled=False))
    assert ("hole_l2" in losses) == (pixel_loss == "l2") and ("hole_psnr" in losses) == (pixel_loss == "psnr")
    assert torch.allclose(before - trainer.model.to_rgb.bias.detach(), reference.to_rgb.bias.grad, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# The tab, directly and through gradio_client


def editor_value(image: np.ndarray, mask: np.ndarray) -> dict:
    layer = np.zeros(mask.shape + (4,), np.uint8)
    layer[mask > 0] = (255, 255, 255, 255)
    background = np.concatenate([image, np.full(mask.shape + (1,), 255, np.uint8)], axis=2)
    return {"background": background, "layers": [layer], "composite": None}


def test_tab_functions_directly():
    from genimg.ui import inpaint as tab
    with pytest.raises(gr.Error, match="Open a photo"):
        tab.inpaint_image(None, "Photo: texture", 0)
    with pytest.raises(gr.Error, match="Choose a model"):
        tab.inpaint_image(editor_value(np.asarray(photo()), box_mask()), "nonsense", 0)
    image = np.asarray(photo())
    original, mask_png, result, download, info = tab.inpaint_image(editor_value(image, box_mask()), "Photo: smooth", 0)
    assert np.array_equal(np.asarray(Image.open(mask_png)) > 0, box_mask() > 0)
    assert np.array_equal(np.asarray(Image.open(result))[box_mask() == 0], image[box_mask() == 0])
    sample = tab.new_sample("VAE prior (MNIST digit)", 3)
    assert sample["background"].shape == (280, 280, 3)
    first, drawn = tab.next_sample("VAE prior (MNIST digit)", 3, 0)
    second, drawn = tab.next_sample("VAE prior (MNIST digit)", 3, drawn)
    assert drawn == 2 and not np.array_equal(first["background"], second["background"])  # a new one each click
    assert tab.prior_controls("Photo: texture")[0]["visible"] is False  # no New sample to wipe a photo with
    assert tab.prior_controls("VAE prior (MNIST digit)")[0]["visible"] is True


def test_open_photo_shrinks_big_photos_on_the_server(tmp_path):
    from genimg.ui import inpaint as tab
    Image.new("RGB", (3000, 1500), (200, 100, 50)).save(tmp_path / "big.jpg")
    value, note = tab.open_photo(str(tmp_path / "big.jpg"))
    assert value["background"].shape == (tab.EDITOR_SIDE // 2, tab.EDITOR_SIDE, 4) and value["layers"] == []
    assert "3000x1500" in note
    value, note = tab.open_photo(str(ROOT / "examples" / "chelsea.png"))
    assert note == "" and value["background"].shape[:2] == np.asarray(Image.open(ROOT / "examples" / "chelsea.png")).shape[:2]
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(gr.Error, match="not an image"):
        tab.open_photo(str(tmp_path / "notes.png"))
    with pytest.raises(gr.Error, match="Choose a photo"):
        tab.open_photo(None)


def test_app_through_gradio_client(tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    sys.path.insert(0, str(ROOT))
    import app

    port = free_port()
    photo(48, 32).save(tmp_path / "photo.png")
    layer = np.zeros((32, 48, 4), np.uint8)
    layer[4:12, 4:20] = 255
    Image.fromarray(layer, "RGBA").save(tmp_path / "layer.png")
    Image.fromarray(np.zeros((32, 48, 4), np.uint8), "RGBA").save(tmp_path / "empty.png")
    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                            show_error=True)
    client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
    try:
        value = {"background": handle_file(str(tmp_path / "photo.png")),
                 "layers": [handle_file(str(tmp_path / "layer.png"))], "composite": None}
        original, mask_png, result, download, info = client.predict(value, "Photo: texture", 0, api_name="/inpaint")
        with Image.open(result) as out, Image.open(tmp_path / "photo.png") as source:
            assert out.size == (48, 32)
            known = layer[..., 3] == 0
            assert np.array_equal(np.asarray(out.convert("RGB"))[known], np.asarray(source)[known])
        with Image.open(mask_png) as mask:
            assert np.array_equal(np.asarray(mask) > 0, ~known)
        assert "inpaint-psnr-photos" in info
        # Paint on the result, then Undo: the editor gets the filled image, then the one it was filled from.
        again, note = client.predict(handle_file(result), handle_file(original), api_name="/inpaint_again")
        with Image.open(again["background"]) as shown, Image.open(result) as out:
            assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(out.convert("RGB")))
        assert "1 kept" in note
        back, note = client.predict(api_name="/inpaint_undo")
        with Image.open(back["background"]) as shown, Image.open(tmp_path / "photo.png") as source:
            assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(source))
        with pytest.raises(AppError, match="Nothing to undo"):
            client.predict(api_name="/inpaint_undo")
        empty = {"background": handle_file(str(tmp_path / "photo.png")),
                 "layers": [handle_file(str(tmp_path / "empty.png"))], "composite": None}
        *_, info = client.predict(empty, "Photo: smooth", 0, api_name="/inpaint")
        assert "mask is empty" in info
        with pytest.raises(AppError, match="Open a photo"):
            client.predict({"background": None, "layers": [], "composite": None}, "Photo: texture", 0,
                           api_name="/inpaint")
        # Refused from the header, before any pixel is decoded: a 12000x12000 PNG (a few hundred KB) and a text
        # file named .png.
        Image.new("L", (12000, 12000)).save(tmp_path / "huge.png")
        (tmp_path / "text.png").write_text("not a picture")
        for name, message in (("huge.png", "12000x12000"), ("text.png", "not an image")):
            with pytest.raises(AppError, match=message):
                client.predict({"background": handle_file(str(tmp_path / name)), "layers": [], "composite": None},
                               "Photo: texture", 0, api_name="/inpaint")
    finally:
        client.close()
        demo.close()
