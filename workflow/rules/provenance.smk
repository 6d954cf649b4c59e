# One provenance record per regenerated figure: config, data checksums, commit, runtime, machine.


rule provenance:
    input:
        outputs=lambda wildcards: FIGURES_DONE[wildcards.figure_id]["outputs"],
        benchmarks=lambda wildcards: FIGURES_DONE[wildcards.figure_id]["benchmarks"],
        manifests=lambda wildcards: FIGURES_DONE[wildcards.figure_id]["data"],
    output:
        f"{RESULTS}/{{figure_id}}/provenance.json",
    params:
        settings=lambda wildcards: as_arg(figure_settings(wildcards.figure_id)),
        scale=lambda wildcards: figure_scale(wildcards.figure_id),
    wildcard_constraints:
        figure_id=one_of(list(FIGURES_DONE)),
    log:
        "logs/provenance/{figure_id}.log",
    benchmark:
        "benchmarks/provenance/{figure_id}.tsv"
    shell:
        "{NTK} provenance --figure {wildcards.figure_id} --settings {params.settings}"
        " --scale {params.scale} --seed {SEED} --manifests {input.manifests} --benchmarks {input.benchmarks}"
        " --output {output} > {log} 2>&1"
