"""The 40 bad inputs every endpoint gets through gradio_client: tests/test_app.py sends each to every endpoint
once; `python tests/bad_inputs.py URL [ENDPOINT ...]` sends each to every parameter of every endpoint of a running
app and prints what was not answered clearly.

A pass is a result, or a message that names the problem: never gradio's generic "Could not preprocess ...", an
unexplained server error, a Python exception's name, or a dropped connection. Values JSON cannot carry (NaN,
infinities) are sent as text, as a client that means them would have to."""
import io
import itertools
import json
import struct
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# Answers that do not tell a person what was wrong.
UNCLEAR = ("Could not preprocess", "Could not postprocess", "upstream Gradio app has raised an exception",
           "Traceback", "AttributeError", "TypeError", "KeyError", "IndexError", "NoneType", "object has no attribute",
           "not supported between", "RuntimeError", "ReadTimeout", "Connection")


def _png_with_size_claim(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's header, without its body)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def make_files(folder: Path) -> dict:
    """The bad image files, written to `folder`: {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}

    def save(name, image=None, data=None, **kwargs):
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        else:
            image.save(path, **kwargs)
        files[name] = str(path)

    photo = Image.fromarray((np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    png = buffer.getvalue()
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    jpeg = buffer.getvalue()
    save("text.png", data=b"this is not an image\n" * 20)
    save("empty.png", data=b"")
    save("truncated.png", data=png[: len(png) // 2])
    save("truncated.jpg", data=jpeg[: len(jpeg) // 2])
    save("html.jpg", data=b"<html><body>not a photo</body></html>")
    save("zip.png", data=b"PK\x03\x04" + b"\0" * 200)
    save("svg.svg", data=b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    save("bomb-header.png", data=_png_with_size_claim(60000, 60000))
    save("black-12000.png", Image.new("L", (12000, 12000)), optimize=True)
    save("one-pixel.png", Image.new("RGB", (1, 1), "white"))
    save("sliver-1x3000.png", Image.new("RGB", (1, 3000), "gray"))
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue", "green")]
    save("animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0)
    save("sixteen-bit.png", Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)))
    save("cmyk.jpg", photo.convert("CMYK"))
    save("palette.png", photo.convert("P"), transparency=0)
    save("transparent.png", Image.new("RGBA", (64, 64), (0, 0, 0, 0)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    save("exif-rotated.jpg", photo, exif=exif)
    save("exif-garbage.jpg", data=jpeg[:2] + b"\xff\xe1\x00\x10Exif\x00\x00garbage!" + jpeg[2:])
    save("oversized-21mb.png", data=png + b"\0" * (21 * 1024 * 1024))  # a valid PNG followed by junk, over 20 MB
    return files


# name -> what it is; files become gradio FileData (handle_file), the rest are sent as JSON values.
VALUES = {
    "None": None, "empty string": "", "word": "banana", "NaN as text": "nan", "infinity as text": "inf",
    "minus infinity as text": "-Infinity", "minus one": -1, "huge number": 1e12, "zero": 0, "fraction": 3.5,
    "true": True, "empty list": [], "empty dict": {}, "list of numbers": [1, 2], "path outside": "/etc/passwd",
    "numeric string": "5", "long string": "x" * 10000, "emoji": "\U0001F600", "tiny number": 1e-300,
    "file data outside": {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
    "negative huge": -1e12,
}
FILE_NAMES = ["text.png", "empty.png", "truncated.png", "truncated.jpg", "html.jpg", "zip.png", "svg.svg",
              "bomb-header.png", "black-12000.png", "one-pixel.png", "sliver-1x3000.png", "animated.gif",
              "sixteen-bit.png", "cmyk.jpg", "palette.png", "transparent.png", "exif-rotated.jpg", "exif-garbage.jpg",
              "oversized-21mb.png"]
assert len(VALUES) + len(FILE_NAMES) == 40


def bad_inputs(files: dict) -> dict:
    """{name: value to send}: the 40 bad inputs, files wrapped for gradio_client."""
    from gradio_client import handle_file
    inputs = dict(VALUES)
    inputs.update({name: handle_file(files[name]) for name in FILE_NAMES})
    return inputs


def defaults(client) -> dict:
    """{endpoint: [(parameter name, component, default value), ...]} from the server's API description."""
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    return {name: [(p["parameter_name"], p["component"], p.get("parameter_default")) for p in e["parameters"]]
            for name, e in api.items()}


def as_editor_value(value):
    """An ImageEditor parameter gets a file as its background, other bad values as the whole value."""
    if isinstance(value, dict) and value.get("meta", {}).get("_type") == "gradio.FileData" and "path" in value \
            and value["path"] != "/etc/passwd":
        return {"background": value, "layers": [value], "composite": None, "id": None}
    return value


def good_value(component, default, files):
    from gradio_client import handle_file
    if component in ("Image", "Uploadbutton"):
        return handle_file(files["good"])
    if component == "Imageeditor":
        return {"background": handle_file(files["good"]), "layers": [handle_file(files["good-mask"])],
                "composite": None, "id": None}
    return default


def verdict(outcome: str) -> bool:
    return outcome.startswith("ok") or (outcome.startswith("message:") and not any(u in outcome for u in UNCLEAR))


def plan(params: list, every_parameter: bool) -> list:
    """[(parameter index, bad input name)] for one endpoint: every input in every parameter, or each input once
    (files into the endpoint's image parameter where it has one, the other values in turn over its parameters)."""
    names = list(VALUES) + FILE_NAMES
    if every_parameter:
        return [(i, name) for i in range(len(params)) for name in names]
    images = [i for i, (_, component, _) in enumerate(params) if component in FILE_COMPONENTS]
    if not images:  # a file where a number or a word goes is refused alike whatever the file: two of them suffice
        names = list(VALUES) + FILES_FOR_OTHER_PARAMETERS
    return [(images[k % len(images)] if name in FILE_NAMES and images else k % len(params), name)
            for k, name in enumerate(names)]


FILES_FOR_OTHER_PARAMETERS = ["text.png", "black-12000.png"]


def planned_calls(params: list) -> int:
    """How many calls plan(params, every_parameter=False) makes."""
    return len(plan(params, every_parameter=False))


FILE_COMPONENTS = ("Image", "Imageeditor", "Uploadbutton")


def probe(client, files: dict, endpoints=None, every_parameter: bool = True, workers: int = 4,
          timeout: float = 120) -> list:
    """[(endpoint, parameter, bad input, outcome)] for the bad inputs in the parameters of every endpoint."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client
    from gradio_client.exceptions import AppError
    inputs = bad_inputs(files)
    per_endpoint = []
    for endpoint, params in defaults(client).items():
        if endpoints and endpoint not in endpoints:
            continue
        base = [good_value(component, default, files) for _, component, default in params]
        tasks = []
        for i, name in plan(params, every_parameter):
            args = list(base)
            args[i] = as_editor_value(inputs[name]) if params[i][1] == "Imageeditor" else inputs[name]
            tasks.append((endpoint, params[i][0], name, args))
        per_endpoint.append(tasks)
    # The endpoints in turn, not one after another: the app runs each group of events one or two at a time, so
    # calls to one endpoint would mostly wait for each other.
    tasks = [task for turn in itertools.zip_longest(*per_endpoint) for task in turn if task is not None]

    # One client per thread: jobs submitted from several threads through one gradio_client Client were now and then
    # answered with a CancelledError on the client's side (4 of about 1,500 calls), whatever the server did.
    local = threading.local()

    def run(task):
        endpoint, pname, name, args = task
        if not hasattr(local, "client"):
            local.client = Client(client.src, verbose=False, download_files=False)
        try:
            local.client.submit(*args, api_name=endpoint).result(timeout=timeout)
            outcome = "ok"
        except AppError as error:
            outcome = "message: " + str(error).replace("\n", " ")[:300]
        except Exception as error:  # noqa: BLE001 - the probe records whatever happened
            if "exceeds the maximum file size" in str(error):  # the client reads the server's limit
                outcome = "message: " + str(error)[:300]
            else:
                outcome = f"failure: {type(error).__name__}: {str(error)[:200]}"
        return endpoint, pname, name, outcome

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, tasks))


def good_files(folder: Path) -> dict:
    files = make_files(folder)
    photo = Image.fromarray((np.random.default_rng(1).random((96, 128, 3)) * 255).astype(np.uint8))
    photo.save(folder / "good.png")
    mask = np.zeros((96, 128, 4), np.uint8)
    mask[30:60, 40:80] = 255
    Image.fromarray(mask, "RGBA").save(folder / "good-mask.png")
    files.update({"good": str(folder / "good.png"), "good-mask": str(folder / "good-mask.png")})
    return files


def summary(rows: list) -> str:
    """A table: per endpoint, the calls, how many got a result, a clear message, or something unclear."""
    lines = [f"{'endpoint':22} {'calls':>5} {'result':>6} {'message':>7} {'unclear':>7}"]
    for endpoint in dict.fromkeys(r[0] for r in rows):
        mine = [r[3] for r in rows if r[0] == endpoint]
        ok = sum(o == "ok" for o in mine)
        unclear = sum(not verdict(o) for o in mine)
        lines.append(f"{endpoint:22} {len(mine):5d} {ok:6d} {len(mine) - ok - unclear:7d} {unclear:7d}")
    return "\n".join(lines)


if __name__ == "__main__":
    from gradio_client import Client
    client = Client(sys.argv[1], verbose=False, download_files="/tmp/probe-downloads")
    files = good_files(Path("/tmp/probe-files"))
    rows = probe(client, files, endpoints=sys.argv[2:] or None)
    for row in rows:
        if not verdict(row[3]):
            print(json.dumps(row))
    print(summary(rows))
