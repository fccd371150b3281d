"""The public API: the functions the app, the tests and the benchmarks call, split by task.

    import genimg
    genimg.models()                                   # what is shipped, and what failed to load
    images = genimg.generate("cgan-mnist", n=16, seed=3, label=7)
    frames = genimg.interpolate("dcgan-fashion-mnist", seed_a=1, seed_b=2, steps=16)
    big = genimg.upscale("photo.png", 4)

Bad arguments raise ValueError with a message meant for the person who typed them. `__all__` is the one list
of what the API offers; the app uses nothing else.
"""
from ..checkpoints import CheckpointError
from ..data import class_names
from ..imaging import attention_strip, grid, histogram_plot, save_gif
from ..scenes import EXAMPLE_PROMPTS, ITEMS as SCENE_ITEMS, canonical_caption, is_held_out
from .generation import (DEFAULT_GUIDANCE, DEFAULT_ODE_STEPS, GENERATOR_KINDS, MAX_GRID, MAX_GUIDANCE, MAX_IMAGES,
                         MAX_ODE_STEPS, MAX_STEPS, MAX_TEMPERATURE, MAX_TRUNCATION, MIN_GRID, MIN_STEPS,
                         MIN_TRUNCATION, SAMPLERS, classify, generate, interpolate, manifold, trajectory)
from .likelihood import as_digit_image, likelihood_models, log_likelihood, test_percentile
from .lab import (BATCH_SIZES as LAB_BATCH_SIZES, LAB, LAB_DATASETS, LAB_SIDES, MAX_LR as LAB_MAX_LR,
                  MAX_SECONDS as LAB_MAX_SECONDS, MIN_LR as LAB_MIN_LR, MIN_SECONDS as LAB_MIN_SECONDS, LiveUpdate,
                  lab_data, lab_recipe, train_live)
from .inpainting import FILL_METHODS, PRIOR_STEPS, inpaint, photo_inpainter, prior_names as inpaint_priors
from .models import (MAX_SEED, Model, checkpoint_dir, find, find_kind, forget, load, models, real_number,
                     set_checkpoint_dir, whole_number)
from .styling import (MAX_GATYS_SIDE, MAX_GATYS_STEPS, MAX_STYLE_SIDE, MIN_GATYS_SIDE, MIN_GATYS_STEPS,
                      VGGUnavailable, arbitrary_stylizer, set_vgg_weights, styles, stylize, stylize_any,
                      stylize_with_image, stylize_with_image_steps, vgg_status)
from .text import (MAX_BEAM, MAX_PROMPT_CHARS, MAX_TEXT_IMAGES, as_scene, caption, read_prompt, scene,
                   scene_image, text_to_image, text_trajectory)
from .translation import (categories as translation_categories, drawing_as_read, drawing_ink, sketch_of, translate,
                          translator)
from .upscaling import (check_image_file, load_image, measure_upscale, upscale, upscale_bicubic, upscaler,
                        upscaler_names)

__all__ = [
    # models
    "models", "load", "forget", "find", "find_kind", "Model", "set_checkpoint_dir", "checkpoint_dir",
    "CheckpointError", "MAX_SEED", "whole_number", "real_number",
    # generation
    "generate", "interpolate", "manifold", "classify", "class_names", "grid", "save_gif", "GENERATOR_KINDS",
    "MAX_IMAGES", "MIN_STEPS", "MAX_STEPS", "MIN_GRID", "MAX_GRID", "MIN_TRUNCATION", "MAX_TRUNCATION",
    "MAX_TEMPERATURE", "trajectory", "SAMPLERS", "DEFAULT_ODE_STEPS", "MAX_ODE_STEPS",
    "DEFAULT_GUIDANCE", "MAX_GUIDANCE",
    # likelihood
    "log_likelihood", "likelihood_models", "test_percentile", "as_digit_image", "histogram_plot",
    # words and pictures (captioned scenes)
    "text_to_image", "text_trajectory", "caption", "scene", "as_scene", "scene_image", "read_prompt", "canonical_caption", "is_held_out",
    "attention_strip", "EXAMPLE_PROMPTS", "SCENE_ITEMS", "MAX_PROMPT_CHARS", "MAX_TEXT_IMAGES", "MAX_BEAM",
    # the training lab
    "train_live", "LiveUpdate", "lab_recipe", "lab_data", "LAB", "LAB_DATASETS", "LAB_SIDES", "LAB_MIN_SECONDS",
    "LAB_MAX_SECONDS", "LAB_MIN_LR", "LAB_MAX_LR", "LAB_BATCH_SIZES",
    # sketch to emoji
    "translate", "sketch_of", "translator", "translation_categories", "drawing_ink", "drawing_as_read",
    # upscaling
    "upscale", "upscale_bicubic", "measure_upscale", "upscaler", "upscaler_names", "load_image",
    "check_image_file",
    # inpainting
    "inpaint", "photo_inpainter", "PRIOR_STEPS", "FILL_METHODS", "inpaint_priors",
    # style transfer
    "stylize", "styles", "stylize_any", "arbitrary_stylizer", "stylize_with_image", "stylize_with_image_steps", "set_vgg_weights", "vgg_status",
    "MAX_STYLE_SIDE", "MIN_GATYS_SIDE", "MAX_GATYS_SIDE", "MIN_GATYS_STEPS", "MAX_GATYS_STEPS", "VGGUnavailable",
]
