"""The errors of a preprocessing job, each a subclass of a built-in one, and its exit status on the
command line."""

from __future__ import annotations


class OptionsError(ValueError):
    """A bad option, a bad combination of options, or an input that cannot be read as asked
    (command line: exit status 2)."""


class CorruptInputError(ValueError):
    """An input file is truncated or corrupt: a compressed stream that ends early or does not decode, a
    Parquet file that cannot be read. The run stops rather than use part of the file (command line: exit
    status 1); the message names the file."""


class RejectLimitError(ValueError):
    """More records were rejected than ``--max-rejects`` allows (command line: exit status 1)."""


class PrefixBusyError(RuntimeError):
    """Another live run is writing to the same output prefix (command line: exit status 3)."""
