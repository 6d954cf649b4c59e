"""Configuration schema: every shipped config is valid, bad values are named clearly."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ntk_study.config import ConfigError, load_config, load_layered_config, validate_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    """A full config alone; an overlay (no top-level scale, e.g. workstation.yaml) on the default."""
    overlay = "scale" not in yaml.safe_load(path.read_text())
    config = load_layered_config(path.parent / "config.yaml", path) if overlay else load_config(path)
    assert 0 < config["figures"]["fig-ntk-init"]["delta"] < 1


def test_defaults_are_filled():
    config = yaml.safe_load(CONFIGS[0].read_text())
    del config["figures"]["fig-ntk-stability"]["first_replicate"]
    assert validate_config(config)["figures"]["fig-ntk-stability"]["first_replicate"] == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["figures"]["fig-ntk-init"]["widths"].__setitem__(1, -5),
         r"figures\.fig-ntk-init\.widths\[1\]: -5 is less than the minimum of 1"),
        (lambda c: c.__setitem__("scale", "huge"), r"scale: 'huge' is not one of"),
        (lambda c: c.__setitem__("datasets", ["mnist", "svhn"]), r"datasets\[1\]: 'svhn' does not match"),
        (lambda c: c["figures"]["fig-ntk-init"].__setitem__("activations", ["tanh"]), r"activations\[0\]"),
        (lambda c: c.__setitem__("sead", 1), r"\(top level\): Additional properties are not allowed \('sead'"),
        (lambda c: c["figures"]["fig-ntk-init"].__setitem__("delta", 1.5), r"delta: 1.5 is greater than"),
    ],
)
def test_bad_values_are_rejected_with_their_location(edit, message):
    config = copy.deepcopy(yaml.safe_load(CONFIGS[0].read_text()))
    edit(config)
    with pytest.raises(ConfigError, match=message):
        validate_config(config)
