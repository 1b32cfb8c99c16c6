import dataclasses

import pytest

from hw2 import experiments, profiles


@dataclasses.dataclass(frozen=True)
class _Config:
    n: int = 100
    epochs: int = 10
    seed: int = 0


def test_config_for_applies_profile_overrides_then_changes(monkeypatch):
    monkeypatch.setitem(profiles.SIZES, "demo", {"smoke": {"n": 5}, "laptop": {}, "full": {}})
    assert profiles.config_for("demo", _Config, "full") == _Config()
    assert profiles.config_for("demo", _Config, "smoke", seed=3) == _Config(n=5, seed=3)


def test_unknown_override_field_is_reported(monkeypatch):
    monkeypatch.setitem(profiles.SIZES, "demo", {"smoke": {"width": 5}})
    with pytest.raises(KeyError, match="unknown fields"):
        profiles.config_for("demo", _Config, "smoke")


def test_env_selects_profile(monkeypatch):
    monkeypatch.setenv("HW2_PROFILE", "laptop")
    assert profiles.resolve_profile() == "laptop"
    monkeypatch.delenv("HW2_PROFILE")
    assert profiles.resolve_profile() == "full"


def test_every_registered_experiment_builds_every_profile():
    for name in experiments.names():
        experiment = experiments.get(name)
        for profile in profiles.PROFILES:
            config = experiment.config(profile)
            assert config.seed == 0


def test_profile_table_names_exactly_the_registered_experiments():
    from hw2.experiments.p4_policies import COMPARISON

    # and 4.7's seeds: 4.7 is assembled from the policy runs when its page renders, no experiment of its own
    assert sorted(profiles.SIZES) == sorted([*experiments.names(), COMPARISON])
    for name, sizes in profiles.SIZES.items():
        assert sorted(sizes) == sorted(profiles.PROFILES), name


def test_an_experiment_missing_from_the_table_is_an_error_not_full_size(monkeypatch):
    monkeypatch.delitem(profiles.SIZES, "p1.perceptron")
    with pytest.raises(KeyError, match=r"profiles.SIZES\['p1.perceptron'\] has no 'smoke' entry"):
        experiments.get("p1.perceptron").config("smoke")
    monkeypatch.setitem(profiles.SIZES, "demo", {"smoke": {"n": 5}})
    with pytest.raises(KeyError, match="has no 'laptop' entry"):
        profiles.config_for("demo", _Config, "laptop")
