"""One file per model family; importing this package registers them all."""
from . import ae, vae  # noqa: F401
from . import autoencoders  # noqa: F401
from . import mae  # noqa: F401
from . import baselines  # noqa: F401
from . import sparse_coding  # noqa: F401
from . import cvae, iwae, vqvae, wae  # noqa: F401
from . import gan  # noqa: F401
from . import paired  # noqa: F401
from . import cyclegan  # noqa: F401
from . import superres  # noqa: F401
from . import autoregressive, nade, pixelcnn  # noqa: F401
from . import stargan  # noqa: F401
from .base import GenerativeModel, ModelConfig, Player

__all__ = ["GenerativeModel", "ModelConfig", "Player"]
