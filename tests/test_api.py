"""The public API (genimg.generate / interpolate / manifold / classify) on dry-run checkpoints."""
import math

import numpy as np
import pytest
import torch

import genimg
from genimg import checkpoints

pytestmark = pytest.mark.usefixtures("checkpoint_dir")
GENERATORS = ["dcgan-mnist", "cgan-fashion-mnist", "vae-fashion-mnist", "vae2d-mnist"]


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def same(a, b, tolerance=0):
    return np.abs(pixels(a) - pixels(b)).max() <= tolerance


@pytest.fixture(scope="module")
def distinct_classes_dir(dry_run_dir, tmp_path_factory):
    """The dry-run cgan with per-class batch-norm scales and shifts spread apart (6 steps barely move them),
    so that the class visibly changes the images."""
    folder = tmp_path_factory.mktemp("distinct-classes")
    state, card = checkpoints.load(dry_run_dir, "cgan-fashion-mnist")
    g = torch.Generator().manual_seed(0)
    for key in state:
        if key.endswith(("gain.weight", "bias.weight")):
            state[key] = state[key] + 0.5 * torch.randn(state[key].shape, generator=g)
    checkpoints.save(folder, "cgan-fashion-mnist", state, card)
    return folder


@pytest.fixture
def cgan(distinct_classes_dir):
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(distinct_classes_dir)
    yield "cgan-fashion-mnist"
    genimg.set_checkpoint_dir(previous)


# ---- generate -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATORS)
def test_generate_returns_n_grayscale_28x28_images(name):
    images = genimg.generate(name, n=5, seed=3)
    assert len(images) == 5
    assert all(im.size == (28, 28) and im.mode == "L" for im in images)


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_images_other_seed_other_images(name):
    first, again, other = (genimg.generate(name, n=4, seed=s) for s in (7, 7, 8))
    assert all(same(a, b) for a, b in zip(first, again))
    assert not all(same(a, b) for a, b in zip(first, other))
    assert not same(first[0], first[1])  # the images of one seed differ from each other too


def test_model_object_and_name_are_interchangeable():
    model = genimg.load("vae-mnist")
    assert all(same(a, b) for a, b in zip(genimg.generate(model, 3, 1), genimg.generate("vae-mnist", 3, 1)))


def test_gradio_style_numbers_are_accepted():
    a = genimg.generate("dcgan-mnist", n=2.0, seed="5")
    b = genimg.generate("dcgan-mnist", n=2, seed=5)
    assert len(a) == 2 and all(same(x, y) for x, y in zip(a, b))


def test_cgan_label_by_index_and_by_name(cgan):
    by_index = genimg.generate(cgan, n=3, seed=1, label=7)
    by_name = genimg.generate(cgan, n=3, seed=1, label="Sneaker")
    by_string_index = genimg.generate(cgan, n=3, seed=1, label="7")
    other = genimg.generate(cgan, n=3, seed=1, label=0)
    assert all(same(a, b) and same(a, c) for a, b, c in zip(by_index, by_name, by_string_index))
    assert not any(same(a, b) for a, b in zip(by_index, other))


def test_cgan_without_label_cycles_through_the_classes(cgan):
    cycled = genimg.generate(cgan, n=12, seed=2)
    for k in (0, 3, 9):
        assert same(cycled[k], genimg.generate(cgan, n=12, seed=2, label=k)[k], tolerance=1)
    assert same(cycled[10], genimg.generate(cgan, n=12, seed=2, label=0)[10], tolerance=1)


def test_cgan_label_errors(cgan):
    with pytest.raises(ValueError, match="Unknown class 'Hat'.*Sneaker"):
        genimg.generate(cgan, n=1, label="Hat")
    with pytest.raises(ValueError, match="class must be from 0 to 9"):
        genimg.generate(cgan, n=1, label=10)


def test_label_on_an_unconditional_model():
    with pytest.raises(ValueError, match="not conditional"):
        genimg.generate("dcgan-mnist", n=1, label=3)
    with pytest.raises(ValueError, match="not conditional"):
        genimg.generate("vae-mnist", n=1, label="3")


@pytest.mark.parametrize("n", [0, 65, "abc", 2.5, None, float("inf")])
def test_bad_number_of_images(n):
    with pytest.raises(ValueError, match="number of images"):
        genimg.generate("dcgan-mnist", n=n)


@pytest.mark.parametrize("seed", [-1, "x", float("nan"), 2**31, 1.5])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        genimg.generate("vae-mnist", n=1, seed=seed)


@pytest.mark.parametrize("truncation", [0.0, 5, "wide", float("nan")])
def test_truncation_out_of_range(truncation):
    with pytest.raises(ValueError, match="truncation"):
        genimg.generate("dcgan-mnist", n=1, truncation=truncation)


@pytest.mark.parametrize("temperature", [-0.5, 3.5, float("inf"), "hot"])
def test_temperature_out_of_range(temperature):
    with pytest.raises(ValueError, match="temperature"):
        genimg.generate("vae-mnist", n=1, temperature=temperature)


def test_truncation_is_for_gans_and_temperature_for_vaes():
    with pytest.raises(ValueError, match="takes temperature, not truncation"):
        genimg.generate("vae-mnist", n=2, truncation=1.0)
    with pytest.raises(ValueError, match="takes truncation, not temperature"):
        genimg.generate("dcgan-mnist", n=2, temperature=0.5)


def test_truncation_and_temperature_change_the_images():
    plain = genimg.generate("dcgan-mnist", n=4, seed=0)
    truncated = genimg.generate("dcgan-mnist", n=4, seed=0, truncation=0.2)
    assert not all(same(a, b) for a, b in zip(plain, truncated))
    cold = genimg.generate("vae-mnist", n=4, seed=0, temperature=0)
    assert all(same(cold[0], im) for im in cold)  # temperature 0: every code is the origin
    assert not all(same(a, b) for a, b in zip(cold, genimg.generate("vae-mnist", n=4, seed=0)))


def test_generate_refuses_a_classifier():
    with pytest.raises(ValueError, match="not a generator"):
        genimg.generate("classifier-mnist", n=1)


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ValueError) as info:
        genimg.generate("stylegan-mnist", n=1)
    message = str(info.value)
    assert "stylegan-mnist" in message
    for name in ("dcgan-mnist", "cgan-fashion-mnist", "vae2d-mnist", "classifier-fashion-mnist"):
        assert name in message


@pytest.mark.parametrize("name", [None, "", 3])
def test_model_name_must_be_a_string(name):
    with pytest.raises(ValueError, match="model name"):
        genimg.load(name)


# ---- interpolate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dcgan-mnist", "vae-fashion-mnist"])
@pytest.mark.parametrize("mode", ["spherical", "linear"])
def test_interpolation_ends_at_the_two_seeds(name, mode):
    frames = genimg.interpolate(name, seed_a=3, seed_b=11, steps=7, mode=mode)
    assert len(frames) == 7 and all(f.size == (28, 28) and f.mode == "L" for f in frames)
    assert same(frames[0], genimg.generate(name, 1, 3)[0], tolerance=1)
    assert same(frames[-1], genimg.generate(name, 1, 11)[0], tolerance=1)
    assert not same(frames[0], frames[-1])


def test_linear_and_spherical_paths_differ_in_the_middle():
    linear = genimg.interpolate("vae-mnist", 1, 2, steps=5, mode="linear")
    spherical = genimg.interpolate("vae-mnist", 1, 2, steps=5, mode="spherical")
    assert same(linear[0], spherical[0], tolerance=1)
    assert not same(linear[2], spherical[2], tolerance=1)


def test_slerp_keeps_the_norm_of_orthogonal_codes():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    middle = genimg.api.generation.slerp(a, b, torch.tensor([[0.5]]))
    torch.testing.assert_close(middle, torch.tensor([[math.sqrt(0.5), math.sqrt(0.5)]]))
    same_direction = genimg.api.generation.slerp(a, 2 * a, torch.tensor([[0.5]]))  # parallel codes: the linear path
    torch.testing.assert_close(same_direction, torch.tensor([[1.5, 0.0]]))


def test_interpolation_between_two_classes(cgan):
    frames = genimg.interpolate(cgan, seed_a=4, seed_b=4, steps=5, label_a="Sneaker", label_b=9)
    assert len(frames) == 5
    assert same(frames[0], genimg.generate(cgan, 1, 4, label=7)[0], tolerance=1)
    assert same(frames[-1], genimg.generate(cgan, 1, 4, label=9)[0], tolerance=1)
    # Same seed at both ends: only the class moves, and the middle is neither end.
    assert not same(frames[2], frames[0], tolerance=1) and not same(frames[2], frames[-1], tolerance=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mode="cubic"), "mode"),
    (dict(steps=1), "number of frames"),
    (dict(steps=65), "number of frames"),
    (dict(seed_a=-3), "seed A"),
    (dict(seed_b="b"), "seed B"),
    (dict(label_a=1), "not conditional"),
])
def test_interpolation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        genimg.interpolate("dcgan-mnist", **kwargs)


# ---- manifold and classify -------------------------------------------------------------------------------


def test_manifold_map_of_the_2d_vae():
    picture = genimg.manifold("vae2d-fashion-mnist", size=20)
    assert picture.size == (20 * 28, 20 * 28) and picture.mode == "L"
    assert genimg.manifold("vae2d-mnist", size=4, scale=2).size == (4 * 56, 4 * 56)
    corners = pixels(picture)
    assert not np.array_equal(corners[:28, :28], corners[-28:, -28:])  # the grid covers different codes


@pytest.mark.parametrize("name", ["vae-mnist", "dcgan-mnist", "classifier-mnist"])
def test_manifold_needs_a_2d_vae(name):
    with pytest.raises(ValueError, match="2-D latent"):
        genimg.manifold(name, size=4)


@pytest.mark.parametrize("size", [1, 41, "big"])
def test_manifold_bad_size(size):
    with pytest.raises(ValueError, match="grid size"):
        genimg.manifold("vae2d-mnist", size=size)


@pytest.mark.parametrize("dataset", ["fashion-mnist", "mnist"])
def test_classify_returns_a_class_name_and_confidence_per_image(dataset):
    images = genimg.generate(f"vae-{dataset}", n=6, seed=0)
    results = genimg.classify(images, dataset)
    assert len(results) == 6
    classes = genimg.load(f"classifier-{dataset}").classes
    for name, confidence in results:
        assert name in classes
        assert 1 / len(classes) <= confidence <= 1  # the top class of a softmax


def test_classify_without_a_classifier(tmp_path):
    genimg.set_checkpoint_dir(tmp_path)  # restored by the checkpoint_dir fixture
    with pytest.raises(ValueError, match="classifier-mnist"):
        genimg.classify([], "mnist")


def test_calls_run_where_the_process_may_use_a_device(monkeypatch, checkpoint_dir):
    """The API's networks run on hardware.inference_device(): the CPU here; on a ZeroGPU Space's main process,
    which reports a GPU it cannot use, the CPU too (only a @spaces.GPU worker has initialised CUDA)."""
    import torch

    from genimg import hardware
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert hardware.inference_device() == torch.device("cuda" if torch.cuda.is_initialized() else "cpu")
    monkeypatch.delenv("SPACES_ZERO_GPU")
    expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert hardware.inference_device() == expected
    model = genimg.load("dcgan-mnist")
    assert next(model.net().parameters()).device.type == expected.type
    assert genimg.generate(model, n=2, seed=0)[0].size == (28, 28)  # the images come back as PIL, from any device
