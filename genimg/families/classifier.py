"""A small CNN classifier for 28x28 grayscale images (and 32x32 colour emoji by category).

It labels samples in the app, and its penultimate layer is the feature space in which the
quality benchmark measures Fréchet distances (no Inception network is available offline).
This room: the network, its trainer, its recipe and its family record.
"""
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from .. import data as datasets
from ..family import Family, Trainer
from ..training import digit_batches, network_shape


class Classifier(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 32, feature_dim: int = 128, channels: int = 1,
                 side: int = 28):
        super().__init__()
        self.config = {"num_classes": num_classes, "width": width, "feature_dim": feature_dim, "channels": channels,
                       "side": side}

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *block(channels, width), *block(width, width), nn.MaxPool2d(2),           # 14x14
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),  # 7x7
            nn.Flatten(), nn.Linear(2 * width * (side // 4) ** 2, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x):
        """x in [0, 1] -> feature vectors (the penultimate layer)."""
        return self.body(x * 2 - 1)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))


def shift_and_flip(flip: bool):
    """Augmentation for the classifier: random shifts of up to 2 pixels, and horizontal flips (garments, emoji)."""

    def augment(x):
        side = x.shape[-1]
        padded = F.pad(x, (2, 2, 2, 2), value=1.0 if x.shape[1] == 3 else 0.0)  # colour images are on white
        offsets = torch.randint(0, 5, (len(x), 2))
        x = torch.stack([padded[i, :, dy:dy + side, dx:dx + side] for i, (dy, dx) in enumerate(offsets.tolist())])
        if flip:
            mirror = torch.rand(len(x)) < 0.5
            x[mirror] = x[mirror].flip(-1)
        return x

    return augment


class ClassifierTrainer(Trainer):
    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        spec = recipe
        self.model = family.build(network_shape(data_set, family)).to(device)
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.AdamW(self.model.parameters(), spec["lr"], betas=spec["betas"],
                                                    weight_decay=spec["weight_decay"])}
        self.modules = {"model": self.model}

    def step(self, x, labels, autocast):
        x, labels = x.to(self.device), labels.to(self.device)
        with autocast:
            loss = F.cross_entropy(self.net(x).float(), labels)
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    @staticmethod
    def load_data(recipe, family, dataset, data, dry_run, seed, rank, world):
        return digit_batches(recipe, family, dataset, data, dry_run, seed, rank, world,
                             augment=shift_and_flip(flip=dataset in ("fashion-mnist", "emoji")))

    @torch.no_grad()
    def evaluate(self, dataset):
        self.model.eval()
        correct = 0
        for x, y in zip(datasets.to_float(dataset.test_images).split(1000), dataset.test_labels.split(1000)):
            correct += (self.model(x.to(self.device)).argmax(1).cpu() == y).sum().item()
        self.model.train()
        return {"test_accuracy": round(correct / len(dataset.test_images), 4)}


RECIPES = {
    "classifier": dict(family="classifier", steps=3000, batch_size=128, lr=3e-3, betas=(0.9, 0.999),
                       weight_decay=0.05),
}

FAMILIES = [
    Family("classifier", "classifier", Classifier,
           {"num_classes": 10, "width": 32, "feature_dim": 128, "channels": 1, "side": 28},
           ClassifierTrainer, label="Classifier",
           description="CNN classifier: labels samples and gives the features for the quality metrics"),
]
