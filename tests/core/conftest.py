"""Tiny synthetic data for fast core tests: 8x8 bars, two classes, no download."""

import pytest
import torch

from latentlab.data import ImageDataset, Split


def bars(n: int, seed: int = 0) -> Split:
    """Class 0: a horizontal bar, class 1: a vertical bar, at random positions."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 8, 8)
    labels = torch.arange(n) % 2
    pos = torch.randint(1, 7, (n,), generator=g)
    for i in range(n):
        if labels[i] == 0:
            images[i, 0, pos[i], 1:7] = 1.0
        else:
            images[i, 0, 1:7, pos[i]] = 1.0
    return Split(images, labels)


@pytest.fixture
def tiny_dataset() -> ImageDataset:
    return ImageDataset("bars", ["horizontal", "vertical"], bars(128, 0), bars(32, 1))


@pytest.fixture
def one_torch_thread():
    """Small models run many tiny operations: one intra-op thread is faster, and on a busy
    machine a second thread that waits for a core makes every step slow (the density tests
    took 705 s with two threads and 27 s with one). Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
