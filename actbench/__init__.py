"""actbench: compare activation functions on MNIST and Fashion-MNIST."""

__version__ = "0.1.0"
