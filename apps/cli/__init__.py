"""The command line: ``python -m apps.cli <group> <command>`` (see ``__main__``)."""
