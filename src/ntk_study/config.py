"""Load and validate a study configuration against ``schemas/config.schema.json``."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """An invalid configuration value; the message names the key, the value and the rule."""


@cache
def schema() -> dict[str, Any]:
    return json.loads(resources.files("ntk_study").joinpath("schemas/config.schema.json").read_text())


def _location(error: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return "".join(parts).lstrip(".") or "(top level)"


def validate_config(config: dict[str, Any], source: str = "the config") -> dict[str, Any]:
    """Return ``config`` with schema defaults filled in, or raise ConfigError listing every problem."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  - {_location(e)}: {e.message}" for e in errors]
        raise ConfigError(
            f"invalid configuration in {source}:\n" + "\n".join(lines)
            + "\nFix these values (see config/config.yaml for a valid example)."
        )
    _check_cntk_shards(config, source)
    _check_noisy_label_curve(config, source)
    _check_parent_child(config, source)
    return _with_defaults(config, schema())


def _check_cntk_shards(config: dict[str, Any], source: str) -> None:
    """tab-cntk's full setting: the shard count must give every kernel job some rows."""
    from ntk_study.kernels.row_shards import shard_rows

    full = config.get("figures", {}).get("tab-cntk", {}).get("full")
    if full:
        try:
            shard_rows(full["n_train"], full["n_test"], full["shards"])
        except ValueError as exc:
            raise ConfigError(f"invalid configuration in {source}:\n  - figures.tab-cntk.full.shards: {exc}") from None


def _check_noisy_label_curve(config: dict[str, Any], source: str) -> None:
    """fig-noisy-labels-curve draws one of tab-noisy-labels' noise levels."""
    figures = config.get("figures", {})
    curve, table = figures.get("fig-noisy-labels-curve"), figures.get("tab-noisy-labels")
    if curve and table and not any(abs(curve["noise"] - p) < 1e-9 for p in table["noise_levels"]):
        raise ConfigError(f"invalid configuration in {source}:\n  - figures.fig-noisy-labels-curve.noise: "
                          f"{curve['noise']} is not one of figures.tab-noisy-labels.noise_levels "
                          f"{table['noise_levels']}")


def _check_parent_child(config: dict[str, Any], source: str) -> None:
    """fig-parent-child spawns children at fig-kernel-velocity's checkpoints, and its claims read
    the children at 0, at its compare epochs and at the end."""
    from ntk_study.checkpoints import checkpoint_epochs

    figures = config.get("figures", {})
    run, children = figures.get("fig-kernel-velocity"), figures.get("fig-parent-child")
    problems = []
    if run:
        steps_per_epoch = run["n_train"] // run["batch_size"]
        if steps_per_epoch < 1 or steps_per_epoch % run["dense_per_epoch"]:
            problems.append(f"figures.fig-kernel-velocity.dense_per_epoch: {run['dense_per_epoch']} does not divide "
                            f"the {steps_per_epoch} steps per epoch (n_train // batch_size)")
    if run and children and not problems:
        available = checkpoint_epochs(steps_per_epoch, run["epochs"], run["dense_epochs"], run["dense_per_epoch"])
        missing = [t for t in children["parent_epochs"] if not any(abs(t - c) < 1e-9 for c in available)]
        if missing:
            problems.append(f"figures.fig-parent-child.parent_epochs: {missing} are not checkpoints of "
                            f"fig-kernel-velocity (epochs {sorted(set(round(c, 4) for c in available))})")
        parents = children["parent_epochs"]
        if min(parents) != 0 or max(parents) != run["epochs"]:
            problems.append("figures.fig-parent-child.parent_epochs: must include 0 and the last epoch "
                            f"({run['epochs']}) of fig-kernel-velocity")
        outside = [t for t in children["compare_epochs"] if t not in parents]
        if outside:
            problems.append(f"figures.fig-parent-child.compare_epochs: {outside} are not in parent_epochs")
        if children["first_epochs"] not in parents:
            problems.append(f"figures.fig-parent-child.first_epochs: {children['first_epochs']} "
                            "is not in parent_epochs")
    if children and children["sharp"]["continue_steps"] % children["sharp"]["measure_every"]:
        problems.append("figures.fig-parent-child.sharp.measure_every: must divide continue_steps")
    if problems:
        raise ConfigError(f"invalid configuration in {source}:\n" + "\n".join(f"  - {p}" for p in problems))


def _with_defaults(value: Any, node: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "properties" in node:
        filled = dict(value)
        for key, child in node["properties"].items():
            if key not in filled and "default" in child:
                filled[key] = child["default"]
            if key in filled:
                filled[key] = _with_defaults(filled[key], child)
        return filled
    return value


def load_config(path: str | Path) -> dict[str, Any]:
    with open(path) as handle:
        return validate_config(yaml.safe_load(handle), source=str(path))


def _merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` on ``base``, dictionaries merged key by key (as Snakemake layers --configfile)."""
    merged = dict(base)
    for key, value in overlay.items():
        both_dicts = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both_dicts else value
    return merged


def load_layered_config(*paths: str | Path) -> dict[str, Any]:
    """The config of ``snakemake --configfile A --configfile B``: each file layered on the previous."""
    config: dict[str, Any] = {}
    for path in paths:
        with open(path) as handle:
            config = _merged(config, yaml.safe_load(handle))
    return validate_config(config, source=" + ".join(map(str, paths)))

