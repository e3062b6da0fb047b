"""Framework adapters (installed as ``router_plugins.adapters``), one subpackage per framework, each importing only
its own framework: ``langgraph`` (``routed``, ``routed_model``, ``RoutedChatModel``), ``langchain``
(``RouterMiddleware``, ``EscalatingChatModel``, replay and local chat models), ``autogen`` (``routed_team``,
routed / escalating / replay clients) and ``mapcoder`` (the MapCoder-style code pipeline and its sandbox).
Import the subpackage you use: ``from router_plugins.adapters.langgraph import routed``."""

__all__ = ["autogen", "langchain", "langgraph", "mapcoder"]
