"""Write N generated PubMed records as EFetch XML (see evtrack.testing.generate).

    .venv/bin/python bench/generate.py --records 20000 --seed 0 --out /tmp/corpus-20k.xml

The same seed gives the same bytes. The text is made up by the generator; nothing is copied.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from evtrack.testing.generate import GENERATOR_VERSION, write_corpus


def corpus_file(directory: Path, records: int, seed: int) -> Path:
    """The cached corpus file for (records, seed), written on first use."""
    path = directory / f"corpus-n{records}-s{seed}-g{GENERATOR_VERSION}.xml"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        write_corpus(partial, records, seed=seed)
        partial.rename(path)  # never leave a half-written file under the cached name
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    n = write_corpus(args.out, args.records, seed=args.seed)
    seconds = time.perf_counter() - start
    size = args.out.stat().st_size
    print(f"wrote {n} records ({size / 1e6:.1f} MB, {size / n / 1e3:.1f} kB per record) to "
          f"{args.out} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
