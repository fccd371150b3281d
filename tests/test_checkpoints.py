"""Checkpoint files: round trip, cards, and every way a checkpoint can be broken."""
import json
import shutil

import pytest
import torch

import genimg
from genimg import checkpoints, registry
from genimg.checkpoints import CARD_KEYS, CheckpointError

CARD = {"family": "vae", "config": {"z_dim": 2, "width": 4}, "dataset": "mnist", "steps": 1, "wall_time_s": 0.1,
        "device": "CPU", "command": "python train.py vae2d", "metrics": {}, "genimg_version": genimg.__version__}


def tensors():
    g = torch.Generator().manual_seed(0)
    return {"a.weight": torch.randn(3, 4, generator=g), "b.bias": torch.arange(5, dtype=torch.int64)}


def test_round_trip_keeps_tensors_and_fills_the_card(tmp_path):
    state = tensors()
    path = checkpoints.save(tmp_path, "m", state, CARD)
    assert path == tmp_path / "m.safetensors"
    loaded, card = checkpoints.load(tmp_path, "m")
    assert loaded.keys() == state.keys()
    for key in state:
        assert torch.equal(loaded[key], state[key])
    assert set(CARD_KEYS) <= set(card)
    assert card["name"] == "m" and card["size_bytes"] == path.stat().st_size
    assert card["sha256"] == checkpoints.sha256(path) and len(card["sha256"]) == 64
    assert card["config"] == CARD["config"] and card["command"] == CARD["command"]
    assert checkpoints.list_names(tmp_path) == ["m"]


def test_no_temporary_files_left_after_save(tmp_path):
    checkpoints.save(tmp_path, "m", tensors(), CARD)
    checkpoints.save(tmp_path, "m", tensors(), CARD)  # overwriting too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def failing(tmp):
        open(tmp, "w").write("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        checkpoints.atomic_write(target, failing)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_file_over_10_mb_is_refused(tmp_path):
    big = {"w": torch.zeros(3 * 1024 * 1024)}  # 12 MB of float32
    with pytest.raises(CheckpointError, match="10 MB"):
        checkpoints.save(tmp_path, "big", big, CARD)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_weights(tmp_path):
    path = checkpoints.save(tmp_path, "m", tensors(), CARD)
    raw = bytearray(path.read_bytes())
    raw[-8:] = bytes(b ^ 0xFF for b in raw[-8:])
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupt"):
        checkpoints.load(tmp_path, "m")


def test_missing_weights(tmp_path):
    checkpoints.save(tmp_path, "m", tensors(), CARD).unlink()
    with pytest.raises(CheckpointError, match="weights .* missing"):
        checkpoints.load(tmp_path, "m")


def test_missing_card(tmp_path):
    checkpoints.save(tmp_path, "m", tensors(), CARD)
    (tmp_path / "m.json").unlink()
    with pytest.raises(CheckpointError, match="card .* missing"):
        checkpoints.load(tmp_path, "m")


@pytest.mark.parametrize("text, message", [("{not json", "not valid JSON"), ("[1, 2]", "lacks"),
                                           ('{"family": "vae"}', "lacks .*config")])
def test_bad_card(tmp_path, text, message):
    checkpoints.save(tmp_path, "m", tensors(), CARD)
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(CheckpointError, match=message):
        checkpoints.load(tmp_path, "m")


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


# ---- through the API, with real (dry-run) model checkpoints -----------------------------------


@pytest.fixture
def own_copy(dry_run_dir, tmp_path):
    """A private copy of the dry-run checkpoints that a test may break; the API points at it meanwhile."""
    folder = tmp_path / "ckpt"
    shutil.copytree(dry_run_dir, folder)
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(folder)
    yield folder
    genimg.set_checkpoint_dir(previous)


def test_card_that_does_not_match_the_tensors(own_copy):
    card_path = own_copy / "vae-mnist.json"
    card = json.loads(card_path.read_text())
    card["config"]["width"] = 16  # the weights are for width 32
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="do not match"):
        genimg.load("vae-mnist")


def test_card_with_an_unknown_config_key(own_copy):
    card_path = own_copy / "dcgan-mnist.json"
    card = json.loads(card_path.read_text())
    card["config"]["layers"] = 9
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="config is not valid"):
        genimg.load("dcgan-mnist")


def test_loaded_model_matches_its_card(own_copy):
    model = genimg.load("cgan-fashion-mnist")
    assert model.family == "cgan" and model.dataset == "fashion-mnist" and model.conditional
    assert model.classes[7] == "Sneaker"
    assert not model.module.training
    assert all(not p.requires_grad for p in model.module.parameters())
    assert genimg.load("cgan-fashion-mnist") is model  # cached
    assert genimg.find("cgan", "fashion-mnist") is model


def test_models_lists_a_broken_checkpoint_as_unavailable(own_copy):
    path = own_copy / "vae-mnist.safetensors"
    path.write_bytes(path.read_bytes()[:-16])
    (own_copy / "cgan-mnist.json").unlink()  # a card deleted: its weights are not served, and that is said
    listing = genimg.models()
    assert list(listing) == registry.RELEASES  # every release, broken, missing or not, and nothing else
    broken = listing["vae-mnist"]
    assert broken["available"] is False and "corrupt" in broken["error"]
    assert listing["cgan-mnist"]["available"] is False and "cgan-mnist" in listing["cgan-mnist"]["error"]
    present = {p.stem for p in own_copy.glob("*.json")}
    for name, entry in listing.items():
        if name in present and name != "vae-mnist":
            assert entry["available"] is True and entry["error"] is None, name
        if name not in present:
            assert entry["available"] is False, name
    assert listing["vae2d-mnist"]["family"] == "vae2d" and listing["vae2d-mnist"]["dataset"] == "mnist"
    assert "test_neg_elbo_nats" in listing["vae2d-mnist"]["metrics"]
    assert genimg.generate("vae2d-mnist", n=1)  # the others still work
