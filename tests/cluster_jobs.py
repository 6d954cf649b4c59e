"""Which of the workflow's rules run as cluster jobs, and which stay on the submit host."""

from __future__ import annotations

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

from checkout import REPO
from ntk_study.figures import REGISTRY

# The rules worth a cluster job: dataset preparation and every figure's kernels and compute
# (tab-cntk's full-CIFAR setting has its own three). Everything else is bookkeeping.
HEAVY_RULES = {"prepare", "tab_cntk_full_kernels", "tab_cntk_full_solve", "tab_cntk_full_cnn"} | {
    f"{job.rule_prefix}_{stage}" for job in REGISTRY.values() for stage in ("kernels", "compute")}


def remote_rules(configfile: str = "config/test.yaml") -> set[str]:
    """The rules Snakemake would submit to a cluster executor (those not declared local)."""
    with SnakemakeApi(OutputSettings(quiet=None)) as api:
        workflow_api = api.workflow(resource_settings=ResourceSettings(cores=1),
                                    config_settings=ConfigSettings(configfiles=[REPO / configfile]),
                                    snakefile=REPO / "Snakefile", workdir=REPO)
        workflow = workflow_api._workflow  # loading the Snakefile is what defines the rules
        return {rule.name for rule in workflow.rules
                if rule.group is None and not (rule.name in workflow._localrules or rule.norun)}
