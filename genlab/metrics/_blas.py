"""NumPy/SciPy's BLAS threads, held to one while metrics run.

The matrices here are small to moderate (hundreds to a few thousand on a side). On the 2-core
machines genlab targets, OpenBLAS worker threads contending with torch's threads (and with each
other) made a 128-D FID 30× and a logistic-regression probe 10× slower than one thread did.
"""
from __future__ import annotations


def one_blas_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")
