"""genlab's `vae` against a plain PyTorch re-implementation of the pytorch/examples VAE.

The reference setup (github.com/pytorch/examples, vae/main.py): MLP 784-400-20 (ReLU), decoder
20-400-784 (ReLU, sigmoid), Bernoulli likelihood (BCE summed over pixels) + closed-form KL, Adam
lr 1e-3, batch 128, 10 epochs. Both are trained on mnist5k's train split (4,000 digits) in this
process and scored on its 1,000 held-out digits: −ELBO and the IWAE NLL estimate (K samples), in
nats per image. Prints one JSON line per implementation:

    python benchmarks/vae_reference.py [--epochs 10] [--k 500] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

import genlab
from genlab.metrics.likelihood import iwae_nll, negative_elbo


class ReferenceVAE(nn.Module):
    """The pytorch/examples model, written out plainly."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def posterior(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))).view(-1, 1, 28, 28)

    def decoder_log_prob(self, x, x_hat):
        return -F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x, reduction="none").flatten(1).sum(1)

    def loss(self, x):
        mu, logvar = self.posterior(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        bce = F.binary_cross_entropy(self.decode(z), x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld


def train_reference(data, epochs: int, seed: int) -> tuple[ReferenceVAE, float]:
    torch.manual_seed(seed)
    model = ReferenceVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(data.x))
        for i in range(0, len(order), 128):
            loss = model.loss(data.x[order[i:i + 128]])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=500, help="importance samples for the IWAE NLL")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    train, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")

    model = genlab.create("vae", data=train, arch="mlp", hidden=(400,), latent_dim=20, recon_loss="bce", lr=1e-3)
    result = genlab.train(model, train, epochs=args.epochs, batch_size=128, seed=args.seed, progress=False)
    reference, seconds = train_reference(train, args.epochs, args.seed)
    for name, m, secs in (("genlab vae (arch=mlp, hidden=400, latent 20)", model, result.seconds),
                          ("plain PyTorch (pytorch/examples VAE)", reference, seconds)):
        print(json.dumps({"implementation": name, "epochs": args.epochs, "batch_size": 128,
                          "train_seconds": round(secs, 1),
                          "heldout_neg_elbo_nats": round(negative_elbo(m, test.x, seed=args.seed), 2),
                          f"heldout_iwae_nll_k{args.k}_nats": round(iwae_nll(m, test.x, k=args.k, seed=args.seed), 2),
                          "n_heldout": len(test)}), flush=True)


if __name__ == "__main__":
    main()
