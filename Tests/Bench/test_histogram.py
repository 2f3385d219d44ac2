"""
test_histogram.py — the latency histogram's percentiles on known data, through its C test
binary (Tests/Bench/test_bench_histogram.c: uniform, two-valued and outlier sets whose
percentiles are worked out by hand, the index mapping, merging, the 60 s clamp).
"""
import subprocess


def test_histogramPercentilesMatchKnownData(histogram_test_binary):
    proc = subprocess.run([str(histogram_test_binary)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed" in proc.stdout, proc.stdout
