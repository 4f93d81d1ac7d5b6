"""Unit tests of the benchmarks' pure parts (bench/ is scripts, not a package: ``tests.support.bench``)."""
