import os
import warnings

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(scope="session")
def mnist():
    import genlab

    return genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")


@pytest.fixture
def small(mnist):
    """A few hundred digits so that engine tests take seconds."""
    train, test = mnist
    return train.subset(range(0, 4000, 10)), test.subset(range(0, 1000, 10))
