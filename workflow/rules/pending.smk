# Figures and tables not regenerated yet: their claims appear in the scorecard as
# "not reproduced yet", so the whole study is visible in `snakemake -n`.
PENDING_IDS = [figure_id for figure_id in ALL_FIGURE_IDS if figure_id not in FIGURES_DONE]


rule pending_claims:
    output:
        f"{RESULTS}/{{figure_id}}/claims.csv",
    wildcard_constraints:
        figure_id=one_of(PENDING_IDS),
    log:
        "logs/pending/{figure_id}.log",
    benchmark:
        "benchmarks/pending/{figure_id}.tsv"
    shell:
        "{NTK} pending --figure {wildcards.figure_id} --scale {SCALE}"
        " --output {output} > {log} 2>&1"
