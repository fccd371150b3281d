"""The training loop and train.py: run folders, determinism, exact resume (also after SIGKILL), torchrun."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
import torch.distributed as dist
from conftest import ROOT, free_port
from safetensors import safe_open
from safetensors.torch import load_file

import genimg
import train as train_script  # train.py at the repo root
from genimg import checkpoints, registry, training
from genimg.registry import RECIPES as MODELS
from genimg.training import train


def weights(folder, name):
    return load_file(folder / f"{name}.safetensors")


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def subprocess_env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("GENIMG_DATA", None)
    return env


# ---- what a dry run writes ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["dcgan", "cgan", "vae", "vae2d"])
def test_dry_run_writes_checkpoint_and_run_folder(dry_run_dir, dry_run_runs, model):
    run = dry_run_runs / f"{model}-mnist"
    for name in ("samples.png", "samples_000003.png", "samples_000006.png", "loss.png", "state.safetensors"):
        assert (run / name).stat().st_size > 0, name
    state, card = checkpoints.load(dry_run_dir, f"{model}-mnist")
    assert state
    assert card["family"] == model and card["dataset"] == "mnist" and card["steps"] == 6
    assert "synthetic" in card["data_source"] and card["genimg_version"] == genimg.__version__
    assert card["metrics"]["final_losses"]
    with safe_open(str(run / "state.safetensors"), "pt") as f:
        info = json.loads(f.metadata()["genimg_state"])
    assert info["step"] == 6 and info["model"] == model and info["dataset"] == "mnist"


def test_per_dataset_knobs_are_resolved_in_the_card(dry_run_dir):
    # MODELS gives the cGAN's class-loss weight per dataset; the card must hold the one number that was used.
    card = checkpoints.read_card(dry_run_dir, "cgan-mnist")
    assert card["hyperparameters"]["aux_class_weight"] == MODELS["cgan"]["aux_class_weight"]["mnist"]


def test_classifier_dry_run(dry_run_dir, dry_run_runs):
    run = dry_run_runs / "classifier-fashion-mnist"
    assert (run / "loss.png").is_file() and (run / "state.safetensors").is_file()
    assert not (run / "samples.png").exists()  # a classifier draws no samples
    _, card = checkpoints.load(dry_run_dir, "classifier-fashion-mnist")
    assert card["config"]["num_classes"] == 10
    assert 0 <= card["metrics"]["test_accuracy"] <= 1
    assert card["classes"][0] == "T-shirt/top"


# ---- determinism and resume -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["vae", "classifier"])
def test_same_seed_same_weights_other_seed_other_weights(tmp_path, model):
    def run(tag, seed):
        train(model, "mnist", dry_run=True, seed=seed, out=tmp_path / tag, run_dir=tmp_path / f"run-{tag}", quiet=True)
        return weights(tmp_path / tag, f"{model}-mnist")

    first, again, other = run("a", 0), run("b", 0), run("c", 1)
    assert_same_weights(first, again)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_resume_continues_exactly(tmp_path):
    """6 steps in one go == 3 steps, then resume to 6 (a GAN: its learning rate does not depend on the total)."""
    train("dcgan", "mnist", steps=6, dry_run=True, out=tmp_path / "whole", run_dir=tmp_path / "run-whole", quiet=True)
    train("dcgan", "mnist", steps=3, dry_run=True, out=tmp_path / "half", run_dir=tmp_path / "run-split", quiet=True)
    result = train("dcgan", "mnist", steps=6, dry_run=True, resume=True, out=tmp_path / "split",
                   run_dir=tmp_path / "run-split", quiet=True)
    assert result["steps"] == 6
    whole, split = weights(tmp_path / "whole", "dcgan-mnist"), weights(tmp_path / "split", "dcgan-mnist")
    assert_same_weights(whole, split)
    # and the half-way checkpoint really is different (the test would pass vacuously otherwise)
    half = weights(tmp_path / "half", "dcgan-mnist")
    assert any(not torch.equal(half[k], whole[k]) for k in whole)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("model, dataset", [("classifier", "mnist"), ("sr-fast", "photos")])
def test_resume_after_an_interruption_matches_an_uninterrupted_run(tmp_path, monkeypatch, model, dataset):
    """Stopped after step 4, resumed from step 3's state == 6 steps in one go (cosine lr, random augmentation)."""
    train(model, dataset, steps=6, dry_run=True, out=tmp_path / "whole", run_dir=tmp_path / "run-whole", quiet=True)
    trainer = registry.FAMILIES[registry.RECIPES[model]["family"]].trainer
    real_step, calls = trainer.step, []

    def crashing_step(self, *args):
        calls.append(1)
        if len(calls) == 5:
            raise Interrupted
        return real_step(self, *args)

    monkeypatch.setattr(trainer, "step", crashing_step)
    with pytest.raises(Interrupted):
        train(model, dataset, steps=6, dry_run=True, out=tmp_path / "split", run_dir=tmp_path / "run-split",
              quiet=True)
    assert not (tmp_path / "split").exists()
    monkeypatch.setattr(trainer, "step", real_step)
    train(model, dataset, steps=6, dry_run=True, resume=True, out=tmp_path / "split",
          run_dir=tmp_path / "run-split", quiet=True)
    name = f"{model}-{dataset}"
    assert_same_weights(weights(tmp_path / "whole", name), weights(tmp_path / "split", name))


def test_resume_refuses_a_state_from_another_seed(tmp_path):
    train("vae", "mnist", steps=3, dry_run=True, out=tmp_path, run_dir=tmp_path / "run", quiet=True)
    with pytest.raises(ValueError, match="seed"):
        train("vae", "mnist", steps=6, dry_run=True, resume=True, seed=5, out=tmp_path, run_dir=tmp_path / "run",
              quiet=True)


def test_unknown_model():
    with pytest.raises(ValueError, match="Unknown model 'gpt'"):
        train("gpt", "mnist", dry_run=True)


# ---- train.py ---------------------------------------------------------------------------------------


def test_train_py_killed_then_resumed(tmp_path):
    out, run = tmp_path / "out", tmp_path / "run"
    command = [sys.executable, str(ROOT / "train.py"), "dcgan", "--dataset", "mnist", "--dry-run", "--steps", "15",
               "--device", "cpu", "--threads", "1", "--out", str(out), "--run-dir", str(run)]
    process = subprocess.Popen(command, cwd=tmp_path, env=subprocess_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not (run / "state.safetensors").exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.time() < deadline, "no state was saved in 2 minutes"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "dcgan-mnist.safetensors").exists()  # killed before the end

    finished = subprocess.run(command + ["--resume"], cwd=tmp_path, env=subprocess_env(), capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    match = re.search(r"Resuming dcgan-mnist from step (\d+)", finished.stderr)
    assert match, finished.stderr
    assert 0 < int(match.group(1)) < 15
    state, card = checkpoints.load(out, "dcgan-mnist")
    assert card["steps"] == 15 and "--resume" in card["command"] and card["command"].startswith("python train.py")
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(out)
    try:
        assert genimg.generate("dcgan-mnist", n=2)[0].size == (28, 28)
    finally:
        genimg.set_checkpoint_dir(previous)


def test_train_py_list_names_every_model():
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), "--list"], env=subprocess_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for model in MODELS:
        assert re.search(rf"^{model}\s+{MODELS[model]['steps']}\s", result.stdout, re.M), model
    assert "fashion-mnist" in result.stdout and "mnist" in result.stdout


@pytest.mark.parametrize("argv, message", [
    (["dcgan", "--steps", "0"], "--steps must be positive"),
    (["dcgan", "--epochs", "-1"], "--epochs must be positive"),
    (["dcgan", "--save-every", "0"], "--save-every must be positive"),
    (["dcgan", "--steps", "5", "--epochs", "1"], "not allowed with"),
    (["gan"], "invalid choice"),
    (["dcgan", "--dataset", "cifar10"], "invalid choice"),
    ([], "name a MODEL"),
])
def test_train_py_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_script.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_train_py_reports_errors_from_training(capsys, monkeypatch):
    def failing(*args, **kwargs):
        raise FileNotFoundError("Could not find the mnist dataset.")

    monkeypatch.setattr(train_script, "train", failing)
    assert train_script.main(["vae", "--dataset", "mnist"]) == 2
    assert "error: Could not find the mnist dataset." in capsys.readouterr().err


@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo needed")
def test_torchrun_two_cpu_processes(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(free_port()), str(ROOT / "train.py"), "cgan", "--dry-run", "--device", "cpu", "--threads", "1",
               "--out", str(out), "--run-dir", str(tmp_path / "run")]
    result = subprocess.run(command, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    state, card = checkpoints.load(out, "cgan-fashion-mnist")
    assert card["device"].startswith("2 x CPU")
    assert card["batch_size"] == 2 * training.DRY_RUN["batch_size"]
    assert (tmp_path / "run" / "state.safetensors").is_file()
