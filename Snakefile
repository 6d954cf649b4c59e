# The whole NTK study: data -> kernels -> training -> metrics -> plots -> book.
#   snakemake --cores all                                # quick scale (config/config.yaml)
#   snakemake --cores all --configfile config/paper.yaml # published scale
# See README.md.

configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/cntk_full.smk"
include: "workflow/rules/pending.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/scorecard.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        BOOK_INDEX,
        expand(f"{PREPARED}/{{dataset}}.npz", dataset=config["datasets"]),
