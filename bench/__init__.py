"""Mata Duitan's benchmarks: scripts that print figures (`make bench`), never tests with limits.

    python -m bench            the store, HTTP and bot report (bench.main → docs/BENCHMARKS.md)
    python -m bench.delivery   delivery to Telegram under Telegram's limits
    python -m bench.queries    single query shapes on nx-27017
    python -m bench.record     the floor's store commands, recorded from the real app

    main        phases and plans          report      the Markdown, written into the docs
    floor       replay of the recording   record      the recorder (its own process)
    http_paths  HTTP clients, courier     bot_flows   the real bot on the fake Bot API
    seed        the product's functions   support     machine, statistics, CPU, processes
    profiles    py-spy and per-command timings

Processes start through tests/support (BackendProcess, free_port); accounts, bills and movements
are made by the backend's own functions (bench.seed).
"""
