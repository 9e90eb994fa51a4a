"""The ``dlwild`` command: run chapters, build the book, show the reproduction status, data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlwild.core import config
from dlwild.core.chapter import COMMON

EXIT_FAILED, EXIT_USAGE = 1, 2


def parser() -> argparse.ArgumentParser:
    """The command-line interface (``dlwild --help``)."""
    top = argparse.ArgumentParser(
        prog="dlwild", description="Reproduce the ZHAW Datalab papers and build the book.")
    top.add_argument("--root", type=Path, default=None,
                     help="the book's checkout (default: found from the current folder)")
    sub = top.add_subparsers(dest="command", required=True)

    def run_options(p: argparse.ArgumentParser) -> None:
        # values are checked by the chapter's declaration (dlwild.core.chapter), not here
        for name, param in COMMON.items():
            p.add_argument(f"--{name}", type=int if param.kind is int else str, default=None,
                           help=f"{param.help} ({param.describe()}; default {param.default!r})")
        p.add_argument("--force", action="store_true", help="run even if nothing changed")
        p.add_argument("--quiet", action="store_true",
                       help="do not show the lines the chapter prints (progress, warnings)")

    run = sub.add_parser("run", help="run one chapter (skipped when nothing changed)")
    run.add_argument("chapter")
    run_options(run)
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                     help="a chapter parameter (repeatable), e.g. -p segment_ms=200")

    book = sub.add_parser("book", help="run every chapter and build the book")
    run_options(book)
    book.add_argument("--no-build", action="store_true", help="run chapters only")
    book.add_argument("--jobs", type=int, default=None,
                      help="chapters that run at a time, each in its own kernel with its "
                           "share of the cores (default: the machine's cores at quick scale, "
                           "one at full scale)")

    sub.add_parser("status", help="print the book-wide reproduction table")
    sub.add_parser("chapters", help="the chapters, their papers and their parameters")
    cite = sub.add_parser("cite", help="a claim's numbers as a ready citation")
    cite.add_argument("claim", help="the claim's id (shown in every claims table), or "
                                    "<chapter>:<id>")

    record = sub.add_parser("record", help="save a chapter's full-scale results as its "
                                           "committed record (book/records/)")
    record.add_argument("chapter")
    record.add_argument("--sweep", action="store_true",
                        help="save its last sweep (results/<chapter>.sweep.json) instead")

    sweep = sub.add_parser("sweep", help="run a chapter for several seeds on a Dask cluster "
                                         "and aggregate its claims over them")
    sweep.add_argument("chapter")
    sweep.add_argument("--seeds", type=int, required=True, help="how many seeds (0, 1, ...)")
    run_options(sweep)
    sweep.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="a chapter parameter (repeatable)")
    sweep.add_argument("--cluster", default="local",
                       help="'local' (an embedded cluster, the default), 'tcp://host:port' "
                            "(a running Dask scheduler) or 'slurm'")
    sweep.add_argument("--workers", type=int, default=None,
                       help="worker processes (local) or jobs (SLURM) that train, and seeds "
                            "whose notebooks run at a time (default: the machine's cores "
                            "on the embedded cluster, one per seed elsewhere)")
    sweep.add_argument("--slurm-config", type=Path, default=None,
                       help="YAML with partition, cores, memory, walltime, gpus_per_job")

    data = sub.add_parser("data", help="the registered data sets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser("list", help="data sets and where their files are")
    fetch = data_sub.add_parser("fetch", help="fetch a data set into the cache")
    fetch.add_argument("name")
    verify = data_sub.add_parser("verify", help="checksum what is locally available")
    verify.add_argument("name", nargs="?")
    return top


def _project(args):
    from dlwild.runner import Project

    return Project.find(args.root)


def _common(args) -> dict:
    """The common parameters given on the command line (--scale, --seed, ...)."""
    return {name: getattr(args, name) for name in COMMON if getattr(args, name) is not None}


def _params(args) -> dict:
    """The chapter parameters given with -p KEY=VALUE (the common ones have their flags)."""
    from dlwild.runner import parse_assignment

    params = dict(parse_assignment(text) for text in args.param)
    for name in COMMON:
        if name in params:
            raise config.ConfigError(f"use --{name}, not -p {name}=...")
    return params


def _cmd_run(args) -> int:
    from dlwild.runner import run_chapter

    params = _params(args)
    outcome = run_chapter(_project(args), args.chapter, {**params, **_common(args)},
                          force=args.force, echo=not args.quiet)
    if outcome.status == "failed":
        print(f"dlwild: {outcome.message}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _cmd_book(args) -> int:
    from dlwild.runner import run_book

    outcomes = run_book(_project(args), _common(args), force=args.force,
                        build=not args.no_build, echo=not args.quiet, jobs=args.jobs)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in outcomes:
        print(f"  {o.chapter:<16} {o.status:<8} {o.wall_s:7.1f} s")
    if failed:
        print(f"dlwild: {len(failed)} chapter(s) failed: {', '.join(o.chapter for o in failed)}",
              file=sys.stderr)
        return EXIT_FAILED
    return 0


def _cmd_status(args) -> int:
    import pandas as pd

    from dlwild.core import results
    from dlwild.runner import load_all_results

    records = load_all_results(_project(args))
    if not records:
        print("No results yet: run `make book` or `dlwild run CHAPTER`.")
        return 0
    table = results.status_rows(records)
    with pd.option_context("display.max_colwidth", 48, "display.width", 200,
                           "display.max_rows", None):
        print(table.drop(columns=["reason"]).to_string(index=False))
    counts = table["verdict"].value_counts()
    print("\n" + ", ".join(f"{counts.get(v, 0)} {v}" for v in results.VERDICTS))
    return 0


def _cmd_chapters(args) -> int:
    from dlwild.runner.parameters import chapter_declaration

    project = _project(args)
    for name in project.chapters():
        declared, _ = chapter_declaration(project.source(name), name)
        print(f"{name}: {declared.title}\n  papers: {', '.join(declared.papers)}"
              f"\n  data: {', '.join(declared.data) or 'none registered'}")
        for key, param in declared.params.items():
            print(f"  -p {key}=...  {param.describe()}, default {param.default!r}: {param.help}")
    common = ", ".join(f"--{k} ({p.describe()})" for k, p in COMMON.items())
    print(f"every chapter: {common}")
    return 0


def _cmd_cite(args) -> int:
    from dlwild.runner.citing import cite

    print(cite(_project(args), args.claim))
    return 0


def _cmd_record(args) -> int:
    from dlwild.runner import save_record

    if args.sweep:
        from dlwild.runner.sweep import save_sweep

        path = save_sweep(_project(args), args.chapter)
        print(f"{args.chapter}: sweep record written to {path}")
        return 0
    saved = save_record(_project(args), args.chapter)
    print(f"{args.chapter}: full-scale record of commit {saved.commit} written to {saved.path}")
    if saved.changed_training_code is None:
        print("  git could not compare that commit's training code with this checkout")
    elif saved.changed_training_code:
        print("  the training code changed since that commit: "
              + ", ".join(saved.changed_training_code))
    else:
        print("  the training code is unchanged since that commit")
    return 0


def _cmd_sweep(args) -> int:
    from dlwild.runner.sweep import SweepError, sweep, sweep_workers

    params = _params(args)
    if args.seed is not None:
        raise config.ConfigError("a sweep runs seeds 0 .. N-1: give --seeds N, not --seed")
    try:
        done = sweep(_project(args), args.chapter, args.seeds, {**params, **_common(args)},
                     cluster=args.cluster, workers=sweep_workers(args.workers, args.cluster,
                                                                 args.seeds),
                     slurm_file=args.slurm_config)
    except SweepError as exc:
        print(f"dlwild: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for claim in done.record["claims"]:
        print(f"  {claim['id']:<34} {claim['verdict']:<15} {claim['reason']}")
    return 0


def _cmd_data(args) -> int:
    from dlwild.core import data

    if args.data_command == "list":
        print(f"{'data set':<26} {'files':>6} {'MB':>7} {'cache':>6} {'mirror':>7} {'missing':>8}"
              "  licence")
        for row in data.status():
            print(f"{row['name']:<26} {row['files']:>6} {row['bytes'] / 1e6:>7.1f} "
                  f"{row['cache']:>6} {row['mirror']:>7} {row['missing']:>8}  {row['licence']}")
        return 0
    if args.data_command == "fetch":
        fetched = data.fetch(args.name, progress=True)
        record = fetched.record()
        print(f"{args.name}: {record['files']} files ready ({record['origins']})")
        return 0
    problems_found = False
    for name, n_ok, problems in data.verify(args.name):
        print(f"{name:<26} {n_ok} files verified" + (f", {len(problems)} problem(s)"
                                                     if problems else ""))
        for problem in problems:
            print(f"    {problem}")
        problems_found = problems_found or bool(problems)
    return EXIT_FAILED if problems_found else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dlwild`` command; returns the exit status."""
    from dlwild.core.data import DataError
    from dlwild.runner import ChapterError

    args = parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # a chapter's progress shows as it comes
        sys.stdout.reconfigure(line_buffering=True)
    handlers = {"run": _cmd_run, "book": _cmd_book, "status": _cmd_status,
                "chapters": _cmd_chapters, "cite": _cmd_cite,
                "record": _cmd_record, "data": _cmd_data, "sweep": _cmd_sweep}
    try:
        return handlers[args.command](args)
    except config.ConfigError as exc:
        print(f"dlwild: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ChapterError, DataError) as exc:
        print(f"dlwild: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("dlwild: interrupted; published pages and results are unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
