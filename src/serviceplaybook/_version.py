"""The release: one place for the version, which the package root and the command line
show."""

__version__ = "0.1.0.dev0"
