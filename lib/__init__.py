"""ML Casebook library: the code behind the notebooks."""
