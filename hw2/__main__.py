"""Command line: ``python -m hw2 list | run | chain | fetch-data | verify-results``.

Examples::

    python -m hw2 list
    python -m hw2 run p1.perceptron --profile laptop
    python -m hw2 run p4.lr_sweep p4.clr --profile full --seed 0
    python -m hw2 chain p4 --profile full --dry-run
    python -m hw2 chain p4 --profile full --copy-to /tmp/p4 --tar --time-limit 480
    python -m hw2 fetch-data
    python -m hw2 verify-results
    python -m hw2 verify-results --recompute p1.perceptron p4.fashion_mnist

An expected failure (bad argument, missing data, no stored result, unwritable folder, edited result
file) is one line on stderr with exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from hw2 import profiles
from hw2._checks import argument_error


def _cmd_list(args) -> int:
    from hw2 import experiments

    print("Profiles (choose with --profile or HW2_PROFILE; default full):")
    for name in profiles.PROFILES:
        print(f"  {name:<8} {profiles.PROFILE_DESCRIPTIONS[name]}")
    print("\nExperiments:")
    for name in experiments.names():
        exp = experiments.get(name)
        gpu = "  [GPU recommended for full]" if exp.gpu_recommended else ""
        print(f"  {name:<20} v{exp.version:<4} {exp.description}{gpu}")
    return 0


def _cmd_run(args) -> int:
    from hw2 import experiments

    profile = profiles.resolve_profile(args.profile)
    for name in args.experiments:
        experiments.get(name)  # fail fast on a typo before any long computation
    for name in args.experiments:
        start = time.perf_counter()
        print(f"[hw2] {name} (profile {profile}, seed {args.seed}) ...", file=sys.stderr)
        result = experiments.run(name, profile, seed=args.seed, force=args.force)
        summary = experiments.get(name).summarize(result.data)
        source = "store" if result.from_store else "computed"
        print(f"[hw2] {name}: {source} in {time.perf_counter() - start:.1f} s -> {result.path}", file=sys.stderr)
        out = {"experiment": name, "profile": result.profile, "source": source,
               "provenance": result.provenance, "summary": summary}
        print(json.dumps(out, indent=2, default=_json_default))
    return 0


def _json_default(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _cmd_chain(args) -> int:
    from hw2 import chain

    if args.time_limit is not None:
        chain.check_time_limit(args.time_limit)
    backend = chain.configured_backend()
    if backend == "jax":
        cache = chain.use_compilation_cache(args.xla_cache)  # first: JAX reads it when Keras imports it
    else:
        cache = "no persistent compilation cache (JAX backend only)" + ("; --xla-cache ignored" if args.xla_cache
                                                                         else "")
    plan = chain.plan(args.chain, args.profile, seeds=args.seeds, only=args.only)
    target = None
    if args.copy_to:
        target = chain.check_copy_folder(args.copy_to, chain.archive_name(plan) if args.tar else None)
    if args.dry_run:
        _print_plan(plan)
        copies = f"copies would go to {args.copy_to} ({target})" if args.copy_to else "no --copy-to given"
        print(f"  backend {backend}: {cache}; {copies}")
        return 0
    if not args.copy_to:
        raise argument_error("--copy-to", "a folder unless --dry-run is given", received="nothing")
    import keras

    from hw2 import datasets

    print(f"[chain] backend {keras.config.backend()}; {cache}", flush=True)
    datasets.load("fashion_mnist")  # before any piece: a missing dataset is one line, not one failure per piece
    outcomes = chain.run_chain(plan, args.copy_to, tar=args.tar, time_limit_s=args.time_limit,
                               echo=lambda line: print(line, flush=True))
    return 0 if all(outcome.done for outcome in outcomes) else 1


def _print_plan(plan) -> None:
    from hw2 import experiments

    print(f"chain {plan.chain} at profile {plan.profile}: {len(plan)} pieces, in this order:")
    with experiments.no_compute():  # look up only: a dry run computes nothing
        for index, piece in enumerate(plan, 1):
            try:
                experiments.run(piece.experiment, plan.profile, seed=piece.seed)
                state = "stored"
            except LookupError:
                state = "to compute"
            needs = ", ".join(f"{name} seed {seed}" for name, seed in piece.needs) or "nothing"
            print(f"  {index:>2}. {piece.label:<26} {state:<10} needs {needs}")
    for note in plan.notes:
        print(f"  {note}")


def _cmd_fetch(args) -> int:
    from hw2 import datasets

    for name in ("mnist", "fashion_mnist"):
        (x_train, _), (x_test, _) = datasets.load(name, verbose=True, cache_required=True)
        print(f"{name}: {len(x_train)} train + {len(x_test)} test images, verified, cached at "
              f"{datasets.cache_path(name)}")
    return 0


def _cmd_verify(args) -> int:
    from hw2 import experiments

    profile = profiles.resolve_profile(args.profile)
    for name in args.recompute or ():
        experiments.get(name)  # fail fast on a typo before any long computation
    # With --recompute, only the named experiments are checked (CI proves the cheap ones).
    problems = experiments.verify_store(profile, only=args.recompute)
    checked = ", ".join(args.recompute) if args.recompute else "every experiment"
    if problems:
        print(f"results/{profile}: {len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print(f"results/{profile}: {checked}: current result stored.")
    _print_code_changes(experiments.code_changes(profile, only=args.recompute), args.recompute)
    failed = bool(problems)
    for name in args.recompute or ():
        start = time.perf_counter()
        print(f"[hw2] recomputing {name} (profile {profile}) into a temporary store ...", file=sys.stderr)
        differences = experiments.recompute_and_compare(name, profile)
        took = f"{time.perf_counter() - start:.1f} s"
        if differences:
            failed = True
            print(f"{name}: recomputed in {took}: {len(differences)} field(s) differ from the stored result "
                  f"(floats compared within rtol={experiments.RECOMPUTE_RTOL:g}, "
                  f"atol={experiments.RECOMPUTE_ATOL:g}):")
            for difference in differences:
                print(f"  - {difference}")
        else:
            print(f"{name}: recomputed in {took}: every stored number reproduced (floats within "
                  f"rtol={experiments.RECOMPUTE_RTOL:g}, atol={experiments.RECOMPUTE_ATOL:g}; wall-clock "
                  "times not compared).")
    return 1 if failed else 0


def _print_code_changes(changes: dict, recomputed) -> None:
    """Say which stored results were computed by code that has changed since (not a failure: the
    change may not move a number; ``--recompute`` tells)."""
    changed = {entry: files for entry, files in changes.items() if files != []}
    if not changed:
        if changes:
            print("code: the library code of every checked result is unchanged since it was computed.")
        return
    print(f"code: {len(changed)} stored result(s) were computed by library code that has changed since "
          "(docstrings, comments and layout aside):")
    for entry, files in sorted(changed.items()):
        if files is None:
            print(f"  - {entry}: cannot tell (no source digests recorded and its commit is not in this "
                  "repository's history)")
        else:
            shown = ", ".join(files[:6]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
            print(f"  - {entry}: {len(files)} file(s) changed: {shown}")
    if not recomputed:
        print("  A changed file need not change a number: `python -m hw2 verify-results --recompute NAME` "
              "recomputes one and compares every stored number.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw2", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list experiments and profiles").set_defaults(func=_cmd_list)
    run = sub.add_parser("run", help="compute (or read from the store) and print headline numbers as JSON")
    run.add_argument("experiments", nargs="+", metavar="EXPERIMENT")
    run.add_argument("--profile", default=None, help=f"one of {', '.join(profiles.PROFILES)} (default: "
                     "$HW2_PROFILE or full)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--force", action="store_true", help="recompute even if a stored result is valid")
    run.set_defaults(func=_cmd_run)
    _add_chain_parser(sub)
    sub.add_parser("fetch-data", help="download/verify MNIST and Fashion-MNIST into the cache").set_defaults(
        func=_cmd_fetch)
    verify = sub.add_parser("verify-results", help="check that committed results match the current code")
    verify.add_argument("--profile", default="full", help=f"one of {', '.join(profiles.PROFILES)} (default: full)")
    verify.add_argument("--recompute", nargs="+", metavar="EXPERIMENT", default=None,
                        help="also recompute these experiments (into a temporary store) and compare every "
                             "stored number")
    verify.set_defaults(func=_cmd_verify)
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", help="show the traceback of an expected failure")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except _EXPECTED as exc:
        if args.debug:
            raise
        parser.exit(2, f"error: {_one_line(exc)}\n")


def _add_chain_parser(sub) -> None:
    from hw2 import chain

    doc = chain.__doc__
    parser = sub.add_parser(
        "chain", help="run a whole chain of experiments (p4) piece by piece, copying each finished piece out",
        description=doc[:doc.index("How to run it")].strip(),
        epilog=doc[doc.index("How to run it"):doc.index("Example:")].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chain", choices=chain.CHAINS)
    parser.add_argument("--profile", default=None, help=f"one of {', '.join(profiles.PROFILES)} (default: "
                        "$HW2_PROFILE or full)")
    parser.add_argument("--copy-to", default=None, metavar="FOLDER",
                        help="copy each finished piece here (<experiment>/<file>.npz) and log to chain.log")
    parser.add_argument("--tar", action="store_true",
                        help="copy into one archive FOLDER/<chain>-<profile>.tar instead (rewritten atomically)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED",
                        help="policy seeds (default: the seeds 4.7 compares the policies at, 0 1 2 at full)")
    parser.add_argument("--only", nargs="+", default=None, metavar="EXPERIMENT",
                        help="run only these experiments of the chain (upstream results still cache-first)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="start no piece after this many seconds (the rest is listed as not started)")
    parser.add_argument("--xla-cache", default=None, metavar="FOLDER",
                        help="JAX compilation cache (default: $JAX_COMPILATION_CACHE_DIR, $HW2_XLA_CACHE or "
                             "~/.cache/hw2/xla)")
    parser.add_argument("--dry-run", action="store_true", help="list the pieces in order; run nothing")
    parser.set_defaults(func=_cmd_chain)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Failures a user can fix (bad input, missing data or result, a folder that cannot be written):
    one line, exit 2. Anything else is a bug and keeps its traceback."""
    from hw2.datasets import DatasetError

    return ValueError, LookupError, OSError, DatasetError


_EXPECTED = _expected_errors()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}. Fix: check that this path exists and can be written."
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
