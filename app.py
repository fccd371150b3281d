"""genimg app: Gradio tabs over the shipped checkpoints. `python app.py --help` for the options."""
import argparse
import os
import sys

# gradio, torch and genimg are imported where they are used, so `python app.py --help` answers at once.

INTRO = """# genimg
Image-generation models you can see, use and take apart, trained by this project (`train.py`) and
shipped with it. Every tab has a *How it works* section. Small enough to answer in about a second on a CPU;
they use a GPU where there is one.
"""


# On a phone, grids of many small captioned images keep a readable size and scroll sideways instead of shrinking
# to a third (the tabs mark them with elem_classes="wide-grid").
PHONE_CSS = """
@media (max-width: 640px) {
  .wide-grid .image-container { overflow-x: auto; }
  .wide-grid img { min-width: 640px; max-width: none; width: 640px; height: auto; }
}
"""


def availability_note() -> str:
    """A line naming the models that could not be loaded (the app runs without them)."""
    import genimg
    missing = {name: entry["error"] for name, entry in genimg.models().items() if not entry["available"]}
    if not missing:
        return ""
    lines = "\n".join(f"- `{name}`: {error}" for name, error in missing.items())
    return f"**Unavailable models** (the rest work):\n{lines}"


def build_demo():
    """The app: gradio Blocks with one tab per capability (genimg/ui/)."""
    import gradio as gr

    from genimg.ui import (captioning, compare, generate, inpaint, interpolate, likelihood, sketch, style,
                           text_to_image, train, trajectory, upscale)
    from genimg.ui.common import FIGURES_DIR, check_inputs, heavy_in_background, share_queues
    gr.set_static_paths([FIGURES_DIR])
    with gr.Blocks(title="genimg") as demo:
        gr.Markdown(INTRO)
        note = availability_note()
        if note:
            gr.Markdown(note)
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone every tab stays in sight (no "..." menu)
            generate_menus = generate.build_tab()
            interpolate_menus = interpolate.build_tab()
            compare.build_tab()
            trajectory.build_tab()
            likelihood.build_tab()
            text_to_image.build_tab()
            captioning.build_tab()
            sketch.build_tab()
            upscale.build_tab()
            inpaint.build_tab()
            style.build_tab()
            train.build_tab(targets=[generate_menus, interpolate_menus])
        demo.unload(train.forget_session)
    check_inputs(demo)
    share_queues(demo)
    heavy_in_background(demo)
    return demo


def main(argv=None):
    parser = argparse.ArgumentParser(description="genimg: a browser app for small image-generation models.")
    # Hugging Face Spaces sets GRADIO_SERVER_NAME=0.0.0.0; honour it unless --host is given.
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="port to listen on (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--checkpoints", default=None, help="folder of checkpoints (default: the shipped ones)")
    parser.add_argument("--vgg-weights", default=None,
                        help="VGG16 features (safetensors) for the style tab's own-style-image mode; default "
                             "$GENIMG_VGG_WEIGHTS or torchvision's download on first use")
    parser.add_argument("--no-vgg-download", action="store_true",
                        help="never download VGG16 (without weights, own style images are then off; presets work)")
    parser.add_argument("--keep-minutes", type=float, default=float(os.environ.get("GENIMG_KEEP_MINUTES", 20)),
                        help="delete uploads and results this long after they were made (default 20; "
                             "$GENIMG_KEEP_MINUTES), so a server that runs for weeks does not fill its disk")
    parser.add_argument("--data", default=None,
                        help="where MNIST and Fashion-MNIST are, for the Train tab (default $GENIMG_DATA, then "
                             "/usr/share/datasets, then a torchvision download on first use)")
    parser.add_argument("--lab-runs", type=int, default=None,
                        help="training-lab runs at once (default 1, or $GENIMG_LAB_RUNS): each takes every core")
    parser.add_argument("--no-mcp", action="store_true",
                        help="do not serve the endpoints as MCP tools (default: served at /gradio_api/mcp/)")
    args = parser.parse_args(argv)
    if args.lab_runs is not None:
        if args.lab_runs < 1:
            parser.error("--lab-runs must be at least 1")
        os.environ["GENIMG_LAB_RUNS"] = str(args.lab_runs)  # read when genimg.ui is first imported, just below
    import genimg
    from genimg.ui.common import start_sweeper
    if args.checkpoints:
        genimg.set_checkpoint_dir(args.checkpoints)
    if args.data:
        os.environ["GENIMG_DATA"] = args.data  # where genimg's data loader looks after an explicit path
    if args.vgg_weights or args.no_vgg_download:
        genimg.set_vgg_weights(args.vgg_weights, download=False if args.no_vgg_download else None)
    for name, entry in genimg.models().items():
        if not entry["available"]:
            print(f"warning: {name} is unavailable: {entry['error']}", file=sys.stderr)
    demo = build_demo()
    # Uploads and results are deleted keep_minutes after they were made (the page keeps showing what it has; a
    # download link older than that is gone).
    start_sweeper(demo, max(60.0, args.keep_minutes * 60))
    demo.queue(max_size=32, default_concurrency_limit=2)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True,
                max_file_size="20mb", mcp_server=not args.no_mcp, css=PHONE_CSS)


if __name__ == "__main__":
    main()
