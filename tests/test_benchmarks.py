"""The scripts in benchmarks/ still run against the library (they print figures; nothing here is timed)."""

import importlib.util
import pathlib

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
NAMES = ("lenet", "minigooglenet", "dying_relu")


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_is_listed():
    assert sorted(p.stem for p in BENCHMARKS.glob("*.py")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_imports_and_parses_its_defaults(name):
    module = load(name)
    assert module.__doc__.strip()
    args = module.parser().parse_args([])
    assert vars(args)


def test_lenet_variants_default_to_the_study_variants():
    from hw2.experiments import p3_lenet

    assert load("lenet").parser().parse_args([]).variants.split(",") == list(p3_lenet.VARIANTS)


def test_dying_relu_defaults_to_the_study_arms():
    from hw2.experiments.p2_initialization import DyingReluConfig

    args = load("dying_relu").parser().parse_args([])
    assert tuple(args.arms.split(",")) == DyingReluConfig().arms
    assert (args.simulations, args.epochs) == (DyingReluConfig().n_simulations, DyingReluConfig().epochs)


@pytest.mark.slow
def test_lenet_benchmark_runs(capsys):
    load("lenet").main(["--steps", "2", "--repeats", "1", "--variants", "baseline,bn_input_hidden"])
    out = capsys.readouterr().out
    assert "2 steps per measurement" in out
    assert out.count("\nbaseline ") == 1 and out.count("\nbn_input_hidden ") == 1


@pytest.mark.slow
def test_dying_relu_benchmark_runs(capsys):
    load("dying_relu").main(["--simulations", "2", "--epochs", "1", "--naive", "1", "--arms", "relu,relu+rai"])
    out = capsys.readouterr().out
    assert "naive relu+rai:" in out and "speed-up" in out


@pytest.mark.slow
def test_minigooglenet_benchmark_runs(capsys):
    load("minigooglenet").main(["--widths", "0.0625", "--steps", "1", "--jit", "off", "--epochs", "1",
                                "--precisions", "float32"])
    out = capsys.readouterr().out
    assert "float32" in out and "noise-matched" in out and "traces" in out
