"""AutoGen AgentChat adapter: ``routed_team`` (the agent factory: plans per task, builds only the kept agents),
``RoutedChatCompletionClient`` (routes each call), ``EscalatingChatCompletionClient`` (cheap-first cascade) and
``ReplayCompletionClient`` (answers from recorded outcomes). Needs only autogen-core / autogen-agentchat."""

from router_plugins.adapters.autogen.clients import (
    EscalatingChatCompletionClient,
    RoutedChatCompletionClient,
    RoutedClientConfig,
    UsageTracking,
    task_text,
)
from router_plugins.adapters.autogen.replay import REPLAY_PROVIDER, ReplayCompletionClient, ReplayCompletionClients
from router_plugins.adapters.autogen.team import AgentFactory, RoutedTeam, TeamFactory, routed_team

__all__ = [
    "REPLAY_PROVIDER",
    "AgentFactory",
    "EscalatingChatCompletionClient",
    "ReplayCompletionClient",
    "ReplayCompletionClients",
    "RoutedChatCompletionClient",
    "RoutedClientConfig",
    "RoutedTeam",
    "TeamFactory",
    "UsageTracking",
    "routed_team",
    "task_text",
]
