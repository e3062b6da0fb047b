"""``python -m router_plugins`` runs the command line."""

from router_plugins.cli import main

main()
