"""Representation quality: linear probes (a logistic regression on frozen features)."""
from __future__ import annotations

import torch

from ._blas import one_blas_thread


def linear_probe(train_feats, train_y, test_feats, test_y, max_iter: int = 1000, seed: int = 0) -> float:
    """Test accuracy of a standardised logistic regression trained on ``train_feats``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    arr = lambda t: torch.as_tensor(t).detach().flatten(1).double().numpy()  # noqa: E731
    lab = lambda t: torch.as_tensor(t).long().numpy()  # noqa: E731
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed))
    with one_blas_thread():
        clf.fit(arr(train_feats), lab(train_y))
        return float(clf.score(arr(test_feats), lab(test_y)))


def probe_table(codes_train, y_train, codes_test, y_test, x_train, x_test, seed: int = 0) -> dict:
    """Probe accuracy on the codes, on raw pixels, and on PCA with the codes' dimension."""
    from sklearn.decomposition import PCA

    dim = torch.as_tensor(codes_train).flatten(1).shape[1]
    xtr = torch.as_tensor(x_train).flatten(1).double().numpy()
    xte = torch.as_tensor(x_test).flatten(1).double().numpy()
    with one_blas_thread():
        pca = PCA(min(dim, xtr.shape[1]), random_state=seed).fit(xtr)
    return {"codes": linear_probe(codes_train, y_train, codes_test, y_test, seed=seed),
            "pixels": linear_probe(xtr, y_train, xte, y_test, seed=seed),
            "pca": linear_probe(pca.transform(xtr), y_train, pca.transform(xte), y_test, seed=seed)}
