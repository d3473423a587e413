"""Tasks built on model capabilities (latent tools, reports, and later denoising, anomaly, ...)."""
