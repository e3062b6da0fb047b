"""Framework adapters (installed as ``router_plugins.adapters``): LangGraph, LangChain v1, AutoGen, MapCoder."""
