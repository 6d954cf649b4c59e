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
