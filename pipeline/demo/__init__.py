"""The embedded default: real third-party data installed from the package registries."""
