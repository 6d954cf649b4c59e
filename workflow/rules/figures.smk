# Shell commands take loop values through params: Snakemake evaluates `shell:` lazily, so a loop
# variable used there directly would see its last value.
# Three thin rules per regenerated figure (see ntk_study.figures.REGISTRY):
#   <id>_compute -> results/<id>/<data files>, <id>_claims -> claims.csv, <id>_plot -> images;
# kernel tables first run <id>_kernels -> results/<id>/<kernel files>, which compute reads.
# tab-cntk's full-CIFAR setting adds its own rules (cntk_full.smk) whose files claims and plot read.
from ntk_study.figures import REGISTRY

for job in REGISTRY.values():
    prepared = [f"{PREPARED}/{name}.npz" for name in job.prepared_datasets(figure_settings(job.id))]
    data_files = [f"{RESULTS}/{job.id}/{name}" for name in job.data_outputs(figure_settings(job.id))]
    FIGURES_DONE[job.id] = {
        "outputs": data_files + [f"{RESULTS}/{job.id}/{name}" for name in job.plot_outputs],
        "benchmarks": [f"benchmarks/{job.id}/{stage}.tsv"
                       for stage in (["kernels"] if job.kernel_files else []) + ["compute", "plot"]],
        "data": sorted({f"{RAW}/{raw_source_of(name)}/manifest.json"
                        for name in job.prepared_datasets(figure_settings(job.id))}),
    }
    requests = config["resources"]["accelerated" if job.accelerated else "compute"]
    settings = as_arg(figure_settings(job.id))
    kernel_files = [f"{RESULTS}/{job.id}/{name}" for name in job.kernel_outputs]

    if job.kernel_files:

        rule:
            name:
                f"{job.rule_prefix}_kernels"
            input:
                prepared=prepared,
            output:
                kernel_files,
            threads: requests["threads"]
            resources:
                mem_mb=requests["mem_mb"],
                runtime=requests["runtime"],
                gpu=requests.get("gpu", 0),
            params:
                figure=job.id,
                settings=settings,
            log:
                f"logs/{job.id}/kernels.log",
            benchmark:
                f"benchmarks/{job.id}/kernels.tsv"
            shell:
                "{NTK} kernels {params.figure} --settings {params.settings} --seed {SEED}"
                " --results-dir {RESULTS} --prepared {input.prepared} > {log} 2>&1"

    rule:
        name:
            f"{job.rule_prefix}_compute"
        input:
            prepared=prepared,
            kernels=kernel_files,
        output:
            [f"{RESULTS}/{job.id}/{name}" for name in job.compute_outputs],
        threads: requests["threads"]
        resources:
            mem_mb=requests["mem_mb"],
            runtime=requests["runtime"],
            gpu=requests.get("gpu", 0),
        params:
            figure=job.id,
            settings=settings,
        log:
            f"logs/{job.id}/compute.log",
        benchmark:
            f"benchmarks/{job.id}/compute.tsv"
        shell:
            "{NTK} compute {params.figure} --settings {params.settings} --seed {SEED} --results-dir {RESULTS}"
            " --prepared {input.prepared} > {log} 2>&1"

    rule:
        name:
            f"{job.rule_prefix}_claims"
        localrule: True
        input:
            data_files,
        output:
            f"{RESULTS}/{job.id}/claims.csv",
        params:
            figure=job.id,
            settings=settings,
        log:
            f"logs/{job.id}/claims.log",
        benchmark:
            f"benchmarks/{job.id}/claims.tsv"
        shell:
            "{NTK} claims {params.figure} --settings {params.settings} --scale {SCALE} --results-dir {RESULTS}"
            " > {log} 2>&1"

    rule:
        name:
            f"{job.rule_prefix}_plot"
        localrule: True
        input:
            data_files,
        output:
            [f"{RESULTS}/{job.id}/{name}" for name in job.plot_outputs],
        params:
            figure=job.id,
            settings=settings,
        log:
            f"logs/{job.id}/plot.log",
        benchmark:
            f"benchmarks/{job.id}/plot.tsv"
        shell:
            "{NTK} plot {params.figure} --settings {params.settings} --results-dir {RESULTS} > {log} 2>&1"
