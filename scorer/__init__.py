"""The trained scorer (installed as ``router_plugins.scorer``): encoders, dual-contrastive model, baselines."""
