"""One LightningModule that trains any model by driving its players (manual optimisation)."""
from __future__ import annotations

import lightning as L
import torch

from ..errors import TrainingDiverged
from ..models.base import GenerativeModel, Player


class Engine(L.LightningModule):
    """Each training step runs every player in order, ``player.steps`` optimiser steps each."""

    def __init__(self, model: GenerativeModel, fresh_hyperparameters: bool = False):
        super().__init__()
        self.model = model
        self.automatic_optimization = False
        # on a resume that changes the learning rate (or betas): a checkpoint's optimiser states
        # carry the old values, so the new ones from the config are put back after the restore
        self.fresh_hyperparameters = fresh_hyperparameters
        self._fresh: list[list[dict]] = []
        self._players: list[Player] = []
        self._sums: dict[str, torch.Tensor] = {}
        self._seen = 0

    def configure_optimizers(self):
        self._players = self.model.players()
        self._fresh = [[{k: g[k] for k in ("lr", "betas", "weight_decay") if k in g} for g in p.optimizer.param_groups]
                       for p in self._players]
        # a closed-form model (no players) still runs the loop so that run files and logs are written
        return [p.optimizer for p in self._players] or None

    def on_train_start(self) -> None:
        # runs after Lightning restored the checkpoint's optimiser states
        if not self.fresh_hyperparameters:
            return
        for player, fresh in zip(self._players, self._fresh):
            for group, values in zip(player.optimizer.param_groups, fresh):
                group.update(values)
                if "lr" in values:
                    group["initial_lr"] = values["lr"]     # the base of the epoch's lr_schedule

    def _key(self, player: Player, name: str) -> str:
        return name if len(self._players) == 1 else f"{player.name}_{name}"

    def _guarded_backward(self, player: Player):
        """``manual_backward`` that first refuses a loss that is not finite, before any weight changes."""
        def backward(loss: torch.Tensor) -> None:
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"player {player.name!r} loss became {loss.item()} at step {self.global_step} "
                    f"(epoch {self.current_epoch}); lower the learning rate with --lr or check the data")
            self.manual_backward(loss)
        return backward

    def training_step(self, batch: dict, batch_idx: int):
        if not self._players:
            return
        optimizers = self.optimizers()
        if not isinstance(optimizers, (list, tuple)):
            optimizers = [optimizers]
        logs: dict[str, torch.Tensor] = {}
        for player, opt in zip(self._players, optimizers):
            backward = self._guarded_backward(player)
            for _ in range(player.steps):
                # each player's gradient norm: the vanishing-gradient diagnostic of adversarial games
                out = player.step(batch, backward, optimizer=opt, grad_norm=len(self._players) > 1)
            for name, value in out.items():
                logs[self._key(player, name)] = value.detach()
        # Lightning's self.log costs ~1 ms a call, as much as a small model's whole step: sum the
        # values here and hand Lightning a value every log_every_n_steps and the means per epoch.
        n = len(batch["x"])
        for name, value in logs.items():
            self._sums[name] = self._sums.get(name, 0.0) + value * n
        self._seen += n
        if (batch_idx + 1) % self.trainer.log_every_n_steps == 0:
            self.log_dict({f"train/{k}_step": v for k, v in logs.items()}, on_step=True, on_epoch=False,
                          prog_bar=True)

    def on_train_epoch_start(self) -> None:
        self._sums, self._seen = {}, 0
        self.model.on_epoch_start(self.current_epoch)
        self._schedule_lr()

    def _schedule_lr(self) -> None:
        """Each player's rate for this epoch from its ``lr_schedule``: a function of the epoch, not
        of saved state, so a resumed run continues the schedule where it stopped."""
        total = self.trainer.max_epochs
        if not total or total < 1:   # a step or time budget: the length of training is unknown
            return
        for player in self._players:
            if player.lr_schedule is None:
                continue
            factor = float(player.lr_schedule(self.current_epoch / total))
            for group in player.optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * factor

    def epoch_means(self) -> dict[str, float]:
        """This epoch's per-image means of every logged value so far, keyed as logged (for
        multi-player models ``<player>_<name>``); callbacks' epoch-end hooks run before the
        engine logs them, so this is how they read the epoch's figures."""
        return {k: float(v / self._seen) for k, v in self._sums.items()} if self._seen else {}

    def on_train_epoch_end(self) -> None:
        if self._seen:
            means = {f"train/{k}_epoch": v / self._seen for k, v in self._sums.items()}
            self.log_dict(means, on_step=False, on_epoch=True, sync_dist=True)

    def validation_step(self, batch: dict, batch_idx: int):
        for player in self._players or self.model.players():
            out = player.loss(batch)
            self.log_dict({f"val/{self._key(player, k)}": v.detach() for k, v in out.items()}, on_epoch=True,
                          batch_size=len(batch["x"]), sync_dist=True)
