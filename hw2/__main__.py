"""Command line: ``python -m hw2 list | run | fetch-data | verify-results``.

Examples::

    python -m hw2 list
    python -m hw2 run p1.perceptron --profile laptop
    python -m hw2 run p4.lr_sweep p4.clr --profile full --seed 0
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


def _cmd_fetch(args) -> int:
    from hw2 import datasets

    for name in ("mnist", "fashion_mnist"):
        (x_train, _), (x_test, _) = datasets.load(name, verbose=True)
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
                  f"rtol={experiments.RECOMPUTE_RTOL:g}, atol={experiments.RECOMPUTE_ATOL:g}).")
    return 1 if failed else 0


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
