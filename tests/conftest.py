"""Shared fixtures: dry-run checkpoints of every model for both datasets, made once per session.

Nothing here reads the shipped checkpoints/ or runs/ folders (only tests/test_shipped.py looks at checkpoints/).
"""
import socket
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # genimg, train.py and app.py import however pytest is started

import genimg  # noqa: E402
import genimg.api  # noqa: E402
from genimg.training import train  # noqa: E402

torch.set_num_threads(1)  # the machine is shared with training jobs; the tests stay on one core

MODELS = ("dcgan", "cgan", "vae", "vae2d", "flow", "flowmatch", "classifier")
DATASETS = ("fashion-mnist", "mnist")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def dry_run_dir(tmp_path_factory) -> Path:
    """A folder with a dry-run checkpoint (and card) for each of the 14 model/dataset pairs, text and pictures,
    the emoji models, and the inpainters. Made once for the whole run: under pytest-xdist the first worker to get
    here makes it (the others wait on a lock) in the folder the workers share; tests only read it."""
    from filelock import FileLock  # torch's own dependency

    shared = tmp_path_factory.getbasetemp()
    if shared.name.startswith("popen-gw"):
        shared = shared.parent  # each xdist worker's folder sits in the run's folder
    root = shared / "dry-run-shared"
    with FileLock(str(shared / "dry-run-shared.lock")):
        if not (root / "done").is_file():
            make_dry_runs(root)
            (root / "done").touch()
    return root / "checkpoints"


def make_dry_runs(root: Path) -> None:
    out = root / "checkpoints"
    for dataset in DATASETS:
        for model in MODELS:
            train(model, dataset, dry_run=True, out=out, run_dir=root / "runs" / f"{model}-{dataset}", quiet=True)
    for model in ("textflow", "captioner"):
        train(model, "scenes", dry_run=True, out=out, run_dir=root / "runs" / f"{model}-scenes", quiet=True)
    for model in ("pix2pix", "flowmatch", "classifier"):  # sketch to emoji; the emoji generator and its judge
        train(model, "emoji", dry_run=True, out=out, run_dir=root / "runs" / f"{model}-emoji", quiet=True)
    train("inpaint-base", "photos", dry_run=True, out=out, run_dir=root / "runs" / "inpaint-base-photos", quiet=True)
    train("inpaint-256", "photos", dry_run=True, out=out, run_dir=root / "runs" / "inpaint-256-photos", quiet=True)
    train("inpaint-l2", "photos", dry_run=True, out=out, run_dir=root / "runs" / "inpaint-l2-photos", quiet=True)
    train("inpaint-psnr", "photos", dry_run=True, out=out, run_dir=root / "runs" / "inpaint-psnr-photos", quiet=True)


@pytest.fixture(scope="session")
def dry_run_runs(dry_run_dir) -> Path:
    """The run folders written by the dry runs above."""
    return dry_run_dir.parent / "runs"


@pytest.fixture
def checkpoint_dir(dry_run_dir):
    """Point the API at the dry-run checkpoints for one test; restore the previous folder after it."""
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(dry_run_dir)
    yield dry_run_dir
    genimg.set_checkpoint_dir(previous)


@pytest.fixture(scope="session")
def style_checkpoint_dir(tmp_path_factory) -> Path:
    """A dry-run style network (3 made-up styles) and a dry-run network for any style image (a random VGG stands
    in, nothing is downloaded)."""
    root = tmp_path_factory.mktemp("style")
    train("style", "photos", dry_run=True, out=root / "checkpoints", run_dir=root / "runs" / "style", quiet=True)
    train("adain", "photos", dry_run=True, out=root / "checkpoints", run_dir=root / "runs" / "adain", quiet=True)
    return root / "checkpoints"


@pytest.fixture
def style_dir(style_checkpoint_dir, monkeypatch):
    """Point the API at the dry-run style network, with no VGG weights and downloads off (restored after)."""
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(style_checkpoint_dir)
    monkeypatch.delenv("GENIMG_VGG_WEIGHTS", raising=False)
    genimg.set_vgg_weights(None, download=False)
    yield style_checkpoint_dir
    genimg.set_vgg_weights(None, download=True)
    genimg.set_checkpoint_dir(previous)


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    """The app's pictures go to a private folder (still under the temp dir, where gradio serves files from); test
    modules of the app's functions use it automatically (an autouse fixture of their own)."""
    import genimg.ui.common

    folder = tmp_path_factory.mktemp("app-output")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(genimg.ui.common, "OUTPUT_DIR", folder)
        yield folder


@pytest.fixture(scope="module")
def client(dry_run_dir, output_dir, tmp_path_factory):
    """The app on the dry-run checkpoints, served on a free port, and a gradio_client Client of it."""
    import app
    from gradio_client import Client

    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(dry_run_dir)
    genimg.set_vgg_weights(None, download=False)  # the own-style mode answers "unavailable", never downloads
    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            show_error=True)
    c = Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("client-downloads")))
    yield c
    c.close()
    demo.close()
    genimg.set_vgg_weights(None, download=True)
    genimg.set_checkpoint_dir(previous)
