# The one place the version is written: pyproject.toml reads it (`[tool.setuptools.dynamic]`), so the
# package metadata, `aiphone360.__version__` and the User-Agent always agree.
__version__ = "0.2.0"
