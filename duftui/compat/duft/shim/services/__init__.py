"""A package of DUFT's server, provided by duftui's shim; other parts of a package of the same
name elsewhere on the path stay importable."""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
