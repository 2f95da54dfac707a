"""The service configuration: POLICYGRAPH_* variables, options over them, checks that name the setting."""

from __future__ import annotations

import pytest

from policygraph.cli import main
from policygraph.config import ConfigError, ServeConfig


def test_defaults_then_environment_then_options(monkeypatch):
    assert ServeConfig.load().workers == 2
    monkeypatch.setenv("POLICYGRAPH_WORKERS", "3")
    monkeypatch.setenv("POLICYGRAPH_QUERY_TIMEOUT", "")  # empty: as if unset
    assert ServeConfig.load().workers == 3
    assert ServeConfig.load(workers=5, query_timeout=None).workers == 5
    assert ServeConfig.load().query_timeout == 10.0


@pytest.mark.parametrize("from_env", [False, True])
def test_zero_workers_is_refused_not_replaced_by_the_default(monkeypatch, from_env):
    if from_env:
        monkeypatch.setenv("POLICYGRAPH_WORKERS", "0")
    with pytest.raises(ConfigError, match=r"--workers / POLICYGRAPH_WORKERS: .*greater than or equal to 1"):
        ServeConfig.load(workers=None if from_env else 0)


def test_service_allow_list_from_a_comma_separated_variable(monkeypatch):
    monkeypatch.setenv("POLICYGRAPH_SERVICE_ALLOW", "https://a.example/sparql,,http://b.example/")
    config = ServeConfig.load()
    assert config.service_allow == ("https://a.example/sparql", "http://b.example/")
    assert config.worker_limits().network is True
    assert config.web_settings().service_allow == config.service_allow
    monkeypatch.setenv("POLICYGRAPH_SERVICE_ALLOW", "ftp://c.example/")
    with pytest.raises(ConfigError, match=r"POLICYGRAPH_SERVICE_ALLOW: .*'ftp://c\.example/'"):
        ServeConfig.load()


def test_derived_values():
    config = ServeConfig.load(memory_limit=100, workers=4, client_share=0)
    assert config.worker_limits().memory == 100 << 20 and config.worker_limits().network is False
    assert config.client_share_limit() == 4  # 0 = no limit: every worker
    assert ServeConfig.load().client_share_limit() is None  # the pool's own default


def test_serve_help_and_errors_come_from_the_config(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--workers INTEGER" in out and "(default: 2)" in out and "POLICYGRAPH_LOG_LEVEL" in out
    assert main(["serve", "--port", "1", "--memory-limit", "8"]) == 2
    assert capsys.readouterr().err.startswith("error: --memory-limit / POLICYGRAPH_MEMORY_LIMIT:")
    assert main(["serve", "--no-such-option"]) == 2


def test_a_switch_is_an_on_off_option_and_a_variable(monkeypatch, capsys):
    assert ServeConfig.load().lookups is True
    monkeypatch.setenv("POLICYGRAPH_LOOKUPS", "false")
    assert ServeConfig.load().lookups is False
    assert ServeConfig.load(lookups=True).lookups is True  # --lookups over the variable
    monkeypatch.setenv("POLICYGRAPH_LOOKUPS", "maybe")
    with pytest.raises(ConfigError, match=r"--lookups / POLICYGRAPH_LOOKUPS: "):
        ServeConfig.load()
    monkeypatch.delenv("POLICYGRAPH_LOOKUPS")
    assert main(["serve", "--help"]) == 0
    assert "--lookups / --no-lookups" in capsys.readouterr().out
