# Shell commands take loop values through params: Snakemake evaluates `shell:` lazily, so a loop
# variable used there directly would see its last value.
# Three thin rules per regenerated figure (see ntk_study.figures.REGISTRY):
#   <id>_compute -> results/<id>/<data files>, <id>_claims -> claims.csv, <id>_plot -> images;
# a figure drawn from another figure's runs (data_from) has <id>_data, a copy of those files,
# instead of a compute rule;
# kernel tables first run <id>_kernels -> results/<id>/<kernel files>, which compute reads;
# a figure whose compute reads another figure's results (inputs_from) takes them as inputs.
# tab-cntk's full-CIFAR setting adds its own rules (cntk_full.smk) whose files claims and plot read.
from ntk_study.figures import REGISTRY

for job in REGISTRY.values():
    prepared = [f"{PREPARED}/{name}.npz" for name in job.prepared_datasets(figure_settings(job.id))]
    data_files = [f"{RESULTS}/{job.id}/{name}" for name in job.data_outputs(figure_settings(job.id))]
    # The figure whose compute rule made the data (itself, or the one named by data_from).
    source = REGISTRY[job.data_from] if job.data_from else job
    # Results of another figure that this figure's compute reads (inputs_from).
    upstream = [f"{RESULTS}/{job.inputs_from}/{name}" for name in REGISTRY[job.inputs_from].data_files] \
        if job.inputs_from else []
    FIGURES_DONE[job.id] = {
        "outputs": data_files + [f"{RESULTS}/{job.id}/{name}" for name in job.plot_outputs],
        "benchmarks": ([f"benchmarks/{job.inputs_from}/compute.tsv"] if job.inputs_from else [])
                      + [f"benchmarks/{source.id}/{stage}.tsv"
                         for stage in (["kernels"] if source.kernel_files else []) + ["compute"]]
                      + [f"benchmarks/{job.id}/plot.tsv"],
        "data": sorted({f"{RAW}/{raw_source_of(name)}/manifest.json"
                        for name in source.prepared_datasets(figure_settings(source.id))}),
    }
    requests = config["resources"]["accelerated" if job.accelerated else "compute"]
    job_threads = config["resources"].get("threads_per_figure", {}).get(job.id, requests["threads"])
    start_first = config["resources"].get("start_first", [])
    job_priority = len(start_first) - start_first.index(job.id) if job.id in start_first else 0
    settings = as_arg(figure_settings(job.id))
    kernel_files = [f"{RESULTS}/{job.id}/{name}" for name in job.kernel_outputs]

    if job.data_from:

        rule:
            name:
                f"{job.rule_prefix}_data"
            localrule: True
            input:
                [f"{RESULTS}/{job.data_from}/{name}" for name in job.data_files],
            output:
                data_files,
            params:
                output_dir=f"{RESULTS}/{job.id}",
            log:
                f"logs/{job.id}/data.log",
            benchmark:
                f"benchmarks/{job.id}/data.tsv"
            shell:
                "{NTK} copy-results --inputs {input} --output-dir {params.output_dir} > {log} 2>&1"

    if job.kernel_files:

        rule:
            name:
                f"{job.rule_prefix}_kernels"
            input:
                prepared=prepared,
            output:
                kernel_files,
            threads: job_threads
            priority: job_priority
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

    if not job.data_from:

        rule:
            name:
                f"{job.rule_prefix}_compute"
            input:
                prepared=prepared,
                kernels=kernel_files,
                upstream=upstream,
            output:
                [f"{RESULTS}/{job.id}/{name}" for name in job.compute_outputs],
            threads: job_threads
            priority: job_priority
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
            scale=figure_scale(job.id),
        log:
            f"logs/{job.id}/claims.log",
        benchmark:
            f"benchmarks/{job.id}/claims.tsv"
        shell:
            "{NTK} claims {params.figure} --settings {params.settings} --scale {params.scale} --results-dir {RESULTS}"
            " > {log} 2>&1"

    # The plot module is an input: editing src/ntk_study/plots/<name>.py reruns the plot rule of
    # every figure drawn by it (and what reads the images), never compute or claims.
    rule:
        name:
            f"{job.rule_prefix}_plot"
        localrule: True
        input:
            data=data_files,
            code=f"src/ntk_study/plots/{job.name}.py",
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
