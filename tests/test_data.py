"""Finding Fashion-MNIST / MNIST on disk, with synthetic files (never the real datasets, never the network)."""
import gzip
import shutil

import numpy as np
import pytest
import torch

import genimg.data as data
from genimg.data import IDX_FILES, load, read_idx, to_float, write_idx


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    """No GENIMG_DATA, an empty download cache and Debian paths that do not exist: only what a test writes counts."""
    monkeypatch.delenv("GENIMG_DATA", raising=False)
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setattr(data, "CACHE_DIR", empty)
    for name in data.DATASETS:
        monkeypatch.setitem(data.DATASETS[name], "debian", str(tmp_path / "no-debian" / name))


def synthetic_arrays(seed=0, n_train=60, n_test=20):
    rng = np.random.default_rng(seed)
    return {"train": (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8)),
            "test": (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8))}


def write_idx_folder(folder, arrays):
    folder.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in IDX_FILES.items():
        write_idx(folder / f"{images}.gz", arrays[split][0])
        write_idx(folder / f"{labels}.gz", arrays[split][1])
    return folder


def assert_matches(dataset, arrays):
    assert dataset.train_images.dtype == torch.uint8 and dataset.train_labels.dtype == torch.int64
    assert dataset.train_images.shape == (60, 28, 28) and dataset.test_images.shape == (20, 28, 28)
    assert torch.equal(dataset.train_images, torch.from_numpy(arrays["train"][0]))
    assert torch.equal(dataset.train_labels, torch.from_numpy(arrays["train"][1].astype(np.int64)))
    assert torch.equal(dataset.test_images, torch.from_numpy(arrays["test"][0]))
    assert torch.equal(dataset.test_labels, torch.from_numpy(arrays["test"][1].astype(np.int64)))


def test_idx_files_directly_in_the_data_folder(tmp_path):
    arrays = synthetic_arrays()
    write_idx_folder(tmp_path / "d", arrays)
    dataset = load("fashion-mnist", data=tmp_path / "d", download=False)
    assert_matches(dataset, arrays)
    assert dataset.classes[9] == "Ankle boot" and dataset.name == "fashion-mnist"
    assert dataset.source == str(tmp_path / "d")


def test_idx_files_in_a_folder_named_after_the_dataset(tmp_path):
    arrays = synthetic_arrays(1)
    write_idx_folder(tmp_path / "fashion-mnist", arrays)
    write_idx_folder(tmp_path / "mnist", synthetic_arrays(2))  # the other dataset is not picked up
    assert_matches(load("fashion-mnist", data=tmp_path, download=False), arrays)


def test_uncompressed_idx_in_torchvision_raw_layout(tmp_path):
    arrays = synthetic_arrays(3)
    raw = write_idx_folder(tmp_path / "MNIST" / "raw", arrays)
    for gz in raw.glob("*.gz"):
        with gzip.open(gz) as src, open(gz.with_suffix(""), "wb") as dst:
            shutil.copyfileobj(src, dst)
        gz.unlink()
    assert_matches(load("mnist", data=tmp_path, download=False), arrays)


def test_npz_archive(tmp_path):
    arrays = synthetic_arrays(4)
    np.savez(tmp_path / "mnist.npz", x_train=arrays["train"][0], y_train=arrays["train"][1],
             x_test=arrays["test"][0], y_test=arrays["test"][1])
    dataset = load("mnist", data=tmp_path, download=False)
    assert_matches(dataset, arrays)
    assert dataset.source.endswith("mnist.npz")
    # A bare mnist.npz is MNIST: it must not be taken for Fashion-MNIST.
    with pytest.raises(FileNotFoundError):
        load("fashion-mnist", data=tmp_path, download=False)


def test_genimg_data_environment_variable(tmp_path, monkeypatch):
    arrays = synthetic_arrays(5)
    write_idx_folder(tmp_path / "env" / "mnist", arrays)
    monkeypatch.setenv("GENIMG_DATA", str(tmp_path / "env"))
    assert_matches(load("mnist", download=False), arrays)


def test_data_argument_comes_before_genimg_data(tmp_path, monkeypatch):
    first, second = synthetic_arrays(6), synthetic_arrays(7)
    write_idx_folder(tmp_path / "arg", first)
    write_idx_folder(tmp_path / "env", second)
    monkeypatch.setenv("GENIMG_DATA", str(tmp_path / "env"))
    assert_matches(load("mnist", data=tmp_path / "arg", download=False), first)


def test_read_idx_round_trip_and_truncated_file(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "x.gz", array)
    assert np.array_equal(read_idx(tmp_path / "x.gz"), array)
    raw = gzip.decompress((tmp_path / "x.gz").read_bytes())
    (tmp_path / "cut.gz").write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "cut.gz")


def test_truncated_file_in_a_dataset_folder_raises_value_error(tmp_path):
    write_idx_folder(tmp_path, synthetic_arrays())
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(ValueError, match="truncated"):
        load("mnist", data=tmp_path, download=False)


def test_not_an_idx_file(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 this is a zip")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(tmp_path / "bad")


def test_labels_that_do_not_match_the_images(tmp_path):
    arrays = synthetic_arrays()
    arrays["train"] = (arrays["train"][0], arrays["train"][1][:50])
    write_idx_folder(tmp_path, arrays)
    with pytest.raises(ValueError, match="labels"):
        load("mnist", data=tmp_path, download=False)


def test_missing_dataset_names_every_place_looked(tmp_path, monkeypatch):
    (tmp_path / "arg").mkdir()
    monkeypatch.setenv("GENIMG_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        load("fashion-mnist", data=tmp_path / "arg", download=False)
    message = str(info.value)
    assert "fashion-mnist" in message
    assert f"--data: {tmp_path / 'arg'}" in message
    assert f"GENIMG_DATA: {tmp_path / 'env'}" in message
    assert f"Debian package: {data.DATASETS['fashion-mnist']['debian']}" in message
    assert f"download cache: {data.CACHE_DIR}" in message
    assert "train-images-idx3-ubyte.gz" in message  # says what to provide


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="Unknown dataset 'cifar10'"):
        load("cifar10", download=False)


def test_to_float_scales_to_unit_range():
    x = to_float(torch.tensor([[[0, 255]]], dtype=torch.uint8).expand(1, 28, 2))
    assert x.shape == (1, 1, 28, 2) and x.dtype == torch.float32
    assert x.min() == 0 and x.max() == 1


def test_emoji_load_by_category_with_both_artists_and_skin_tones_in_one_split(tmp_path):
    """Twemoji keeps FE0F in its file names, Noto drops it; skin tones are the same emoji; a test emoji is in the
    test split under both artists; Component (skin swatches) is left out."""
    import json
    import zlib

    from PIL import Image

    from genimg import data as datasets
    folder = tmp_path / "emoji"
    (folder / "twemoji").mkdir(parents=True)
    (folder / "noto").mkdir()
    entries = [("263A-FE0F", "Smileys & Emotion"), ("1F44B", "People & Body"), ("1F1EC-1F1E7", "Flags"),
               ("1F3FB", "Component")] + [(f"1F{k:03X}", "Objects") for k in range(300, 340)]
    (folder / "emoji.json").write_text(json.dumps([{"unified": u, "category": c} for u, c in entries]))
    for unified, _ in entries:
        codes = unified.lower()
        Image.new("RGBA", (64, 64), (255, 0, 0, 128)).save(folder / "twemoji" / f"{codes}.png")
        noto = codes.replace("-fe0f", "").replace("-", "_")
        Image.new("RGBA", (128, 128), (0, 0, 255, 255)).save(folder / "noto" / f"emoji_u{noto}.png")
    Image.new("RGBA", (64, 64)).save(folder / "twemoji" / "1f44b-1f3fd.png")  # a skin tone of the wave
    emoji = datasets.load("emoji", tmp_path)
    assert emoji.classes == datasets.EMOJI_CATEGORIES and emoji.train_images.shape[1:] == (32, 32, 3)
    assert len(emoji.train_images) + len(emoji.test_images) == 2 * 43 + 1  # no Component, the wave's tone in
    test_keys = [u.lower() for u, c in entries if c != "Component" and zlib.crc32(u.lower().replace("-fe0f", "")
                                                                               .encode()) % 10 == 0]
    assert len(emoji.test_images) == 2 * len(test_keys) > 0
    assert emoji.train_images[..., 0].float().mean() > 100  # transparent pixels became white, not black
