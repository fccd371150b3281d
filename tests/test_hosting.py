"""Hosting on Hugging Face (docs/hosting.md): the app and the API run with the `spaces` package installed (its
GPU decorator does nothing off ZeroGPU), and the endpoints are served as MCP tools with real descriptions."""
import asyncio
import importlib.util
import sys

import pytest
from conftest import ROOT, free_port

import app
import genimg
import genimg.ui.common
from genimg.ui.common import conditional_label, gpu
from genimg.ui.generate import generate_grid

# The tools an MCP client sees: gradio names each after its event function.
TOOLS = {"generate_grid", "interpolate_frames", "upscale_photo", "inpaint_image", "stylize_photo"}


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """The shipped checkpoints (what a Space serves), pictures to a private folder; both restored after."""
    previous = genimg.api.checkpoint_dir()
    genimg.set_checkpoint_dir(ROOT / "checkpoints")
    monkeypatch.setattr(genimg.ui.common, "OUTPUT_DIR", tmp_path)
    yield
    genimg.set_checkpoint_dir(previous)


def test_gpu_is_the_spaces_decorator_and_a_no_op_off_zerogpu(monkeypatch):
    spaces = pytest.importorskip("spaces")
    assert gpu is spaces.GPU

    def fn():
        return 1

    assert gpu(fn) is fn and gpu(duration=30)(fn) is fn  # SPACES_ZERO_GPU is unset here: the function itself
    assert generate_grid.__name__ == "generate_grid" and "Args:" in generate_grid.__doc__


def test_gpu_without_spaces_is_a_no_op(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` now raises ImportError
    spec = importlib.util.spec_from_file_location("common_without_spaces", genimg.ui.common.__file__)
    common = importlib.util.module_from_spec(spec)  # a separate copy: the app's own module is left alone
    spec.loader.exec_module(common)

    def fn():
        return 1

    assert common.gpu(fn) is fn and common.gpu(duration=30)(fn) is fn


def test_api_and_a_gpu_handler_run_with_spaces_installed(shipped):
    pytest.importorskip("spaces")
    images = genimg.generate("dcgan-mnist", n=2, seed=1)
    assert len(images) == 2 and images[0].size == (28, 28)
    shown, download, info = generate_grid(conditional_label(), "MNIST", "3", 5, 4, 0, 1)  # decorated with @gpu
    assert shown == download and shown.endswith(".png") and "4 images, seed 5" in info


def test_app_serves_mcp_unless_told_not_to(monkeypatch, tmp_path):
    launches = []

    class Demo:
        GRADIO_CACHE = str(tmp_path)  # what app.main's sweeper thread sweeps a minute later
        blocks = {}

        def queue(self, **kwargs):
            return self

        def launch(self, **kwargs):
            launches.append(kwargs)

    monkeypatch.setattr(app, "build_demo", Demo)
    app.main([])
    app.main(["--no-mcp"])
    assert [kwargs["mcp_server"] for kwargs in launches] == [True, False]


async def list_tools(url: str) -> list:
    from mcp import ClientSession
    from mcp.client import streamable_http

    connect = getattr(streamable_http, "streamable_http_client", None) or streamable_http.streamablehttp_client
    async with connect(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return (await session.list_tools()).tools


def test_mcp_tools_are_listed_with_descriptions(shipped):
    pytest.importorskip("mcp")
    demo = app.build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            mcp_server=True)
    try:
        tools = {tool.name: tool for tool in asyncio.run(list_tools(url + "gradio_api/mcp/"))}
    finally:
        demo.close()
    assert TOOLS <= set(tools), sorted(tools)
    assert not {"controls_for", "classes_for", "lambda"} & set(tools)  # private events are not tools
    for name in TOOLS:
        description, properties = tools[name].description, tools[name].inputSchema["properties"]
        assert len(description) > 80 and "Returns:" in description, (name, description)
        for argument, schema in properties.items():  # every argument documented on its own Args: line
            assert schema.get("description"), (name, argument)
