"""chunktape benchmarks: ratios and distributions against peers measured in the same run (bench/run.sh)."""
