import os
import warnings

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture
def one_thread():
    """For modules of tiny models (``pytestmark = pytest.mark.usefixtures("one_thread")``): on a busy
    2-core machine two torch threads mostly wait for each other on each small matmul (measured: a
    2 s test took 60 s, a 0.3 s one 23 s); one thread is steady. The setting is restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def mnist():
    import genlab

    return genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")


@pytest.fixture
def small(mnist):
    """A few hundred digits so that engine tests take seconds."""
    train, test = mnist
    return train.subset(range(0, 4000, 10)), test.subset(range(0, 1000, 10))
