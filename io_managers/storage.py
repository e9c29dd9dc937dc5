"""One IO manager for every Drift Sentinel asset.

DataFrames are stored as Parquet, dicts and lists as JSON, anything else as pickle, at
``{base_uri}/{asset key path}/{partition}.{ext}`` — a local folder by default, ``s3://bucket/prefix`` in
production (pyarrow's S3 filesystem; endpoint from ``S3_ENDPOINT_URL`` for MinIO or moto).

Range runs (a backfill policy that puts several partitions in one run) keep one stored value per partition: an
asset computed for a range returns a :class:`PerPartition` mapping (partition key → value) and each value is stored
at its own partition's path, exactly where a single-partition run stores it; an input that spans several partitions
is loaded as a :class:`PerPartition` mapping, one stored value per partition. A single partition is stored and
loaded as a plain value, as before.
"""

from __future__ import annotations

import io
import json
import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dagster import ConfigurableIOManager, InputContext, OutputContext

from drift_sentinel.errors import DataError
from drift_sentinel.windows import filesystem

_EXTENSIONS = ("parquet", "json", "pickle")
_IO_THREADS = 4  # a range run's files are read and written side by side (local disk or S3 round trips)


class PerPartition(dict[str, Any]):
    """The values of a range of partitions, by partition key (what a range run returns and receives)."""


class SentinelIOManager(ConfigurableIOManager):
    """Parquet/JSON/pickle values under ``base_uri`` (a folder or ``s3://bucket/prefix``)."""

    base_uri: str

    def _stem(self, context: InputContext | OutputContext) -> str:
        """``{base}/{asset key}/{partition}`` for assets, ``{base}/runs/{run id}/{step}/{output}`` for op outputs."""
        base = self.base_uri.rstrip("/")
        if context.has_asset_key:
            partition = context.asset_partition_key if context.has_asset_partitions else "__all__"
            return "/".join([base, *context.asset_key.path, partition])
        output = context if isinstance(context, OutputContext) else context.upstream_output
        assert output is not None, "an op input without an upstream output is not stored by this IO manager"
        return "/".join([base, "runs", *output.get_identifier()])

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if isinstance(obj, PerPartition):
            expected = set(context.asset_partition_keys) if context.has_asset_partitions else set()
            if set(obj) != expected:
                missing, extra = sorted(expected - set(obj)), sorted(set(obj) - expected)
                raise DataError(
                    f"{context.asset_key.to_user_string()}: range output does not match the run's partitions "
                    f"(missing {missing or 'none'}, unexpected {extra or 'none'})"
                )
            base = "/".join([self.base_uri.rstrip("/"), *context.asset_key.path])
            keys = sorted(obj)
            with ThreadPoolExecutor(_IO_THREADS) as pool:  # Arrow encodes and writes without the GIL
                paths = list(pool.map(lambda key: self._write(f"{base}/{key}", obj[key]), keys))
            for key, path in zip(keys, paths, strict=True):
                # each window's materialization names its own file, as a single-window run's does
                context.step_context.add_asset_metadata(
                    {"path": path}, asset_key=context.asset_key, partition_key=key
                )
            return
        path = self._write(self._stem(context), obj)
        context.add_output_metadata({"path": path})

    def _write(self, uri: str, obj: Any) -> str:
        """Store ``obj`` at ``uri`` plus the extension for its type; returns the path written."""
        fs, stem = filesystem(uri)
        fs.create_dir(stem.rsplit("/", 1)[0], recursive=True)
        if isinstance(obj, pd.DataFrame):
            path = f"{stem}.parquet"
            table = pa.Table.from_pandas(obj, preserve_index=False)
            with fs.open_output_stream(path) as out:
                pq.write_table(table, out)
        elif isinstance(obj, dict | list):
            path = f"{stem}.json"
            with fs.open_output_stream(path) as out:
                out.write(json.dumps(obj, indent=1, default=str).encode())
        else:
            path = f"{stem}.pickle"
            with fs.open_output_stream(path) as out:
                out.write(pickle.dumps(obj))
        # remove a stale value of another type so load_input never reads an old one
        for ext in _EXTENSIONS:
            other = f"{stem}.{ext}"
            if other != path and fs.get_file_info(other).type == pafs.FileType.File:
                fs.delete_file(other)
        return path

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_key and context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            base = "/".join([self.base_uri.rstrip("/"), *context.asset_key.path])
            what = context.asset_key.to_user_string()
            keys = list(context.asset_partition_keys)
            with ThreadPoolExecutor(_IO_THREADS) as pool:
                values = list(pool.map(lambda key: self._read(f"{base}/{key}", what), keys))
            return PerPartition(zip(keys, values, strict=True))
        what = context.asset_key.to_user_string() if context.has_asset_key else "the upstream op"
        return self._read(self._stem(context), what)

    def _read(self, uri: str, what: str) -> Any:
        fs, stem = filesystem(uri)
        for ext in _EXTENSIONS:
            path = f"{stem}.{ext}"
            if fs.get_file_info(path).type != pafs.FileType.File:
                continue
            try:
                with fs.open_input_file(path) as src:
                    data = src.read()
                if ext == "parquet":
                    return pq.read_table(io.BytesIO(data)).to_pandas()
                if ext == "json":
                    return json.loads(data)
                return pickle.loads(data)
            except (pa.ArrowInvalid, json.JSONDecodeError, pickle.UnpicklingError, EOFError) as exc:
                raise DataError(
                    f"{path}: stored value is corrupt ({exc}); re-materialize the asset"
                ) from None
        raise DataError(f"{stem}.*: no stored value; materialize {what} first")
