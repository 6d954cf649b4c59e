# fig-ntk-init (Lemma 2): ||H(0) - H*||_2 vs width.
NTK_INIT = "fig-ntk-init"

FIGURES_DONE[NTK_INIT] = {
    "outputs": [f"{RESULTS}/{NTK_INIT}/distances.csv", f"{RESULTS}/{NTK_INIT}/figure.png"],
    "benchmarks": [f"benchmarks/{NTK_INIT}/compute.tsv", f"benchmarks/{NTK_INIT}/plot.tsv"],
    "data": [],
}


rule fig_ntk_init_compute:
    output:
        f"{RESULTS}/{NTK_INIT}/distances.csv",
    params:
        settings=as_arg(figure_settings(NTK_INIT)),
        seed=SEED,
    log:
        f"logs/{NTK_INIT}/compute.log",
    benchmark:
        f"benchmarks/{NTK_INIT}/compute.tsv"
    shell:
        "{NTK} ntk-init --settings {params.settings} --seed {params.seed}"
        " --output {output} > {log} 2>&1"


rule fig_ntk_init_claims:
    input:
        f"{RESULTS}/{NTK_INIT}/distances.csv",
    output:
        f"{RESULTS}/{NTK_INIT}/claims.csv",
    params:
        settings=as_arg(figure_settings(NTK_INIT)),
    log:
        f"logs/{NTK_INIT}/claims.log",
    benchmark:
        f"benchmarks/{NTK_INIT}/claims.tsv"
    shell:
        "{NTK} ntk-init-claims --distances {input} --settings {params.settings}"
        " --scale {SCALE} --output {output} > {log} 2>&1"


rule fig_ntk_init_plot:
    input:
        f"{RESULTS}/{NTK_INIT}/distances.csv",
    output:
        f"{RESULTS}/{NTK_INIT}/figure.png",
    params:
        settings=as_arg(figure_settings(NTK_INIT)),
    log:
        f"logs/{NTK_INIT}/plot.log",
    benchmark:
        f"benchmarks/{NTK_INIT}/plot.tsv"
    shell:
        "{NTK} ntk-init-plot --distances {input} --settings {params.settings}"
        " --output {output} > {log} 2>&1"
