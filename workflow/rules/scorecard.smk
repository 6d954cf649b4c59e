# Every claim check of the study in one table (tab-scorecard).


rule scorecard:
    input:
        expand(f"{RESULTS}/{{figure_id}}/claims.csv", figure_id=ALL_FIGURE_IDS),
    output:
        f"{RESULTS}/scorecard.csv",
    log:
        "logs/scorecard.log",
    benchmark:
        "benchmarks/scorecard.tsv"
    shell:
        "{NTK} scorecard --claims {input} --scale {SCALE} --output {output} > {log} 2>&1"


rule cluster_estimate:
    input:
        benchmarks=sorted({path for done in FIGURES_DONE.values() for path in done["benchmarks"]}),
        timings=[f"{RESULTS}/{job.id}/compute_timing.json" for job in REGISTRY.values() if not job.data_from],
        paper="config/paper.yaml",
    output:
        f"{RESULTS}/cluster-estimate.csv",
    params:
        config=as_arg(config),
    log:
        "logs/cluster_estimate.log",
    benchmark:
        "benchmarks/cluster_estimate.tsv"
    shell:
        "{NTK} cluster-estimate --config {params.config} --paper-config {input.paper}"
        " --results-dir {RESULTS} --output {output} > {log} 2>&1"


# The study's rule time and CPU use per chapter, beside the issues' budgets. Its inputs make it the
# last rule before the book, so it reads every other rule's benchmark file.
rule study_runtime:
    input:
        scorecard=f"{RESULTS}/scorecard.csv",
        cluster_estimate=f"{RESULTS}/cluster-estimate.csv",
        provenance=expand(f"{RESULTS}/{{figure_id}}/provenance.json", figure_id=list(FIGURES_DONE)),
    output:
        summary=f"{RESULTS}/study-runtime.csv",
        rules=f"{RESULTS}/study-runtime-rules.csv",
    log:
        "logs/study_runtime.log",
    benchmark:
        "benchmarks/study_runtime.tsv"
    shell:
        "{NTK} study-runtime --benchmarks-dir benchmarks --output {output.summary}"
        " --rules-output {output.rules} --results-dir {RESULTS} > {log} 2>&1"
