"""The training loop: callbacks, stop and pause, live beta and lr, NaN safety, autosave."""

import threading
import time

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import load_checkpoint
from latentlab.training.control import TrainControl
from latentlab.training.device import resolve_device
from latentlab.training.trainer import Trainer, TrainingCallback, TrainSettings


def vae(**kw):
    torch.manual_seed(0)
    return create_model(make_config("vae", hidden=32, image_shape=[1, 8, 8], num_classes=2, **kw))


class Recorder(TrainingCallback):
    def __init__(self):
        self.steps, self.epochs, self.ends = [], [], []

    def on_step(self, trainer, report):
        self.steps.append(report)

    def on_epoch(self, trainer, report):
        self.epochs.append(report)

    def on_end(self, trainer, result):
        self.ends.append(result)


def test_callbacks_report_steps_epochs_and_test_latents(tiny_dataset):
    rec = Recorder()
    settings = TrainSettings(epochs=3, batch_size=16, device="cpu", report_every_steps=4)
    result = Trainer(vae(), tiny_dataset, settings, callbacks=[rec]).fit()
    assert result.status == "finished" and result.epochs_done == 3
    assert [r.epoch for r in rec.epochs] == [1, 2, 3]
    assert rec.steps[-1].step == rec.steps[-1].total_steps == 3 * 8
    assert rec.steps[-1].eta_s == pytest.approx(0.0, abs=1e-6)
    assert set(rec.steps[0].losses) == {"loss", "recon", "kl"}
    latents = rec.epochs[-1].latents
    assert latents.shape == (len(tiny_dataset.test), 2) and np.isfinite(latents).all()
    assert "test_neg_elbo" in rec.epochs[-1].metrics and len(rec.epochs[-1].metrics["kl_per_dim"]) == 2
    assert len(result.history) == 3 and rec.ends == [result]


def test_history_continues_when_fine_tuning(tiny_dataset):
    settings = TrainSettings(epochs=2, batch_size=32, device="cpu")
    first = Trainer(vae(), tiny_dataset, settings).fit()
    trainer = Trainer(vae(), tiny_dataset, settings, history=first.history)
    second = trainer.fit()
    assert [h["epoch"] for h in second.history] == [1, 2, 3, 4]
    record = trainer.training_record()
    assert (record["epochs_at_start"], record["epochs_trained"], record["status"]) == (2, 4, "finished")


def test_training_is_reproducible_with_a_seed(tiny_dataset):
    settings = TrainSettings(epochs=2, batch_size=16, device="cpu", seed=3)
    a, b = vae(), vae()
    Trainer(a, tiny_dataset, settings).fit()
    Trainer(b, tiny_dataset, settings).fit()
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_stop_from_another_thread_ends_promptly(tiny_dataset):
    control = TrainControl()
    trainer = Trainer(vae(), tiny_dataset, TrainSettings(epochs=10_000, batch_size=16, device="cpu"),
                      control=control)
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", trainer.fit()))
    thread.start()
    time.sleep(0.3)
    control.request_stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert out["result"].status == "stopped" and out["result"].epochs_done < 10_000


def test_pause_holds_training_until_resumed(tiny_dataset):
    control = TrainControl()
    rec = Recorder()
    trainer = Trainer(vae(), tiny_dataset, TrainSettings(epochs=50, batch_size=16, device="cpu", report_every_steps=1),
                      control=control, callbacks=[rec])
    control.pause()
    thread = threading.Thread(target=trainer.fit)
    thread.start()
    time.sleep(0.3)
    assert rec.steps == []  # paused before the first step
    control.resume()
    time.sleep(0.3)
    control.request_stop()
    thread.join(timeout=10)
    assert rec.steps


def test_beta_and_lr_change_while_training(tiny_dataset):
    control = TrainControl()
    seen = []

    class ChangeAfterFirstEpoch(TrainingCallback):
        def on_epoch(self, trainer, report):
            seen.append((trainer.model.config.beta, trainer.optimizers[0].param_groups[0]["lr"]))
            control.set_beta(4.0)
            control.set_lr(5e-4)

    Trainer(vae(), tiny_dataset, TrainSettings(epochs=2, batch_size=16, device="cpu"), control=control,
            callbacks=[ChangeAfterFirstEpoch()]).fit()
    assert seen == [(1.0, 1e-3), (4.0, 5e-4)]


def test_non_finite_loss_stops_with_a_message_and_keeps_good_weights(tiny_dataset):
    model = vae()
    good = {}

    class Poison(TrainingCallback):
        def on_epoch(self, trainer, report):
            if report.epoch == 2:
                good.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
                with torch.no_grad():  # what a diverging step does to the weights
                    trainer.model.decoder.net[0].weight.fill_(float("nan"))

    result = Trainer(model, tiny_dataset, TrainSettings(epochs=5, batch_size=16, device="cpu"),
                     callbacks=[Poison()]).fit()
    assert result.status == "failed"
    assert "non-finite" in result.message and "epoch 3" in result.message
    assert "restored to the end of epoch 2" in result.message and "learning rate" in result.message
    for k, v in model.state_dict().items():
        assert torch.equal(v, good[k]), k


def test_autosave_writes_a_loadable_checkpoint(tiny_dataset, tmp_path):
    path = tmp_path / "auto"
    settings = TrainSettings(epochs=2, batch_size=32, device="cpu", autosave_path=str(path), autosave_every_s=0.0)
    Trainer(vae(), tiny_dataset, settings).fit()
    ckpt = load_checkpoint(path)
    assert len(ckpt.history) == 2 and ckpt.dataset["name"] == "bars"


def test_autosave_mid_epoch_records_the_partial_epoch(tiny_dataset, tmp_path):
    """With a time interval the autosave comes between steps: the file says how far it got."""
    path = tmp_path / "auto"
    seen = []

    class Look(TrainingCallback):
        def on_autosave(self, trainer, written, error):
            seen.append((trainer.position, load_checkpoint(written).history[-1]))

    settings = TrainSettings(epochs=1, batch_size=16, report_every_steps=2, device="cpu",
                             autosave_path=str(path), autosave_every_s=0.0)
    Trainer(vae(), tiny_dataset, settings, callbacks=[Look()]).fit()
    position, record = seen[0]
    assert position == (1, 2, 8) and record["epoch"] == 1 and record["epoch_fraction"] == 0.25
    assert "train_loss" in record
    final = load_checkpoint(path)  # the last autosave, after the epoch: whole
    assert len(final.history) == 1 and "epoch_fraction" not in final.history[0]


def test_a_failing_autosave_is_reported_and_training_goes_on(tiny_dataset, tmp_path, monkeypatch):
    from latentlab.errors import CheckpointError

    errors = []

    class Look(TrainingCallback):
        def on_autosave(self, trainer, written, error):
            errors.append(error)

    def full_disk(self, path):
        raise CheckpointError(f"could not save checkpoint {path}: No space left on device")

    monkeypatch.setattr(Trainer, "save", full_disk)
    settings = TrainSettings(epochs=3, batch_size=32, device="cpu", autosave_path=str(tmp_path / "a"),
                             autosave_every_s=None, autosave_every_epochs=1)
    result = Trainer(vae(), tiny_dataset, settings, callbacks=[Look()]).fit()
    assert result.status == "finished" and result.epochs_done == 3
    assert len(errors) == 3 and all("No space left" in e for e in errors)


def test_stop_mid_epoch_keeps_whole_steps_and_records_a_partial_epoch(tiny_dataset):
    control = TrainControl()

    class StopAtStep(TrainingCallback):
        def on_step(self, trainer, report):
            if report.step == 12:
                control.request_stop()

    trainer = Trainer(vae(), tiny_dataset, TrainSettings(epochs=5, batch_size=16, report_every_steps=4,
                                                         device="cpu"),
                      control=control, callbacks=[StopAtStep()])
    result = trainer.fit()
    assert result.status == "stopped" and result.position == (2, 4, 8)
    assert "stopped in epoch 2 after step 4 of 8" in result.message
    assert [r.get("epoch_fraction") for r in trainer.history] == [None, 0.5]
    assert trainer.training_record()["epochs_trained"] == 1.5
    assert {int(s["step"]) for s in trainer.optimizers[0].state.values()} == {12}


def test_a_stop_before_the_first_step_trains_nothing(tiny_dataset):
    control = TrainControl()
    control.request_stop()
    trainer = Trainer(vae(), tiny_dataset, TrainSettings(epochs=5, device="cpu"), control=control)
    result = trainer.fit()
    assert result.status == "stopped" and trainer.history == [] and result.position[:2] == (0, 0)
    assert trainer.training_record()["epochs_trained"] == 0


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(batch_size=0), dict(lr=-1.0), dict(autosave_every_s=-1.0),
                                 dict(autosave_every_epochs=0)])
def test_bad_settings_are_errors(bad):
    with pytest.raises(ConfigError):
        TrainSettings(**bad)


def test_device_resolution():
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            resolve_device("cuda")


def test_mixed_precision_path_runs_through_the_same_loop(tiny_dataset, monkeypatch):
    """The CUDA path autocasts to bfloat16; exercise that code on the CPU."""
    import latentlab.training.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "amp_dtype", lambda device: torch.bfloat16)
    model = vae()
    trainer = Trainer(model, tiny_dataset, TrainSettings(epochs=2, batch_size=16, device="cpu"))
    assert trainer._amp is torch.bfloat16
    result = trainer.fit()
    assert result.status == "finished" and np.isfinite(result.metrics["test_neg_elbo"])
    assert all(p.dtype == torch.float32 for p in model.parameters()), "weights stay float32"


def test_families_that_are_not_amp_safe_train_in_full_precision(tiny_dataset, monkeypatch):
    import latentlab.training.trainer as trainer_module

    monkeypatch.setattr(trainer_module, "amp_dtype", lambda device: torch.bfloat16)
    wgan = create_model(make_config("wgan-gp", backbone="mlp", hidden=32, image_shape=[1, 8, 8], num_classes=2))
    assert Trainer(wgan, tiny_dataset, TrainSettings(epochs=1, device="cpu"))._amp is None


def test_the_dataset_moves_to_the_training_device_once_and_batches_stay_there(tiny_dataset, monkeypatch):
    """The CUDA path: one copy of the data onto the device, then only index batches there.
    Exercised on the CPU by recording every ``ImageDataset.to`` and every batch's device."""
    import latentlab.data as data_module

    moves: list[torch.device] = []
    original_to = data_module.ImageDataset.to

    def recording_to(self, device):
        moves.append(torch.device(device))
        return original_to(self, device)

    monkeypatch.setattr(data_module.ImageDataset, "to", recording_to)
    model = vae()
    batch_devices: set[torch.device] = set()
    original_step = model.train_step

    def recording_step(x, y, optimizers, step):
        batch_devices.update({x.device, y.device})
        return original_step(x, y, optimizers, step)

    model.train_step = recording_step
    trainer = Trainer(model, tiny_dataset, TrainSettings(epochs=3, batch_size=16, device="cpu"))
    assert trainer.fit().status == "finished"
    assert moves == [trainer.device], "the data is copied to the device once per run, not per epoch or batch"
    assert batch_devices == {trainer.device}
