"""Every `python train.py ...` command we publish runs: each release card's own command and each one in README.md
and docs/, parsed by train.py's parser and dry-run (a few steps on synthetic data, whatever --data says)."""
import re
import shlex
from pathlib import Path

import pytest
import torch

import train
from genimg import checkpoints, registry

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# What a dry run must not take from a published command: where it writes, how long it runs, and the thread count.
DROP_WITH_VALUE = {"--out", "--run-dir", "--steps", "--epochs", "--threads", "--sample-every", "--save-every",
                   "--vgg-weights"}


def card_commands() -> list:
    return [(name, checkpoints.read_card(checkpoints.DEFAULT_DIR, name)["command"]) for name in registry.RELEASES]


def doc_commands() -> list:
    found = []
    for path in DOCS:
        for line in path.read_text().splitlines():
            for match in re.finditer(r"python train\.py [^`#|\n]*", line):
                found.append((path.name, match.group(0).strip()))
    return found


def arguments(command: str) -> list:
    words = shlex.split(command)
    assert words[:2] == ["python", "train.py"], command
    return words[2:]


def dry_run_arguments(argv: list, tmp_path: Path) -> list:
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in DROP_WITH_VALUE:
            skip = True
        elif word != "--resume":
            kept.append(word)
    return kept + ["--dry-run", "--out", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]


def test_published_commands_parse():
    parser = train.build_parser()
    commands = card_commands() + doc_commands()
    assert len(doc_commands()) >= 5, "README and docs should show how to train"
    for where, command in commands:
        args = parser.parse_args(arguments(command))
        assert args.list or args.model in registry.RECIPES, (where, command)


def distinct_runs() -> list:
    """One command per recipe: a dry run's synthetic data is the same whatever the rest of the flags say."""
    runs = {}
    for where, command in card_commands() + doc_commands():
        args = train.build_parser().parse_args(arguments(command))
        if not args.list:
            runs.setdefault(args.model, (where, command))
    return sorted(runs.values())


@pytest.mark.slow
@pytest.mark.parametrize("where, command", distinct_runs())
def test_published_command_dry_runs(where, command, tmp_path):
    threads = torch.get_num_threads()
    try:
        assert train.main(dry_run_arguments(arguments(command), tmp_path)) == 0, (where, command)
    finally:
        torch.set_num_threads(threads)
    assert list((tmp_path / "out").glob("*.safetensors")), (where, command)
