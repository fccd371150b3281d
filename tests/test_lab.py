"""The training lab: live runs on one's own pictures, stop, the checkpoint, upload checks, knobs, the endpoint."""
import threading
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import genimg
from genimg import data as datasets
from genimg.families.gan import GAN_LOSSES, discriminator_loss, generator_loss


def pictures(folder, n=20, side=40, colour=True, start=0):
    """n little pictures: a coloured disc on white at a place that depends on k (colour) or a grey bar (grey)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    yy, xx = np.mgrid[:side, :side]
    for k in range(start, start + n):
        if colour:
            disc = (xx - 10 - k % 20) ** 2 + (yy - 20) ** 2 < 64
            array = np.full((side, side, 3), 255, np.uint8)
            array[disc] = [(40 * k) % 256, 120, 200]
            image = Image.fromarray(array, "RGB")
        else:
            image = Image.fromarray(((np.abs(xx - 5 - k % 30) < 3) * 255).astype(np.uint8), "L")
        path = folder / f"p{k:03d}.png"
        image.save(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def colour_pictures(tmp_path_factory):
    return pictures(tmp_path_factory.mktemp("colour"), 20)


@pytest.mark.parametrize("family", list(genimg.LAB))
def test_a_short_run_streams_grids_and_losses_and_leaves_a_loadable_checkpoint(family, colour_pictures, tmp_path):
    updates = list(genimg.train_live(family, colour_pictures, seconds=60, max_steps=8, update_seconds=0.5,
                                     batch_size=16, side=32, out=tmp_path))
    last = updates[-1]
    assert last.done and last.step == 8 and not last.stopped and last.checkpoint.is_file()
    assert all(not u.done for u in updates[:-1]) and [u.step for u in updates] == sorted(u.step for u in updates)
    assert last.grid.mode == "RGB" and last.grid.width > 8 * 32  # an 8 x 8 grid of 32 px colour pictures
    assert last.losses and all(len(points) >= 1 for points in last.losses.values())
    model = genimg.load(str(last.checkpoint))
    assert model.card["config"]["channels"] == 3 and model.card["config"]["side"] == 32 and model.card["steps"] == 8
    images = genimg.generate(model, n=3, seed=1)
    assert [(im.size, im.mode) for im in images] == [((32, 32), "RGB")] * 3
    again = genimg.generate(model, n=3, seed=1)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(images, again))
    genimg.forget(str(last.checkpoint))


def test_stop_ends_the_run_early_and_still_saves_it(colour_pictures, tmp_path):
    stop = threading.Event()
    run = genimg.train_live("vae", colour_pictures, seconds=60, update_seconds=0.5, batch_size=16, side=28,
                            out=tmp_path, stop=stop)
    first = next(run)
    assert not first.done
    stop.set()
    last = list(run)[-1]
    assert last.done and last.stopped and last.checkpoint.is_file() and last.seconds < 30
    assert genimg.load(str(last.checkpoint)).card["config"]["side"] == 28


def test_own_pictures_become_a_data_set_in_the_chosen_size_and_colour(colour_pictures, tmp_path):
    coloured = datasets.own_images(colour_pictures, 28, "auto")
    assert coloured.train_images.shape == (20, 28, 28, 3) and coloured.train_images.dtype == torch.uint8
    grey = datasets.own_images(colour_pictures, 32, "grayscale")
    assert grey.train_images.shape == (20, 32, 32)
    with zipfile.ZipFile(tmp_path / "mine.zip", "w") as archive:
        for path in colour_pictures:
            archive.write(path, f"folder/{path.rsplit('/', 1)[-1]}")  # one folder inside the zip is fine
    assert datasets.own_images([str(tmp_path / "mine.zip")], 28).train_images.shape == (20, 28, 28, 3)
    x = datasets.to_float(coloured.train_images[:2])
    assert x.shape == (2, 3, 28, 28) and 0 <= x.min() and x.max() <= 1


def test_bad_uploads_get_a_message_naming_the_problem(colour_pictures, tmp_path):
    grey = pictures(tmp_path / "grey", 4, colour=False)
    cases = {
        "at least 16": colour_pictures[:5],
        "not an image": colour_pictures + [str(tmp_path / "notes.txt")],
        "grayscale: choose Colour or Grayscale": colour_pictures + grey,
        "folders deep": [str(tmp_path / "nested.zip")],
        "another zip": [str(tmp_path / "zips.zip")],
        "megapixels": colour_pictures + [str(tmp_path / "huge.png")],
        "at most 2,000": [str(tmp_path / "many.zip")],
    }
    (tmp_path / "notes.txt").write_text("not a picture")
    with zipfile.ZipFile(tmp_path / "nested.zip", "w") as archive:
        for path in colour_pictures:
            archive.write(path, f"a/b/{path.rsplit('/', 1)[-1]}")
    with zipfile.ZipFile(tmp_path / "zips.zip", "w") as archive:
        archive.write(tmp_path / "nested.zip", "inner.zip")
    Image.new("L", (4200, 4200)).save(tmp_path / "huge.png")
    with zipfile.ZipFile(tmp_path / "many.zip", "w") as archive:
        for k in range(2001):
            archive.writestr(f"{k}.png", b"")
    for message, files in cases.items():
        with pytest.raises(ValueError, match=message):
            datasets.own_images(files, 28, "auto")
    with pytest.raises(ValueError, match="Give 16 to 2,000"):
        datasets.own_images([], 28)


def test_a_zip_bomb_is_refused_from_its_directory_before_unpacking(tmp_path, monkeypatch, colour_pictures):
    monkeypatch.setattr(datasets, "MAX_OWN_BYTES", 2**20)
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in colour_pictures:
            archive.write(path, path.rsplit("/", 1)[-1])
        archive.writestr("zeros.png", bytes(2 * 2**20))  # 2 MB of zeros: a few kB packed
    assert (tmp_path / "bomb.zip").stat().st_size < 2**16
    with pytest.raises(ValueError, match="unpacks to more than 1 MB"):
        datasets.own_images([str(tmp_path / "bomb.zip")], 28)


@pytest.mark.parametrize("kwargs, message", [
    (dict(family="unet"), "The lab trains dcgan, vae, flowmatch"),
    (dict(lr=5), "learning rate must be from"), (dict(lr="fast"), "learning rate must be a number"),
    (dict(batch_size=48), "batch size is one of 16, 32, 64, 128, 256"),
    (dict(loss="wasserstein"), "hinge, non-saturating, minimax"),
    (dict(family="vae", spectral_norm=False), "knobs of the GAN"),
    (dict(seconds=5), "time budget"), (dict(seconds=6000), "time budget"),
    (dict(data="cifar"), "mnist or fashion-mnist, or your own image files"),
    (dict(data="mnist", side=32), "28x28 grayscale"),
])
def test_out_of_range_knobs_get_a_clear_message(kwargs, message):
    args = dict(dict(family="dcgan", data="mnist", seconds=60), **kwargs)
    with pytest.raises(ValueError, match=message):
        next(genimg.train_live(args.pop("family"), args.pop("data"), args.pop("seconds"), **args))


def test_the_gan_losses_point_the_right_way():
    real, fake = torch.tensor([3.0, 2.0]), torch.tensor([-3.0, -2.0])  # a discriminator that is right
    for loss in GAN_LOSSES:
        assert discriminator_loss(real, fake, loss) < discriminator_loss(fake, real, loss)
        # the generator's loss falls as its images score as more real
        assert generator_loss(fake + 1, loss) < generator_loss(fake, loss)
    # minimax saturates: where the discriminator rejects the fakes, its gradient nearly vanishes
    scores = torch.tensor([-8.0], requires_grad=True)
    generator_loss(scores, "minimax").backward()
    saturated = scores.grad.abs().item()
    scores.grad = None
    generator_loss(scores, "non-saturating").backward()
    assert saturated < 1e-3 < scores.grad.abs().item()


def test_knobs_reach_the_networks(colour_pictures, tmp_path):
    recipe = genimg.lab_recipe("dcgan", lr=1e-3, batch_size=32, ema=False, spectral_norm=False, loss="minimax")
    assert recipe["ema_decay"] == 0 and not recipe["spectral_norm"] and recipe["constant_lr"]
    from genimg.registry import FAMILIES
    family = FAMILIES["dcgan"]
    recipe["config"] = {"channels": 3, "side": 32}
    data_set = datasets.own_images(colour_pictures, 32)
    trainer = family.trainer(recipe, family, data_set, torch.device("cpu"), 1)
    assert not any("parametrizations" in name for name, _ in trainer.discriminator.named_parameters())
    assert trainer.discriminator.features[0].in_channels == 3 and trainer.generator.config["side"] == 32


def test_the_gan_takes_its_image_size_colour_and_classes_from_the_data(colour_pictures):
    """A class-conditional GAN on colour 32 px pictures of 9 classes (the emoji's shape) gets a 3-channel, 32 px,
    9-class generator and discriminator, with nothing in the recipe saying so."""
    from genimg.registry import FAMILIES, RECIPES
    family = FAMILIES["cgan"]
    data_set = datasets.own_images(colour_pictures, 32)
    data_set.classes = [f"class {k}" for k in range(9)]
    data_set.train_labels = torch.arange(len(data_set.train_labels)) % 9
    recipe = dict(RECIPES["cgan"], aux_class_weight=1.0, dataset="own")
    trainer = family.trainer(recipe, family, data_set, torch.device("cpu"), 1)
    assert trainer.generator.config == {"z_dim": 64, "width": 32, "num_classes": 9, "channels": 3, "side": 32}
    x, labels = datasets.to_float(data_set.train_images[:8]), data_set.train_labels[:8]
    losses = trainer.step(x, labels, torch.autocast("cpu", enabled=False))
    assert set(losses) >= {"loss_d", "loss_g", "aux_d", "aux_g"}
    assert trainer.samples().shape == (72, 3, 32, 32)


def test_the_classifier_takes_its_image_size_and_colour_from_the_data(colour_pictures):
    from genimg.registry import FAMILIES, RECIPES
    family = FAMILIES["classifier"]
    data_set = datasets.own_images(colour_pictures, 32)
    data_set.classes = ["a", "b", "c"]
    data_set.train_labels = torch.arange(len(data_set.train_labels)) % 3
    trainer = family.trainer(dict(RECIPES["classifier"], dataset="own"), family, data_set, torch.device("cpu"), 1)
    assert trainer.model.config["channels"] == 3 and trainer.model.config["side"] == 32
    x = datasets.to_float(data_set.train_images[:8])
    assert trainer.model.eval()(x).shape == (8, 3) and trainer.model.features(x).shape == (8, 128)
