"""Training on several processes, GPUs or machines with ``torch.distributed``, started by torchrun.

    torchrun --nproc_per_node=4 -m latentlab train --model vae --dataset fashion-mnist ...

torchrun starts one process per GPU (or per CPU share) and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address; :func:`init_from_env` reads them (outside
torchrun it returns None and nothing changes). The backend is NCCL on CUDA GPUs (one per
process: ``cuda:LOCAL_RANK``) and gloo on CPUs.

What a rank does (the Trainer's hooks call these):

* Every rank holds the whole (small) training set on its device and uses rank 0's
  permutation of it each epoch; of each global batch of ``batch_size`` images it takes its own shard,
  ``rows[rank::world_size]``: a DistributedSampler's split without its copies. So a run on
  N processes sees exactly the batches of one process with the same global batch size.
* Gradients are averaged over the ranks before every optimiser step. Families that train
  with the standard one-loss step (ae, vae, msvae, the judge) go through
  :class:`~torch.nn.parallel.DistributedDataParallel`, which overlaps the all-reduce with
  the backward pass. Families with their own step and several optimisers (gan, wgan-gp:
  a discriminator step, then a generator step that back-propagates through the
  discriminator) cannot be wrapped in one DDP forward; each of their optimisers averages
  its parameters' gradients (one flat all-reduce) just before it steps, which is what
  DDP computes. Rank 0's weights are broadcast first, so every rank starts the same.
* The loss parts each step reports are averaged over the ranks, so every rank reports
  (and checks for NaN) the loss of the global batch, and a stop asked of any rank (Ctrl+C,
  SIGTERM from a cluster) is agreed every :data:`AGREE_EVERY` steps, so all ranks stop
  after the same step and none waits forever in a collective.
* Rank 0 alone evaluates, prints progress and writes checkpoints (atomically, as always).
* Random draws inside the model (a VAE's reparameterisation noise, a GAN's latents) use a
  different seed on each rank (``seed + rank``): N ranks with one seed would draw the
  same noise N times. So a distributed VAE equals the single-process run to a tolerance
  set by that noise, not bit for bit; see tests/core/test_distributed.py.
"""

from __future__ import annotations

import atexit
import datetime
import os
from dataclasses import dataclass
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel

#: The stop flag is agreed between the ranks every this many steps.
AGREE_EVERY = 10
#: How long a rank waits for the others (rank 0 evaluating, a slow rendezvous) before it gives up.
TIMEOUT = datetime.timedelta(minutes=30)

StepFunction = Callable[[torch.Tensor, torch.Tensor, list, int], dict]


@dataclass
class DistContext:
    """This process's place in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str
    #: True once any rank has asked to stop (its Ctrl+C, a SIGTERM) and the ranks have agreed on it.
    agreed_stop: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        """This rank's part of a global batch's row indices."""
        return rows[self.rank :: self.world_size]

    def agree_on(self, tensor: torch.Tensor) -> None:
        """Overwrite ``tensor`` with rank 0's (the epoch's permutation: drawn with the same seed on
        every rank, but GPUs of different models need not draw the same numbers)."""
        dist.broadcast(tensor, src=0)


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def init_from_env(device: str = "auto") -> DistContext | None:
    """Join the torchrun job this process belongs to, or None when it was not started by torchrun.

    ``device``: ``auto`` or ``cuda`` use GPU ``LOCAL_RANK`` when CUDA is available, else the
    CPU; ``cpu`` forces gloo on the CPU. A single explicit GPU (``cuda:1``) or MPS cannot be
    shared by several processes and is refused.
    """
    if not launched_by_torchrun():
        return None
    rank, world, local_rank = (int(os.environ[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    name = str(device)
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"under torchrun, --device must be auto, cuda or cpu (each process takes GPU LOCAL_RANK), "
                          f"not {name!r}")
    use_cuda = name == "cuda" or (name == "auto" and torch.cuda.is_available())
    if use_cuda:
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda under torchrun, but this PyTorch sees no CUDA GPU; use --device cpu")
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"process {local_rank} on this node has no GPU of its own ({torch.cuda.device_count()} "
                              f"GPUs): start at most {torch.cuda.device_count()} processes per node, or use --device cpu")
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    else:
        chosen = torch.device("cpu")
    backend = "nccl" if use_cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=TIMEOUT)
        context = DistContext(rank, world, local_rank, chosen, backend)
        atexit.register(shutdown, context)
        return context
    return DistContext(rank, world, local_rank, chosen, backend)


def shutdown(context: DistContext | None) -> None:
    if context is not None and dist.is_initialized():
        dist.destroy_process_group()


def leave_together(context: DistContext | None) -> None:
    """Every rank waits here for the others, then leaves the job.

    Rank 0 saves and evaluates after training while the other ranks have nothing left to
    do; a rank that tore its process group down and exited meanwhile was seen to abort in
    gloo's teardown ("terminate called without an active exception"), which torchrun
    reports as a failed job. Call it on every rank (rank 0 in a ``finally``)."""
    if context is not None and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def check_batch(batch_size: int, context: DistContext) -> None:
    if batch_size % context.world_size:
        raise ConfigError(f"the batch size {batch_size} does not split evenly over {context.world_size} processes; "
                          f"pass --batch-size a multiple of {context.world_size}")


def broadcast_weights(model: nn.Module) -> None:
    """Every rank takes rank 0's parameters and buffers (DDP does the same when it wraps)."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0)


def attach(model: LatentModel, optimizers: list[torch.optim.Optimizer], control: object, batch_size: int,
           context: DistContext) -> tuple[StepFunction, AgreedControl]:
    """What a Trainer uses under torchrun: the averaged training step and the agreed control."""
    check_batch(batch_size, context)
    return step_function(model, optimizers, context, lambda: control.stop_requested), AgreedControl(control, context)


class AgreedControl:
    """A TrainControl whose ``stop_requested`` is the ranks' agreement: every rank stops after
    the same step. Everything else (pause, live β and lr) is the wrapped control's."""

    def __init__(self, control: object, context: DistContext) -> None:
        self._control = control
        self._context = context

    @property
    def stop_requested(self) -> bool:
        return self._context.agreed_stop

    def __getattr__(self, name: str) -> object:
        return getattr(self._control, name)


def step_function(model: LatentModel, optimizers: list[torch.optim.Optimizer], context: DistContext,
                  stop_requested: Callable[[], bool]) -> StepFunction:
    """The training step of ``model`` with gradients averaged over the ranks, loss parts averaged
    too, and a stop agreed every :data:`AGREE_EVERY` steps (``context.agreed_stop``)."""
    broadcast_weights(model)
    if type(model).train_step is LatentModel.train_step:
        inner = _ddp_step(model, context)
    else:
        for optimizer in optimizers:
            optimizer.register_step_pre_hook(_average_gradients_hook(context))
        inner = model.train_step

    def step(x: torch.Tensor, y: torch.Tensor, opts: list, number: int) -> dict:
        parts = inner(x, y, opts, number)
        keys = list(parts)
        agree = number % AGREE_EVERY == 0
        values = [parts[key].float().reshape(()) for key in keys]
        if agree:
            values.append(torch.tensor(float(stop_requested()), device=values[0].device))
        packed = torch.stack(values)
        dist.all_reduce(packed)
        packed /= context.world_size
        if agree:
            context.agreed_stop = context.agreed_stop or bool(packed[-1].item() > 0)
        return dict(zip(keys, packed.unbind()))

    return step


def weights_agree(model: nn.Module, rtol: float = 1e-6) -> bool:
    """True when every rank holds the same parameters (a collective: call it on every rank).

    Compares a fingerprint (the sum and the sum of squares of all parameters, in float64);
    a rank that drifted (gradients not averaged) changes both."""
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])
        mine = torch.stack([flat.sum(), (flat * flat).sum()])
        low, high = mine.clone(), mine.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(((high - low).abs() <= rtol * high.abs().clamp_min(1e-12)).all())


class _LossOf(nn.Module):
    """``forward(x, y) = model.loss(x, y)``: the one forward DDP needs to hook the backward."""

    def __init__(self, model: LatentModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        return self.model.loss(x, y)


def _ddp_step(model: LatentModel, context: DistContext) -> StepFunction:
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.device.index] if context.device.type == "cuda" else None
    wrapped = DistributedDataParallel(_LossOf(model), device_ids=device_ids)

    def step(x: torch.Tensor, y: torch.Tensor, optimizers: list, number: int) -> dict:
        (optimizer,) = optimizers
        parts = wrapped(x, y)
        optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        optimizer.step()
        return {key: value.detach() for key, value in parts.items()}

    return step


def _average_gradients_hook(context: DistContext) -> Callable:
    """An optimiser step pre-hook: average its parameters' gradients over the ranks, flat."""

    def hook(optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([grad.reshape(-1) for grad in grads])
        dist.all_reduce(flat)
        flat /= context.world_size
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    return hook
