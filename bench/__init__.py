"""Herocool's benchmark (bench/run.sh runs it): one module per phase, bench.common for
what they share, bench.report and bench.report_deploy for BENCHMARKS.md."""
