"""Training the inpainting network: photo crops with free-form masks, the trainer, and the recipes (stages)."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from ... import masks as free_form
from ... import photos
from ...family import Trainer
from ...training import centre_crop, loss_vgg, start_from
from . import fill
from .network import composite


class PhotoCrops:
    """(crop, mask) batches for inpainting: random crops of the photos, flipped/rotated, each with a free-form mask
    covering a share of it drawn from `mask_ratio` (low, high). Batch `step` is a pure function of (seed, step,
    rank), so a resumed run continues exactly."""

    def __init__(self, photo_folder, patch, batch_size, seed, rank, world, mask_ratio=(0.05, 0.5)):
        self.patch, self.batch_size, self.seed, self.rank = patch, batch_size, seed, rank
        self.mask_ratio = tuple(mask_ratio)
        self.images = [p for p in photo_folder.train if min(p.shape[:2]) >= patch]
        self.per_epoch = max(1, len(self.images) // (batch_size * world))

    def __call__(self, step):
        rng = np.random.default_rng([self.seed, step, self.rank])
        crops, holes = [], []
        for i in rng.integers(0, len(self.images), self.batch_size):
            image = self.images[i]
            y = int(rng.integers(0, image.shape[0] - self.patch + 1))
            x = int(rng.integers(0, image.shape[1] - self.patch + 1))
            crop = np.rot90(image[y:y + self.patch, x:x + self.patch], int(rng.integers(0, 4)))
            crops.append(crop[:, ::-1] if rng.integers(0, 2) else crop)
            holes.append(free_form.random_mask(rng, self.patch, self.patch, *self.mask_ratio))
        images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div_(255)
        return (images, torch.from_numpy(np.stack(holes)).float()[:, None]), None


def shrink_photo(path, side):
    """A photo decoded at reduced size (JPEG draft mode) and shrunk so its longer side is `side`: the big
    wallpapers would otherwise give 96-pixel crops of flat sky or a single texture."""
    with Image.open(path) as image:
        image.draft("RGB", (side, side))
        image = image.convert("RGB")
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        return np.asarray(image)


class InpaintTrainer(Trainer):
    """Inpainting: L1 on the hole (weighted 6x) and on the known region (the partial-convolution paper's
    weights, Liu et al. 2018), or squared error with the same weights (`pixel_loss="l2"`), or minus each photo's
    hole PSNR averaged over the batch (`pixel_loss="psnr"`), and optionally a VGG16
    perceptual loss on the composite (`perceptual_weight`; off in the shipped recipes, see RECIPES). With
    `grow_from` the network starts from that checkpoint's weights.

    The target is fidelity (PSNR): L1 first, which converges faster from scratch, then a squared-error stage,
    whose optimum is the one PSNR measures, then the mean of per-photo PSNRs itself, as the benchmark averages
    it. No adversarial loss: on a CPU budget a discriminator costs half the
    steps and trades PSNR for texture, against the target.
    """
    VAL_CROP = 256  # side of the centre crops of validation photos scored while training
    PSNR_CAP_MSE = 1e-4  # pixel_loss="psnr": added to each hole's MSE, so gains past about 40 dB count little

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        spec = recipe
        if spec.get("grow_from"):  # fine-tuning a trained network (the stages after inpaint-base)
            self.model, self.card_extras["grown_from"] = start_from(spec, family, spec.get("config"))
        else:
            self.model = family.build(spec.get("config"))
        self.model = self.model.to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}  # the VGG is a fixed loss network: never saved, never in the checkpoint
        self.vgg = loss_vgg(spec, device) if spec["perceptual_weight"] > 0 else None

    @staticmethod
    def load_data(spec, family, dataset, data, dry_run, seed, rank, world):
        if dry_run:
            folder = photos.synthetic_photos()
        else:
            train_dir, val_dir = photos.find_photos(data)
            train = [shrink_photo(p, spec["photo_side"]) for p in photos.list_images(train_dir)]
            if val_dir is not None:
                val, val_source = [photos.load_rgb(p) for p in photos.list_images(val_dir)], str(val_dir)
            else:
                train, val, val_source = train[:-10], train[-10:], f"the last 10 photos of {train_dir}"
            folder = photos.PhotoFolder(train, val, str(train_dir), val_source)
        patch = 32 if dry_run else spec["patch"]
        return folder, PhotoCrops(folder, patch, spec["batch_size"], seed, rank, world, spec["mask_ratio"])

    def step(self, batch, labels, autocast):
        images, holes = (t.to(self.device) for t in batch)
        with autocast:
            output = self.net(images, holes).float()
        valid = 1 - holes
        # Means over all pixels (not per region), as in the partial-convolution paper: a bigger hole weighs more.
        error = output - images
        hole_l1 = (holes * error.abs()).mean()
        valid_l1 = (valid * error.abs()).mean()
        losses = {"hole_l1": hole_l1.item(), "valid_l1": valid_l1.item()}
        pixel_loss = self.recipe.get("pixel_loss", "l1")
        if pixel_loss == "psnr":
            # The benchmark's own measure: hole PSNR per image, averaged over images. Squared error summed over
            # the batch weighs each image by its hole's area times its error, so big, hard holes dominate; this
            # weighs every image alike, as the mean PSNR does (10 log10 of the hole's MSE; PSNR_CAP_MSE keeps a
            # flat-sky crop from taking over the batch once its fill is near exact).
            per_image = (holes * error ** 2).sum((1, 2, 3)) / (3 * holes.sum((1, 2, 3))).clamp_min(1)
            hole_term = 10 * torch.log10(per_image + self.PSNR_CAP_MSE).mean()
            valid_term = (valid * error ** 2).mean()
            losses["hole_psnr"] = -hole_term.item()
        elif pixel_loss == "l2":
            # Squared error: its minimiser is the mean of what could be in the hole, the fill PSNR rewards; L1's
            # is the median. They differ most where the hole is deep and the network is least sure.
            hole_term, valid_term = (holes * error ** 2).mean(), (valid * error ** 2).mean()
            losses["hole_l2"] = hole_term.item()
        else:
            hole_term, valid_term = hole_l1, valid_l1
        loss = self.recipe["hole_weight"] * hole_term + self.recipe["valid_weight"] * valid_term
        if self.vgg is not None:
            layers = self.recipe["perceptual_layers"]
            with torch.no_grad():
                target = self.vgg(images, layers)
            # On the composite only (what the user sees): the partial-conv paper also scores the raw output, but
            # a second VGG pass costs a third of a step on a CPU.
            filled = self.vgg(composite(images, output, holes), layers)
            perceptual = sum(F.l1_loss(filled[k], target[k]) for k in layers)
            loss = loss + self.recipe["perceptual_weight"] * perceptual
            losses["perceptual"] = perceptual.item()
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return losses

    def val_items(self, photo_folder, count=4):
        """Centre crops of the first validation photos, each with a fixed 30-40 % mask."""
        items = []
        for k, image in enumerate(photo_folder.val[:count]):
            side = min(self.VAL_CROP, *image.shape[:2])
            crop = centre_crop(image, side)
            items.append((crop, free_form.bucket_masks(k, side, side, 0.3, 0.4, 1)[0]))
        return items

    @torch.no_grad()
    def validate(self, photo_folder, run_dir, step):
        """Hole PSNR on validation crops, and a picture: input with the hole | network | original."""
        model = self.model.eval()
        scores, rows = [], []
        for crop, mask in self.val_items(photo_folder):
            # One pass at the crop's size (not the shipped blend of passes): the network's own score, comparable
            # across the training stages' logs.
            result = fill.model_fill_uint8(model, crop, mask, passes=fill.ONE_PASS)
            scores.append(fill.measure(result, crop, mask)["hole_psnr"])
            shown = crop.copy()
            shown[mask] = (255, 255, 255)
            rows.append(np.concatenate([shown, result, crop], axis=1))
        picture = Image.fromarray(np.concatenate(rows, axis=0))
        picture.save(Path(run_dir) / "samples.png")
        picture.save(Path(run_dir) / f"samples_{step:06d}.png")
        self.model.train()
        return {"val_hole_psnr": float(np.mean(scores))}

    @torch.no_grad()
    def evaluate(self, photo_folder):
        """Hole and whole-image PSNR per mask-ratio bucket on the validation photos (one seeded mask each)."""
        model = self.model.eval()
        metrics = {"val_images": photo_folder.val_source, "passes": fill.passes_record()}
        for low, high in free_form.BUCKETS:
            scores = []
            for k, image in enumerate(photo_folder.val):
                mask = free_form.bucket_masks(k, *image.shape[:2], low, high, 1)[0]
                scores.append(fill.measure(fill.model_fill_uint8(model, image, mask), image, mask))
            metrics[f"{round(low * 100)}-{round(high * 100)}%"] = {
                key: round(float(np.mean([s[key] for s in scores])), 4) for key in ("hole_psnr", "hole_ssim", "psnr")}
        return metrics


# The stages, each starting from the one before (grow_from). `patch`: the crop side; photos are shrunk to
# `photo_side` at load. perceptual_weight 0: with the shared VGG16 (fine-tuned for edge detection) the fills went
# orange-brown, and the target is fidelity (hole PSNR). cpu_bf16: bfloat16 autocast where the CPU computes it
# (1.9x faster steps with AVX512-BF16). The path of the stages and what each gained: docs/history.md.
#   inpaint-base  L1 on 128-pixel crops (masks 5-50 %), from scratch
#   inpaint-256   on 256-pixel crops: bigger holes with more context around them, for the same pixels a step
#   inpaint-l2    squared error, whose minimiser (the mean of what could be in the hole) is what PSNR rewards
#   inpaint-psnr  minus each photo's hole PSNR, averaged over the batch as the benchmark averages it;
#                 valid_weight 0 because the composite throws the network's known pixels away
_CROPS_256 = dict(family="inpaint", dataset="photos", batch_size=2, patch=256, photo_side=512, betas=(0.9, 0.999),
                  mask_ratio=(0.1, 0.5), perceptual_weight=0.0, perceptual_layers=["relu1_2", "relu2_2"],
                  cpu_bf16=True)
RECIPES = {
    "inpaint-base": dict(family="inpaint", dataset="photos", steps=15000, batch_size=8, patch=128, photo_side=512,
                         lr=5e-4, betas=(0.9, 0.999), mask_ratio=(0.05, 0.5), hole_weight=6.0, valid_weight=1.0,
                         perceptual_weight=0.0, perceptual_layers=["relu1_2", "relu2_2"], cpu_bf16=True),
    "inpaint-256": dict(_CROPS_256, grow_from="inpaint-base", steps=12000, lr=2.5e-4, hole_weight=6.0,
                        valid_weight=1.0),
    "inpaint-l2": dict(_CROPS_256, grow_from="inpaint-256", steps=4500, lr=1e-4, hole_weight=6.0, valid_weight=1.0,
                       pixel_loss="l2"),
    "inpaint-psnr": dict(_CROPS_256, grow_from="inpaint-l2", steps=3600, lr=5e-5, hole_weight=1.0, valid_weight=0.0,
                         pixel_loss="psnr"),
}
