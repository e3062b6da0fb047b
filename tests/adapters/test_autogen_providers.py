"""AutoGen clients per card provider, from autogen-ext component configs (issue 16.4). Built offline: constructing
a client makes no network call; a provider whose package is missing gives a ConfigError naming the pip extra."""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytest.importorskip("autogen_ext")

from router_plugins import ConfigError, ModelBuildError, ModelCard  # noqa: I001 (after the importorskip)
from router_plugins.adapters.autogen._providers import autogen_client, client_config
from router_plugins.router import Router


@pytest.fixture(autouse=True)
def _fake_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs refuse to construct without a key; these never reach a server."""
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY"):
        monkeypatch.setenv(var, "test-key-not-used")
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)


def build(card: ModelCard) -> Any:
    """Through the router's make_chat_model hook, as the adapters do."""
    return Router([card], load_entrypoints=False).chat_model(card.name, "autogen")


def test_openai_card_gets_the_openai_client_with_autogen_model_info() -> None:
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    client = build(ModelCard(name="gpt-4o", provider="openai"))
    assert type(client) is OpenAIChatCompletionClient
    assert client.dump_component().config["model"] == "gpt-4o"
    assert client.model_info["family"] == "gpt-4o" and client.model_info["vision"]  # autogen-ext's own info


def test_card_without_provider_is_an_openai_compatible_server() -> None:
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    client = build(ModelCard(name="local", model="qwen2.5-7b", base_url="http://127.0.0.1:9/v1"))
    assert type(client) is OpenAIChatCompletionClient
    config = client.dump_component().config
    assert config["base_url"] == "http://127.0.0.1:9/v1" and config["model_info"]["family"] == "unknown"


def test_anthropic_card_gets_the_anthropic_client() -> None:
    pytest.importorskip("anthropic")
    from autogen_ext.models.anthropic import AnthropicChatCompletionClient

    client = build(ModelCard(name="claude", provider="anthropic", model="claude-3-5-sonnet-20241022"))
    assert type(client) is AnthropicChatCompletionClient
    assert client.dump_component().config["model"] == "claude-3-5-sonnet-20241022"
    assert "api_key" not in client.dump_component().config  # credentials come from the environment, not the card


def test_ollama_card_gets_the_ollama_client_on_its_host() -> None:
    pytest.importorskip("ollama")
    from autogen_ext.models.ollama import OllamaChatCompletionClient

    client = build(ModelCard(name="llama", provider="ollama", model="llama3.1", base_url="http://127.0.0.1:11434"))
    assert type(client) is OllamaChatCompletionClient
    assert client.dump_component().config["host"] == "http://127.0.0.1:11434"


def test_azure_card_config_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    card = ModelCard(name="az", provider="azure_openai", model="gpt-4o-deploy", base_url="https://x.openai.azure.com")
    with pytest.raises(ConfigError, match="OPENAI_API_VERSION"):
        client_config(card)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    config = client_config(card)
    assert config.provider == "autogen_ext.models.openai.AzureOpenAIChatCompletionClient"
    assert config.config == {"model": "gpt-4o-deploy", "azure_endpoint": "https://x.openai.azure.com",
                             "azure_deployment": "gpt-4o-deploy", "api_version": "2024-06-01"}
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-test-not-a-key")
    pytest.importorskip("azure.identity", reason="autogen-ext's Azure client needs azure-identity (test extra)")
    from autogen_ext.models.openai import AzureOpenAIChatCompletionClient

    client = autogen_client(card)
    assert type(client) is AzureOpenAIChatCompletionClient
    assert client.dump_component().config["azure_deployment"] == "gpt-4o-deploy"


def test_azure_without_its_packages_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # as if autogen-ext[azure] were not installed
    monkeypatch.setitem(sys.modules, "autogen_ext.models.openai", None)
    card = ModelCard(name="az", provider="azure_openai", model="d", base_url="https://x.openai.azure.com")
    with pytest.raises(ConfigError, match=r'pip install "autogen-ext\[openai,azure\]"'):
        autogen_client(card)


@pytest.mark.parametrize(("provider", "extra"), [("anthropic", "anthropic"), ("ollama", "ollama")])
def test_missing_provider_package_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch, provider: str,
                                                      extra: str) -> None:
    monkeypatch.setitem(sys.modules, f"autogen_ext.models.{provider}", None)  # as if the extra were not installed
    card = ModelCard(name="m", provider=provider, model="some-model")
    with pytest.raises(ConfigError, match=rf'pip install "autogen-ext\[{extra}\]"'):
        autogen_client(card)
    strict = Router([card], load_entrypoints=False, fail_open=False)
    with pytest.raises(ConfigError, match=rf"autogen-ext\[{extra}\]"):  # the hook's error, named by the router
        strict.chat_model("m", "autogen")


def test_unknown_and_replay_providers_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="no AutoGen client for provider 'google_genai'"):
        autogen_client(ModelCard(name="g", provider="google_genai", model="gemini-2.0-flash"))
    with pytest.raises(ConfigError, match="ReplayCompletionClients"):
        autogen_client(ModelCard(name="r", provider="replay"))


def test_the_adapters_wrap_a_build_failure_as_model_build_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from router_plugins._model_build import build_client

    monkeypatch.setitem(sys.modules, "autogen_ext.models.anthropic", None)
    router = Router([ModelCard(name="m", provider="anthropic", model="x")], load_entrypoints=False)
    with pytest.raises(ModelBuildError, match=r"'m'.*provider 'anthropic'.*autogen-ext\[anthropic\]"):
        build_client(router, "m", "autogen")
