# The Jupyter Book: reads result files only; a page edit (report/*.md) reruns this rule alone.


rule book:
    input:
        scorecard=f"{RESULTS}/scorecard.csv",
        cluster_estimate=f"{RESULTS}/cluster-estimate.csv",
        study_runtime=[f"{RESULTS}/study-runtime.csv", f"{RESULTS}/study-runtime-rules.csv"],
        figures=[path for done in FIGURES_DONE.values() for path in done["outputs"]],
        provenance=expand(f"{RESULTS}/{{figure_id}}/provenance.json", figure_id=list(FIGURES_DONE)),
        pages=sorted(glob.glob("report/*.md")) + ["report/_config.yml", "report/_toc.yml"],
        # The code that renders the generated snippets (front page, figure sections).
        code="src/ntk_study/report.py",
    output:
        BOOK_INDEX,
    log:
        "logs/book.log",
    benchmark:
        "benchmarks/book.tsv"
    shell:
        "{NTK} book --report-dir report --results-dir {RESULTS} > {log} 2>&1"
