# tab-cntk's full-CIFAR setting (a "full" section in its config; the paper config has one):
#   tab_cntk_full_kernels (one job per row shard of the Gram matrices, a GPU each on a cluster)
#   -> tab_cntk_full_solve (assembles each kernel's training matrix, float64, and solves),
#   tab_cntk_full_cnn (the finite CNNs of one depth, both readouts, on the full training set).
# The claims and plot rules of tab-cntk read their outputs (FigureJob.data_outputs).
from ntk_study.analysis.cntk import FULL_CNTK_FILE, full_cnn_file, full_shard_file

CNTK_SETTINGS = figure_settings("tab-cntk")
CNTK_FULL = CNTK_SETTINGS.get("full")

if CNTK_FULL:
    CNTK_FULL_SHARDS = [f"{RESULTS}/tab-cntk/{full_shard_file(shard)}" for shard in range(CNTK_FULL["shards"])]
    FIGURES_DONE["tab-cntk"]["benchmarks"] += (
        [f"benchmarks/tab-cntk/full_kernels_{shard}.tsv" for shard in range(CNTK_FULL["shards"])]
        + ["benchmarks/tab-cntk/full_solve.tsv"]
        + [f"benchmarks/tab-cntk/full_cnn_L{depth}.tsv" for depth in CNTK_SETTINGS["depths"]]
    )

    rule tab_cntk_full_kernels:
        input:
            f"{PREPARED}/cifar10.npz",
        output:
            f"{RESULTS}/tab-cntk/{full_shard_file('{shard}')}",
        wildcard_constraints:
            shard=r"\d+",
        threads: config["resources"]["accelerated"]["threads"]
        resources:
            mem_mb=config["resources"]["accelerated"]["mem_mb"],
            runtime=config["resources"]["accelerated"]["runtime"],
            gpu=config["resources"]["accelerated"].get("gpu", 0),
        params:
            settings=as_arg(CNTK_SETTINGS),
        log:
            "logs/tab-cntk/full_kernels_{shard}.log",
        benchmark:
            "benchmarks/tab-cntk/full_kernels_{shard}.tsv"
        shell:
            "{NTK} cntk-full-shard --settings {params.settings} --seed {SEED} --shard {wildcards.shard}"
            " --prepared {input} --output {output} > {log} 2>&1"

    # CPU LAPACK on a float64 n_train^2 matrix (20 GB at 50,000 images): the "compute" request.
    rule tab_cntk_full_solve:
        input:
            prepared=f"{PREPARED}/cifar10.npz",
            shards=CNTK_FULL_SHARDS,
        output:
            f"{RESULTS}/tab-cntk/{FULL_CNTK_FILE}",
        threads: config["resources"]["compute"]["threads"]
        resources:
            mem_mb=config["resources"]["compute"]["mem_mb"],
            runtime=config["resources"]["compute"]["runtime"],
        params:
            settings=as_arg(CNTK_SETTINGS),
        log:
            "logs/tab-cntk/full_solve.log",
        benchmark:
            "benchmarks/tab-cntk/full_solve.tsv"
        shell:
            "{NTK} cntk-full-solve --settings {params.settings} --seed {SEED} --prepared {input.prepared}"
            " --shards {input.shards} --output {output} > {log} 2>&1"

    rule tab_cntk_full_cnn:
        input:
            f"{PREPARED}/cifar10.npz",
        output:
            f"{RESULTS}/tab-cntk/{full_cnn_file('{depth}')}",
        wildcard_constraints:
            depth=r"\d+",
        threads: config["resources"]["accelerated"]["threads"]
        resources:
            mem_mb=config["resources"]["accelerated"]["mem_mb"],
            runtime=config["resources"]["accelerated"]["runtime"],
            gpu=config["resources"]["accelerated"].get("gpu", 0),
        params:
            settings=as_arg(CNTK_SETTINGS),
        log:
            "logs/tab-cntk/full_cnn_L{depth}.log",
        benchmark:
            "benchmarks/tab-cntk/full_cnn_L{depth}.tsv"
        shell:
            "{NTK} cntk-full-cnn --settings {params.settings} --seed {SEED} --depth {wildcards.depth}"
            " --prepared {input} --output {output} > {log} 2>&1"
