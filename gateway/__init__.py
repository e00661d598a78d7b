"""medusa-graphql-gateway: a fast GraphQL gateway in front of Medusa v2's store payment API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medusa-graphql-gateway")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
