"""The SQS client's defaults, and the user's ``Config`` over them."""

from __future__ import annotations

import platform

import pytest
from botocore.config import Config

from aiobatch._sqs.clients import default_config
from aiobatch._version import __version__


def test_defaults_skip_parameter_validation_and_fix_the_user_agent() -> None:
    config = default_config()

    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert config.max_pool_connections == 50
    assert config.parameter_validation is False
    assert config.user_agent == (
        f"aiobatch/{__version__} aiobotocore/{_aiobotocore_version()} "
        f"lang/python#{platform.python_version()}"
    )


def test_the_user_agent_names_lambdas_execution_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")

    assert default_config().user_agent.endswith(" exec-env/AWS_Lambda_python3.11")


def test_the_users_config_wins_over_every_default() -> None:
    config = default_config(
        Config(
            retries={"mode": "adaptive"},
            max_pool_connections=7,
            parameter_validation=True,
            user_agent="mine/1",
            user_agent_extra="extra/2",
            read_timeout=3,
        )
    )

    assert config.retries == {"mode": "adaptive"}
    assert config.max_pool_connections == 7
    assert config.parameter_validation is True
    assert config.user_agent == "mine/1"
    assert config.user_agent_extra == "extra/2"
    assert config.read_timeout == 3


def test_an_application_id_keeps_botocores_user_agent() -> None:
    # botocore adds the application id to its own User-Agent only, not to a fixed one.
    config = default_config(Config(user_agent_appid="orders"))

    assert config.user_agent is None
    assert config.user_agent_appid == "orders"
    assert config.parameter_validation is False
    assert default_config(fixed_user_agent=False).user_agent is None


def test_an_aioconfig_keeps_its_connector_args_and_http_session() -> None:
    from aiobotocore.config import AioConfig
    from aiobotocore.httpxsession import HttpxSession

    user = AioConfig(
        connector_args={"keepalive_timeout": 60}, http_session_cls=HttpxSession, read_timeout=3
    )
    config = default_config(user)

    assert isinstance(config, AioConfig)
    assert config.connector_args == {"keepalive_timeout": 60}
    assert config.http_session_cls is HttpxSession
    assert config.read_timeout == 3
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert config.parameter_validation is False


def _aiobotocore_version() -> str:
    from aiobotocore import __version__ as version

    return str(version)
