# Shared settings: config validation (before any job runs), paths, the figure registry.
import glob
import json
import re
import shlex
import sys

from ntk_study import catalog
from ntk_study.config import validate_config

config.update(validate_config(config, source="the Snakemake config (--configfile/--config)"))

SCALE = config["scale"]
SEED = config["seed"]
RAW = "resources/raw"
PREPARED = "resources/prepared"
RESULTS = "results"
BOOK_INDEX = "report/_build/html/index.html"
# Every rule calls the library through the interpreter that runs Snakemake (the study's venv),
# so jobs work whether or not the venv is activated.
NTK = f"{shlex.quote(sys.executable)} -m ntk_study"

# Figures with their own rules register here (rule file: FIGURES_DONE[id] = {...}).
# "outputs" are the result files the book shows; "benchmarks" feed the provenance block;
# "data" lists the dataset manifests the figure read.
FIGURES_DONE = {}


def as_arg(value):
    """A config value as one shell-quoted JSON argument."""
    return shlex.quote(json.dumps(value, sort_keys=True))


def option_with_value(flag, value):
    """``flag 'value'`` for a shell command, or nothing when the value is unset or empty."""
    return f"{flag} {shlex.quote(str(value))}" if value not in (None, "") else ""


def figure_settings(figure_id):
    return config["figures"][figure_id]


def figure_scale(figure_id):
    """The scale a figure ran at: its own ``scale`` (e.g. one table at its published setting in a
    quick study, config/workstation.yaml) or the config's."""
    return figure_settings(figure_id).get("scale", SCALE)


def one_of(names):
    return "|".join(re.escape(name) for name in names) or "^$"


ALL_FIGURE_IDS = [spec.id for spec in catalog.figures() if spec.id != "tab-scorecard"]

# On a cluster these run on the submit host: downloads (compute nodes often have no internet)
# and the light bookkeeping rules (claims, plots, provenance, scorecard, book).
localrules:
    download,
    pending_claims,
    provenance,
    scorecard,
    cluster_estimate,
    study_runtime,
    book,
