# Dataset download (canonical host or data_mirror, sha256-verified) and preparation.
from ntk_study.data.prepare import raw_source_of

# Data jobs are short and every figure waits on them: they go before any figure job (Snakemake's
# priorities do not pass to a job's inputs, so a late `prepare` held back a start_first chain).
DATA_PRIORITY = 100


rule download:
    priority: DATA_PRIORITY
    output:
        f"{RAW}/{{source}}/manifest.json",
    params:
        # No data_mirror: the option is left out and the canonical hosts are used.
        mirror_option=option_with_value("--mirror", config.get("data_mirror")),
    wildcard_constraints:
        source="mnist|cifar10|uci121|tu",
    log:
        "logs/download/{source}.log",
    benchmark:
        "benchmarks/download/{source}.tsv"
    shell:
        "{NTK} download --dataset {wildcards.source} --raw-dir {RAW}"
        " {params.mirror_option} > {log} 2>&1"


rule prepare:
    priority: DATA_PRIORITY
    input:
        lambda wildcards: f"{RAW}/{raw_source_of(wildcards.dataset)}/manifest.json",
    output:
        f"{PREPARED}/{{dataset}}.npz",
    threads: config["resources"]["prepare"]["threads"]
    resources:
        mem_mb=config["resources"]["prepare"]["mem_mb"],
        runtime=config["resources"]["prepare"]["runtime"],
    params:
        raw_dir=lambda wildcards: f"{RAW}/{raw_source_of(wildcards.dataset)}",
        optional=lambda wildcards: "--optional" if wildcards.dataset in config.get("optional_datasets", []) else "",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        "benchmarks/prepare/{dataset}.tsv"
    shell:
        "{NTK} prepare --dataset {wildcards.dataset} --raw-dir {params.raw_dir}"
        " --output {output} {params.optional} > {log} 2>&1"
