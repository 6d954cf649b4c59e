"""Command line used by the Snakemake rules: ``python -m ntk_study <command> ...``.

Each command parses its arguments and calls one library function; errors a user can fix
(data, configuration) are printed as one clear message with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ntk_study import rule_profile
from ntk_study.config import ConfigError
from ntk_study.data import DataError
from ntk_study.job_threads import pool_follows_job_threads


def _json(text: str):
    return json.loads(text)


def cmd_download(args: argparse.Namespace) -> None:
    from ntk_study.data.download import download_dataset

    download_dataset(args.dataset, args.raw_dir, args.mirror or None)


def cmd_prepare(args: argparse.Namespace) -> None:
    from ntk_study.data.prepare import prepare_dataset

    prepare_dataset(args.dataset, args.raw_dir, args.output, optional=args.optional)


def _prepared_paths(args: argparse.Namespace) -> dict[str, Path]:
    return {Path(path).stem: Path(path) for path in args.prepared}


def _timed_stage(args: argparse.Namespace, stage: str, timing_file: str) -> None:
    """Run ``experiment.<stage>(settings, seed, out_dir, prepared)`` and record its timing."""
    import time

    import psutil

    from ntk_study.figures import REGISTRY
    from ntk_study.io import save_json

    out_dir = Path(args.results_dir) / args.figure
    experiment = REGISTRY[args.figure].experiment()
    # Interpreter start and imports (JAX, neural-tangents, TensorFlow) vs the computation itself:
    # the paper-scale estimate scales only the latter.
    startup_s = time.time() - psutil.Process().create_time()
    began = time.perf_counter()
    getattr(experiment, stage)(args.settings, args.seed, out_dir, _prepared_paths(args))
    save_json(out_dir / timing_file, {"startup_s": round(startup_s, 2),
                                      "compute_s": round(time.perf_counter() - began, 2)})


def cmd_compute(args: argparse.Namespace) -> None:
    from ntk_study.figures import TIMING_FILE

    _timed_stage(args, "compute", TIMING_FILE)


def cmd_kernels(args: argparse.Namespace) -> None:
    from ntk_study.figures import KERNEL_TIMING_FILE

    _timed_stage(args, "kernels", KERNEL_TIMING_FILE)


def cmd_claims(args: argparse.Namespace) -> None:
    from ntk_study.claims import write_claims
    from ntk_study.figures import REGISTRY

    out_dir = Path(args.results_dir) / args.figure
    write_claims(out_dir / "claims.csv", REGISTRY[args.figure].analysis().claims(out_dir, args.settings, args.scale))


def cmd_plot(args: argparse.Namespace) -> None:
    from ntk_study.figures import REGISTRY

    REGISTRY[args.figure].plotter().plot(Path(args.results_dir) / args.figure, args.settings)


def cmd_copy_results(args: argparse.Namespace) -> None:
    from ntk_study.io import copy_file

    for path in args.inputs:
        copy_file(Path(path), Path(args.output_dir) / Path(path).name)


def cmd_pending(args: argparse.Namespace) -> None:
    from ntk_study.claims import pending, write_claims

    write_claims(args.output, pending(args.figure, args.scale))


def cmd_provenance(args: argparse.Namespace) -> None:
    from ntk_study.provenance import write_provenance

    write_provenance(args.figure, args.settings, args.scale, args.seed, args.manifests,
                     args.benchmarks, args.output)


def cmd_scorecard(args: argparse.Namespace) -> None:
    from ntk_study.claims import build_scorecard
    from ntk_study.io import atomic_path

    with atomic_path(args.output) as tmp:
        build_scorecard(args.claims, args.scale).to_csv(tmp, index=False)


def cmd_cluster_estimate(args: argparse.Namespace) -> None:
    from ntk_study.cluster_estimate import estimate
    from ntk_study.config import load_config
    from ntk_study.io import save_csv

    save_csv(args.output, estimate(args.config, load_config(args.paper_config), Path(args.benchmarks_dir),
                                   Path(args.results_dir)))


def cmd_study_runtime(args: argparse.Namespace) -> None:
    from ntk_study.io import save_csv
    from ntk_study.report import render_study_runtime
    from ntk_study.study_runtime import tables

    summary, rules = tables(Path(args.benchmarks_dir), Path(args.results_dir))
    if args.output:
        save_csv(args.output, summary)
    if args.rules_output:
        save_csv(args.rules_output, rules)
    print(render_study_runtime(summary, rules))


def cmd_cntk_full_shard(args: argparse.Namespace) -> None:
    from ntk_study.experiments.cntk_full import kernel_shard

    kernel_shard(args.settings, args.seed, args.shard, Path(args.output), _prepared_paths(args))


def cmd_cntk_full_solve(args: argparse.Namespace) -> None:
    from ntk_study.experiments.cntk_full import solve

    solve(args.settings, args.seed, [Path(path) for path in args.shards], Path(args.output), _prepared_paths(args))


def cmd_cntk_full_cnn(args: argparse.Namespace) -> None:
    from ntk_study.experiments.cntk_full import train_cnns

    train_cnns(args.settings, args.seed, args.depth, Path(args.output), _prepared_paths(args))


def cmd_gntk_timing(args: argparse.Namespace) -> None:
    from ntk_study.experiments.gntk import time_one_gram

    print(json.dumps(time_one_gram(Path(args.prepared), args.graph_set, args.blocks, args.layers, args.scale)))


def cmd_book(args: argparse.Namespace) -> None:
    from ntk_study.report import build_book

    build_book(Path(args.report_dir), Path(args.results_dir))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ntk_study", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(handler=handler)
        return sub

    sub = add("download", cmd_download, "fetch and verify a dataset's files")
    sub.add_argument("--dataset", required=True)
    sub.add_argument("--raw-dir", required=True)
    sub.add_argument("--mirror", default=None,
                     help="data mirror (directory or base URL); omit to use the canonical hosts")

    sub = add("prepare", cmd_prepare, "parse a downloaded dataset into one .npz")
    sub.add_argument("--dataset", required=True)
    sub.add_argument("--raw-dir", required=True)
    sub.add_argument("--output", required=True)
    sub.add_argument("--optional", action="store_true",
                     help="a graph set the data source may lack: record its absence instead of failing")

    def add_figure_command(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = add(name, handler, help_text)
        sub.add_argument("figure", help="figure id, e.g. fig-ntk-init")
        sub.add_argument("--settings", type=_json, required=True, help="the figure's config section as JSON")
        sub.add_argument("--results-dir", default="results")
        return sub

    sub = add_figure_command("compute", cmd_compute, "compute a figure's data files")
    sub.add_argument("--seed", type=int, required=True)
    sub.add_argument("--prepared", nargs="*", default=[], help="prepared dataset files it reads")
    sub = add_figure_command("kernels", cmd_kernels, "compute a kernel table's Gram matrices")
    sub.add_argument("--seed", type=int, required=True)
    sub.add_argument("--prepared", nargs="*", default=[], help="prepared dataset files it reads")
    sub = add_figure_command("claims", cmd_claims, "check a figure's claims into claims.csv")
    sub.add_argument("--scale", required=True)
    add_figure_command("plot", cmd_plot, "draw a figure's images")

    sub = add("copy-results", cmd_copy_results, "copy another figure's data files into a figure's results")
    sub.add_argument("--inputs", nargs="+", required=True)
    sub.add_argument("--output-dir", required=True)

    sub = add("pending", cmd_pending, "claims of a figure not reproduced yet")
    sub.add_argument("--figure", required=True)
    sub.add_argument("--scale", required=True)
    sub.add_argument("--output", required=True)

    sub = add("provenance", cmd_provenance, "provenance record of a figure")
    sub.add_argument("--figure", required=True)
    sub.add_argument("--settings", type=_json, required=True)
    sub.add_argument("--scale", required=True)
    sub.add_argument("--seed", type=int, required=True)
    sub.add_argument("--manifests", nargs="*", default=[])
    sub.add_argument("--benchmarks", nargs="+", required=True)
    sub.add_argument("--output", required=True)

    sub = add("scorecard", cmd_scorecard, "collect every claim into results/scorecard.csv")
    sub.add_argument("--claims", nargs="+", required=True)
    sub.add_argument("--scale", required=True)
    sub.add_argument("--output", required=True)

    sub = add("study-runtime", cmd_study_runtime,
              "the study's rule time and CPU use per chapter, beside the issues' budgets (from benchmarks/)")
    sub.add_argument("--benchmarks-dir", default="benchmarks")
    sub.add_argument("--results-dir", default="results", help="claims per figure, for the cost per replicate")
    sub.add_argument("--output", help="CSV of the summary (default: print only)")
    sub.add_argument("--rules-output", help="CSV of every rule's times")

    sub = add("cluster-estimate", cmd_cluster_estimate, "paper-scale runtime and GPU-hours per compute rule")
    sub.add_argument("--config", type=_json, required=True, help="the config of this run as JSON")
    sub.add_argument("--paper-config", default="config/paper.yaml")
    sub.add_argument("--benchmarks-dir", default="benchmarks")
    sub.add_argument("--results-dir", default="results")
    sub.add_argument("--output", required=True)

    def add_cntk_full_command(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = add(name, handler, help_text)
        sub.add_argument("--settings", type=_json, required=True, help="tab-cntk's config section as JSON")
        sub.add_argument("--seed", type=int, required=True)
        sub.add_argument("--prepared", nargs="+", required=True, help="resources/prepared/cifar10.npz")
        sub.add_argument("--output", required=True)
        return sub

    sub = add_cntk_full_command("cntk-full-shard", cmd_cntk_full_shard,
                                "tab-cntk full setting: one row shard of the kernels")
    sub.add_argument("--shard", type=int, required=True)
    sub = add_cntk_full_command("cntk-full-solve", cmd_cntk_full_solve, "tab-cntk full setting: kernel regression")
    sub.add_argument("--shards", nargs="+", required=True, help="every shard file, in shard order")
    sub = add_cntk_full_command("cntk-full-cnn", cmd_cntk_full_cnn, "tab-cntk full setting: the CNNs of one depth")
    sub.add_argument("--depth", type=int, required=True)

    sub = add("gntk-timing", cmd_gntk_timing,
              "time one sweep of full-size GNTK Gram matrices, one per BLOCK count (compilation included)")
    sub.add_argument("--prepared", required=True, help="resources/prepared/tu-<NAME>.npz")
    sub.add_argument("--graph-set", required=True)
    sub.add_argument("--blocks", type=int, nargs="+", default=[1], help="BLOCK counts read out of one sweep")
    sub.add_argument("--layers", type=int, default=2)
    sub.add_argument("--scale", default="uniform", choices=["uniform", "degree"])

    sub = add("book", cmd_book, "render the Jupyter Book from result files")
    sub.add_argument("--report-dir", default="report")
    sub.add_argument("--results-dir", default="results")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pool_follows_job_threads()
    profile_output = os.environ.get(rule_profile.ENVIRONMENT_VARIABLE)
    try:
        if profile_output:
            rule_profile.run_profiled(lambda: args.handler(args), Path(profile_output))
        else:
            args.handler(args)
    except (DataError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
