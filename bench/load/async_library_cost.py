"""What httpcore pays on every request of the bot's HTTP client to learn which async library
runs it (`current_async_library()`, which imports sniffio each time): a few µs with sniffio
installed, tens without, when each failed import searches the path again.

    .venv/bin/python bench/load/async_library_cost.py [CALLS]
"""

from __future__ import annotations

import asyncio
import sys
import timeit

from httpcore._synchronization import current_async_library


async def main(calls: int) -> None:
    took = timeit.timeit(current_async_library, number=calls)
    with_sniffio = "sniffio" in sys.modules
    print(
        f"sniffio {'installed' if with_sniffio else 'missing'}: {took / calls * 1e6:.1f} µs a call"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
