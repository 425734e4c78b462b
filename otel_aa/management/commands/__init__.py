"""``otel_aa_stats`` (the daily statistics) and ``otel_aa_validate`` (sample hits, validated)."""
