"""Forty bad inputs at every endpoint of the live app (tests/bad_inputs.py), in a file of its own: the longest
test, so that pytest-xdist can run it beside tests/test_app.py."""
import pytest

import bad_inputs
from test_app import image_format


@pytest.fixture(scope="module", autouse=True)
def app_output(output_dir):
    return output_dir


def test_forty_bad_inputs_at_every_endpoint_get_a_result_or_a_clear_message(client, tmp_path_factory):
    """tests/bad_inputs.py: each of the 40 reaches every endpoint with an image input once (the files into that
    input), and the 21 values and two of the files reach every other endpoint; every answer is a result or a
    message naming the problem, and the server keeps answering."""
    files = bad_inputs.good_files(tmp_path_factory.mktemp("bad-inputs"))
    # /train is left out: each call that gets past its checks trains for 10 s or more (its own checks are tested in
    # test_lab.py and below); so is /stop_training, which takes nothing.
    endpoints = [name for name, e in client.view_api(print_info=False, return_format="dict")["named_endpoints"].items()
                 if name != "/train" and e["parameters"]]
    rows = bad_inputs.probe(client, files, endpoints, every_parameter=False, workers=4, timeout=120)
    params = bad_inputs.defaults(client)
    assert len(rows) == sum(bad_inputs.planned_calls(params[name]) for name in endpoints) > 23 * len(endpoints)
    assert {row[2] for row in rows} == set(bad_inputs.VALUES) | set(bad_inputs.FILE_NAMES)
    unclear = [row for row in rows if not bad_inputs.verdict(row[3])]
    assert not unclear, "\n".join(map(str, unclear[:20]))
    messages = {row[2]: row[3] for row in rows if row[0] == "/upscale"}
    assert "12000x12000" in messages["black-12000.png"] and "megapixels" in messages["black-12000.png"]
    assert "animated" in messages["animated.gif"] and "not an image" in messages["text.png"]
    inpaint = {row[2]: row[3] for row in rows if row[0] == "/inpaint"}
    assert "12000x12000" in inpaint["black-12000.png"]  # refused from the header, before anything is decoded
    assert image_format(client.predict("MNIST", 4, api_name="/manifold"))[0] == "PNG"
