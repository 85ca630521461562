"""Benchmarks (`edgemoe bench`, `make bench`). Each module in this package defines
``run(quick: bool) -> list[tuple[str, str]]`` returning (metric, value) rows measured in
one run; edgemoe.commands.bench discovers them. Benchmarks never assert a time."""
