"""`[pools.NAME]`: several named hosts used as one, and how each reply picks among them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ollama_tui.config_checks import Check, ConfigError, InvalidValue, describe, named_tables

POOL_STRATEGIES = ("priority", "warm-first", "least-busy")
"""How a pool picks among its hosts that have the model (see session/pools.py)."""


@dataclass
class PoolSettings:
    """Several named hosts used as one: each reply goes to the best of them that has the model."""

    name: str
    hosts: list[str]
    """Names of [hosts.NAME] tables, in priority order."""
    strategy: str = "priority"


def _strategy(value: object) -> str:
    if value not in POOL_STRATEGIES:
        raise InvalidValue(" or ".join(f'"{name}"' for name in POOL_STRATEGIES))
    return str(value)


def _host_names(value: object) -> list[str]:
    expected = 'a non-empty array of [hosts.NAME] names, e.g. ["gpu-box", "laptop"]'
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidValue(expected)
    if len(set(value)) != len(value):
        raise InvalidValue(expected, "a host is named twice")
    return list(value)


_POOL_KEYS: dict[str, Check] = {"hosts": _host_names, "strategy": _strategy}


def pool_tables(value: object, fail: Callable[[str], ConfigError]) -> dict[str, PoolSettings]:
    """`[pools.NAME]` tables; `hosts` is required (checked against [hosts.NAME] by check_pools)."""
    required = ("hosts", '["gpu-box", "laptop"]')
    tables = named_tables(
        "pools", value, _POOL_KEYS, example="office", required=required, fail=fail
    )
    return {name: PoolSettings(name=name, **table) for name, table in tables.items()}


def check_pools(pools: Mapping[str, PoolSettings], hosts: Mapping[str, object], path: Path) -> None:
    """Every pool names defined hosts and is not itself named like a host."""
    known = ", ".join(hosts) or "none defined"
    for name, pool in pools.items():
        if name in hosts:
            raise ConfigError(
                f"config error in {path}: pools.{name}: a [hosts.{name}] table has the same "
                "name; give the pool a name of its own"
            )
        for host in pool.hosts:
            if host not in hosts:
                raise ConfigError(
                    f"config error in {path}: pools.{name}.hosts: expected names of "
                    f"[hosts.NAME] tables ({known}), got {describe(host)}"
                )
