"""Reading the two windows for ``drift-sentinel check``: Parquet or CSV, local or ``s3://``.

File access goes through :func:`drift_sentinel.windows.read_table` (pyarrow; ``s3://`` via
``pyarrow.fs.S3FileSystem`` with ``S3_ENDPOINT_URL``/``S3_REGION`` and the standard ``AWS_*`` credentials
from the environment). This module adds what a drift check needs on top: a role in every message
(``reference window data/ref.parquet: …``), and an empty window is an error.
"""

from __future__ import annotations

import pandas as pd

from drift_sentinel.errors import DataError, SentinelError

__all__ = ["read_window_file"]


def read_window_file(uri: str, *, role: str) -> pd.DataFrame:
    """Read a whole window file; :class:`DataError` names the role and file on any failure.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
    >>> _ = p.write_text("x\\n1\\n2\\n")
    >>> read_window_file(str(p), role="current")["x"].tolist()
    [1, 2]
    """
    from drift_sentinel.windows import read_table

    try:
        frame = read_table(uri)
    except SentinelError as exc:  # keep the kind: bad data (3) or an unreachable object store (6)
        raise type(exc)(f"{role} window {exc}") from None
    except Exception as exc:  # foreign errors (pyarrow, botocore) wrapped at the boundary
        raise DataError(f"{role} window {uri}: cannot read: {type(exc).__name__}: {exc}") from None
    if len(frame) == 0:
        raise DataError(f"{role} window {uri}: no rows (empty window)")
    if len(frame.columns) == 0:
        raise DataError(f"{role} window {uri}: no columns")
    return frame
