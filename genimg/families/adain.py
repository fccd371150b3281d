"""Arbitrary style transfer: any painting, in one pass (AdaIN, Huang & Belongie 2017). Network, trainer, recipe.

- A frozen VGG16 encoder (up to relu3_3) turns the photo and the painting into feature maps. Adaptive instance
  normalisation gives the photo's features the painting's per-channel mean and spread: what Gatys' Gram
  matrices mostly capture (texture statistics), without an optimisation. A decoder we train turns the result
  back into pixels. So a new painting costs one encoder pass, not 40 s of gradient steps.
- AdaIN at three depths, relu1_2, relu2_2 and relu3_3 (the paper: relu4_1 alone). These VGG16 weights were
  fine-tuned for edges (HED), and their relu3_3 alone carries little colour: a decoder fed only that painted
  every painting in one bluish palette. The shallow levels, normalised too, reach the decoder as skips and carry
  the palette and fine grain. Stopping at relu3_3 keeps the encoder (1.7 M weights, 6.9 MB) in the checkpoint
  beside the decoder, under the 10 MB limit; the strokes it can paint are about relu3_3's receptive field (40 px).
- The encoder's weights come from the loss VGG16 at the start of training (train.py --vgg-weights) and ship in
  the checkpoint, so the app needs no download for this tab.
- The decoder mirrors the encoder with nearest-neighbour upsampling and reflection padding (no checkerboard from
  transposed convolutions, no dark borders); it is narrow at full resolution (24 channels) for CPU speed.
- `alpha` in [0, 1] mixes the photo's own features back in (the paper's content-style trade-off): a smaller
  alpha keeps more of the photo's detail, at the level the decoder reads, not as a pixel cross-fade.

Training (AdaINTrainer): first the decoder learns to give back photos (pixel L1), then: content loss = the output's relu3_3 features against the AdaIN target features (the
decoder must make what it was asked to); style loss = mean and standard deviation of the output's VGG features
at relu1_2 ... relu4_3 against the painting's. Content photos: photos/train crops; styles: crops of the preset
paintings at random scales, and as often crops of other photos (their colours and textures), so the decoder
meets statistics far from six paintings. Turner's Shipwreck of the Minotaur is held out to measure a painting
the decoder never saw.
"""
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from .. import hardware, photos
from ..family import Family, Trainer
from ..training import loss_vgg
from ..vgg import IMAGENET_MEAN, IMAGENET_STD, vgg16_features
from .style import losses as style_losses

ENCODER_LAYERS = 16  # torchvision vgg16().features[:16]: conv1_1 ... relu3_3 (256 channels, 1/4 resolution)
LEVEL_ENDS = (4, 9, 16)  # relu1_2, relu2_2, relu3_3: AdaIN at each
LOSS_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
HELD_OUT_PAINTING = ("turner_shipwreck_of_the_minotaur.jpg", "The Shipwreck of the Minotaur", "J. M. W. Turner")


def mean_std(features, eps: float = 1e-5):
    """Per image and channel: mean and standard deviation over the positions, as (N, C, 1, 1) each."""
    flat = features.flatten(2)
    return flat.mean(2)[..., None, None], (flat.var(2, unbiased=False) + eps).sqrt()[..., None, None]


def adain(content, style_mean, style_std):
    """The content features, normalised per channel, given the style's mean and spread."""
    mean, std = mean_std(content)
    return (content - mean) / std * style_std + style_mean


def conv(in_channels, out_channels, relu=True):
    layers = [nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Decoder(nn.Module):
    """relu3_3-level features back to RGB, taking in the relu2_2 and relu1_2 levels on the way up (skips)."""

    def __init__(self, width: int):
        super().__init__()
        # Each level's features divided by their typical spread (set from the training photos at the start, saved
        # with the weights): VGG16's activations reach the hundreds (relu1_2's spread is about 40), and a decoder
        # fed them raw was still at a pixel error of 0.4 after 400 steps.
        self.register_buffer("input_scale", torch.ones(3))
        w = width
        self.from_3 = conv(256, w)
        self.at_2 = nn.Sequential(conv(w + 128, w), conv(w, w // 2))
        self.at_1 = nn.Sequential(conv(w // 2 + 64, w // 4), conv(w // 4, 3, relu=False))

    def forward(self, features):
        f1, f2, f3 = (f / scale for f, scale in zip(features, self.input_scale))
        x = F.interpolate(self.from_3(f3), size=f2.shape[-2:], mode="nearest")
        x = F.interpolate(self.at_2(torch.cat([x, f2], 1)), size=f1.shape[-2:], mode="nearest")
        return self.at_1(torch.cat([x, f1], 1))


class AdaINNetwork(nn.Module):
    """Encoder (frozen VGG16 to relu3_3) + AdaIN at relu1_2, relu2_2 and relu3_3 + decoder. forward(photo,
    painting, alpha) -> RGB, in [0, 1] in eval mode. Both inputs RGB in [0, 1], any size (the photo's sides are
    padded to a multiple of 4 and cropped back)."""

    multiple = 4

    def __init__(self, width: int = 96):
        super().__init__()
        self.config = {"width": width}
        self.encoder = vgg16_features(ENCODER_LAYERS)
        self.encoder.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.decoder = Decoder(width)

    def encode(self, x):
        """(relu1_2, relu2_2, relu3_3) features."""
        x = (x - self.mean) / self.std
        out = []
        for start, end in zip((0, *LEVEL_ENDS[:-1]), LEVEL_ENDS):
            x = self.encoder[start:end](x)
            out.append(x)
        return out

    def style_statistics(self, painting):
        """The painting's (mean, std) per channel at each level: all the decoder ever needs of it."""
        return [mean_std(f) for f in self.encode(painting)]

    @staticmethod
    def transfer(content, statistics, alpha: float = 1.0):
        targets = [adain(f, *s) for f, s in zip(content, statistics)]
        return targets if alpha >= 1 else [alpha * t + (1 - alpha) * f for t, f in zip(targets, content)]

    def forward(self, photo, painting, alpha: float = 1.0):
        height, width = photo.shape[-2:]
        pad_h, pad_w = (-height) % self.multiple, (-width) % self.multiple
        if pad_h or pad_w:
            photo = F.pad(photo, (0, pad_w, 0, pad_h), mode="replicate")
        out = self.decoder(self.transfer(self.encode(photo), self.style_statistics(painting), alpha))
        return (out if self.training else out.clamp(0, 1))[..., :height, :width]


class StyleAndPhotoCrops:
    """(photo crops, style crops) batches. A style crop is a random square of a preset painting (shrunk so its
    long side is 256-768 px first: brush strokes at several scales) or, half the time, of another photo.
    Batch `step` is a pure function of (seed, step, rank)."""

    def __init__(self, folder, crop, batch_size, seed, rank):
        self.photos = [p for p in folder.train if min(p.shape[:2]) >= crop]
        self.paintings = [p for _, p in folder.paintings]
        self.crop, self.batch_size, self.seed, self.rank = crop, batch_size, seed, rank
        self.per_epoch = max(1, len(self.photos) // batch_size)

    def random_crop(self, rng, image):
        y = int(rng.integers(0, image.shape[0] - self.crop + 1))
        x = int(rng.integers(0, image.shape[1] - self.crop + 1))
        patch = image[y:y + self.crop, x:x + self.crop]
        return patch[:, ::-1] if rng.integers(0, 2) else patch

    def style_crop(self, rng):
        if rng.random() < 0.5:
            return self.random_crop(rng, self.photos[int(rng.integers(0, len(self.photos)))])
        painting = self.paintings[int(rng.integers(0, len(self.paintings)))]
        side = int(rng.integers(max(256, self.crop), 769))
        return self.random_crop(rng, photos.shrink_to(painting, side))

    def __call__(self, step):
        rng = np.random.default_rng([self.seed, step, self.rank])
        content = [self.random_crop(rng, self.photos[i]) for i in rng.integers(0, len(self.photos), self.batch_size)]
        styles = [self.style_crop(rng) for _ in range(self.batch_size)]
        as_tensor = lambda crops: torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255)  # noqa: E731
        return as_tensor(content), as_tensor(styles)


def painting_uint8(path, side: int = 768) -> np.ndarray:
    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        return np.asarray(image)


class AdaINTrainer(Trainer):
    """Trains the decoder only; the encoder is copied from the loss VGG16 and frozen (see the module's docstring)."""

    VAL_SIDE = 192

    def __init__(self, recipe, family, folder, device, world):
        super().__init__(recipe, family, folder, device, world)
        self.vgg = loss_vgg(recipe, device)
        self.model = family.build(recipe.get("config")).to(device)
        self.model.encoder.load_state_dict(self.vgg.features[:ENCODER_LAYERS].state_dict())
        self.card_extras["encoder"] = f"VGG16 conv1_1 to relu3_3 from {getattr(self.vgg, 'source', 'the loss VGG')}"
        self.optimizers = {"opt": torch.optim.Adam(self.model.decoder.parameters(), recipe["lr"], betas=recipe["betas"])}
        self.modules = {"model": self.model}
        bf16 = recipe["loss_bf16"] and device.type == "cpu" and hardware.cpu_computes_bf16()
        self.autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
        self.held_out = getattr(folder, "held_out", None)
        # A dry run (6 steps) goes through both phases.
        self.reconstruction_steps = min(recipe["reconstruction_steps"], 3) if recipe.get("dry_run") \
            else recipe["reconstruction_steps"]

    @staticmethod
    def load_data(spec, family, dataset, data, dry_run, seed, rank, world):
        if dry_run:
            folder = photos.synthetic_photos()
            folder.paintings = [(f"synthetic-{k}", p) for k, p in
                                enumerate(photos.synthetic_photos(n_train=3, n_val=0, seed=1).train)]
            folder.held_out = folder.paintings[0][1]
        else:
            folder = photos.load_photos(data, max_side=spec["photo_side"])
            folder.val = [photos.shrink_to(p, spec["photo_side"]) for p in folder.val]
            where = style_losses.find_paintings(data)
            folder.paintings = [(name, painting_uint8(where / file)) for name, (file, _, _) in
                                style_losses.PRESETS.items()]
            folder.held_out = painting_uint8(where / HELD_OUT_PAINTING[0], 512)
            folder.source = f"{folder.source} (photos), {where} (paintings)"
        crop = 64 if dry_run else spec["crop"]
        return folder, StyleAndPhotoCrops(folder, crop, spec["batch_size"], seed, rank)

    def losses(self, output, target, style):
        """Content: relu3_3 of the output against the AdaIN target; style: mean/std per loss layer."""
        with self.autocast:
            out_features = self.vgg(output, LOSS_LAYERS)
            with torch.no_grad():
                style_features = self.vgg(style, LOSS_LAYERS)
        content = F.mse_loss(out_features["relu3_3"].float(), target)
        style_loss = 0.0
        for k in LOSS_LAYERS:
            (m1, s1), (m2, s2) = mean_std(out_features[k].float()), mean_std(style_features[k].float())
            style_loss = style_loss + F.mse_loss(m1, m2) + F.mse_loss(s1, s2)
        return content, style_loss

    def step(self, batch, style, autocast):
        photo, style = batch.to(self.device), style.to(self.device)
        opt = self.optimizers["opt"]
        if self.current_step == 0:  # a fresh run (a resumed one loads the scale with the weights)
            with torch.no_grad():
                spreads = [f.float().std() for f in self.model.encode(torch.cat([photo, style]))]
            self.model.decoder.input_scale.copy_(torch.stack(spreads))
        if self.current_step < self.reconstruction_steps:
            # First learn to invert the encoder (pixel L1, no loss VGG: several times faster a step). Straight into
            # the AdaIN losses, the decoder painted edge-like halos in one palette for every painting after
            # 1,000 steps (docs/history.md).
            with torch.no_grad(), self.autocast:
                features = [f.float() for f in self.model.encode(photo)]
            with self.autocast:
                output = self.model.decoder(features).float()
            loss = (output - photo).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return {"loss": loss.item(), "reconstruction_l1": loss.item()}
        if self.current_step == self.reconstruction_steps:
            opt.state.clear()  # fresh Adam moments: the L1 phase's would scale the first feature-loss steps wrongly
        with torch.no_grad(), self.autocast:
            content = [f.float() for f in self.model.encode(photo)]
            statistics = [(m.float(), s.float()) for m, s in self.model.style_statistics(style)]
        targets = self.model.transfer(content, statistics)
        with self.autocast:
            output = self.model.decoder(targets).float()
        content_loss, style_loss = self.losses(output, targets[-1], style)
        loss = self.recipe["content_weight"] * content_loss + self.recipe["style_weight"] * style_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "content": content_loss.item(), "style": style_loss.item()}

    def val_pairs(self, folder):
        side = self.VAL_SIDE
        crops = [photos.shrink_to(p, side * 2)[:side, :side] for p in folder.val[:3]]
        styles = [p for _, p in folder.paintings[:3]] + ([self.held_out] if self.held_out is not None else [])
        return crops, styles

    @torch.no_grad()
    def scores(self, folder, grid_path=None):
        model = self.model.eval()
        crops, styles = self.val_pairs(folder)
        content, style, rows = [], [], []
        for crop in crops:
            x = style_losses.to_tensor(crop.astype(np.float32) / 255).to(self.device)
            row = [x[0]]
            for painting in styles:
                s = style_losses.to_tensor(photos.shrink_to(painting, 256).astype(np.float32) / 255).to(self.device)
                out = model(x, s)
                c, st = self.losses(out, model.transfer(model.encode(x), model.style_statistics(s))[-1], s)
                content.append(c.item())
                style.append(st.item())
                row.append(out[0])
            rows.append(torch.cat(row, dim=2))
        if grid_path is not None:
            picture = torch.cat(rows, dim=1).permute(1, 2, 0).cpu().numpy()
            Image.fromarray(photos.to_uint8(picture)).save(grid_path)
        self.model.train()
        return {"val_content": float(np.mean(content)), "val_style": float(np.mean(style))}

    def validate(self, folder, run_dir, step):
        result = self.scores(folder, Path(run_dir) / f"samples_{step:06d}.png")
        Image.open(Path(run_dir) / f"samples_{step:06d}.png").save(Path(run_dir) / "samples.png")
        return result

    def evaluate(self, folder):
        return {"val_images": folder.val_source, **self.scores(folder)}


FAMILIES = [
    Family("adain", "arbitrary-stylizer", AdaINNetwork, {"width": 96}, AdaINTrainer, label="Any painting (AdaIN)",
           description="Arbitrary style transfer: a VGG16 encoder, adaptive instance normalisation and a decoder "
                       "trained to invert it (Huang & Belongie 2017)"),
]

# crop 128, batch 4: 1,700 steps in about 40 min on two CPU threads, the first 400 learning to reconstruct photos.
# style_weight 3: with these VGG16 weights the style term starts some 50x the content term at the paper's 10, and
# the decoder lost the photo. loss_bf16: the loss VGG in bfloat16 where the CPU computes it.
RECIPES = {
    "adain": dict(family="adain", dataset="photos", steps=1700, reconstruction_steps=400, batch_size=4, crop=128,
                  photo_side=512, lr=3e-4, betas=(0.9, 0.999), content_weight=1.0, style_weight=3.0, loss_bf16=True),
}
