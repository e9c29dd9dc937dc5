"""A small, real Drift Sentinel project in a temporary folder: generated data plus a models file pointing at it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from drift_sentinel.config import SentinelConfig, load_config
from drift_sentinel.sample_data import GeneratedData, generate
from drift_sentinel.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Project:
    root: Path
    config_file: Path
    data: GeneratedData

    @property
    def config(self) -> SentinelConfig:
        return load_config(self.config_file)

    def settings(self, **overrides: str) -> Settings:
        return Settings.from_env({"SENTINEL_HOME": str(self.root / ".sentinel"), **overrides})


def make_project(root: Path, *, days: int = 12, rows_per_hour: int = 60, scenario: str = "demo") -> Project:
    """Generate ``days`` of data and write a ``sentinel.yaml`` (the repository's, windows cut to the data's range)."""
    data = generate(root / "data", seed=7, scenario=scenario, days=days, rows_per_hour=rows_per_hour)
    spec = yaml.safe_load((REPO / "sentinel.yaml").read_text())
    model = spec["models"][0]
    model["window"]["start"] = data.start.date().isoformat()
    model["window"]["end"] = data.end.date().isoformat()
    config_file = root / "sentinel.yaml"
    config_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    return Project(root=root, config_file=config_file, data=data)
