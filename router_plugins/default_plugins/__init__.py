"""Built-in behaviour, registered through the plugin manager exactly like third-party plugins."""
